"""The score table: the graded tests' outcomes added up per exercise, as the results file stores them."""

from __future__ import annotations

from embedlab import manifest


def score_table(outcomes: dict, figures: dict | None = None, sandboxes: dict | None = None) -> dict:
    """Points per exercise from the outcomes of the graded tests, the figures they measured, and how the
    exercise's code was isolated ("in-process" when it ran in this process)."""
    figures, sandboxes = figures or {}, sandboxes or {}
    table = {}
    for exercise in manifest.load():
        tests = [entry for entry in outcomes.values() if entry["exercise"] == exercise.id]
        if not tests:
            continue
        table[exercise.id] = {
            "title": exercise.title,
            "bonus": exercise.bonus,
            "score": sum(entry["points"] for entry in tests if entry["passed"]),
            "max_score": sum(entry["points"] for entry in tests),
            "tests": tests,
            "figures": dict(figures.get(exercise.id) or {}),
            "sandbox": sandboxes.get(exercise.id, "in-process"),
        }
    return table
