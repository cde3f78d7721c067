"""`embedlab grade --repeat N`: the same submission graded N times must get the same grade.

Each grading is fresh (its own pytest process, its own workers, no resume);
`compare` lists every difference of a later grading from the first one: the
status, the total, the bonus, an exercise's score, a test's outcome (passed
or not, present or not). The first grading's scores are the ones kept; a
difference is a flag for the instructor (a submission that changes its own
score, e.g. on a coin toss, or a grader that is not deterministic).
"""

from __future__ import annotations


def _outcomes(grading: dict) -> dict[tuple[str, str], bool]:
    """(exercise id, test name) -> passed, over every test of the grading."""
    table = {}
    for exercise_id, row in (grading.get("exercises") or {}).items():
        for index, test in enumerate(row.get("tests") or []):
            name = str(test.get("name") or f"test {index + 1}")
            table[(exercise_id, name)] = bool(test.get("passed"))
    return table


def differences(first: dict, other: dict) -> list[str]:
    """What `other` (a later grading of the same submission) has differently from `first`."""
    found = []
    for key in ("status", "score", "bonus"):
        if first.get(key, 0) != other.get(key, 0):
            found.append(f"{key} {first.get(key, 0)} -> {other.get(key, 0)}")
    first_rows, other_rows = first.get("exercises") or {}, other.get("exercises") or {}
    for exercise_id in sorted(set(first_rows) | set(other_rows)):
        before = (first_rows.get(exercise_id) or {}).get("score", 0)
        after = (other_rows.get(exercise_id) or {}).get("score", 0)
        if before != after:
            found.append(f"{exercise_id} score {before} -> {after}")
    first_tests, other_tests = _outcomes(first), _outcomes(other)
    for exercise_id, name in sorted(set(first_tests) | set(other_tests)):
        before = first_tests.get((exercise_id, name))
        after = other_tests.get((exercise_id, name))
        if before != after:
            word = {True: "passed", False: "failed", None: "absent"}
            found.append(f"{exercise_id} {name}: {word[before]} -> {word[after]}")
    return found


def compare(gradings: list[dict]) -> dict:
    """The ``repeats`` entry of a result: how many gradings, their totals, every difference from the first."""
    found = []
    for number, grading in enumerate(gradings[1:], start=2):
        found += [f"grading {number}: {difference}" for difference in differences(gradings[0], grading)]
    return {"count": len(gradings), "scores": [grading.get("score", 0) for grading in gradings],
            "consistent": not found, "differences": found}


def column(result: dict) -> str:
    """The gradebook's ``repeats`` cell: empty (graded once), ``same xN`` or ``DIFFERS xN: ...``."""
    repeats = result.get("repeats")
    if not repeats or repeats.get("count", 1) < 2:
        return ""
    if repeats.get("consistent"):
        return f"same x{repeats['count']}"
    return f"DIFFERS x{repeats['count']} (scores {repeats.get('scores')}): " + "; ".join(repeats["differences"][:5])
