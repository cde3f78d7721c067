"""The boundary between the grader and a submission's code.

`collect(exercise_id, module_path, data_dir, seed)` loads one exercise module
of a submission, calls it the way the exercise's docstring specifies, trains
what needs training with the grader's own pipeline and budget, and returns
**plain data only**: numbers, strings, lists, dicts and numpy arrays of
numbers. The tests in ``tests/grading/`` judge that data; they never touch the
student's objects. That is what lets `collect` run in this process (a
student's local run) or in an isolated worker process (`embedlab grade`)
without a change to the tests.

Every step that calls student code is recorded separately: a step that
raises leaves an entry in ``result["errors"]`` and the others still run.

Roles. A collection either runs the submission's code, or computes the
grader's own reference values (``collection.references``, stored as
``result["references"]``), or both. An isolated student worker only runs the
submission: it holds no expected answer that student code could read. The
trusted reference run (a worker with no student code) only computes
references, and the isolation layer puts its ``references`` in the place of
whatever the student's worker returned under that key. A run in the
grader's own process (`embedlab check`) does both.

Questions. A collector may define ``questions(rng, data_dir) -> dict``: the
inputs it will put to the submission, drawn in the trusted process at
grading time (`make_questions`), never from the public grading seed. The
collector reads them as ``collection.questions``; the graded tests see the
trusted copy.

Judging. A model collector defines ``test_predictions(result, questions,
data_dir)``, run in the trusted process: the probabilities of the test
reviews, computed from what the student's model exported, or `Refused`
with the reason. An exercise graded on other calibrated figures (``marks``
in the manifest) defines ``calibrated_figures(result, questions,
data_dir)``, run there too: {figure: value}, or `Refused`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedlab import manifest
from embedlab.errors import EmbedlabError


class Refused(Exception):
    """The grader will not score what a submission exported; the message says why, for the student."""


class Collection:
    """What one exercise's collector gathers, step by step."""

    def __init__(self, exercise_id: str, module_path: Path | None, data_dir: Path, seed: int, out_dir: Path | None,
                 questions: dict | None = None, runs_submission: bool = True, computes_references: bool = True):
        self.exercise = manifest.get(exercise_id)
        self.module_path = Path(module_path) if module_path is not None else Path(self.exercise.module_file)
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.questions: dict = dict(questions or {})
        self.runs_submission = runs_submission and module_path is not None
        self.computes_references = computes_references
        self.result: dict[str, Any] = {"exercise": self.exercise.id, "errors": {}, "seconds": {}}
        self.references: dict[str, Any] = self.result.setdefault("references", {})
        self.tracebacks: dict[str, str] = {}  # step -> the failure's frames in the submission's files
        self.module = None

    def step(self, name: str, function: Callable, *args, **kwargs):
        """Run `function`; on failure record why under `name` and return None."""
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        except (Exception, SystemExit) as error:  # any failure of student code is a result
            self.result["errors"][name] = describe_error(error, self.module_path)
            self.tracebacks[name] = student_traceback(error, self.module_path.parent)
            return None
        finally:
            self.result["seconds"][name] = round(time.perf_counter() - started, 3)

    def load(self) -> bool:
        """Import the submission's module (False, recorded, if it cannot be; always False in a reference run)."""
        if not self.runs_submission:
            return False
        if not self.module_path.is_file():
            self.result["errors"]["import"] = f"{self.module_path}: no such file"
            return False
        self.module = self.step("import", load_module, self.module_path)
        return self.module is not None

    def function(self, name: str) -> Callable | None:
        """The submission's function `name`, or None (recorded) if it has none."""
        candidate = getattr(self.module, name, None)
        if not callable(candidate):
            self.result["errors"][name] = f"{self.module_path.name} defines no function {name}()"
            return None
        return candidate


def describe_error(error: BaseException, module_path: Path) -> str:
    """One line: the exception, and the student's line that raised it."""
    if isinstance(error, SyntaxError) and error.lineno:  # raised by the import, not from a frame of the file
        name = Path(error.filename or module_path).name
        code = (error.text or "").strip()
        code = code if len(code) <= 120 else code[:117] + "..."
        return f"{type(error).__name__}: {error.msg} (at {name} line {error.lineno}{': ' + code if code else ''})"
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")
    where = [
        frame for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == Path(module_path).resolve()
    ]
    if where:
        text += f" (at {Path(module_path).name} line {where[-1].lineno}, in {where[-1].name})"
    return text


