"""The autograder's pytest plugin: targets, collected results, points, the score table.

Options (each also has a default from the environment, see `embedlab.settings`):
  --target exercises|solutions|PATH   whose code to grade (default: exercises/)
  --isolated                          run that code in sandboxed worker processes
  --tfrecords DIR                     the prepared TFRecords (default: tfrecords/)
  --grading-data DIR                  the grader's data (default: built from the TFRecords)
  --seed N                            grading seed (default: the course's, in exercises.toml)
  --sandbox auto|bwrap|uid|none       with --isolated: how workers are isolated
  --time-limit SECONDS                with --isolated: every worker's limit (default: each exercise's)
  --deadline EPOCH                    time.time() by which grading must be done (embedlab.grading.deadline)
  --questions-seed N                  the grading-time questions' seed (default: drawn at random)
  --results-json PATH                 write every graded test's outcome as JSON
  --output-dir DIR                    where plots of the student's embedding go
  --progress PATH                     append progress events to PATH (embedlab.grading.suite_progress)

This plugin is an edge: it reads its options and the environment once, into
one `Settings` object. Graded tests carry two markers: ``exercise(id)`` and
``points(n)``. They get the plain data of their exercise from the
``collected`` fixture (see `embedlab.grading.contract`) and judge it; they
never call student code themselves.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from embedlab import files, manifest
from embedlab.errors import EmbedlabError
from embedlab.grading import deadline, suite_progress
from embedlab.grading import outcomes as graded
from embedlab.grading.feedback import Collected
from embedlab.grading.table import score_table
from embedlab.quiet import quiet_tensorflow
from embedlab.settings import Settings


def pytest_addoption(parser):
    group = parser.getgroup("embedlab", "embedlab autograder")
    group.addoption("--target", default="exercises", help="exercises, solutions, or a submission folder")
    group.addoption("--isolated", action="store_true", help="run the submission's code in worker processes")
    group.addoption("--tfrecords", default=None, help="the prepared TFRecords folder (default: tfrecords/)")
    group.addoption("--grading-data", default=None, help="grading-data folder (default: from the TFRecords)")
    group.addoption("--results-json", default=None, help="write graded outcomes to this JSON file")
    group.addoption("--output-dir", default=None, help="folder for the exercises' plots")
    group.addoption("--seed", type=int, default=None, help="grading seed (default: the course's fixed seed)")
    group.addoption("--sandbox", default=None, help="with --isolated: auto, bwrap, uid or none (default: auto)")
    group.addoption("--questions-seed", type=int, default=None,
                    help="seed of the grading-time questions (default: drawn at random)")
    group.addoption("--time-limit", type=float, default=None,
                    help="with --isolated: seconds per worker for every exercise (default: exercises.toml)")
    group.addoption("--deadline", type=float, default=None,
                    help="time.time() by which grading must be done: workers' limits are cut to fit")
    group.addoption("--progress", default=None, help="append progress events (JSON lines) to this file")


def target_folder(config) -> Path:
    target = config.getoption("--target")
    if target in ("exercises", "solutions"):
        return files.REPOSITORY / target
    return Path(target).resolve()


def settings_of(config) -> Settings:
    """The session's settings: the options given, then the environment, then the defaults."""
    return config._embedlab_settings


