"""Configuration, read once at the edge into one object that is passed down.

The edges are the `embedlab` command line (`embedlab.cli`), the autograder's
pytest plugin, the isolated worker (its own command line) and Gradescope's
`run_autograder`. Each calls `Settings.from_environment(...)` once, with its
explicit options as keyword arguments: an explicit value (not None) always
wins over the environment, and the environment over the default. Nothing
below an edge reads `os.environ`.

Environment variables (all optional):

====================== ============================================ =========================
variable               meaning                                      default
====================== ============================================ =========================
EMBEDLAB_TFRECORDS     the prepared TFRecords folder                ``tfrecords/`` of the checkout
EMBEDLAB_GRADING_DATA  the grader's data folder                     ``<tfrecords>/.grading``
EMBEDLAB_SANDBOX       isolation: auto, bwrap, uid or none          auto
EMBEDLAB_UID_BASE      first of the 256 worker uids                 61000
EMBEDLAB_TIME_LIMIT    seconds per worker, for every exercise       each exercise's own
EMBEDLAB_DEADLINE_SECONDS seconds a whole grading run may take     none (run_autograder: the bundle's)
EMBEDLAB_LABELED_FILES more files a worker must not read (``:``)    none
EMBEDLAB_QUESTIONS_SEED the seed of the grading-time questions      drawn at random per run
AUTOGRADER_ROOT        Gradescope's folder                          /autograder
CI                     true: real-data tests fail instead of skip,  false
                       and no progress is shown
TF_CPP_MIN_LOG_LEVEL   TensorFlow's C++ log level                   3 (`embedlab.quiet`)
====================== ============================================ =========================
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from embedlab import files, manifest
from embedlab.errors import EmbedlabError

SANDBOX_MODES = ("auto", "bwrap", "uid", "none")
TRUE = ("1", "true", "yes", "on")


@dataclasses.dataclass(frozen=True)
class Settings:
    seed: int
    tfrecords_dir: Path
    grading_data_dir: Path | None = None  # None: <tfrecords_dir>/.grading
    sandbox: str = "auto"
    uid_base: int = 61000
    time_limit: float | None = None       # None: each exercise's own (exercises.toml)
    # At most this much memory for any exercise's worker (a container's memory less the grader's own).
    memory_cap_mb: float | None = None    # None: each exercise's own memory_limit_mb (exercises.toml)
    # The wall-clock time (time.time()) by which a grading run must have written its results, so that a
    # platform's own timeout (Gradescope's) never kills it first. None: no overall deadline.
    deadline: float | None = None
    labeled_files: tuple[str, ...] = ()
    # Draws the inputs put to a submission at grading time. Never the public grading seed: a student
    # who knew it could compute the answers beforehand. None: a fresh one per run (`questions_seed_or_new`).
    questions_seed: int | None = None
    autograder_root: Path = Path("/autograder")
    quiet: bool = False
    ci: bool = False
    # The JSON-lines file a graded run reports its progress to (`embedlab.grading.progress`); None: no progress.
    progress: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **explicit) -> Settings:
        """Defaults, overridden by `environ` (os.environ if None), overridden by `explicit` values that are not None."""
        environ = os.environ if environ is None else environ
        unknown = set(explicit) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}")

        def text(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        def number(name: str, kind):
            value = text(name)
            if value is None:
                return None
            try:
                return kind(value)
            except ValueError:
                raise EmbedlabError(f"{name}={value}: not a number") from None

        from_env = {
            "tfrecords_dir": text("EMBEDLAB_TFRECORDS"),
            "grading_data_dir": text("EMBEDLAB_GRADING_DATA"),
            "sandbox": text("EMBEDLAB_SANDBOX"),
            "uid_base": number("EMBEDLAB_UID_BASE", int),
            "time_limit": number("EMBEDLAB_TIME_LIMIT", float),
            "memory_cap_mb": number("EMBEDLAB_MEMORY_CAP_MB", float),
            "deadline": _deadline_from(number("EMBEDLAB_DEADLINE_SECONDS", float)),
            "labeled_files": tuple(path for path in (text("EMBEDLAB_LABELED_FILES") or "").split(os.pathsep) if path),
            "questions_seed": number("EMBEDLAB_QUESTIONS_SEED", int),
            "autograder_root": text("AUTOGRADER_ROOT"),
            "ci": (text("CI") or "").lower() in TRUE,
        }
        values = {"seed": manifest.grading_seed(), "tfrecords_dir": files.DEFAULT_TFRECORDS}
        values.update({key: value for key, value in from_env.items() if value not in (None, ())})
        values.update({key: value for key, value in explicit.items() if value is not None})
        for key in ("tfrecords_dir", "grading_data_dir", "autograder_root", "progress"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        values["sandbox"] = str(values.get("sandbox", "auto")).strip().lower()
        if values["sandbox"] not in SANDBOX_MODES:
            raise EmbedlabError(f"sandbox mode {values['sandbox']!r}: expected one of {', '.join(SANDBOX_MODES)}")
        if values.get("time_limit") is not None and float(values["time_limit"]) <= 0:
            raise EmbedlabError(f"time limit {values['time_limit']}: must be a positive number of seconds")
        if values.get("memory_cap_mb") is not None and float(values["memory_cap_mb"]) <= 0:
            raise EmbedlabError(f"memory cap {values['memory_cap_mb']}: must be a positive number of MB")
        values["labeled_files"] = tuple(values.get("labeled_files", ()))
        return cls(**values)

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **{key: value for key, value in changes.items() if value is not None})

    def shows_progress(self, stream=None) -> bool:
        """Whether a long command shows its progress on `stream` (default stderr): a terminal, not CI, not quiet."""
        stream = sys.stderr if stream is None else stream
        try:
            terminal = stream.isatty()
        except (AttributeError, ValueError):
            terminal = False
        return terminal and not self.quiet and not self.ci

    def grading_data(self) -> Path:
        """Where the grader's data folder is (built by `embedlab.grading.data.ensure`)."""
        return Path(self.grading_data_dir) if self.grading_data_dir else Path(self.tfrecords_dir) / ".grading"

    def questions_seed_or_new(self) -> int:
        """The questions seed, or a fresh random one (the caller keeps it for the whole run)."""
        import secrets

        return self.questions_seed if self.questions_seed is not None else secrets.randbits(62)

    def time_limit_for(self, exercise: manifest.Exercise) -> float:
        return float(self.time_limit if self.time_limit is not None else exercise.time_limit)

    def memory_limit_for(self, exercise: manifest.Exercise) -> float:
        """The exercise's memory limit (MB), no more than the cap."""
        limit = float(exercise.memory_limit_mb)
        return limit if self.memory_cap_mb is None else min(limit, float(self.memory_cap_mb))

    def seconds_left(self, now: float | None = None) -> float | None:
        """Seconds until the deadline (negative once past it); None without a deadline."""
        if self.deadline is None:
            return None
        return float(self.deadline) - (time.time() if now is None else now)


def _deadline_from(seconds: float | None) -> float | None:
    """EMBEDLAB_DEADLINE_SECONDS counts from the moment the edge reads it."""
    if seconds is None:
        return None
    if seconds <= 0:
        raise EmbedlabError(f"EMBEDLAB_DEADLINE_SECONDS={seconds:g}: must be a positive number of seconds")
    return time.time() + seconds
