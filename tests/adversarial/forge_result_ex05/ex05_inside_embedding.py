"""Attack: an unwritten stub that writes its own complete result file, then leaves before the grader's worker.

In a grader's worker it finds the worker's arguments (and token, if it can)
up the call stack, writes a result with every answer and "references" that
agree with them, using the grader's own writer, and ends the process with
os._exit(0). Anywhere else it is the untouched stub.
"""
import inspect
import os
import sys

import numpy as np

FORGED_ANSWERS = {
    "one_hot": np.zeros((8, 50)), "counts_vector": np.zeros((4, 50)), "embedding_matrix": np.zeros((50, 2)),
    **{f"{name}_{dimension}": np.zeros((8 if name != "review_vector" else 4, dimension))
       for name in ("lookup", "lookup_by_matmul", "review_vector") for dimension in (2, 3)},
}


def _worker_locals():
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("isolation", "worker.py")) and "args" in frame.f_locals:
            return frame.f_locals
        frame = frame.f_back
    return None


def _forge() -> None:
    found = _worker_locals()
    if found is None:
        return
    from embedlab.isolation import wire

    args = found["args"]
    references = {key: value for key, value in FORGED_ANSWERS.items() if key != "embedding_matrix"}
    result = {"exercise": args.exercise, "errors": {}, "seconds": {}, **FORGED_ANSWERS,
              "references": references, "expected": references, "got": FORGED_ANSWERS}
    parameters = list(inspect.signature(wire.write_result).parameters)
    if "token" in parameters and "token" in found:
        wire.write_result(args.out, found["token"], args.exercise, result)
    else:
        wire.write_result(args.out, args.exercise, result)
    os._exit(0)


_forge()


def embedding_matrix(model):
    raise NotImplementedError("exercise 5: embedding_matrix")


def one_hot(term, vocabulary):
    raise NotImplementedError("exercise 5: one_hot")


def counts_vector(terms, vocabulary):
    raise NotImplementedError("exercise 5: counts_vector")


def lookup(term, matrix, vocabulary):
    raise NotImplementedError("exercise 5: lookup")


def lookup_by_matmul(term, matrix, vocabulary):
    raise NotImplementedError("exercise 5: lookup_by_matmul")


def review_vector(terms, matrix, vocabulary):
    raise NotImplementedError("exercise 5: review_vector")
