"""Attack: an unwritten exercise 6 that writes its own complete result file, then leaves before the grader's worker.

It finds the worker's arguments up the call stack and writes, with the grader's own writer, what a
perfect exercise 6 reports: a figure of 50 texts, the 1.2x axis limits, a ValueError for a mismatched
matrix, a saved PNG, and trained embeddings whose positive and negative terms lie far apart, all made up
without drawing or training anything. On the old grader such stubs earned full marks.
"""
import os
import sys

import numpy as np

from embedlab.vocabulary import INFORMATIVE_TERMS, POSITIVE_TERMS

MADE_UP = np.array([[3.0, 3.0] if term in POSITIVE_TERMS else [-3.0, -3.0] for term in INFORMATIVE_TERMS])


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
    texts = [[term, float(x), float(y)] for term, (x, y) in zip(INFORMATIVE_TERMS, MADE_UP)]
    result = {
        "exercise": args.exercise, "errors": {}, "seconds": {},
        "figure": {"type": "Figure", "is_figure": True, "axes": 1, "texts": texts,
                   "xlim": [-3.6, 3.6], "ylim": [-3.6, 3.6]},
        "mismatch": "ValueError",
        "saved": {"exists": True, "bytes": 1000, "is_png": True, "path": "random_embedding.png"},
        "trained_matrix": MADE_UP, "short_matrix": MADE_UP,
    }
    try:
        wire.write_result(args.out, args.exercise, result)
    except TypeError:  # an older writer that wants a token
        wire.write_result(args.out, found.get("token", ""), args.exercise, result)
    os._exit(0)


_forge()


def plot_embedding(matrix, vocabulary):
    raise NotImplementedError("exercise 6: plot_embedding")


def save_embedding_plot(matrix, vocabulary, path):
    raise NotImplementedError("exercise 6: save_embedding_plot")
