"""Exercise 8's collector: build the bigram model from the training file, train it, export it; the grader
judges it by its computation (`embedlab.grading.linear_mean`) and computes the test predictions itself.

The vocabulary the embedding rows stand for is the model's own: its StringLookup (or TextVectorization)
layer's ``get_vocabulary()`` without the OOV / mask entries. A model without such a layer is refused: the
grader cannot tell which n-gram a row is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import linear_mean, models
from embedlab.grading.contract import Collection, Refused

RETURNS = {**linear_mean.RETURNS}

DIMENSION = 16  # build_bigram_model's default dimension
WHAT = "build_bigram_model(train)"


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    return linear_mean.questions(rng, data_dir)


def collect(collection: Collection) -> None:
    train = str(grading_data.train_file(collection.data_dir))
    if collection.load() and (model := models.build(collection, "build_bigram_model", train)) is not None:
        linear_mean.train_and_export(collection, model)


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    """The test probabilities of the exported unigram+bigram fastText model, once verified on the questions."""
    vocabulary = result.get("lookup_vocabulary")
    if result.get("weights") is None:
        raise linear_mean.nothing_to_judge(result, WHAT, "weights")
    if not vocabulary:
        raise Refused(f"{WHAT}: the model has no StringLookup or TextVectorization layer, so the grader cannot tell "
                      "which n-gram each embedding row stands for. Count the n-grams with keras.layers.StringLookup("
                      "vocabulary=..., output_mode='count', sparse=True) as 'What to build' says.")
    fasttext = linear_mean.judge(result, questions, [vocabulary], bigrams=True, dimension=DIMENSION, what=WHAT)
    return fasttext.probabilities(grading_data.terms(data_dir, "test"))


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray]:
    """The unigrams and bigrams and their trained 16-d vectors, as the fastText check verified them."""
    vocabulary = result.get("lookup_vocabulary")
    if result.get("weights") is None or not vocabulary:
        raise linear_mean.nothing_to_judge(result, WHAT, "weights" if vocabulary else "vocabulary")
    return linear_mean.verified_embedding(result, questions, [vocabulary], bigrams=True, dimension=DIMENSION,
                                          what=WHAT)
