"""Exercise 5: a lookup is a one-hot vector times the matrix, checked against Keras built-ins.

The inputs (matrices, terms, reviews) are drawn at grading time
(`collected.questions`, the grader's own copy); the expected values are what
StringLookup and Embedding give for them, computed where no student code
runs (`collected.reference`). The student's answers are asked for first.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.exercise("ex05_inside_embedding")


def _show(vector) -> str:
    """A vector in a few words: short ones in full, long ones by their non-zero entries."""
    vector = np.round(np.asarray(vector, dtype=np.float64), 4)
    if vector.size <= 8:
        return str(vector.tolist())
    nonzero = {int(index): float(vector[index]) for index in np.flatnonzero(vector)[:6]}
    return f"zeros except {nonzero}" if nonzero else "all zeros"


def _compare(collected, key: str, function: str, expected_key: str, inputs_key: str, call: str,
             advice: str) -> None:
    """The stacked answers of `function` under `key`, row by row against the grader's `expected_key`.

    One row per input of the question `inputs_key`; the student's answers are asked for first.
    """
    got = collected.need(key, function, kind=np.ndarray)
    expected = np.asarray(collected.reference(expected_key), dtype=np.float64)
    inputs = collected.questions[inputs_key]
    collected.check(got.shape == expected.shape,
                    f"{call}: the stacked results have shape {got.shape}; expected {expected.shape}.")
    bad = [i for i in range(len(expected)) if not np.allclose(got[i], expected[i], atol=1e-5)]
    if bad:
        shown = inputs[bad[0]]
        shown = shown if len(repr(shown)) < 120 else f"{repr(shown)[:117]}..."
        collected.check(False, f"{call.format(repr(shown))} gave {_show(got[bad[0]])}; Keras' built-in gives "
                               f"{_show(expected[bad[0]])}. {advice}")


@pytest.mark.points(3)
def test_embedding_matrix_reads_the_layer_weights(collected):
    """embedding_matrix(model) returns the 'terms_embedding' layer's (50, 2) weights"""
    got = collected.need("embedding_matrix", "embedding_matrix", kind=np.ndarray)
    expected = np.asarray(collected.questions["probe_matrix"], dtype=np.float64)
    what = "other numbers than" if got.shape == expected.shape else f"an array of shape {got.shape}, not"
    collected.check(got.shape == expected.shape and np.allclose(got, expected, atol=1e-6), (
        f"embedding_matrix(model) gave {what} the (50, 2) weights of the model's 'terms_embedding' layer. "
        "Return model.get_layer('terms_embedding').get_weights()[0] as a numpy array."))


@pytest.mark.points(2)
def test_one_hot_matches_stringlookup(collected):
    """one_hot(term) matches StringLookup(output_mode='one_hot') without its OOV column"""
    _compare(collected, "one_hot", "one_hot", "one_hot", "terms",
             "one_hot({}, vocabulary)",
             "A vector of 50 zeros with a 1.0 at the term's index; all zeros for an unknown term.")


@pytest.mark.points(2)
def test_counts_vector_matches_stringlookup(collected):
    """counts_vector(terms) matches StringLookup(output_mode='count') without its OOV column"""
    _compare(collected, "counts_vector", "counts_vector", "counts_vector",
             "reviews", "counts_vector({}, vocabulary)",
             "Count each vocabulary term's occurrences; ignore unknown terms.")


@pytest.mark.parametrize("dimension", [2, 3])
@pytest.mark.points(2)
def test_lookup_by_index_matches_embedding_layer(collected, dimension):
    """lookup(term) is the term's row, as keras.layers.Embedding looks it up"""
    _compare(collected, f"lookup_{dimension}", "lookup", f"lookup_{dimension}",
             "terms", f"lookup({{}}, matrix, vocabulary) with a (50, {dimension}) matrix",
             "Index the matrix with the term's position in the vocabulary; zeros for an unknown term.")


@pytest.mark.points(2)
def test_lookup_by_matmul_equals_lookup(collected):
    """one_hot(term) @ matrix gives the same row as the lookup by index"""
    for dimension in (2, 3):
        _compare(collected, f"lookup_by_matmul_{dimension}", "lookup_by_matmul",
                 f"lookup_{dimension}", "terms",
                 f"lookup_by_matmul({{}}, matrix, vocabulary) with a (50, {dimension}) matrix",
                 "Multiply the one-hot vector (50,) by the matrix (50, d): the 1.0 picks out one row.")


@pytest.mark.parametrize("dimension", [2, 3])
@pytest.mark.points(1)
def test_review_vector_is_mean_of_looked_up_rows(collected, dimension):
    """review_vector(terms) = counts @ matrix / number of in-vocabulary terms (zeros if none)"""
    _compare(collected, f"review_vector_{dimension}", "review_vector",
             f"review_vector_{dimension}", "reviews",
             f"review_vector({{}}, matrix, vocabulary) with a (50, {dimension}) matrix",
             "counts_vector(terms) @ matrix, divided by counts.sum(); a review without known terms gives zeros.")
