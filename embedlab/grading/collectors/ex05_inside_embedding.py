"""Exercise 5's collector: the submission's one-hot, counts, lookup and review
vectors, next to what Keras' built-ins give for the same inputs.

The expected values (from StringLookup and Embedding, on random matrices
drawn with the grading seed) are computed before the submission is imported:
``TRUSTED_REFERENCE``.
"""

from __future__ import annotations

import numpy as np

from embedlab.grading import schema
from embedlab.grading.contract import Collection
from embedlab.grading.models import OOV, VOCABULARY

TRUSTED_REFERENCE = True
RETURNS = {"expected": schema.PLAIN, "terms": schema.PLAIN, "reviews": schema.PLAIN, "got": schema.ARRAY_DICT}

DIMENSIONS = (2, 3)
TERMS = ("great", "family", "?", "bad", OOV)
REVIEWS = (("great", "movie", "!", "great", OOV), (OOV, "qqxzv"), (), ("bad", "worst", ".", "bad"))


def random_matrices(seed: int) -> dict[int, np.ndarray]:
    """One random (50, dimension) matrix per dimension, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    return {dimension: rng.normal(size=(len(VOCABULARY), dimension)).astype(np.float32) for dimension in DIMENSIONS}


def expected_values(matrices: dict[int, np.ndarray], terms: list, reviews: list) -> dict[str, np.ndarray]:
    """What Keras' StringLookup and Embedding give for `terms` and `reviews`."""
    import keras

    one_hot_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="one_hot")
    count_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="count")
    index_layer = keras.layers.StringLookup(vocabulary=VOCABULARY)
    expected = {
        "one_hot": np.asarray(one_hot_layer(np.array(terms)))[:, 1:],
        "counts": np.stack([np.asarray(count_layer(np.array(review, dtype=object).astype(str)))[1:]
                            if review else np.zeros(len(VOCABULARY), np.float32) for review in reviews]),
    }
    for dimension, matrix in matrices.items():
        table = keras.layers.Embedding(len(VOCABULARY) + 1, dimension)  # row 0: out of vocabulary, zeros
        table.build((None,))
        table.set_weights([np.concatenate([np.zeros((1, dimension), np.float32), matrix])])
        expected[f"lookup_{dimension}"] = np.asarray(table(np.asarray(index_layer(np.array(terms)))))
        vectors = []
        for review in reviews:
            ids = np.asarray(index_layer(np.array(review, dtype=str))) if review else np.zeros(0, np.int64)
            rows = np.asarray(table(ids)) if len(ids) else np.zeros((0, dimension), np.float32)
            in_vocabulary = ids > 0
            vectors.append(rows[in_vocabulary].mean(axis=0) if in_vocabulary.any()
                           else np.zeros(dimension, np.float32))
        expected[f"review_{dimension}"] = np.stack(vectors)
    return {name: value.astype(np.float64) for name, value in expected.items()}


def probe_model(matrix: np.ndarray):
    """A small model whose 'terms_embedding' layer holds `matrix`, for embedding_matrix(model)."""
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32")
    layer = keras.layers.Embedding(len(VOCABULARY), matrix.shape[1], name="terms_embedding")
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(layer(inputs))))
    layer.set_weights([matrix])
    return model


def stacked(values) -> np.ndarray:
    """The submission's answers, one flattened float64 row each."""
    return np.stack([np.asarray(value, dtype=np.float64).reshape(-1) for value in values])


def gather(collection: Collection, got: dict, key: str, function_name: str, calls: list, array_step: str) -> None:
    """Call the submission's `function_name` once per (step name, arguments) of `calls`.

    If every call answered, the answers, stacked, go to ``got[key]``.
    """
    function = collection.function(function_name)
    if function is None:
        return
    values = [collection.step(step_name, function, *args) for step_name, args in calls]
    if all(value is not None for value in values):
        got[key] = collection.step(array_step, stacked, values)


def collect(collection: Collection) -> None:
    # Fresh lists: what the submission is given is what the result reports.
    terms, reviews = list(TERMS), [list(review) for review in REVIEWS]
    # References from Keras built-ins, before the submission is imported.
    matrices = random_matrices(collection.seed)
    collection.result["expected"] = expected_values(matrices, terms, reviews)
    collection.result["expected"]["matrix"] = matrices[2].astype(np.float64)
    model = probe_model(matrices[2])
    collection.result["terms"], collection.result["reviews"] = terms, reviews

    if not collection.load():
        return
    got: dict = {}
    gather(collection, got, "one_hot", "one_hot",
           [(f"one_hot({term})", (term, list(VOCABULARY))) for term in terms], "one_hot:array")
    gather(collection, got, "counts_vector", "counts_vector",
           [(f"counts_vector({index})", (review, list(VOCABULARY))) for index, review in enumerate(reviews)],
           "counts_vector:array")
    for dimension, matrix in matrices.items():
        for name in ("lookup", "lookup_by_matmul"):
            gather(collection, got, f"{name}_{dimension}", name,
                   [(f"{name}({term}, dim {dimension})", (term, matrix.copy(), list(VOCABULARY))) for term in terms],
                   f"{name}:array (dim {dimension})")
        gather(collection, got, f"review_vector_{dimension}", "review_vector",
               [(f"review_vector(review {index}, dim {dimension})", (review, matrix.copy(), list(VOCABULARY)))
                for index, review in enumerate(reviews)],
               f"review_vector:array (dim {dimension})")
    function = collection.function("embedding_matrix")
    if function is not None:
        value = collection.step("embedding_matrix", function, model)
        if value is not None:
            got["embedding_matrix"] = collection.step("embedding_matrix:array", np.asarray, value, dtype=np.float64)
    collection.result["got"] = {name: value for name, value in got.items() if value is not None}
