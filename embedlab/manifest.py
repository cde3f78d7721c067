"""Reads `exercises.toml`, the one declaration of the course's exercises.

Every tool asks this module about exercises; no other module lists exercise
ids. The file's entries become typed, frozen dataclasses, checked on load:
an unknown key, a missing one or a wrong type is an error naming the entry.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from embedlab.errors import EmbedlabError

MANIFEST_PATH = Path(__file__).with_name("exercises.toml")
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Budget:
    """How the grader trains a model: `epochs` passes of `batch_size` reviews."""

    batch_size: int
    epochs: int | None = None
    short_steps: int | None = None  # exercise 6: the barely trained embedding


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Accuracy and AUC on the test reviews: pass marks, margins or the course's own figures."""

    accuracy: float = 0.0
    auc: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    points: int
    hints: tuple[str, ...]
    time_limit: int
    memory_limit_mb: int
    bonus: bool = False
    budget: Budget | None = None
    thresholds: Metrics | None = None
    margin: Metrics | None = None
    course_results: Metrics | None = None
    plausible: Metrics | None = None  # above it: flagged to the instructor (embedlab.classroom.plausibility)
    builder: str | None = None
    checks: tuple[tuple[str, int], ...] = ()
    requires: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    # (test key, hint): for each graded test, by its function name without "test_", what to look at after
    # failing it (`embedlab check`); `hints` are the tiers of `embedlab hint`.
    test_hints: tuple[tuple[str, str], ...] = ()
    # Pass marks of graded figures other than accuracy / AUC (a neighbour agreement, a probe score...), each
    # the lowest value over calibration runs minus its margin in `mark_margins` (docs/calibration.md); the
    # collector's `calibrated_figures` computes them in the trusted process.
    marks: tuple[tuple[str, float], ...] = ()
    mark_margins: tuple[tuple[str, float], ...] = ()

    @property
    def module_file(self) -> str:
        return f"{self.id}.py"

    @property
    def number(self) -> int:
        return int(self.id[2:4])

    @property
    def is_model(self) -> bool:
        """A model exercise: the grader trains it and scores its test predictions."""
        return self.thresholds is not None

    def check_points(self, check: str) -> int | None:
        return dict(self.checks).get(check)

    def mark(self, figure: str) -> float:
        """The pass mark of the calibrated figure `figure` (`marks`)."""
        marks = dict(self.marks)
        if figure not in marks:
            raise EmbedlabError(f"exercise {self.id}: no pass mark for {figure!r} in exercises.toml "
                                f"(marks: {sorted(marks) or 'none'})")
        return marks[figure]

    def hint_for(self, test: str) -> str | None:
        """The hint for a student who failed the graded test `test` (its key, or its function name)."""
        return dict(self.test_hints).get(str(test).partition("[")[0].removeprefix("test_"))


@dataclasses.dataclass(frozen=True)
class Course:
    seed: int
    exercises: tuple[Exercise, ...]


_FIELDS = {field.name: field for field in dataclasses.fields(Exercise)}
_REQUIRED = {name for name, field in _FIELDS.items()
             if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING}


def _exercise(entry: dict, path: Path) -> Exercise:
    name = entry.get("id", "?")
    unknown = set(entry) - set(_FIELDS)
    missing = _REQUIRED - set(entry) - {"hints"}
    if unknown or missing:
        problem = f"unknown keys {sorted(unknown)}" if unknown else f"missing keys {sorted(missing)}"
        raise EmbedlabError(f"{path}: exercise {name}: {problem}")
    values = dict(entry)
    try:
        values["hints"] = tuple(entry.get("hints", ()))
        for key, kind in (("budget", Budget), ("thresholds", Metrics), ("margin", Metrics),
                          ("course_results", Metrics), ("plausible", Metrics)):
            if key in entry:
                values[key] = kind(**entry[key])
        values["checks"] = tuple((str(check), int(points)) for check, points in entry.get("checks", {}).items())
        values["requires"] = tuple(entry.get("requires", ()))
        values["figures"] = tuple(entry.get("figures", ()))
        values["test_hints"] = tuple((str(test), str(hint)) for test, hint in entry.get("test_hints", {}).items())
        for key in ("marks", "mark_margins"):
            values[key] = tuple((str(figure), float(value)) for figure, value in entry.get(key, {}).items())
    except (TypeError, ValueError, AttributeError) as error:
        raise EmbedlabError(f"{path}: exercise {name}: {error}") from None
    return Exercise(**values)


@functools.cache
def course(path: Path = MANIFEST_PATH) -> Course:
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EmbedlabError(f"{path}: cannot read the manifest ({error})") from None
    if raw.get("format_version") != FORMAT_VERSION:
        raise EmbedlabError(f"{path}: format_version {raw.get('format_version')!r}; this embedlab reads "
                            f"{FORMAT_VERSION}")
    exercises = tuple(_exercise(entry, path) for entry in raw.get("exercise", []))
    ids = [exercise.id for exercise in exercises]
    if len(set(ids)) != len(ids):
        raise EmbedlabError(f"{path}: exercise ids must be unique")
    for exercise in exercises:
        unknown = [required for required in exercise.requires if required not in ids]
        if unknown:
            raise EmbedlabError(f"{path}: exercise {exercise.id} requires unknown exercises {unknown}")
    return Course(seed=int(raw.get("grading", {}).get("seed", 0)), exercises=exercises)


def load(path: Path = MANIFEST_PATH) -> tuple[Exercise, ...]:
    return course(path).exercises


def grading_seed() -> int:
    """The course's fixed grading seed: the one default for every tool."""
    return course().seed


def get(exercise_id: str) -> Exercise:
    """An exercise by id, or by its number (``4``, ``04``, ``ex04``)."""
    wanted = str(exercise_id).strip().lower().removesuffix(".py")
    for exercise in load():
        if wanted in (exercise.id, exercise.id[:4], exercise.id[2:4], str(exercise.number)):
            return exercise
    known = ", ".join(exercise.id for exercise in load())
    raise EmbedlabError(f"{exercise_id}: no such exercise (known: {known})")


def with_figures() -> tuple[Exercise, ...]:
    """The exercises whose grading draws pictures for the student."""
    return tuple(exercise for exercise in load() if exercise.figures)


def total_points(include_bonus: bool = False) -> int:
    return sum(exercise.points for exercise in load() if include_bonus or not exercise.bonus)
