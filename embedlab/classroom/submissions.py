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


def submission_names(folders: list[Path]) -> list[str]:
    """A file-system-safe, unique name per submission folder."""
    names, seen = [], {}
    for folder in folders:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(folder).resolve().name) or "submission"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}-{count + 1}")
    return names
