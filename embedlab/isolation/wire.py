"""What crosses back from a worker: plain data only, validated against the collector's declaration.

Worker side (`write_result`): at the very end, and atomically,
``OUT/result.json`` (numbers, strings, lists, dicts; each numpy array of
numbers replaced by ``{"__ndarray__": "aN.npy"}``) and ``OUT/arrays/aN.npy``.
Anything else (objects, pickles, arrays of objects) is dropped with a reason.

Parent side (`load_result`): nothing the worker wrote is trusted. The file
must carry the parent's one-time token, arrays are loaded with
``allow_pickle=False`` from ``OUT/arrays`` only, sizes are capped, and every
item is checked against what the exercise's collector declares it returns
(`embedlab.grading.schema.validate` on `embedlab.grading.contract.returns`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from embedlab import files

RESULT_FILE = "result.json"
ARRAYS_DIR = "arrays"
ARRAY_KEY = "__ndarray__"
MAX_DEPTH = 40
MAX_RESULT_BYTES = 128 * 1024 * 1024
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_STRING = 100_000
MAX_LIST = 2_000_000
MAX_DROPPED_REPORTED = 50


# ------------------------------------------------------------ worker side
class _Encoder:
    """Turns a collector's result into JSON-ready data plus .npy files (numbers only)."""

    def __init__(self, arrays_dir: str):
        self.arrays_dir = arrays_dir
        self.count = 0
        self.dropped: dict[str, str] = {}

    def convert(self, value, where: str, depth: int = 0):
        import numpy as np

        if depth > MAX_DEPTH:
            self.dropped[where] = "nested too deeply"
            return None
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if isinstance(value, np.str_):
            return str.__str__(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                os.makedirs(self.arrays_dir, exist_ok=True)
                name = f"a{self.count}.npy"
                self.count += 1
                np.save(os.path.join(self.arrays_dir, name), np.ascontiguousarray(value), allow_pickle=False)
                return {ARRAY_KEY: name}
            if value.dtype.kind == "U":
                return [str.__str__(item) for item in value.reshape(-1).tolist()]
            self.dropped[where] = f"an array of dtype {value.dtype} is not plain data"
            return None
        if type(value) is dict:
            converted = {}
            for key, item in value.items():
                if type(key) is not str:
                    self.dropped[f"{where}.{key!r}"] = "a key that is not a string"
                    continue
                if key == ARRAY_KEY:
                    self.dropped[f"{where}.{key}"] = "a reserved key"
                    continue
                converted[key] = self.convert(item, f"{where}.{key}", depth + 1)
            return converted
        if type(value) in (list, tuple):
            return [self.convert(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        self.dropped[where] = f"a {type(value).__name__} is not plain data"
        return None


def write_result(out_dir: str, token: str, exercise_id: str, result, extra: dict | None = None) -> None:
    """Write the worker's result for the parent (the last thing a worker does)."""
    encoder = _Encoder(os.path.join(out_dir, ARRAYS_DIR))
    plain = encoder.convert(result, "result")
    if type(plain) is not dict:
        plain = {"errors": {"worker": "the collector returned no dict"}}
    if encoder.dropped:
        errors = plain.setdefault("errors", {})
        if type(errors) is dict:
            for where, why in list(encoder.dropped.items())[:MAX_DROPPED_REPORTED]:
                errors[f"boundary {where}"] = why
    payload = {"complete": True, "token": token, "exercise": exercise_id, "result": plain, **(extra or {})}
    files.write_atomic(Path(out_dir) / RESULT_FILE, json.dumps(payload, allow_nan=True))


# ------------------------------------------------------------ parent side
class _Invalid(Exception):
    pass


def _restore(value, arrays: Path, where: str, errors: dict, depth: int = 0):
    """JSON value → plain Python, arrays loaded; invalid items become None with an error."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise _Invalid("nested too deeply")
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is str:
        if len(value) > MAX_STRING:
            raise _Invalid(f"a string of {len(value):,} characters")
        return value
    if type(value) is list:
        if len(value) > MAX_LIST:
            raise _Invalid(f"a list of {len(value):,} items")
        return [_restore_item(item, arrays, f"{where}[{i}]", errors, depth + 1) for i, item in enumerate(value)]
    if type(value) is dict:
        if set(value) == {ARRAY_KEY}:
            name = value[ARRAY_KEY]
            # A bare file name: no path may lead out of the arrays folder.
            if type(name) is not str or not re.fullmatch(r"a\d{1,7}\.npy", name):
                raise _Invalid("a bad array reference")
            path = arrays / name
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_ARRAY_BYTES:
                raise _Invalid("a missing or too large array file")
            array = np.load(path, allow_pickle=False)
            if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
                raise _Invalid(f"an array of dtype {getattr(array, 'dtype', '?')}")
            return array.astype(np.float64) if array.dtype.kind == "f" else array
        return {key: _restore_item(item, arrays, f"{where}.{key}", errors, depth + 1)
                for key, item in value.items() if type(key) is str}
    raise _Invalid(f"a {type(value).__name__}")


def _restore_item(value, arrays: Path, where: str, errors: dict, depth: int):
    try:
        return _restore(value, arrays, where, errors, depth)
    except (_Invalid, ValueError, OSError) as error:
        errors[f"boundary {where}"] = f"dropped: {error}"
        return None


def validate(exercise_id: str, result: dict, test_records: int | None) -> dict:
    """`result` checked against what the exercise's collector declares it returns; bad items dropped with a reason."""
    from embedlab.grading import contract, schema

    clean = schema.validate(contract.returns(exercise_id), result, test_records)
    clean["exercise"] = exercise_id  # whatever the worker claimed
    return clean


def load_result(out: Path, token: str, exercise_id: str, test_records: int | None) -> tuple[dict | None, str | None]:
    """The worker's result, validated; or (None, why) if there is no complete, genuine one ((None, None): no file)."""
    path = Path(out) / RESULT_FILE
    if path.is_symlink() or not path.is_file():
        return None, None
    if path.stat().st_size > MAX_RESULT_BYTES:
        return None, f"its result file is larger than {MAX_RESULT_BYTES // 2**20} MB"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        return None, f"its result file is not valid JSON ({error})"
    if type(payload) is not dict or payload.get("complete") is not True or type(payload.get("result")) is not dict:
        return None, "its result file is incomplete"
    if payload.get("token") != token or payload.get("exercise") != exercise_id:
        return None, "its result file was not written by the grader's worker (forged?)"
    tampered = payload.get("tampered")
    if type(tampered) is list and tampered:
        names = ", ".join(str(name) for name in tampered[:5])
        return None, f"the submission replaced parts of the grader or of the libraries it relies on ({names})"
    errors: dict = {}
    result = _restore_item(payload["result"], Path(out) / ARRAYS_DIR, "result", errors, 0)
    if type(result) is not dict:
        return None, "its result is not a dict"
    result = validate(exercise_id, result, test_records)
    result["errors"].update(errors)
    peak = payload.get("peak_rss_mb")
    result["worker_peak_rss_mb"] = peak if type(peak) in (int, float) else None
    return result, None
