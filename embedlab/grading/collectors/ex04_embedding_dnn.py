"""Exercise 4's collector: the embedding model, its 'terms_embedding' layer before
and after training (compared with Keras' own lookup by index), and its test
predictions."""

from __future__ import annotations

import numpy as np

from embedlab.grading import models, schema, training
from embedlab.grading.contract import Collection
from embedlab.grading.models import OOV, VOCABULARY

RETURNS = {**models.RETURNS, "embedding": schema.PLAIN, "embedding_trained": schema.PLAIN}

# A review with a repeated term, an unknown one and punctuation.
REVIEW = ["great", "great", "bad", OOV, "."]


def embedding_layer_facts(model) -> dict:
    """The 'terms_embedding' layer's matrix and outputs, with Keras' own lookup to compare."""
    import keras

    layer = model.get_layer("terms_embedding")
    matrix = models.embedding_matrix_of(model)
    facts = {"matrix_shape": list(matrix.shape)}
    if matrix.ndim != 2 or matrix.shape[0] != len(VOCABULARY):
        return facts
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    inner = keras.Model(inputs=model.input if isinstance(model.input, dict) else inputs, outputs=layer.output)
    review = list(REVIEW)
    outputs = np.asarray(inner({"terms": training.ragged_batch([[], [OOV], review])}, training=False))
    # Keras' own lookup by index, averaged over the in-vocabulary terms.
    lookup = keras.layers.Embedding(len(VOCABULARY), matrix.shape[1])
    lookup.build((None,))
    lookup.set_weights([matrix])
    ids = [VOCABULARY.index(term) for term in review if term in VOCABULARY]
    facts.update({
        "empty_output": outputs[0].tolist(),
        "oov_only_output": outputs[1].tolist(),
        "review": review,
        "review_output": outputs[2].tolist(),
        "review_expected": np.asarray(lookup(np.array(ids))).mean(axis=0).tolist(),
    })
    return facts


def collect(collection: Collection) -> None:
    if not collection.load():
        return
    model = models.build(collection, "build_embedding_model", list(VOCABULARY))
    if model is None:
        return
    collection.result["embedding"] = collection.step("embedding_layer", embedding_layer_facts, model)
    models.train_and_predict(collection, model)
    collection.result["embedding_trained"] = collection.step("embedding_layer_trained", embedding_layer_facts, model)
