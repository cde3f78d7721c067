"""The grader's own logistic regression, in numpy: how well exported features tell the labels apart.

Used to judge an embedding that was not trained on the labels (e.g. a truncated SVD of co-occurrence
counts): the grader fits a logistic regression on the training reviews' features and scores it on the
test reviews, in its own process. The features are standardized first (the fit does not depend on each
column's scale or sign) and the fit is Newton's method with a tiny ridge penalty, so it is deterministic
and converges in a few steps for a few dozen features.

>>> features = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> model = fit(features, np.array([0.0, 0.0, 1.0, 1.0]))
>>> (predict(model, np.array([[0.2], [2.8]])) > 0.5).tolist()
[False, True]
"""

from __future__ import annotations

import dataclasses

import numpy as np

RIDGE = 1e-4  # keeps Newton's steps finite when the classes are separable or a column is constant
STEPS = 25
TOLERANCE = 1e-10


@dataclasses.dataclass(frozen=True)
class Model:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # one per standardized feature, then the bias


def _design(model_mean: np.ndarray, model_scale: np.ndarray, features: np.ndarray) -> np.ndarray:
    standardized = (np.asarray(features, dtype=np.float64) - model_mean) / model_scale
    return np.hstack([standardized, np.ones((len(standardized), 1))])


def fit(features, labels, ridge: float = RIDGE, steps: int = STEPS) -> Model:
    """A logistic regression of `labels` (0 / 1) on `features` (rows: examples), by Newton's method."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features of shape {features.shape} for {len(labels)} labels")
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    design = _design(mean, scale, features)
    weights = np.zeros(design.shape[1])
    penalty = ridge * np.eye(len(weights))
    for _ in range(steps):
        probabilities = _sigmoid(design @ weights)
        gradient = design.T @ (probabilities - labels) + ridge * weights
        hessian = (design * (probabilities * (1 - probabilities))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < TOLERANCE:
            break
    return Model(mean, scale, weights)


def predict(model: Model, features) -> np.ndarray:
    """The probability of label 1 for each row of `features`."""
    return _sigmoid(_design(model.mean, model.scale, features) @ model.weights)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logits))  # = 1 / (1 + exp(-x)), without overflow
