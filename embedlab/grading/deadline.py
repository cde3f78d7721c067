"""The overall deadline of a grading run: each exercise's worker limit cut to what is left.

A platform that grades in containers (Gradescope) kills a run at its own
timeout and then reports nothing, so a run with ``Settings.deadline`` must
have written its results before it. `time_left_for` gives an exercise's
worker the time that is left, minus a reserve to judge it and write the
results, when that is less than its own limit; with too little left the
exercise is not started, and its tests fail with `DEADLINE_BEFORE`. A
worker stopped at such a cut limit gets `DEADLINE_DURING` (`explain_cut`).
Both reasons name the setting to raise.

>>> first = manifest.load()[0].id
>>> time_left_for(Settings.from_environment({}), first)  # no deadline: every exercise its own limit
(None, None)
"""

from __future__ import annotations

from embedlab import manifest
from embedlab.settings import Settings

RESERVE_SECONDS = 20      # after the last worker: judging its tests, the score table, results.json
MIN_WORKER_SECONDS = 10   # with less than this left, an exercise is not started
_RAISE = ("course staff: raise the autograder's timeout on Gradescope and EMBEDLAB_DEADLINE_SECONDS with it, "
          "see the Gradescope section of docs/grading.md")
DEADLINE_BEFORE = f"the autograder's overall time limit ran out before this exercise could be graded ({_RAISE})"
DEADLINE_DURING = ("the autograder's overall time limit ran out while this exercise was graded: its worker had "
                   "only {limit:.0f} s left (" + _RAISE + ")")


def time_left_for(settings: Settings, exercise_id: str) -> tuple[float | None, str | None]:
    """(the exercise's worker limit cut to the deadline, or None if uncut; the reason it does not run, or None)."""
    left = settings.seconds_left()
    if left is None:
        return None, None
    left -= RESERVE_SECONDS
    if left < MIN_WORKER_SECONDS:
        return None, DEADLINE_BEFORE
    own = settings.time_limit_for(manifest.get(exercise_id))
    return (left, None) if left < own else (None, None)


def not_started(exercise_id: str, reason: str, sandbox: str | None) -> dict:
    """The result of an exercise the deadline left no time for (shaped like a worker's failure)."""
    result = {"exercise": exercise_id, "errors": {"worker": reason}, "seconds": {}}
    if sandbox:
        result["sandbox"] = sandbox
    return result


def explain_cut(result: dict, limit: float | None, seconds: float) -> dict:
    """A worker that failed after running its whole cut `limit`: the deadline is the reason, first."""
    errors = result.get("errors") or {}
    if limit is not None and "worker" in errors and seconds >= limit - 1:
        result["errors"] = {"worker": DEADLINE_DURING.format(limit=limit),
                            **{key: value for key, value in errors.items() if key != "worker"}}
    return result
