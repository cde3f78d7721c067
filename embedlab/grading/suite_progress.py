"""The graded suite's progress, from inside its pytest process: which exercise, and its points.

With ``--progress=PATH`` (`Settings.progress`) the autograder's plugin
registers `SuiteProgress`: this process's `progress.current()` then writes
to PATH (`progress.JsonLines`), an exercise "starts" when the first of its
tests is set up (that is when its code runs and its model trains, for the
``collected`` fixture) and "finishes" when the last of its selected tests is
done, with the points of those that passed. Tests of one exercise need not
be adjacent (the shared model checks come last): an exercise finishes once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from embedlab.grading import progress
from embedlab.settings import Settings


def register(config, settings: Settings) -> None:
    """Report the session's progress to `settings.progress`, if set."""
    if settings.progress is not None:
        config.pluginmanager.register(SuiteProgress(settings.progress), "embedlab-progress")


def _exercise_of(item) -> str | None:
    marker = item.get_closest_marker("exercise")
    return marker.args[0] if marker is not None and marker.args else None


class SuiteProgress:
    def __init__(self, path: Path):
        self.progress = progress.Progress(progress.JsonLines(path))
        progress.install(self.progress)
        self.order: list[str] = []               # exercises in the order their first test runs
        self.left: dict[str, set[str]] = {}      # exercise -> its tests not done yet
        self.points: dict[str, dict[str, int]] = {}  # exercise -> {test: points}
        self.failed: set[str] = set()
        self.exercise_of: dict[str, str] = {}
        self.started: set[str] = set()

    def pytest_collection_finish(self, session) -> None:
        for item in session.items:
            exercise_id = _exercise_of(item)
            if exercise_id is None:
                continue
            if exercise_id not in self.left:
                self.order.append(exercise_id)
                self.left[exercise_id], self.points[exercise_id] = set(), {}
            self.left[exercise_id].add(item.nodeid)
            self.exercise_of[item.nodeid] = exercise_id
            points = item.get_closest_marker("points")
            self.points[exercise_id][item.nodeid] = points.args[0] if points is not None else 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:
        exercise_id = self.exercise_of.get(item.nodeid)
        if exercise_id is None:
            return
        self.progress.exercise = exercise_id
        if exercise_id not in self.started:
            self.started.add(exercise_id)
            self.progress.exercise_started(exercise_id, self.order.index(exercise_id) + 1, len(self.order))

    def pytest_runtest_logreport(self, report) -> None:
        exercise_id = self.exercise_of.get(report.nodeid)
        if exercise_id is None:
            return
        # As the score table counts: a test that failed or was skipped anywhere but in teardown earns nothing.
        if report.failed or (report.skipped and report.when != "teardown"):
            self.failed.add(report.nodeid)
        if report.when != "teardown":
            return
        left = self.left[exercise_id]
        left.discard(report.nodeid)
        if not left:
            points = self.points[exercise_id]
            score = sum(value for nodeid, value in points.items() if nodeid not in self.failed)
            self.progress.exercise_finished(exercise_id, score, sum(points.values()))
