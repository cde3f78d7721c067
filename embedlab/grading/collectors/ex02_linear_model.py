"""Exercise 2's collector: the linear model over the 50 terms' counts.

The worker builds it, trains it with the grader's budget, exports its
weights and answers the question reviews; the grader puts the weights into
logistic regression over the counts (`ARCHITECTURE`), checks that it gives
the model's answers, and computes the test reviews' probabilities itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import models, transplant
from embedlab.grading.contract import Collection

EXERCISE = __name__.rpartition(".")[2]
RETURNS = dict(models.RETURNS)
ARCHITECTURE = transplant.Architecture()


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    return models.questions(rng, data_dir, manifest.get(EXERCISE).budget.batch_size)


def collect(collection: Collection) -> None:
    models.build_and_train(collection, "build_linear_model", list(models.VOCABULARY))


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    return transplant.probabilities_of_test_reviews(ARCHITECTURE, result, questions, data_dir)
