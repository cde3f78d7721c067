"""What a collector may return: each collector module declares its result's
keys and their kinds (``RETURNS``), and what crosses back from an isolated
worker is checked against that declaration, item by item.

A kind's `check` returns the cleaned value or raises `Invalid` with a short
reason; the caller drops the item and records the reason. Nothing here
imports TensorFlow.

>>> MATRIX.check(np.zeros((2, 3))).shape
(2, 3)
>>> try:
...     NUMBER_DICT.check({"great": "high"})
... except Invalid as error:
...     print(error)
expected a dict of numbers
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Keys every result has, whatever the exercise: set by the contract, not declared.
# ("references" is the trusted run's: the isolation layer replaces the student's copy.)
CONTRACT_KEYS = ("exercise", "errors", "seconds", "references")


class Invalid(Exception):
    """An item that is not what its declaration says."""


def finite_array(value, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise Invalid(f"expected an array of numbers, got {type(value).__name__}")
    array = value.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        raise Invalid(f"expected {ndim} dimensions, got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise Invalid(f"expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise Invalid(f"{int((~np.isfinite(array)).sum())} values are NaN or infinite")
    return array


@dataclasses.dataclass(frozen=True)
class Kind:
    """Plain data of any shape (numbers, strings, lists, dicts, arrays of numbers)."""

    def check(self, value, test_records: int | None = None):
        return value


@dataclasses.dataclass(frozen=True)
class Array(Kind):
    """A finite array of numbers with `ndim` dimensions."""

    ndim: int | None = None

    def check(self, value, test_records: int | None = None):
        return finite_array(value, self.ndim)


@dataclasses.dataclass(frozen=True)
class Predictions(Kind):
    """One finite probability per test review."""

    def check(self, value, test_records: int | None = None):
        return finite_array(value, 1, (test_records,) if test_records else None)


@dataclasses.dataclass(frozen=True)
class ArrayList(Kind):
    """A list of finite arrays of numbers (e.g. a model's weights, in order)."""

    def check(self, value, test_records: int | None = None):
        if type(value) is not list:
            raise Invalid("expected a list of arrays")
        return [finite_array(item) for item in value]


@dataclasses.dataclass(frozen=True)
class Strings(Kind):
    def check(self, value, test_records: int | None = None):
        if type(value) is not list or not all(type(item) is str for item in value):
            raise Invalid("expected a list of strings")
        return value


@dataclasses.dataclass(frozen=True)
class Numbers(Kind):
    def check(self, value, test_records: int | None = None):
        if type(value) is not list or not all(type(item) in (int, float) for item in value):
            raise Invalid("expected a list of numbers")
        return value


@dataclasses.dataclass(frozen=True)
class NumberDict(Kind):
    def check(self, value, test_records: int | None = None):
        if type(value) is not dict or not all(type(item) in (int, float) for item in value.values()):
            raise Invalid("expected a dict of numbers")
        return value


@dataclasses.dataclass(frozen=True)
class ArrayDict(Kind):
    """A dict of finite arrays; a bad entry is dropped on its own (reported as ``key.entry``)."""

    def check(self, value, test_records: int | None = None):
        if type(value) is not dict:
            raise Invalid("expected a dict of arrays")
        return value

    def entries(self, value: dict) -> tuple[dict, dict]:
        """(the valid entries, {entry: reason} for the others)."""
        kept, refused = {}, {}
        for key, item in value.items():
            try:
                kept[key] = finite_array(item)
            except Invalid as error:
                refused[key] = str(error)
        return kept, refused


PLAIN = Kind()
MATRIX = Array(ndim=2)
PREDICTIONS = Predictions()
STRINGS = Strings()
NUMBERS = Numbers()
NUMBER_DICT = NumberDict()
ARRAY_DICT = ArrayDict()
ARRAY_LIST = ArrayList()


def validate(returns: dict[str, Kind], result: dict, test_records: int | None = None) -> dict:
    """`result` with every item checked against `returns`; refused or undeclared items dropped with a reason.

    >>> cleaned = validate({"probes": NUMBER_DICT}, {"probes": {"a": 1.0}, "extra": 1, "errors": {}})
    >>> cleaned["probes"], "extra" in cleaned, cleaned["errors"]["extra"]
    ({'a': 1.0}, False, 'refused: not declared by the collector')
    """
    errors = result.get("errors")
    errors = {key: value for key, value in errors.items() if type(value) is str} if type(errors) is dict else {}
    seconds = result.get("seconds")
    seconds = ({key: value for key, value in seconds.items() if type(value) in (int, float)}
               if type(seconds) is dict else {})
    clean: dict = {"exercise": result.get("exercise"), "errors": errors, "seconds": seconds}
    if type(result.get("references")) is dict:
        clean["references"] = result["references"]
    for key, value in result.items():
        if key in CONTRACT_KEYS or value is None:
            continue
        kind = returns.get(key)
        if kind is None:
            errors[key] = "refused: not declared by the collector"
            continue
        try:
            value = kind.check(value, test_records)
        except Invalid as error:
            errors[key] = f"the worker's '{key}' was refused: {error}"
            continue
        if isinstance(kind, ArrayDict):
            value, refused = kind.entries(value)
            errors.update({f"{key}.{entry}": f"refused: {why}" for entry, why in refused.items()})
        clean[key] = value
    return clean
