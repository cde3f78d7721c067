"""Exercise 13 (bonus): contextual embeddings with one block of self-attention.

The concept
-----------
Every embedding so far is *static*: a term has one vector, wherever it
occurs. In "not bad" and in "bad acting" the term "bad" gets the same row of
the embedding matrix, and the model can only tell the two reviews apart
after the vectors are averaged, where the order and the neighbours of each
term are already lost. A *contextual* embedding gives each occurrence of a
term its own vector, computed from the term and from the terms around it:
"bad" after "not" and "bad" before "acting" get two different vectors.

Self-attention (Vaswani et al., 2017, "Attention is all you need") computes
them. Each position ``i`` of a review has a vector ``x_i``; three learned
projections turn it into a query ``q_i``, a key ``k_i`` and a value ``v_i``.
Position ``i`` looks at every position ``j`` with the weight
``softmax_j(q_i . k_j / sqrt(key_dim))`` and takes the weighted mean of the
values: what position ``i`` gathers from its context. Several *heads* do
this side by side with their own projections (each sees ``key_dim =
dimension // heads`` numbers), and an output projection mixes the heads
back into ``dimension`` numbers. The block adds the result to ``x_i`` (a
residual connection: the term's own vector stays in the sum) and normalizes
each position's vector (layer normalization). That output is the contextual
vector of position ``i``.

Attention alone does not know where a term is: permute a review's terms and
every position's output is permuted the same way (attention is
*permutation-equivariant*), so a mean over the positions would give "not
bad, good" and "not good, bad" the same score. A learned *position
embedding* (one vector per position 0, 1, ..., ``max_length - 1``) added to
each term's vector before the attention breaks the symmetry: the same terms
in another order give another output. (For sentiment, which terms occur
matters more than where: without the position embedding the model scores
about the same, 0.856 test accuracy on the grading seed, but it cannot tell
any order of a review's terms from another.)

Reviews have different lengths, so a batch is padded to its longest review
(kept to the first ``max_length`` terms) with the id 0, and a *mask* says
which positions are real: no position attends to padding, and the review's
vector is the mean of the contextual vectors of its real positions only.
One ``Dense(1, activation="sigmoid")`` reads the sentiment from that mean.

On the real reviews (10,000 most frequent training terms, the first 200
terms of each review, 16 dimensions, 2 heads, one epoch of batches of 32
with Adam at 0.005: about 30 seconds of training on 2 idle cores, two to
four times that on a busy machine)
the model reaches 0.850 to 0.860 test accuracy and 0.935 AUC over six
seeds (docs/calibration.md): below exercise 7's fastText (0.886) in the same one
epoch, because attention has far more to learn than a mean and one pass
over 25,000 reviews is a small budget for it. What it did learn shows in its
vectors (grading seed 20111). The static vector of "good" is one row of the
token embedding, the same in every review; its contextual vectors in
["not", "good"] and in ["good", "acting"] have a cosine of 0.805, and the
model gives 0.64 to "not good" against 0.996 to "good" alone: the context
pulled the vector towards the negative side. A mean of static vectors could
only have moved the score by the weight of "not" itself. The model learns
what the data teaches, no more: "bad" keeps nearly one vector (cosine 0.991
between ["not", "bad"] and ["bad", "acting"]) and "not bad" scores 0.004,
as low as "bad" (0.005): the pair occurs in only 152 of the 25,000 training
reviews (41% of them positive), too few for one epoch to learn from, while
"bad" occurs in 5,904 (25% positive). One epoch fixes little of what
context means: from one seed to the next, "not good" scores anywhere from
0.05 to 0.92 while "good" stays above 0.98.

What to build
-------------
1. ``PositionEmbedding(max_length, dimension)``, a ``keras.layers.Layer``
   with one weight ``embeddings`` of shape ``(max_length, dimension)``
   (initialized ``RandomNormal(stddev=0.05)``); called on ``(batch, length,
   dimension)`` vectors with ``length <= max_length``, it returns them plus
   rows ``0 .. length - 1`` of ``embeddings``. Raise ``ValueError`` when
   ``max_length`` or ``dimension`` is below 1.
2. ``FirstTerms(max_length)``, a layer taking a ragged batch of term ids and
   returning a dense ``(batch, length)`` int tensor: each review's first
   ``max_length`` ids, padded with 0 to the longest of the batch (``length =
   min(longest review, max_length)``).
3. ``build_contextual_model(vocabulary, max_length=200, dimension=16,
   heads=2)`` returns a ``keras.Model`` from ``{"terms":
   keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")}``:

   a. ``keras.layers.StringLookup(vocabulary=vocabulary, mask_token="")``:
      id 0 is the padding (mask), 1 the out-of-vocabulary terms, ``2 + i``
      the vocabulary's term ``i``;
   b. ``FirstTerms(max_length)``; the mask is ``ids != 0``;
   c. ``keras.layers.Embedding(len(vocabulary) + 2, dimension,
      name="token_embedding")`` (the static vectors), then
      ``PositionEmbedding(max_length, dimension,
      name="position_embedding")``: ``x``;
   d. ``keras.layers.MultiHeadAttention(num_heads=heads, key_dim=dimension
      // heads, name="attention")`` with ``x`` as query and value and
      ``attention_mask = mask[:, None, :]`` (no position attends to
      padding);
   e. ``keras.layers.LayerNormalization(name="contextual")`` of ``x`` plus
      the attention's output (default epsilon): the contextual vectors;
   f. the mean of the contextual vectors over the real positions
      (``sum(vectors * mask) / max(sum(mask), 1)``: zeros for a review
      without any term), then ``keras.layers.Dense(1,
      activation="sigmoid", name="probability")``;

   compiled with ``keras.optimizers.Adam(learning_rate=0.005)`` and
   ``keras.losses.BinaryCrossentropy()``. No dropout. Raise ``ValueError``
   for an empty vocabulary, ``max_length`` or ``heads`` below 1, or a
   ``dimension`` that ``heads`` does not divide.
4. ``contextual_vectors(model, terms)`` returns the contextual vectors
   (layer ``"contextual"``) of one review's first ``max_length`` terms as a
   numpy array ``(min(len(terms), max_length), dimension)``.

Shapes
------
With ``V = len(vocabulary)``, ``D = dimension``, ``H = heads``, ``K = D // H``
and ``T`` the padded length of a batch:

* input ``terms``: ragged strings, ``[batch, None]``; ids: ``(batch, T)``;
* ``token_embedding``: ``(V + 2, D)``; ``position_embedding``: ``(max_length, D)``;
* attention: query, key and value kernels ``(D, H, K)`` and biases ``(H, K)``,
  output kernel ``(H, K, D)`` and bias ``(D,)``;
* ``contextual``: gamma and beta ``(D,)``, output ``(batch, T, D)``;
* ``probability``: kernel ``(D, 1)``, bias ``(1,)``; output ``(batch, 1)``.

Example
-------
>>> model = build_contextual_model(["not", "bad", "acting", "great"], max_length=8, dimension=4, heads=2)
>>> model.get_layer("token_embedding").get_weights()[0].shape
(6, 4)
>>> model.get_layer("position_embedding").get_weights()[0].shape
(8, 4)
>>> model.predict({"terms": tf.ragged.constant([["not", "bad"], ["bad", "acting", "!"]])}, verbose=0).shape
(2, 1)
>>> not_bad = contextual_vectors(model, ["not", "bad"])
>>> bad_acting = contextual_vectors(model, ["bad", "acting"])
>>> not_bad.shape, bad_acting.shape
((2, 4), (2, 4))
>>> bool(np.allclose(not_bad[1], bad_acting[0]))  # "bad" in two contexts: two vectors
False
>>> contextual_vectors(model, ["great"] * 20).shape  # the first max_length terms
(8, 4)
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="embedlab_course")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position: ``x + embeddings[:length]``.

    Args:
        max_length: the number of positions it has a vector for.
        dimension: the length of each vector.

    Input and output: ``(batch, length, dimension)``, ``length <= max_length``.
    """

    def __init__(self, max_length, dimension, **kwargs):
        # BEGIN SOLUTION
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.dimension = int(dimension)
        if self.max_length < 1 or self.dimension < 1:
            raise ValueError(f"max_length and dimension must be at least 1, got {max_length} and {dimension}")
        # END SOLUTION

    def build(self, input_shape):
        # BEGIN SOLUTION
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_length, self.dimension),
            initializer=keras.initializers.RandomNormal(stddev=0.05),
        )
        # END SOLUTION

    def call(self, vectors):
        # BEGIN SOLUTION
        length = keras.ops.shape(vectors)[1]
        return vectors + self.embeddings[None, :length, :]
        # END SOLUTION

    def get_config(self):
        # BEGIN SOLUTION
        config = super().get_config()
        config.update(max_length=self.max_length, dimension=self.dimension)
        return config
        # END SOLUTION


