"""The graded tests' outcomes as the results file stores them: one entry per test, one clean message.

The autograder's plugin keeps its hooks thin and calls these: `annotate`
marks a test's report with its exercise, points, title and test key,
`record` adds the report to the session's outcomes, and `extras` adds what
the student's report needs beyond the score table (the files the run wrote,
the student's tracebacks). `clean_message` keeps pytest's own output
(assertion introspection, object reprs, "Use -v") out of every message.

>>> clean_message("AssertionError: the vocabulary is short\\nassert not ['x']\\n +  where None = <built-in method get>")
'the vocabulary is short'
>>> clean_message("Failed: exercises/ex02.py: no result for 'model' (build: ValueError: bad).")
"exercises/ex02.py: no result for 'model' (build: ValueError: bad)."
"""

from __future__ import annotations

import re
from pathlib import Path

PREFIXES = ("Failed: ", "AssertionError: ", "Skipped: ")
NOT_IMPORTABLE = "cannot be imported:"  # in a message: nothing of the exercise ran, no test's hint applies
# Lines pytest adds to a failure: assertion introspection and diffs, never a sentence of ours.
INTERNAL_LINE = re.compile(r"^\s*(assert\b|where\b|\+\s*where\b|and\b|\+\s|-\s|\?\s|Use -v|Full diff|"
                           r"At index \d|Omitting \d|Left contains|Right contains|E\s)")
OBJECT_AT = re.compile(r"<[^<>]* at 0x[0-9a-f]+>")


def test_key(item) -> str:
    """The test's function name without its ``test_`` prefix (parameters dropped): the key of its hint."""
    name = getattr(item, "originalname", None) or item.name.partition("[")[0]
    return name.removeprefix("test_")


def test_title(item) -> str:
    doc = (getattr(item.function, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else item.name


def clean_message(text: str) -> str:
    """The sentence of a failure, without pytest's additions (introspection, diffs, object addresses)."""
    text = str(text).strip()
    for prefix in PREFIXES:
        text = text.removeprefix(prefix)
    lines = text.splitlines()
    kept = []
    for line in lines:
        if INTERNAL_LINE.match(line) and kept:
            break  # everything after pytest's first line of its own is its own
        kept.append(line)
    text = " ".join(line.strip() for line in kept if line.strip())
    if INTERNAL_LINE.match(text):  # a bare assert without a message: nothing of ours to say
        return "the grader's check failed without a message (an error of the grader: tell your instructor)"
    return OBJECT_AT.sub("<object>", text)


def message(report) -> str:
    """One clean line for a failed or skipped test report."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(report.longrepr, tuple):  # skips: (file, line, reason)
        text = str(report.longrepr[2])
    else:
        text = str(report.longrepr)
    text = clean_message(text)
    if report.failed and crash is not None and not crash.message.startswith(PREFIXES):
        # An exception the test did not raise on purpose: say so rather than show its type alone.
        text = f"the grader could not {'judge' if report.when == 'call' else 'prepare'} this test ({text})"
    return text


def annotate(item, report) -> None:
    """Mark a graded test's report with what its outcome entry needs (nothing for other tests)."""
    points = item.get_closest_marker("points")
    exercise = item.get_closest_marker("exercise")
    if points is not None and exercise is not None:
        report.embedlab_points = points.args[0]
        report.embedlab_exercise = exercise.args[0]
        report.embedlab_name = test_title(item)
        report.embedlab_test = test_key(item)
        report.config_outcomes = item.config._embedlab_outcomes


def record(report) -> None:
    """Add a graded test's report (setup, call or teardown) to the session's outcomes."""
    item_points = getattr(report, "embedlab_points", None)
    if item_points is None:
        return
    entry = report.config_outcomes.setdefault(report.nodeid, {
        "exercise": report.embedlab_exercise, "points": item_points, "passed": True, "message": "",
        "name": report.embedlab_name, "test": report.embedlab_test, "nodeid": report.nodeid,
    })
    if report.failed or (report.skipped and report.when != "teardown"):
        entry["passed"] = False
        if not entry["message"]:
            entry["message"] = message(report)


def written_files(output_dir: Path, exercise_ids, since: float) -> dict[str, list[str]]:
    """The files this run wrote under ``output_dir/<exercise id>/`` (older ones are an earlier run's)."""
    written = {}
    for exercise_id in exercise_ids:
        folder = Path(output_dir) / exercise_id
        try:
            paths = sorted(path for path in folder.iterdir() if path.is_file() and path.stat().st_mtime >= since - 1)
        except OSError:
            continue
        if paths:
            written[exercise_id] = [str(path) for path in paths]
    return written


def extras(results: dict[str, dict], output_dir: Path, since: float) -> dict:
    """What the results file holds beside the score table: the files written, the student's tracebacks."""
    tracebacks = {exercise_id: dict(result["tracebacks"]) for exercise_id, result in results.items()
                  if isinstance(result.get("tracebacks"), dict) and result["tracebacks"]}
    return {"output_dir": str(output_dir), "written": written_files(output_dir, results, since),
            "tracebacks": tracebacks}
