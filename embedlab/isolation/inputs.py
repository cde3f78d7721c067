"""The questions a worker is asked: written by the parent into a read-only input folder, read by the worker.

The format is the result's (`embedlab.isolation.wire`): ``IN/result.json``
holding numbers, strings, lists and dicts, each numpy array of numbers saved
as ``IN/arrays/aN.npy`` and loaded back with ``allow_pickle=False`` and its
own dtype. The folder belongs to root and is mounted read-only in bubblewrap.
The graded tests never see this copy: they use the trusted one the parent
kept (`digest` names it in the reference cache's key).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from embedlab.isolation import wire
from embedlab.isolation.errors import SandboxError

QUESTIONS_FILE = "questions.json"


def write_questions(folder: Path, questions: dict | None) -> None:
    """Parent side: `questions` (plain data) into `folder`, readable by anyone, writable by root only."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain, dropped = wire.encode(dict(questions or {}), str(folder))
    if dropped:
        raise SandboxError(f"the grader's questions are not plain data: {dropped}")
    (folder / QUESTIONS_FILE).write_text(json.dumps(plain, allow_nan=True))
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def read_questions(folder: str | Path) -> dict:
    """Worker side: the questions the parent wrote ({} if there are none)."""
    folder = Path(folder)
    if not (folder / QUESTIONS_FILE).is_file():
        return {}
    errors: dict = {}
    questions = wire._Reader(folder, errors, cast=False).item(wire.read_json(folder, QUESTIONS_FILE), "questions", 0)
    if errors or type(questions) is not dict:
        raise SandboxError(f"the questions could not be read: {errors}")
    return questions


def digest(questions: dict | None) -> str:
    """A hash of `questions` (arrays by dtype, shape and bytes): the same questions, the same digest."""
    import numpy as np

    hasher = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value)
            hasher.update(f"a{array.dtype.str}{array.shape}".encode())
            hasher.update(array.tobytes())
        elif isinstance(value, dict):
            hasher.update(b"{")
            for key in sorted(value, key=str):
                hasher.update(json.dumps(str(key)).encode())
                feed(value[key])
            hasher.update(b"}")
        elif isinstance(value, (list, tuple)):
            hasher.update(b"[")
            for item in value:
                feed(item)
            hasher.update(b"]")
        else:
            if isinstance(value, np.generic):
                value = value.item()
            hasher.update(f"{type(value).__name__}:{value!r};".encode())

    feed(questions or {})
    return hasher.hexdigest()[:16]
