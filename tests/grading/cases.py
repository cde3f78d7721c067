"""Parametrize one graded check over several exercises, each with its own points."""

import pytest


def case(exercise_id: str, points: int):
    return pytest.param(
        exercise_id, marks=[pytest.mark.exercise(exercise_id), pytest.mark.points(points)], id=exercise_id[:4]
    )
