"""Exercise 4: the embedding layer, compared with Keras' own lookup by index."""

import numpy as np
import pytest

pytestmark = pytest.mark.exercise("ex04_embedding_dnn")


@pytest.mark.points(3)
def test_terms_embedding_layer_holds_a_50_by_2_matrix(collected):
    """a layer named 'terms_embedding' holds the (50, 2) embedding matrix"""
    facts = collected.need("embedding", "embedding_layer")
    assert facts["matrix_shape"] == [50, 2], (
        f"the 'terms_embedding' layer's first weight has shape {facts['matrix_shape']}; expected (50, 2): one "
        "row of 2 numbers per informative term, in vocabulary order (no row for out-of-vocabulary terms).")
    dense = collected.need("model", "build").get("dense_layers", [])
    shape = [(layer["units"], layer["activation"]) for layer in dense]
    assert shape == [(20, "relu"), (20, "relu"), (1, "sigmoid")], (
        f"after the embedding come Dense layers {shape}; expected [(20, 'relu'), (20, 'relu'), (1, 'sigmoid')].")


@pytest.mark.points(2)
def test_review_without_known_terms_gives_zeros_not_nan(collected):
    """a review with none of the 50 terms is embedded as zeros, not NaN"""
    facts = collected.need("embedding", "embedding_layer")
    for name in ("empty_output", "oov_only_output"):
        vector = np.asarray(facts[name])
        assert np.all(np.isfinite(vector)) and np.allclose(vector, 0.0), (
            f"the 'terms_embedding' layer gives {vector.tolist()} for "
            f"{'[]' if name == 'empty_output' else ['zzqxv']}; expected [0.0, 0.0]. Dividing by a count of 0 "
            "gives NaN: divide by keras.ops.maximum(count, 1.0).")


@pytest.mark.points(3)
def test_review_vector_is_the_mean_of_its_terms_vectors(collected):
    """the layer's output is the mean of the in-vocabulary terms' rows (Keras' Embedding lookup, averaged)"""
    facts = collected.need("embedding_trained", "embedding_layer_trained")
    got, expected = np.asarray(facts["review_output"]), np.asarray(facts["review_expected"])
    assert np.allclose(got, expected, atol=1e-5), (
        f"for the review {facts['review']} the 'terms_embedding' layer gives {got.round(5).tolist()}; the mean of "
        f"the rows of great, great, bad and . (looked up with keras.layers.Embedding) is "
        f"{expected.round(5).tolist()}. Count each term, ignore out-of-vocabulary ones, divide by how many "
        "in-vocabulary terms the review has.")


@pytest.mark.points(0)
def test_mean_combiner_does_not_count_repeats(collected):
    """with the mean combiner, ['great'] and ['great', 'great'] embed the same (informative)"""
    probes = collected.need("probes", "train", "probes")
    assert abs(probes["great_twice"] - probes["great"]) < 1e-5, (
        f"p(['great'])={probes['great']:.5f} but p(['great', 'great'])={probes['great_twice']:.5f}; the mean of "
        "one vector and of two copies of it is the same vector.")
