"""Exercise 5: a lookup is a one-hot vector times the matrix, checked against Keras built-ins."""

import numpy as np
import pytest

pytestmark = pytest.mark.exercise("ex05_inside_embedding")


def _compare(collected, got_key: str, expected_key: str, call: str, advice: str) -> None:
    got = collected.need("got").get(got_key)
    if got is None:
        collected.need(got_key)
    expected = collected["expected"][expected_key]
    assert got.shape == expected.shape, f"{call}: stacked results have shape {got.shape}; expected {expected.shape}."
    bad = [i for i in range(len(expected)) if not np.allclose(got[i], expected[i], atol=1e-5)]
    assert not bad, (
        f"{call} for input #{bad[0]} gave {np.round(got[bad[0]], 4).tolist()}; Keras' built-in gives "
        f"{np.round(expected[bad[0]], 4).tolist()}. {advice}")


@pytest.mark.points(3)
def test_embedding_matrix_reads_the_layer_weights(collected):
    """embedding_matrix(model) returns the 'terms_embedding' layer's (50, 2) weights"""
    _compare(collected, "embedding_matrix", "matrix", "embedding_matrix(model)",
             "Return model.get_layer('terms_embedding').get_weights()[0] as a numpy array.")


@pytest.mark.points(2)
def test_one_hot_matches_stringlookup(collected):
    """one_hot(term) matches StringLookup(output_mode='one_hot') without its OOV column"""
    _compare(collected, "one_hot", "one_hot", f"one_hot(term, vocabulary) for {collected['terms']}",
             "A vector of 50 zeros with a 1.0 at the term's index; all zeros for an unknown term.")


@pytest.mark.points(2)
def test_counts_vector_matches_stringlookup(collected):
    """counts_vector(terms) matches StringLookup(output_mode='count') without its OOV column"""
    _compare(collected, "counts_vector", "counts", "counts_vector(terms, vocabulary)",
             "Count each vocabulary term's occurrences; ignore unknown terms.")


@pytest.mark.parametrize("dimension", [2, 3])
@pytest.mark.points(2)
def test_lookup_by_index_matches_embedding_layer(collected, dimension):
    """lookup(term) is the term's row, as keras.layers.Embedding looks it up"""
    _compare(collected, f"lookup_{dimension}", f"lookup_{dimension}",
             f"lookup(term, matrix, vocabulary) (dim {dimension})",
             "Index the matrix with the term's position in the vocabulary; zeros for an unknown term.")


@pytest.mark.points(2)
def test_lookup_by_matmul_equals_lookup(collected):
    """one_hot(term) @ matrix gives the same row as the lookup by index"""
    _compare(collected, "lookup_by_matmul_2", "lookup_2", "lookup_by_matmul(term, matrix, vocabulary)",
             "Multiply the one-hot vector (50,) by the matrix (50, d): the 1.0 picks out one row.")


@pytest.mark.parametrize("dimension", [2, 3])
@pytest.mark.points(1)
def test_review_vector_is_mean_of_looked_up_rows(collected, dimension):
    """review_vector(terms) = counts @ matrix / number of in-vocabulary terms (zeros if none)"""
    _compare(collected, f"review_vector_{dimension}", f"review_{dimension}",
             f"review_vector(terms, matrix, vocabulary) (dim {dimension}) for {collected['reviews']}",
             "counts_vector(terms) @ matrix, divided by counts.sum(); a review without known terms gives zeros.")
