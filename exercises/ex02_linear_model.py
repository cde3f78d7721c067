"""Exercise 2: a linear model over the sparse terms of a review (Task 1).

The concept
-----------
A review's words are categorical data: each is one value out of a vocabulary.
A model needs numbers, and the classic encoding gives every vocabulary term a
column of its own:

* a *one-hot* vector describes one term: all zeros except a 1 in the term's
  column;
* a *bag of words* describes a whole review: the sum of its terms' one-hot
  vectors, that is, how many times each vocabulary term occurs in it. Word
  order is lost, but which words were used, and how often, is kept.

These vectors are *sparse*: a review uses a few hundred distinct words out of
a vocabulary of tens of thousands, so nearly every entry is zero. With the
whole English vocabulary as columns, the input layer would need one weight per
term and per unit of the next layer, most of them touched by almost no
review: a huge, slow and data-hungry model. This exercise keeps it small with
the course's list of 50 informative terms (``embedlab.vocabulary
.INFORMATIVE_TERMS``) and ignores every other word.

On such counts, logistic regression is one ``Dense(1, activation="sigmoid")``
layer: one weight per vocabulary term (how much each occurrence pushes
towards "positive") plus a bias, squashed into a probability.

``keras.layers.StringLookup(vocabulary=..., output_mode="count")`` builds the
bag of words inside the model, from the ragged batch of strings: its output
has ``len(vocabulary) + 1`` columns, and column 0 counts the terms that are
*not* in the vocabulary (out-of-vocabulary, OOV). The course's model ignored
those, so drop the column: ``counts[:, 1:]``.

The crash course trained with Adagrad at learning rate 0.1 and gradients
clipped to a global norm of 5, and its estimator *summed* the loss over the
batch instead of averaging it. Do the same:
``keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0)`` and
``keras.losses.BinaryCrossentropy(reduction="sum")``. One epoch of batches of
25 reaches about 0.78 accuracy and 0.87 AUC on the test reviews (the course
reported 0.786 and 0.870).

What to build
-------------
``build_linear_model(vocabulary)`` returns a compiled ``keras.Model``:

* input: ``keras.Input(shape=(None,), dtype="string", ragged=True,
  name="terms")``, passed to ``keras.Model`` as ``{"terms": terms}``;
* the counts of the vocabulary's terms, OOV column dropped;
* ``Dense(1, activation="sigmoid")``;
* compiled with the optimizer and loss above (metrics are up to you).

Raise ``ValueError`` when the vocabulary is empty (or is a single string
instead of a sequence of terms).

Shapes
------
* input ``terms``: ragged strings, ``[batch, None]``;
* counts: ``(batch, len(vocabulary))`` float32;
* output: ``(batch, 1)``, the probability that the review is positive.

Example
-------
>>> model = build_linear_model(["great", "bad"])
>>> model.output_shape
(None, 1)
>>> sorted(tuple(weight.shape) for weight in model.trainable_weights)
[(1,), (2, 1)]
>>> batch = {"terms": tf.ragged.constant([["a", "great", "film"], ["bad", "bad", "!"]])}
>>> model.predict(batch, verbose=0).shape
(2, 1)
>>> build_linear_model([])
Traceback (most recent call last):
...
ValueError: the vocabulary is empty
"""

from __future__ import annotations

import keras
import tensorflow as tf


def build_linear_model(vocabulary):
    """Logistic regression on the counts of the vocabulary's terms, compiled.

    Args:
        vocabulary: a sequence of distinct terms (str).

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, shape ``(batch, 1)``.

    Raises:
        ValueError: the vocabulary is empty or is a single string.
    """
    raise NotImplementedError("build_linear_model() in ex02_linear_model.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 2`")
