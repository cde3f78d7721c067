"""Attack: find the grader's expected values in memory (gc) or up the call stack, and answer with them.

Against a grader that holds its expected answers in the process that runs
this code, it scores full marks: it answers each call with the next row of
the matching expected array. Against one that does not, it finds nothing and
answers zeros.
"""
import gc
import sys

import numpy as np

NAMES = ("references", "expected", "reference", "expected_values")
_calls: dict = {}


def _looks_like_answers(value) -> bool:
    return isinstance(value, dict) and any(key in value for key in ("one_hot", "counts", "counts_vector", "matrix"))


def _find() -> dict:
    if "found" not in _calls:  # one search per process: the heap of a TensorFlow process is large
        _calls["found"] = _search()
    return _calls["found"]


def _search() -> dict:
    frame = sys._getframe(2)
    while frame is not None:  # up the stack: the collector's locals
        for name, value in list(frame.f_locals.items()):
            if name in NAMES and _looks_like_answers(value):
                return value
            if isinstance(value, dict):
                for key in NAMES:
                    if _looks_like_answers(value.get(key)):
                        return value[key]
        frame = frame.f_back
    for obj in gc.get_objects():  # the heap: any dict holding an answers dict
        if type(obj) is dict:
            for key in NAMES:
                candidate = obj.get(key)
                if _looks_like_answers(candidate):
                    return candidate
    return {}


def _next_row(keys, size):
    answers = _find()
    for key in keys:
        value = answers.get(key)
        if value is not None:
            row = _calls.get(key, 0)
            _calls[key] = row + 1
            value = np.asarray(value)
            if row < len(value):
                return value[row]
    return np.zeros(size)


def one_hot(term, vocabulary):
    return _next_row(["one_hot"], len(vocabulary))


def counts_vector(terms, vocabulary):
    return _next_row(["counts_vector", "counts"], len(vocabulary))


def lookup(term, matrix, vocabulary):
    return _next_row([f"lookup_{matrix.shape[1]}"], matrix.shape[1])


def lookup_by_matmul(term, matrix, vocabulary):
    # The same expected array as lookup: its own counter.
    answers = _find()
    key = f"lookup_{matrix.shape[1]}"
    row = _calls.get("matmul" + key, 0)
    _calls["matmul" + key] = row + 1
    value = answers.get(key)
    return np.asarray(value)[row] if value is not None and row < len(value) else np.zeros(matrix.shape[1])


def review_vector(terms, matrix, vocabulary):
    return _next_row([f"review_vector_{matrix.shape[1]}", f"review_{matrix.shape[1]}"], matrix.shape[1])


def embedding_matrix(model):
    value = _find().get("matrix")
    return np.asarray(value) if value is not None else np.zeros((50, 2))
