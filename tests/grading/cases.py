"""Parametrize one graded check over the exercises that declare it, each with its own points.

The model exercises share some checks (tests/grading/test_models.py); which
exercise has which, for how many points, is declared once, in
exercises.toml (``checks``).
"""

import pytest

from embedlab import manifest
from embedlab.grading import contract, transplant


def case(exercise_id: str, points: int):
    return pytest.param(
        exercise_id, marks=[pytest.mark.exercise(exercise_id), pytest.mark.points(points)], id=exercise_id[:4]
    )


def cases(check: str) -> list:
    """One parameter per exercise that declares `check`, marked with that exercise and its points for it."""
    return [case(exercise.id, points) for exercise in manifest.load()
            if (points := exercise.check_points(check)) is not None]


def verdict(collected) -> transplant.Verdict:
    """The transplant check of the exercise's architecture: the model's own weights must give its answers."""
    collected.need("weights", "build", "train", "weights")
    collected.need("answers", "build", "train", "answers")
    return transplant.verdict(contract.collector(collected.exercise.id).ARCHITECTURE, collected.data,
                              collected.questions)
