"""The grader's numpy forward pass of a self-attention block (embedlab/grading/attention.py) against Keras'
own layers (StringLookup, Embedding, MultiHeadAttention, LayerNormalization, Dense) on random weights: the
Keras built-ins are the reference."""

import numpy as np
import pytest

from embedlab.grading import attention

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

VOCABULARY = ["not", "bad", "acting", "great", "film", "!"]
MAX_LENGTH, DIMENSION, HEADS = 6, 8, 2
REVIEWS = [["not", "bad"], ["bad", "acting"], ["bad", "not"], [], ["zzqxv"], ["great", "film", "zzqxv", "!"],
           ["film"] * 9, ["great", "!", "not", "bad", "acting"]]


def keras_model(positions: bool = True):
    """The exercise's architecture from Keras' built-in layers, every weight drawn at random."""
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    ids = keras.layers.StringLookup(vocabulary=VOCABULARY, mask_token="")(terms)
    ids = keras.layers.Lambda(lambda ragged: ragged[:, :MAX_LENGTH].to_tensor(default_value=0),
                              output_shape=(None,))(ids)
    mask = keras.ops.not_equal(ids, 0)
    x = keras.layers.Embedding(len(VOCABULARY) + 2, DIMENSION, name="token_embedding")(ids)
    if positions:
        places = keras.ops.cumsum(keras.ops.ones_like(ids), axis=1) - 1  # 0, 1, ... on every row
        x = x + keras.layers.Embedding(MAX_LENGTH, DIMENSION, name="position_embedding")(places)
    attended = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=DIMENSION // HEADS, name="attention")(
        x, x, attention_mask=mask[:, None, :])
    contextual = keras.layers.LayerNormalization(name="contextual")(x + attended)
    real = keras.ops.cast(mask, "float32")[:, :, None]
    mean = keras.ops.sum(contextual * real, axis=1) / keras.ops.maximum(keras.ops.sum(real, axis=1), 1.0)
    probability = keras.layers.Dense(1, activation="sigmoid")(mean)
    model = keras.Model({"terms": terms}, [probability, contextual])
    rng = np.random.default_rng(7)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(0.0, 0.6, size=weight.shape) + (1.0 if "gamma" in weight.path else 0.0))
    return model


def run(model, reviews):
    values = [term for review in reviews for term in review]
    batch = tf.RaggedTensor.from_row_lengths(tf.constant(values, dtype=tf.string, shape=[len(values)]),
                                             tf.constant([len(review) for review in reviews], dtype=tf.int64))
    probability, contextual = model({"terms": batch}, training=False)
    return np.asarray(probability)[:, 0].astype(np.float64), np.asarray(contextual).astype(np.float64)


def verified(model, names=True):
    weights = [np.asarray(weight) for weight in model.trainable_weights]
    labels = [weight.path for weight in model.trainable_weights] if names else []
    answers = run(model, REVIEWS)[0]
    for candidate in attention.find(weights, labels, VOCABULARY, MAX_LENGTH):
        if np.max(np.abs(candidate.probabilities(REVIEWS) - answers)) <= 1e-5:
            return candidate
    pytest.fail("no reading of the weights gives the Keras model's outputs")


@pytest.mark.parametrize("names", [True, False], ids=["by_names", "by_shapes"])
def test_forward_pass_gives_the_keras_models_outputs_and_vectors(names):
    model = keras_model()
    found = verified(model, names)
    assert found.positions is not None and found.max_length == MAX_LENGTH
    probabilities, contextual = run(model, REVIEWS)
    np.testing.assert_allclose(found.probabilities(REVIEWS), probabilities, atol=1e-5)
    np.testing.assert_allclose(found.probabilities(REVIEWS, one_batch=True), probabilities, atol=1e-5)
    for line, review in enumerate(REVIEWS):
        vectors = found.vectors(review)
        assert vectors.shape == (min(len(review), MAX_LENGTH), DIMENSION)
        np.testing.assert_allclose(vectors, contextual[line, : len(vectors)], atol=1e-4)


def test_a_model_without_positions_is_read_as_such():
    found = verified(keras_model(positions=False))
    assert found.positions is None and found.max_length == MAX_LENGTH
    a, b = found.probabilities([["not", "bad", "acting"], ["acting", "bad", "not"]])
    assert abs(a - b) < 1e-9


def test_the_test_split_is_computed_like_lists_of_terms():
    from embedlab.grading.terms import TermTable

    found = verified(keras_model())
    table = TermTable.from_reviews(REVIEWS)
    # The test split is computed in float32 (its error on a probability: about 1e-7).
    np.testing.assert_allclose(found.table_probabilities(table), found.probabilities(REVIEWS), atol=1e-6)
