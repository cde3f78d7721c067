"""Exercise 4: a DNN over a 2-D embedding of the terms (Task 3).

The concept
-----------
One-hot vectors have two problems. They are large: one column per vocabulary
term, so the first layer of a network over them has one weight per term and
per hidden unit. And they carry no notion of similarity: any two different
terms are at the same distance from each other (their one-hot vectors are
orthogonal), so "great" is as far from "excellent" as from "awful", and
nothing the model learns about one term carries over to another.

An *embedding* maps each term to a short dense vector of ``dimension``
numbers, learned with the rest of the model. It is nothing but a lookup
table: a ``(vocabulary size, dimension)`` matrix whose row ``i`` is the
vector of term ``i``. Because the rows are trained for the task, terms that
play the same role in it (positive words, negative words) end up close
together, and distances between vectors start to mean something.

A lookup is also a matrix product. The one-hot vector of term ``i`` times the
matrix is exactly row ``i``; a review's *counts* vector (a multi-hot vector:
how many times each term occurs) times the matrix is the sum of its terms'
rows, each counted as often as the term occurs. Divide by the number of
in-vocabulary terms and you have the mean of the review's term vectors, the
``"mean"`` combiner of the course's ``embedding_column``.
``keras.layers.Embedding`` does the same thing *by index*: it takes term ids
and gathers their rows, which is far cheaper than multiplying a mostly-zero
vector by the matrix when the vocabulary is large. Both views give the same
numbers; the matmul one shows that an embedding is just a linear layer
without bias applied to a sparse input.

The dimension trades expressiveness for size. Two numbers per term (the
course's choice) are enough to separate positive from negative words and can
be plotted (exercise 6); more dimensions can hold more distinctions (genres,
intensity, negation) at the cost of more weights to learn: the matrix has
``vocabulary size x dimension`` of them, against ``vocabulary size x hidden
units`` for the sparse first layer of exercise 3.

Training choices (measured on this course's data, one epoch of batches of 25,
seeds 1-5; see docs/calibration.md):

* **Summed loss.** The course's estimator summed the loss over the batch.
  Keras' default ``BinaryCrossentropy`` averages it, which makes every
  gradient 25 times smaller with batches of 25, and one epoch of Adagrad at
  learning rate 0.1 then barely moves a 2-D embedding. With
  ``reduction="sum"`` the model reaches 0.774 to 0.784 accuracy and 0.868 to
  0.869 AUC (the course reported 0.781 and 0.866); with the mean loss, the
  accuracy depends on the seed, from 0.58 to 0.77.
* **Truncated-normal initialization** with standard deviation
  ``1 / sqrt(dimension)``, as ``embedding_column`` did. Keras' default for
  embeddings is uniform in [-0.05, 0.05], vectors about ten times shorter;
  with it, 2 of the 5 seeds never left chance (0.50 accuracy) even with the
  summed loss.
* Adagrad at learning rate 0.1, gradients clipped to a global norm of 5, as
  in exercises 2 and 3.

What to build
-------------
``MeanEmbedding(dimension)``, a ``keras.layers.Layer`` registered for
serialization (``@keras.saving.register_keras_serializable``) with a
``get_config``:

* ``build`` adds one weight, ``embeddings``, of shape ``(vocabulary size,
  dimension)``, the vocabulary size being the last dimension of its input,
  initialized with ``TruncatedNormal(stddev=1 / sqrt(dimension))``;
* ``call(counts)`` returns ``counts @ embeddings / max(total count, 1)``: the
  mean of the review's term vectors, and zeros (not NaN) for a review with no
  in-vocabulary term.

``build_embedding_model(vocabulary, dimension=2, hidden_units=(20, 20))``
returns a compiled ``keras.Model``:

* input ``keras.Input(shape=(None,), dtype="string", ragged=True,
  name="terms")``, passed as ``{"terms": terms}``;
* the counts of the vocabulary's terms, OOV column dropped (exercise 2);
* a ``MeanEmbedding`` layer named exactly ``"terms_embedding"``: its first
  weight is the ``(len(vocabulary), dimension)`` matrix, rows in vocabulary
  order;
* ``Dense(units, activation="relu")`` for each entry of ``hidden_units``;
* ``Dense(1, activation="sigmoid")``;
* compiled with ``keras.optimizers.Adagrad(learning_rate=0.1,
  global_clipnorm=5.0)`` and ``keras.losses.BinaryCrossentropy(reduction="sum")``.

Raise ``ValueError`` for an empty vocabulary, a dimension below 1 or a hidden
layer size below 1.

Shapes
------
* input ``terms``: ragged strings, ``[batch, None]``;
* counts: ``(batch, len(vocabulary))``;
* ``terms_embedding`` weight: ``(len(vocabulary), dimension)``;
* ``terms_embedding`` output: ``(batch, dimension)``, the mean term vector;
* hidden layers: ``(batch, 20)`` and ``(batch, 20)``;
* output: ``(batch, 1)``, the probability that the review is positive.

Example
-------
>>> import numpy as np
>>> layer = MeanEmbedding(2)
>>> counts = np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]], dtype="float32")
>>> mean = keras.ops.convert_to_numpy(layer(counts))
>>> matrix = layer.get_weights()[0]
>>> matrix.shape
(3, 2)
>>> bool(np.allclose(mean[0], (2 * matrix[0] + matrix[2]) / 3, atol=1e-6))
True
>>> mean[1].tolist()
[0.0, 0.0]
>>> model = build_embedding_model(["great", "bad", "!"], dimension=2)
>>> model.get_layer("terms_embedding").get_weights()[0].shape
(3, 2)
>>> model.get_layer("terms_embedding").output.shape
(None, 2)
>>> model.predict({"terms": tf.ragged.constant([["great", "!"], ["dull"]])}, verbose=0).shape
(2, 1)
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="embedlab_course")
class MeanEmbedding(keras.layers.Layer):
    """The mean of a review's term vectors, computed from its counts.

    Args:
        dimension: the length of each term's vector.
        embeddings_initializer: how to initialize the matrix; ``None`` gives
            ``TruncatedNormal(stddev=1 / sqrt(dimension))``.

    Input: counts, ``(batch, vocabulary size)``. Output: ``(batch, dimension)``.
    """

    def __init__(self, dimension, embeddings_initializer=None, **kwargs):
        # BEGIN SOLUTION
        super().__init__(**kwargs)
        dimension = int(dimension)
        if dimension < 1:
            raise ValueError(f"dimension must be at least 1, got {dimension}")
        self.dimension = dimension
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(dimension))
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        # END SOLUTION

    def build(self, input_shape):
        # BEGIN SOLUTION
        vocabulary_size = input_shape[-1]
        if vocabulary_size is None:
            raise ValueError("MeanEmbedding needs counts with a known last dimension (the vocabulary size)")
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(int(vocabulary_size), self.dimension),
            initializer=self.embeddings_initializer,
        )
        # END SOLUTION

    def call(self, counts):
        # BEGIN SOLUTION
        counts = keras.ops.cast(counts, self.compute_dtype)
        summed = keras.ops.matmul(counts, self.embeddings)
        total = keras.ops.sum(counts, axis=-1, keepdims=True)
        return summed / keras.ops.maximum(total, 1.0)
        # END SOLUTION

    def get_config(self):
        # BEGIN SOLUTION
        config = super().get_config()
        config.update(
            dimension=self.dimension,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
        )
        return config
        # END SOLUTION


def build_embedding_model(vocabulary, dimension=2, hidden_units=(20, 20)):
    """A DNN over the mean ``dimension``-D embedding of a review's terms, compiled.

    Args:
        vocabulary: a sequence of distinct terms (str).
        dimension: the length of each term's vector.
        hidden_units: the size of each hidden layer, in order.

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, shape ``(batch, 1)``, with a layer
        named ``"terms_embedding"``.

    Raises:
        ValueError: an empty vocabulary, a dimension or hidden layer size below 1.
    """
    # BEGIN SOLUTION
    if isinstance(vocabulary, (str, bytes)):
        raise ValueError("the vocabulary must be a sequence of terms, not one string")
    vocabulary = list(vocabulary)
    if not vocabulary:
        raise ValueError("the vocabulary is empty")
    hidden_units = tuple(hidden_units)
    if any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden layer sizes must be at least 1, got {hidden_units}")

    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    lookup = keras.layers.StringLookup(vocabulary=vocabulary, output_mode="count", name="counts")
    counts = lookup(terms)[:, 1:]  # column 0 counts the out-of-vocabulary terms
    hidden = MeanEmbedding(dimension, name="terms_embedding")(counts)
    for index, units in enumerate(hidden_units, start=1):
        hidden = keras.layers.Dense(int(units), activation="relu", name=f"hidden_{index}")(hidden)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(hidden)
    model = keras.Model(inputs={"terms": terms}, outputs=probability, name="embedding_dnn")
    model.compile(
        optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
        loss=keras.losses.BinaryCrossentropy(reduction="sum"),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model
    # END SOLUTION