@keras.saving.register_keras_serializable(package="embedlab_course")
class FirstTerms(keras.layers.Layer):
    """A ragged batch of ids -> each review's first ``max_length`` ids, padded with 0: ``(batch, length)``."""

    def __init__(self, max_length, **kwargs):
        # BEGIN SOLUTION
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        if self.max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        # END SOLUTION

    def call(self, ids):
        # BEGIN SOLUTION
        return ids[:, : self.max_length].to_tensor(default_value=0)
        # END SOLUTION

    def compute_output_shape(self, input_shape):
        # BEGIN SOLUTION
        return (input_shape[0], None)
        # END SOLUTION

    def get_config(self):
        # BEGIN SOLUTION
        config = super().get_config()
        config.update(max_length=self.max_length)
        return config
        # END SOLUTION


def build_contextual_model(vocabulary, max_length=200, dimension=16, heads=2):
    """Token and position embeddings, one self-attention block, a masked mean, a sigmoid unit; compiled.

    Args:
        vocabulary: a sequence of distinct terms (str).
        max_length: how many of a review's first terms the model reads.
        dimension: the length of every vector (static and contextual).
        heads: the attention heads; each works on ``dimension // heads`` numbers.

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, ``(batch, 1)``, with layers named
        ``token_embedding``, ``position_embedding``, ``attention``,
        ``contextual`` and ``probability``.

    Raises:
        ValueError: an empty vocabulary, ``max_length`` or ``heads`` below 1,
            or a ``dimension`` that ``heads`` does not divide.
    """
    # BEGIN SOLUTION
    if isinstance(vocabulary, (str, bytes)):
        raise ValueError("the vocabulary must be a sequence of terms, not one string")
    vocabulary = list(vocabulary)
    if not vocabulary:
        raise ValueError("the vocabulary is empty")
    max_length, dimension, heads = int(max_length), int(dimension), int(heads)
    if max_length < 1 or heads < 1 or dimension < 1 or dimension % heads:
        raise ValueError(f"need max_length >= 1, heads >= 1 and a dimension that heads divides; got "
                         f"max_length={max_length}, dimension={dimension}, heads={heads}")

    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    ids = keras.layers.StringLookup(vocabulary=vocabulary, mask_token="", name="lookup")(terms)
    ids = FirstTerms(max_length, name="first_terms")(ids)  # (batch, T), 0 = padding
    mask = keras.ops.not_equal(ids, 0)
    static = keras.layers.Embedding(len(vocabulary) + 2, dimension, name="token_embedding")(ids)
    vectors = PositionEmbedding(max_length, dimension, name="position_embedding")(static)
    attended = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=dimension // heads, name="attention")(
        vectors, vectors, attention_mask=mask[:, None, :])
    contextual = keras.layers.LayerNormalization(name="contextual")(vectors + attended)
    real = keras.ops.cast(mask, contextual.dtype)[:, :, None]
    mean = keras.ops.sum(contextual * real, axis=1) / keras.ops.maximum(keras.ops.sum(real, axis=1), 1.0)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(mean)
    model = keras.Model(inputs={"terms": terms}, outputs=probability, name="contextual")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.005),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model
    # END SOLUTION


def contextual_vectors(model, terms):
    """The contextual vectors of one review's first ``max_length`` terms.

    Args:
        model: a model from `build_contextual_model`.
        terms: one review, a list of terms (str).

    Returns:
        A numpy array ``(min(len(terms), max_length), dimension)``: the
        output of the layer ``"contextual"`` at each real position.
    """
    # BEGIN SOLUTION
    terms = [str(term) for term in terms]
    reader = keras.Model(inputs=model.inputs, outputs=model.get_layer("contextual").output)
    batch = tf.RaggedTensor.from_row_lengths(tf.constant(terms, dtype=tf.string, shape=[len(terms)]),
                                             tf.constant([len(terms)], dtype=tf.int64))
    vectors = keras.ops.convert_to_numpy(reader({"terms": batch}, training=False))
    return np.asarray(vectors[0], dtype=np.float64)  # one review: its padded length is its own
    # END SOLUTION
