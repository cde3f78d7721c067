"""The repository's folders, and the few file operations every stage shares.

* `write_atomic`: a file appears whole or not at all (a partial file beside
  it, then `os.replace`), so an interrupted run never leaves a file a later
  step could mistake for finished output;
* `replace_folder`: the same for a folder built in a staging folder;
* `digest`: one hash of a set of files (names and bytes), for caches keyed on
  code;
* `tail`: the last lines of a log, for one-line failure reasons.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPOSITORY = PACKAGE_DIR.parent
SOLUTIONS = REPOSITORY / "solutions"
EXERCISES = REPOSITORY / "exercises"
TESTS = REPOSITORY / "tests"
GRADING_TESTS = TESTS / "grading"
DEFAULT_TFRECORDS = REPOSITORY / "tfrecords"


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write `data` to `path` through a partial file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, value, indent: int | None = 2) -> Path:
    return write_atomic(path, json.dumps(value, indent=indent))


def replace_folder(staging: Path, target: Path) -> Path:
    """Put a finished staging folder in the place of `target` (whatever was there goes)."""
    target = Path(target)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def digest(paths: Iterable[Path], *salt: str, length: int = 16) -> str:
    """One sha256 over the names and bytes of `paths` (in the order given) and `salt`."""
    hasher = hashlib.sha256("|".join(salt).encode())
    for path in paths:
        path = Path(path)
        hasher.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()[:length]


def code_version(*extra: Path) -> str:
    """A hash of the package's code and manifest (and `extra` files): a change invalidates caches and grades."""
    paths = sorted(PACKAGE_DIR.rglob("*.py")) + sorted(PACKAGE_DIR.rglob("*.toml")) + [Path(path) for path in extra]
    hasher = hashlib.sha256()
    for path in map(Path, paths):
        name = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path.name
        hasher.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()[:16]


def tail(path: Path, lines: int = 3, size: int = 4000) -> str:
    """The last non-empty lines of a text file, joined by ' | ' ('' if unreadable)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, Path(path).stat().st_size - size))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-600:]
