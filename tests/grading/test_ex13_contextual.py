"""Exercise 13: contextual vectors, judged with the grader's own forward pass of the trained model
(embedlab/grading/attention.py), once it gives the model's answers; the pass mark is test_models.py's."""

import numpy as np
import pytest

from embedlab.grading.collectors import ex13_contextual as collector

pytestmark = pytest.mark.exercise("ex13_contextual")

DIFFERENT = 1e-3   # relative distance between two contextual vectors of one term that counts as "different"
REORDERED = 1e-7   # change of a probability that counts as "another output" (float64: a reordering without
                   # positions changes it by about 1e-16; the reference, by 3e-5 and more)
AGREE = 1e-3       # student's contextual_vectors against the grader's forward pass (float32 against float64)


def verified(collected):
    """The grader's verified forward pass of the trained model (the test fails with the reason otherwise)."""
    collected.need("weights", "build", "train", "weights")
    collected.test_predictions()  # refuses, with the reason, exports that do not give the model's answers
    return collector.judge(collected.data, collected.questions)


def shown(review: list[str]) -> str:
    return "[" + ", ".join(repr(term) for term in review[:6]) + (", ...]" if len(review) > 6 else "]")


@pytest.mark.points(2)
def test_the_same_term_gets_one_contextual_vector_per_context(collected):
    """a term at one position in two contexts gets two contextual vectors; its static vector stays one"""
    verified(collected)
    report = collector.context_report(collected.data, collected.questions)
    same = [pair for pair in report if pair["distance"] <= DIFFERENT]
    worst = min(report, key=lambda pair: pair["distance"])
    collected.check(not same, (
        f"{len(same)} of {len(report)} terms get (nearly) the same contextual vector in two contexts, such as "
        f"{worst['term']!r} at position {worst['position']} of {shown(worst['first'])} and "
        f"{shown(worst['second'])} (relative distance {worst['distance']:.2g}, cosine {worst['contextual']:.4f}; "
        f"its static vectors: cosine {worst['static']:.4f}). The contextual vector must mix in the other terms: "
        "self-attention over the whole review (query and value = the review's vectors), masked only at padding."))


@pytest.mark.points(2)
def test_reordered_terms_change_the_output(collected):
    """the same terms in another order give another output: the model knows positions"""
    model = verified(collected)
    reviews = collected.questions["reviews"]
    pairs = collected.questions.get("reorders") or []
    changes = [abs(a - b) for a, b in (model.probabilities([reviews[i], reviews[j]]) for i, j in pairs)]
    unchanged = [pair for pair, change in zip(pairs, changes) if change <= REORDERED]
    if model.positions is None:
        cause = ("your model has no position embedding, and attention alone is permutation-equivariant: with the "
                 "mean over positions, any order of the same terms gives one output. Add PositionEmbedding(max_length, "
                 "dimension) to the token vectors before the attention.")
    else:
        cause = "make sure the position vectors are added to the token vectors before the attention."
    first = unchanged[0] if unchanged else None
    collected.check(not unchanged, (
        f"{len(unchanged)} of {len(pairs)} reviews give the same output with their terms reordered"
        + (f", such as {shown(reviews[first[0]])} and {shown(reviews[first[1]])}" if first else "")
        + f"; {cause}"))


@pytest.mark.points(1)
def test_contextual_vectors_are_the_layers_output(collected):
    """contextual_vectors(model, terms) returns the 'contextual' layer's vectors of the review's real positions"""
    model = verified(collected)
    given = collected.need("contextual_vectors", "contextual_vectors")
    reviews = collected.questions["reviews"]
    asked = [index for pair in collected.questions.get("contexts") or [] for index in pair[:2]]
    collected.check(len(given) == len(asked), (
        f"contextual_vectors answered {len(given)} of the {len(asked)} reviews asked"))
    for index, vectors in zip(asked, given):
        expected = model.vectors(reviews[index])
        vectors = np.asarray(vectors)
        collected.check(vectors.shape == expected.shape, (
            f"contextual_vectors(model, {shown(reviews[index])}) has shape {vectors.shape}; expected "
            f"{expected.shape}: one vector of the layer 'contextual' per real position (no padding)."))
        error = float(np.max(np.abs(vectors - expected))) if vectors.size else 0.0
        collected.check(error <= AGREE, (
            f"contextual_vectors(model, {shown(reviews[index])}) differs from the layer 'contextual''s output by up "
            f"to {error:.3g}: read model.get_layer('contextual').output with a keras.Model from model.inputs."))
