"""Reads `exercises.toml`, the one list of the course's exercises."""

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


@dataclasses.dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    points: int
    hints: tuple[str, ...]
    time_limit: int
    memory_limit_mb: int
    bonus: bool = False
    budget: dict = dataclasses.field(default_factory=dict)
    thresholds: dict = dataclasses.field(default_factory=dict)

    @property
    def module_file(self) -> str:
        return f"{self.id}.py"

    @property
    def number(self) -> int:
        return int(self.id[2:4])


@functools.lru_cache(maxsize=None)
def load(path: Path = MANIFEST_PATH) -> tuple[Exercise, ...]:
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    exercises = []
    for entry in raw.get("exercise", []):
        entry = dict(entry)
        entry["hints"] = tuple(entry.get("hints", ()))
        exercises.append(Exercise(**entry))
    ids = [exercise.id for exercise in exercises]
    if len(set(ids)) != len(ids):
        raise EmbedlabError(f"{path}: exercise ids must be unique")
    return tuple(exercises)


def get(exercise_id: str) -> Exercise:
    """An exercise by id, or by its number (``4``, ``04``, ``ex04``)."""
    wanted = exercise_id.strip().lower().removesuffix(".py")
    for exercise in load():
        if wanted in (exercise.id, exercise.id[:4], exercise.id[2:4], str(exercise.number)):
            return exercise
    known = ", ".join(exercise.id for exercise in load())
    raise EmbedlabError(f"{exercise_id}: no such exercise (known: {known})")


def total_points(include_bonus: bool = False) -> int:
    return sum(exercise.points for exercise in load() if include_bonus or not exercise.bonus)
