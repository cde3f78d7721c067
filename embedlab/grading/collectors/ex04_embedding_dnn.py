"""Exercise 4's collector: the DNN over a 2-D mean embedding of the 50 terms.

The worker builds the model, exports its trainable weights before and after
the grader's training and answers the question reviews. The grader finds the
(50, 2) embedding among those weights by shape (whatever layer holds it),
puts everything into the computation the exercise specifies
(`ARCHITECTURE`), checks that it gives the model's answers and computes the
test reviews' probabilities itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import models, transplant
from embedlab.grading.contract import Collection, Refused

EXERCISE = __name__.rpartition(".")[2]
RETURNS = dict(models.RETURNS)
DIMENSION = 2
ARCHITECTURE = transplant.Architecture(hidden=(20, 20), embedding=DIMENSION)


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    return models.questions(rng, data_dir, manifest.get(EXERCISE).budget.batch_size)


def collect(collection: Collection) -> None:
    models.build_and_train(collection, "build_embedding_model", list(models.VOCABULARY))


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    return transplant.probabilities_of_test_reviews(ARCHITECTURE, result, questions, data_dir)


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray]:
    """The 50 terms and their trained 2-D vectors, as the architecture check verified them (`embedlab projector`)."""
    found = transplant.verdict(ARCHITECTURE, result, questions)
    if not found.verified:
        raise Refused(f"no verified embedding to export: {found.reason}")
    return list(models.VOCABULARY), found.params.first
