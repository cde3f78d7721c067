"""Exercise 4: the embedding, judged by the computation its exported weights make (any layer may hold it)."""

import numpy as np
import pytest

from embedlab.grading import contract, transplant

from cases import verdict

pytestmark = pytest.mark.exercise("ex04_embedding_dnn")


@pytest.mark.points(3)
def test_terms_embedding_layer_holds_a_50_by_2_matrix(collected):
    """a trainable (50, 2) embedding matrix, one row per term, that the grader's training moved"""
    found = verdict(collected)
    collected.check(found.params is not None, (
        f"no place for the embedding: {found.reason}. Expected one trainable (50, 2) matrix: one row of 2 numbers "
        "per informative term, in vocabulary order (no row for out-of-vocabulary terms)."))
    collected.check(not found.params.frozen, (
        "the (50, 2) embedding is not among the model's trainable weights (trainable=False?): the exercise asks "
        "for an embedding learned with the rest of the model."))
    moved = transplant.moved({key: collected.get(key) for key in transplant.EXPORTS}, found)
    collected.check(moved > 1e-6, (
        f"the grader's training changed the embedding by at most {moved:.2g}: it must be learned (is its gradient "
        "cut, e.g. by keras.ops.stop_gradient, or is it a constant?)."))


@pytest.mark.points(2)
def test_review_without_known_terms_gives_zeros_not_nan(collected):
    """a review with none of the 50 terms is embedded as zeros, not NaN"""
    found = verdict(collected)
    reviews, vocabulary = collected.questions["reviews"], set(transplant.VOCABULARY)
    unknown = [i for i, review in enumerate(reviews) if not vocabulary.intersection(review)]
    answers = transplant.answers_of(collected["answers"], len(reviews))
    collected.check(answers is not None, f"the model did not give one output per question review ({len(reviews)}).")
    nan = [reviews[i] for i in unknown if not np.isfinite(answers[i])]
    collected.check(not nan, (
        f"the model outputs NaN for {nan[:3]} (reviews with none of the 50 terms): dividing by a count of 0 gives "
        "NaN. Divide by keras.ops.maximum(count, 1.0)."))
    collected.check(found.params is not None, f"no place for the embedding: {found.reason}.")
    zeros = np.zeros((1, len(transplant.VOCABULARY)))
    expected = float(transplant.forward(contract.collector(collected.exercise.id).ARCHITECTURE, found.params,
                                        zeros, np.zeros(1))[0])
    wrong = [(reviews[i], round(float(answers[i]), 5)) for i in unknown if abs(answers[i] - expected) > 1e-4]
    collected.check(not wrong, (
        f"for reviews with none of the 50 terms the model gives {wrong[:3]}; with a zero mean vector its layers "
        f"give {expected:.5f}. A review without known terms is embedded as [0.0, 0.0]."))


@pytest.mark.points(3)
def test_review_vector_is_the_mean_of_its_terms_vectors(collected):
    """the mean of the in-vocabulary terms' rows, then Dense(20, relu) x 2 and a sigmoid give the model's answers"""
    found = verdict(collected)
    architecture = contract.collector(collected.exercise.id).ARCHITECTURE
    collected.check(found.exact, (
        f"build_embedding_model(INFORMATIVE_TERMS): {found.cause()}. Expected {architecture.describe()}: count each "
        "term, ignore out-of-vocabulary ones, multiply by the matrix and divide by how many in-vocabulary terms "
        f"the review has (checked on {len(collected.questions['reviews'])} reviews)."))


@pytest.mark.points(0)
def test_mean_combiner_does_not_count_repeats(collected):
    """with the mean combiner, ['great'] and ['great', 'great'] embed the same (informative)"""
    reviews, probes = collected.questions["reviews"], collected.questions["probes"]
    answers = transplant.answers_of(collected.need("answers", "build", "train", "answers"), len(reviews))
    great, twice = float(answers[probes["great"]]), float(answers[probes["great_twice"]])
    collected.check(abs(twice - great) < 1e-5, (
        f"p(['great'])={great:.5f} but p(['great', 'great'])={twice:.5f}; the mean of one vector and of two copies "
        "of it is the same vector."))
