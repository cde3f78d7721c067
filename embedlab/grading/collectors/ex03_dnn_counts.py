"""Exercise 3's collector: the DNN [20, 20] over the 50 terms' counts.

The worker builds it, trains it with the grader's budget, exports its
weights and answers the question reviews; the grader puts the weights into
two ReLU layers of 20 and a sigmoid unit over the counts (`ARCHITECTURE`),
checks that they give the model's answers, and computes the test reviews'
probabilities itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import models, transplant
from embedlab.grading.contract import Collection

EXERCISE = __name__.rpartition(".")[2]
RETURNS = dict(models.RETURNS)
ARCHITECTURE = transplant.Architecture(hidden=(20, 20))


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    return models.questions(rng, data_dir, manifest.get(EXERCISE).budget.batch_size)


def collect(collection: Collection) -> None:
    models.build_and_train(collection, "build_dnn_model", list(models.VOCABULARY))


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    return transplant.probabilities_of_test_reviews(ARCHITECTURE, result, questions, data_dir)