class Submission:
    """One submission folder, its collected results cached for the session."""

    def __init__(self, config, settings: Settings):
        self.config = config
        self.settings = settings
        self.folder = target_folder(config)
        self.isolated = config.getoption("--isolated")
        output = config.getoption("--output-dir")
        self.output_dir = Path(output) if output else files.REPOSITORY / "figures" / self.folder.name
        self._data_dir: Path | None = None
        self._sandbox = None
        self._results: dict[str, dict] = {}
        self._questions: dict[str, dict] = {}
        # One draw per session: the questions are the same for every test of an exercise.
        self.questions_seed = settings.questions_seed_or_new()
        self.figures: dict[str, dict] = {}   # exercise id -> the figures its tests measured (accuracy, AUC)

    @property
    def seed(self) -> int:
        return self.settings.seed

    def data_dir(self) -> Path:
        if self._data_dir is None:
            try:
                from embedlab.grading import data as grading_data

                self._data_dir = grading_data.ensure(self.settings.tfrecords_dir, self.settings.grading_data_dir)
            except EmbedlabError as error:
                message = f"no grading data: {error}"
                if self.settings.ci:
                    pytest.fail(message + " (CI=true: real-data tests must run)", pytrace=False)
                pytest.skip(message)
        return self._data_dir

    def sandboxes(self) -> dict[str, str]:
        """How each collected exercise's code ran: the worker's isolation mode, or "in-process"."""
        return {exercise_id: str(result.get("sandbox", "?")) if self.isolated else "in-process"
                for exercise_id, result in self._results.items()}

    def questions(self, exercise_id: str) -> dict:
        """The grading-time questions of an exercise: drawn here, in the trusted process, once."""
        if exercise_id not in self._questions:
            from embedlab.grading.contract import make_questions

            self._questions[exercise_id] = make_questions(exercise_id, self.data_dir(), self.questions_seed)
        return self._questions[exercise_id]

    def result(self, exercise_id: str) -> dict:
        """The exercise's collected data, gathered once per session whatever happens (a failure is a result)."""
        if exercise_id not in self._results:
            data_dir = self.data_dir()
            questions = self.questions(exercise_id)
            out_dir = self.output_dir / exercise_id
            out_dir.mkdir(parents=True, exist_ok=True)
            limit, late = deadline.time_left_for(self.settings, exercise_id)  # no worker past the deadline
            if self.isolated and self._sandbox is None:
                from embedlab.isolation.sandbox import Sandbox

                self._sandbox = Sandbox(self.settings)
            if late:
                result = deadline.not_started(exercise_id, late, self._sandbox.mode if self.isolated else None)
            elif self.isolated:
                started = time.time()
                result = self._sandbox.run_exercise(exercise_id, self.folder, data_dir, out_dir=out_dir,
                                                    questions=questions, time_limit=limit)
                result = deadline.explain_cut(result, limit, time.time() - started)
            else:
                from embedlab.grading.contract import collect

                module = self.folder / manifest.get(exercise_id).module_file
                result = collect(exercise_id, module, data_dir, seed=self.seed, out_dir=out_dir,
                                 questions=questions, tracebacks=True)
            self._results[exercise_id] = result
        return self._results[exercise_id]


@pytest.fixture(scope="session")
def submission(request) -> Submission:
    return request.config._embedlab_submission


@pytest.fixture
def collected(request, submission) -> Collected:
    marker = request.node.get_closest_marker("exercise")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: uses `collected` but has no exercise marker")
    exercise_id = marker.args[0]
    return Collected(exercise_id, submission.result(exercise_id), submission.folder,
                     questions=submission.questions(exercise_id), data_dir=submission.data_dir(),
                     figures=submission.figures.setdefault(exercise_id, {}))


@pytest.fixture(scope="session")
def test_labels(submission):
    from embedlab.grading import data as grading_data

    return grading_data.load_test_labels(submission.data_dir())


# ---------------------------------------------------------------- scoring
def pytest_configure(config):
    if config.getoption("--isolated"):
        _refuse_submission_plugins(config)
    quiet_tensorflow()
    try:
        config._embedlab_settings = Settings.from_environment(
            seed=config.getoption("--seed"), tfrecords_dir=config.getoption("--tfrecords"),
            grading_data_dir=config.getoption("--grading-data"), sandbox=config.getoption("--sandbox"),
            time_limit=config.getoption("--time-limit"), questions_seed=config.getoption("--questions-seed"),
            deadline=config.getoption("--deadline"), progress=config.getoption("--progress"))
    except EmbedlabError as error:
        raise pytest.UsageError(str(error)) from None
    config._embedlab_submission = Submission(config, config._embedlab_settings)
    suite_progress.register(config, config._embedlab_settings)
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
    graded.record(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    graded.annotate(item, outcome.get_result())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    outcomes = config._embedlab_outcomes
    if not outcomes:
        return
    submission = config._embedlab_submission
    table = score_table(outcomes, submission.figures, submission.sandboxes())
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
            **graded.extras(submission._results, submission.output_dir, config._embedlab_started),
        }
        files.write_json_atomic(Path(path), payload)
