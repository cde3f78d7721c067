"""A class's submission folders: a unique name for each, its files, its hash.

The hash covers what decides a grade (the submission's .py files, the seed
and the grader's own code), so `embedlab grade` can skip a submission whose
stored result has the same hash (resume).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from embedlab import files


@functools.cache
def grader_version() -> str:
    """A hash of the grader's own code and tests: a change regrades everything."""
    return files.code_version(*sorted(files.GRADING_TESTS.glob("*.py")))


def submission_files(folder: Path) -> list[Path]:
    """The submission's own .py files (top level; symlinks do not count)."""
    return [path for path in sorted(Path(folder).glob("*.py")) if path.is_file() and not path.is_symlink()]


def submission_hash(folder: Path, seed: int | None = None) -> str:
    """The submission's .py files (names and bytes), the seed and the grader's version."""
    digest = hashlib.sha256(f"{grader_version()}|{seed}".encode())
    for path in submission_files(folder):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


MAX_NAME = 80  # characters of a folder's name kept in its result names (results/<name>.json, logs/<name>.log)


def _safe(folder: Path) -> str:
    """The folder's name with only [A-Za-z0-9._-], no leading dot, at most MAX_NAME characters."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(folder).resolve().name).lstrip(".")
    if len(base) > MAX_NAME:  # keep long names apart: the cut part travels as a short hash
        base = base[:MAX_NAME - 9] + "-" + hashlib.sha256(base.encode()).hexdigest()[:8]
    return base or "submission"


def submission_names(folders: list[Path]) -> list[str]:
    """A file-system-safe name per submission folder, unique for ANY set of folders.

    A folder keeps its own (made-safe) name when it is the first to have it;
    a later one with the same name gets the first ``<name>-<k>`` (k = 2, 3,
    ...) that no other folder of the set uses or is called. Names are told
    apart without regard to case, so no two results share a file on a
    case-insensitive file system either.
    """
    bases = [_safe(folder) for folder in folders]
    taken_later = {base.lower() for base in bases}
    used: set[str] = set()
    names = []
    for base in bases:
        name, count = base, 1
        while name.lower() in used or (count > 1 and name.lower() in taken_later):
            count += 1
            name = f"{base}-{count}"
        used.add(name.lower())
        names.append(name)
    return names
