"""The autograder's pytest plugin: targets, collected results, points, the score table.

Options:
  --target exercises|solutions|PATH   whose code to grade (default: exercises/)
  --isolated                          run that code in worker processes
  --grading-data DIR                  the grader's data (default: built from tfrecords/)
  --results-json PATH                 write every graded test's outcome as JSON
  --output-dir DIR                    where plots of the student's embedding go

Graded tests carry two markers: ``exercise(id)`` and ``points(n)``. They get
the plain data of their exercise from the ``collected`` fixture (see
`embedlab.grading.contract`) and judge it; they never call student code themselves.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from embedlab import manifest
from embedlab.errors import EmbedlabError

from embedlab.files import REPOSITORY


def pytest_addoption(parser):
    group = parser.getgroup("embedlab", "embedlab autograder")
    group.addoption("--target", default="exercises", help="exercises, solutions, or a submission folder")
    group.addoption("--isolated", action="store_true", help="run the submission's code in worker processes")
    group.addoption("--grading-data", default=None, help="grading-data folder (default: from tfrecords/)")
    group.addoption("--results-json", default=None, help="write graded outcomes to this JSON file")
    group.addoption("--output-dir", default=None, help="folder for the embedding plots")
    group.addoption("--seed", type=int, default=None, help="grading seed (default: the course's fixed seed)")


def target_folder(config) -> Path:
    target = config.getoption("--target")
    if target in ("exercises", "solutions"):
        return REPOSITORY / target
    return Path(target).resolve()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Submission:
    """One submission folder, its collected results cached for the session."""

    def __init__(self, config):
        self.config = config
        self.folder = target_folder(config)
        self.isolated = config.getoption("--isolated")
        seed = config.getoption("--seed")
        self.seed = manifest.grading_seed() if seed is None else seed
        output = config.getoption("--output-dir")
        self.output_dir = Path(output) if output else REPOSITORY / "figures" / self.folder.name
        self._data_dir: Path | None = None
        self._results: dict[str, dict] = {}

    def data_dir(self) -> Path:
        if self._data_dir is None:
            configured = self.config.getoption("--grading-data")
            try:
                from embedlab.grading import data as grading_data

                self._data_dir = Path(configured) if configured else grading_data.ensure()
            except EmbedlabError as error:
                message = f"no grading data: {error}"
                if in_ci():
                    pytest.fail(message + " (CI=true: real-data tests must run)", pytrace=False)
                pytest.skip(message)
        return self._data_dir

    def result(self, exercise_id: str) -> dict:
        if exercise_id not in self._results:
            data_dir = self.data_dir()
            out_dir = self.output_dir / exercise_id
            out_dir.mkdir(parents=True, exist_ok=True)
            if self.isolated:
                from embedlab.isolation.sandbox import run_exercise

                result = run_exercise(exercise_id, self.folder, data_dir, seed=self.seed, out_dir=out_dir)
            else:
                from embedlab.grading.contract import collect

                module = self.folder / manifest.get(exercise_id).module_file
                result = collect(exercise_id, module, data_dir, seed=self.seed, out_dir=out_dir)
            self._results[exercise_id] = result
        return self._results[exercise_id]


class Collected:
    """The plain data of one exercise, with failure messages that teach."""

    def __init__(self, exercise_id: str, data: dict, folder: Path):
        self.exercise = manifest.get(exercise_id)
        self.data = data
        self.folder = folder

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def errors(self) -> dict:
        return self.data.get("errors", {})

    def where(self) -> str:
        return f"{self.folder.name}/{self.exercise.module_file}"

    def need(self, key: str, *steps: str):
        """The value collected under `key`; fails the test, saying why, if it is missing."""
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        relevant = [step for step in (*steps, key) if step in self.errors] or list(self.errors)[:3]
        not_done = [step for step in relevant if self.errors[step].startswith("NotImplementedError")]
        if not_done:
            # The stub's own message is long; its location is what helps.
            where = self.errors[not_done[0]].partition(" (at ")[2].rstrip(")")
            pytest.fail(
                f"{self.where()}: not done yet ({where or not_done[0]} raises NotImplementedError). Start with "
                f"the module docstring ('What to build') and `embedlab hint {self.exercise.number}`.",
                pytrace=False)
        reason = "; ".join(f"{step}: {self.errors[step]}" for step in relevant) or "it did not run"
        advice = (f"Reread 'What to build' in the docstring of {self.where()}; "
                  f"`embedlab hint {self.exercise.number}` helps.")
        pytest.fail(f"{self.where()}: no result for '{key}' ({reason}). {advice}", pytrace=False)


@pytest.fixture(scope="session")
def submission(request) -> Submission:
    return request.config._embedlab_submission


@pytest.fixture
def collected(request, submission) -> Collected:
    marker = request.node.get_closest_marker("exercise")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: uses `collected` but has no exercise marker")
    exercise_id = marker.args[0]
    return Collected(exercise_id, submission.result(exercise_id), submission.folder)


@pytest.fixture(scope="session")
def test_labels(submission):
    from embedlab.grading import data as grading_data

    return grading_data.load_test_labels(submission.data_dir())


# ---------------------------------------------------------------- scoring
def pytest_configure(config):
    if config.getoption("--isolated"):
        _refuse_submission_plugins(config)
    config._embedlab_submission = Submission(config)
    config._embedlab_outcomes = {}
    config._embedlab_started = time.time()


def _refuse_submission_plugins(config) -> None:
    """--isolated: no conftest.py (or other plugin) from the submission may run in this process.

    pytest loads a conftest.py from a folder named on its command line, and it
    takes ``--target PATH`` (two words) for such a folder before it knows the
    option; `embedlab grade` passes ``--target=PATH`` and ``--confcutdir``.
    """
    folder = target_folder(config)
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve().is_relative_to(folder):
            raise pytest.UsageError(
                f"{path}: a conftest.py of the submission was loaded into the grader; "
                "grade with `embedlab grade`, or pass --target=PATH as one word")


def pytest_collection_modifyitems(session, config, items):
    if config.getoption("--target") != "solutions":
        skip = pytest.mark.skip(reason="a check of the grader itself: run it with --target solutions")
        for item in items:
            if item.get_closest_marker("instructor"):
                item.add_marker(skip)
    graded: dict[str, int] = {}
    for item in items:
        points = item.get_closest_marker("points")
        exercise = item.get_closest_marker("exercise")
        if points is None:
            continue
        if exercise is None:
            raise pytest.UsageError(f"{item.nodeid}: a points marker needs an exercise marker too")
        manifest.get(exercise.args[0])  # unknown ids fail here, at collection
        graded[exercise.args[0]] = graded.get(exercise.args[0], 0) + points.args[0]
    # With the whole grading suite selected, its points must add up to the manifest's.
    if not config.getoption("keyword") and not config.getoption("markexpr"):
        for exercise_id, total in graded.items():
            expected = manifest.get(exercise_id).points
            if total != expected:
                raise pytest.UsageError(
                    f"the tests of {exercise_id} are worth {total} points; exercises.toml says {expected}")


def pytest_runtest_logreport(report):
    item_points = getattr(report, "embedlab_points", None)
    if item_points is None:
        return
    outcomes = report.config_outcomes
    entry = outcomes.setdefault(report.nodeid, {
        "exercise": report.embedlab_exercise, "points": item_points, "passed": True, "message": "",
        "name": report.embedlab_name, "nodeid": report.nodeid,
    })
    if report.failed or (report.skipped and report.when != "teardown"):
        entry["passed"] = False
        if not entry["message"]:
            entry["message"] = _message(report)
    elif report.when == "call" and report.passed:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    points = item.get_closest_marker("points")
    exercise = item.get_closest_marker("exercise")
    if points is not None and exercise is not None:
        report.embedlab_points = points.args[0]
        report.embedlab_exercise = exercise.args[0]
        report.embedlab_name = _test_title(item)
        report.config_outcomes = item.config._embedlab_outcomes


def _test_title(item) -> str:
    doc = (getattr(item.function, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else item.name


def _message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(report.longrepr, tuple):  # skips: (file, line, reason)
        text = str(report.longrepr[2])
    else:
        text = str(report.longrepr)
    for prefix in ("Failed: ", "AssertionError: ", "Skipped: "):
        text = text.removeprefix(prefix)
    return text.strip()


def score_table(outcomes: dict) -> dict:
    """Points per exercise from the outcomes of the graded tests."""
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
        }
    return table


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    outcomes = config._embedlab_outcomes
    if not outcomes:
        return
    table = score_table(outcomes)
    write = terminalreporter.write_line
    terminalreporter.section(f"embedlab score: {target_folder(config)}")
    total = maximum = 0
    for exercise_id, row in table.items():
        label = f"{exercise_id}{' (bonus)' if row['bonus'] else ''}"
        write(f"  {label:<32} {row['score']:>3} / {row['max_score']:<3}  {row['title']}")
        if not row["bonus"]:
            total += row["score"]
            maximum += row["max_score"]
    bonus = sum(row["score"] for row in table.values() if row["bonus"])
    write(f"  {'total':<32} {total:>3} / {maximum:<3}" + (f"  (+{bonus} bonus)" if bonus else ""))
    path = config.getoption("--results-json")
    if path:
        payload = {
            "target": str(target_folder(config)),
            "score": total, "max_score": maximum, "bonus": bonus,
            "seconds": round(time.time() - config._embedlab_started, 1),
            "exercises": table,
        }
        partial = Path(path).with_name(Path(path).name + ".partial")
        partial.write_text(json.dumps(payload, indent=2))
        os.replace(partial, path)