def student_traceback(error: BaseException, folder: Path, limit: int = 8) -> str:
    """The failure's traceback, cut to the frames of files in the submission's `folder` (the grader's
    own frames and source are not the student's to read); the exception's own lines end it."""
    folder = Path(folder).resolve()
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().parent == folder][-limit:]
    lines = ["Traceback (your code only, most recent call last):\n", *traceback.format_list(frames)]
    return "".join(lines + traceback.format_exception_only(type(error), error)).rstrip()


def load_module(path: Path):
    """Import a submission's module from its file, under a private name."""
    path = Path(path).resolve()
    folder = str(path.parent)
    # Appended, not prepended: a submission's file named like a library
    # (numpy.py, keras.py) must not shadow the real one.
    if folder not in sys.path:
        sys.path.append(folder)
    name = f"embedlab_submission_{abs(hash(folder))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def collector(exercise_id: str):
    """The collector module of an exercise: ``embedlab.grading.collectors.<exercise id>``.

    It defines ``collect(collection)``, ``RETURNS`` (its result's keys and
    their kinds, see `embedlab.grading.schema`) and, if it computes reference
    values before it imports the submission, ``TRUSTED_REFERENCE = True``.
    """
    exercise = manifest.get(exercise_id)
    try:
        return importlib.import_module(f"embedlab.grading.collectors.{exercise.id}")
    except ModuleNotFoundError as error:
        raise EmbedlabError(f"{exercise.id}: no collector module ({error})") from None


def returns(exercise_id: str) -> dict:
    """What the exercise's collector declares it returns: {key: kind}."""
    return dict(collector(exercise_id).RETURNS)


def has_trusted_reference(exercise_id: str) -> bool:
    """Whether a run without a submission yields the grader's own reference values."""
    return bool(getattr(collector(exercise_id), "TRUSTED_REFERENCE", False))


def make_questions(exercise_id: str, data_dir: Path, questions_seed: int) -> dict:
    """The questions the exercise's collector will put to a submission, drawn with `questions_seed` (trusted side)."""
    import numpy as np

    module = collector(exercise_id)
    hook = getattr(module, "questions", None)
    if hook is None:
        return {}
    rng = np.random.default_rng([int(questions_seed) % 2**63, manifest.get(exercise_id).number])
    return hook(rng, Path(data_dir))


def test_predictions(exercise_id: str, result: dict, questions: dict, data_dir: Path):
    """The test reviews' probabilities from the exercise's trusted judge (raises `Refused` with the reason)."""
    hook = getattr(collector(exercise_id), "test_predictions", None)
    if hook is None:
        raise EmbedlabError(f"{exercise_id}: its collector defines no test_predictions()")
    return hook(result, questions, Path(data_dir))


def calibrated_figures(exercise_id: str, result: dict, questions: dict, data_dir: Path) -> dict[str, float]:
    """The exercise's calibrated figures (`marks` in the manifest), computed by its collector's trusted
    ``calibrated_figures(result, questions, data_dir)`` (raises `Refused` with the reason)."""
    hook = getattr(collector(exercise_id), "calibrated_figures", None)
    if hook is None:
        raise EmbedlabError(f"{exercise_id}: its collector defines no calibrated_figures()")
    return {str(name): float(value) for name, value in hook(result, questions, Path(data_dir)).items()}


def collect(exercise_id: str, module_path, data_dir, seed: int | None = None, out_dir=None,
            questions: dict | None = None, runs_submission: bool = True, computes_references: bool = True,
            tracebacks: bool = False) -> dict:
    """Run one exercise of a submission (``module_path`` None: references only) and return plain data about it.

    `tracebacks`: also return ``result["tracebacks"]`` ({step: the student's frames}) for `embedlab check
    --verbose`; never in an isolated worker, whose result declares no such key.
    """
    seed = manifest.grading_seed() if seed is None else int(seed)
    collection = Collection(exercise_id, None if module_path is None else Path(module_path), Path(data_dir), seed,
                            out_dir, questions, runs_submission, computes_references)
    collector(collection.exercise.id).collect(collection)
    if tracebacks:
        collection.result["tracebacks"] = dict(collection.tracebacks)
    return collection.result
