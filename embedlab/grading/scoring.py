"""The grader's own measures, in numpy only (no TensorFlow, no student code).

Model exercises are scored from the predictions a model makes on the test
reviews; the labels never leave the grading process.

>>> import numpy as np
>>> labels = np.array([0, 0, 1, 1])
>>> accuracy(np.array([0.1, 0.6, 0.7, 0.9]), labels)
0.75
>>> roc_auc(np.array([0.1, 0.6, 0.7, 0.9]), labels)
1.0
>>> roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), labels)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from embedlab.manifest import Metrics


def _check(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    if predictions.shape != labels.shape:
        raise ValueError(f"{predictions.shape[0]} predictions for {labels.shape[0]} labels")
    return predictions, labels


def accuracy(predictions, labels, threshold: float = 0.5) -> float:
    """Fraction of reviews whose predicted probability falls on the right side of 0.5."""
    predictions, labels = _check(predictions, labels)
    if not np.all(np.isfinite(predictions)):
        return 0.0
    return float(np.mean((predictions > threshold) == (labels > 0.5)))


def roc_auc(predictions, labels) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted as half)."""
    predictions, labels = _check(predictions, labels)
    if not np.all(np.isfinite(predictions)):
        return 0.0
    positive = labels > 0.5
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    if n_positive == 0 or n_negative == 0:
        raise ValueError("roc_auc needs both positive and negative labels")
    order = np.argsort(predictions, kind="mergesort")
    ranks = np.empty(len(predictions), dtype=np.float64)
    sorted_predictions = predictions[order]
    # Average rank for ties, so a constant model scores exactly 0.5.
    boundaries = np.flatnonzero(np.diff(sorted_predictions)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(predictions)]])
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u / (n_positive * n_negative))


def separability(points_a: np.ndarray, points_b: np.ndarray, angles: int = 720) -> float:
    """Best fraction of points that one straight line puts on the correct sides.

    Tries `angles` directions for the line's normal and the best cut along
    each. It does not change under rotation, reflection or scaling of the
    plane (up to the angle grid), which is what matters for an embedding:
    its axes mean nothing on their own.

    >>> separability(np.array([[1.0, 1.0], [2.0, 1.5]]), np.array([[-1.0, -1.0], [-2.0, 0.0]]))
    1.0
    """
    points_a = np.asarray(points_a, dtype=np.float64)
    points_b = np.asarray(points_b, dtype=np.float64)
    points = np.concatenate([points_a, points_b])
    is_a = np.concatenate([np.ones(len(points_a), bool), np.zeros(len(points_b), bool)])
    best = 0.0
    for angle in np.linspace(0.0, math.pi, angles, endpoint=False):
        projection = points @ np.array([math.cos(angle), math.sin(angle)])
        order = np.argsort(projection, kind="mergesort")
        labels = is_a[order]
        # Everything left of the cut called "b", right of it "a" (and the reverse).
        a_right = np.concatenate([[0], np.cumsum(~labels)]) + np.concatenate([np.cumsum(labels[::-1])[::-1], [0]])
        correct = max(a_right.max(), (len(points) - a_right).max())
        best = max(best, correct / len(points))
    return float(best)


def describe(values: Sequence[float]) -> str:
    values = list(values)
    return f"mean {np.mean(values):.4f}, min {np.min(values):.4f}, max {np.max(values):.4f}"


def judge_model(predictions, labels, thresholds: Metrics, what: str) -> tuple[bool, str]:
    """Compare a model's test accuracy and AUC with the exercise's pass marks (`thresholds`).

    Returns (passed, message); the message says what was measured, what was
    expected and what usually causes a shortfall.

    >>> from embedlab.manifest import Metrics
    >>> judge_model(np.array([0.2, 0.8]), np.array([0.0, 1.0]), Metrics(accuracy=0.9, auc=0.9), "a model")[0]
    True
    """
    measured = {"accuracy": accuracy(predictions, labels), "auc": roc_auc(predictions, labels)}
    short = [name for name in ("accuracy", "auc") if measured[name] < getattr(thresholds, name)]
    summary = (f"{what}: test accuracy {measured['accuracy']:.4f} (pass mark {thresholds.accuracy:.2f}), "
               f"AUC {measured['auc']:.4f} (pass mark {thresholds.auc:.2f}) on {len(labels):,} test reviews")
    if not short:
        return True, summary
    hint = ""
    if measured["auc"] <= 0.55:
        hint = (" The predictions carry almost no signal: is the model trainable, is its output a sigmoid "
                "probability, and does the optimizer's learning rate move the weights?")
    elif measured["accuracy"] < 0.6 <= measured["auc"]:
        hint = " AUC is fine but accuracy is not: are the outputs probabilities in [0, 1] (sigmoid), not logits?"
    return False, summary + "; below the pass mark." + hint
