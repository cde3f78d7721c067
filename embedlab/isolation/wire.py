"""What crosses back from a worker: plain data only, validated against the collector's declaration.

Worker side (`write_result`): at the very end, and atomically,
``OUT/result.json`` (numbers, strings, lists, dicts; each numpy array of
numbers replaced by ``{"__ndarray__": "aN.npy"}``) and ``OUT/arrays/aN.npy``.
Anything else (objects, pickles, arrays of objects) is dropped with a reason.

Parent side (`load_result`): nothing the worker wrote is trusted, and nothing
authenticates it either: the process that runs student code holds no secret
(a token there could be read by the student's code), so a result file the
submission wrote itself is just more of the submission's answers. It is
judged like them: sizes are capped before anything is parsed (the JSON file,
each array from its .npy header, the arrays in total), arrays are loaded with
``allow_pickle=False`` from ``OUT/arrays`` only, never through a symlink, and
every item is checked against what the exercise's collector declares it
returns (`embedlab.grading.schema.validate` on `embedlab.grading.contract.returns`).
Whatever cannot be read becomes a reason, never an exception.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from embedlab import files

RESULT_FILE = "result.json"
ARRAYS_DIR = "arrays"
ARRAY_KEY = "__ndarray__"
MAX_DEPTH = 40
MAX_RESULT_BYTES = 8 * 1024 * 1024        # result.json, checked before it is parsed
MAX_ARRAY_BYTES = 64 * 1024 * 1024        # one array, checked from its .npy header
MAX_TOTAL_ARRAY_BYTES = 256 * 1024 * 1024  # every array of one result
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


def encode(value, folder: str) -> tuple[object, dict[str, str]]:
    """`value` as JSON-ready data, its arrays saved in ``folder/arrays``; and what was dropped, with why."""
    encoder = _Encoder(os.path.join(folder, ARRAYS_DIR))
    return encoder.convert(value, "result"), encoder.dropped


def write_result(out_dir: str, exercise_id: str, result, extra: dict | None = None) -> None:
    """Write the worker's result for the parent (the last thing a worker does)."""
    plain, dropped = encode(result, out_dir)
    if type(plain) is not dict:
        plain = {"errors": {"worker": "the collector returned no dict"}}
    if dropped:
        errors = plain.setdefault("errors", {})
        if type(errors) is dict:
            for where, why in list(dropped.items())[:MAX_DROPPED_REPORTED]:
                errors[f"boundary {where}"] = why
    payload = {"complete": True, "exercise": exercise_id, "result": plain, **(extra or {})}
    files.write_atomic(Path(out_dir) / RESULT_FILE, json.dumps(payload, allow_nan=True))


# ------------------------------------------------------------ parent side
class Invalid(Exception):
    """A file of the worker that cannot be read; the message says why."""


