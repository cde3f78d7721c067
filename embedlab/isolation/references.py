"""The grader's own reference values of an exercise, from a worker that runs no student code.

Some collectors compute reference values before they import the submission
(they declare ``TRUSTED_REFERENCE = True``): whatever a run WITHOUT a
submission module returns is then the grader's own reference. It is computed
once per (exercise, seed, grading data, code version, questions), cached in
``<grading data>/sandbox-cache/``, and replaces the copy a student's worker
reported (which the student's code could have changed in memory): its
``references`` and, until the collectors keep every trusted value there,
its other items.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from embedlab import files
from embedlab.grading import schema
from embedlab.isolation.errors import SandboxError

CACHE_DIR = "sandbox-cache"
TRUSTED_ARRAY = "__trusted_array__"
# Items of a worker's result that describe the run, not the reference.
NOT_REFERENCE = tuple(key for key in (*schema.CONTRACT_KEYS, "sandbox", "warning") if key != "references")

# (exercise id, data dir) -> (validated result or None, failure reason)
RunWithoutSubmission = Callable[[str, Path], "tuple[dict | None, str | None]"]


def cache_path(exercise_id: str, data_dir: Path, seed: int, code_version: str, questions_digest: str = "") -> Path:
    meta = (Path(data_dir) / "meta.json").read_text() if (Path(data_dir) / "meta.json").is_file() else ""
    text = f"{exercise_id}|{seed}|{meta}|{code_version}|{questions_digest}"
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Path(data_dir) / CACHE_DIR / f"{exercise_id}-{seed}-{key}.json"


def load_or_run(exercise_id: str, data_dir: Path, seed: int, run: RunWithoutSubmission,
                questions_digest: str = "") -> dict:
    """The cached reference values, or `run` them now and cache them. The caller serializes calls."""
    path = cache_path(exercise_id, data_dir, seed, files.code_version(), questions_digest)
    if path.is_file():
        try:
            return _decode(json.loads(path.read_text()))
        except (ValueError, OSError):
            pass  # a damaged cache entry: recompute it
    result, reason = run(exercise_id, Path(data_dir))
    if result is None:
        raise SandboxError(f"the grader's reference run of {exercise_id} failed: {reason}")
    values = {key: value for key, value in result.items() if key not in NOT_REFERENCE and not key.startswith("worker_")}
    path.parent.mkdir(mode=0o700, exist_ok=True)
    files.write_atomic(path, json.dumps(_encode(values)))
    return values


def _encode(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return {TRUSTED_ARRAY: value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return value


def _decode(value):
    import numpy as np

    if isinstance(value, dict):
        if TRUSTED_ARRAY in value:
            return np.asarray(value[TRUSTED_ARRAY], dtype=value["dtype"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