def open_inside(root: Path, relative: str) -> int:
    """A descriptor of ``root/relative``, opened component by component without following any symlink."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    parts = [part for part in str(relative).split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise Invalid("a bad path")
    try:
        current = os.open(root, flags | os.O_DIRECTORY)
    except OSError as error:
        raise Invalid(f"cannot be opened ({error.strerror})") from None
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = os.open(part, flags | (0 if last else os.O_DIRECTORY), dir_fd=current)
            os.close(current)
            current = following
    except OSError as error:
        os.close(current)
        raise Invalid(f"cannot be opened ({error.strerror or error})") from None
    return current


def regular_file(root: Path, relative: str, limit: int) -> bytes:
    """The bytes of ``root/relative``, a regular file reached through no symlink, at most `limit` of them."""
    descriptor = open_inside(root, relative)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Invalid("not a regular file")
        if info.st_size > limit:
            raise Invalid(f"larger than {limit / 2**20:g} MB")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise Invalid(f"larger than {limit / 2**20:g} MB")
    return data


def load_array(root: Path, relative: str, budget: list[int]):
    """One .npy file: header checked (numeric dtype, size within the caps) before the data is read."""
    import io

    import numpy as np
    from numpy.lib import format as npy

    data = regular_file(root, relative, MAX_ARRAY_BYTES + 65536)
    stream = io.BytesIO(data)
    try:
        version = npy.read_magic(stream)
        reader = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran, dtype = reader(stream)
    except Exception as error:  # empty, truncated, foreign, a huge header: not an array
        raise Invalid(f"not a valid .npy file ({type(error).__name__})") from None
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise Invalid(f"an array of dtype {dtype}")
    count = 1
    for size in shape:
        count *= int(size)
    nbytes = count * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES or nbytes > budget[0]:
        raise Invalid(f"an array of {nbytes:,} bytes (over the size limit)")
    if len(data) - stream.tell() < nbytes:
        raise Invalid("a truncated .npy file")
    budget[0] -= nbytes
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:
        raise Invalid(f"not a valid .npy file ({type(error).__name__})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise Invalid(f"an array of dtype {getattr(array, 'dtype', '?')}")
    return array


class _Reader:
    """JSON value -> plain Python with its arrays loaded; invalid items become None with an error."""

    def __init__(self, root: Path, errors: dict, cast: bool = True):
        self.root, self.errors, self.cast = root, errors, cast
        self.budget = [MAX_TOTAL_ARRAY_BYTES]

    def value(self, value, where: str, depth: int):
        if depth > MAX_DEPTH:
            raise Invalid("nested too deeply")
        if value is None or type(value) in (bool, int, float):
            return value
        if type(value) is str:
            if len(value) > MAX_STRING:
                raise Invalid(f"a string of {len(value):,} characters")
            return value
        if type(value) is list:
            if len(value) > MAX_LIST:
                raise Invalid(f"a list of {len(value):,} items")
            return [self.item(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        if type(value) is dict:
            if set(value) == {ARRAY_KEY}:
                name = value[ARRAY_KEY]
                # A bare file name: no path may lead out of the arrays folder.
                if type(name) is not str or not re.fullmatch(r"a\d{1,7}\.npy", name):
                    raise Invalid("a bad array reference")
                array = load_array(self.root, f"{ARRAYS_DIR}/{name}", self.budget)
                return array.astype("float64") if self.cast and array.dtype.kind == "f" else array
            return {key: self.item(item, f"{where}.{key}", depth + 1)
                    for key, item in value.items() if type(key) is str}
        raise Invalid(f"a {type(value).__name__}")

    def item(self, value, where: str, depth: int):
        try:
            return self.value(value, where, depth)
        except (Invalid, ValueError, OSError, RecursionError, MemoryError) as error:
            self.errors[f"boundary {where}"[:200]] = f"dropped: {error}"
            return None


def read_json(root: Path, relative: str, limit: int = MAX_RESULT_BYTES):
    """A JSON file of a worker, size-capped before it is parsed; raises `Invalid` with the reason."""
    text = regular_file(root, relative, limit)
    try:
        return json.loads(text.decode("utf-8"))
    except RecursionError:
        raise Invalid("nested too deeply") from None
    except (ValueError, MemoryError) as error:
        raise Invalid(f"not valid JSON ({type(error).__name__}: {str(error)[:100]})") from None


def validate(exercise_id: str, result: dict, test_records: int | None) -> dict:
    """`result` checked against what the exercise's collector declares it returns; bad items dropped with a reason."""
    from embedlab.grading import contract, schema

    clean = schema.validate(contract.returns(exercise_id), result, test_records)
    clean["exercise"] = exercise_id  # whatever the worker claimed
    return clean


def load_result(out: Path, exercise_id: str, test_records: int | None) -> tuple[dict | None, str | None]:
    """The worker's result, validated; or (None, why) if there is no complete one ((None, None): no file).

    Never raises for anything in the folder: every failure to read it is a reason.
    """
    try:
        return _load_result(Path(out), exercise_id, test_records)
    except Invalid as error:
        return None, f"its result file could not be read: {error}"
    except (Exception, RecursionError, MemoryError) as error:  # a reason, never a crash
        return None, f"its result file could not be read ({type(error).__name__})"


def _load_result(out: Path, exercise_id: str, test_records: int | None) -> tuple[dict | None, str | None]:
    path = out / RESULT_FILE
    if not path.exists() and not path.is_symlink():
        return None, None
    try:
        payload = read_json(out, RESULT_FILE)
    except Invalid as error:
        return None, f"its result file is {error}" if "larger" in str(error) else f"its result file is refused: {error}"
    if type(payload) is not dict or payload.get("complete") is not True or type(payload.get("result")) is not dict:
        return None, "its result file is incomplete"
    if payload.get("exercise") != exercise_id:
        return None, "its result file is for another exercise"
    tampered = payload.get("tampered")
    if type(tampered) is list and tampered:
        names = ", ".join(str(name) for name in tampered[:5])
        return None, f"the submission replaced parts of the grader or of the libraries it relies on ({names})"
    errors: dict = {}
    result = _Reader(out, errors).item(payload["result"], "result", 0)
    if type(result) is not dict:
        return None, "its result is not a dict"
    result = validate(exercise_id, result, test_records)
    result["errors"].update(errors)
    peak = payload.get("peak_rss_mb")
    result["worker_peak_rss_mb"] = peak if type(peak) in (int, float) else None
    return result, None
