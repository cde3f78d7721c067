"""Exercise 3: a deep neural network over the terms' counts (Task 2).

The concept
-----------
Logistic regression (exercise 2) adds up one weight per term: it cannot learn
that "not" changes what "good" means, or that "?" and "worst" together say
more than either alone. Hidden layers can combine terms. Here the input is
still the sparse bag of words of the 50 informative terms (how many times
each occurs in the review, unknown words ignored) and two hidden layers of 20
ReLU units sit between it and the sigmoid output.

The first hidden layer has one weight per (term, unit) pair: 50 x 20 here.
That is the cost of a sparse input layer: it grows with the vocabulary, and
with the whole English vocabulary as input it would hold millions of weights,
most of which almost no review ever touches. Exercise 4 replaces it with a
small embedding.

Train it as in exercise 2: Adagrad at learning rate 0.1 with gradients
clipped to a global norm of 5, and the loss summed over the batch. One epoch
of batches of 25 gives about 0.78 accuracy and 0.87 AUC: with only 50 terms
the hidden layers have little to combine, so the DNN matches the linear model
rather than beating it.

What to build
-------------
``build_dnn_model(vocabulary, hidden_units=(20, 20))`` returns a compiled
``keras.Model``:

* input: ``keras.Input(shape=(None,), dtype="string", ragged=True,
  name="terms")``, passed to ``keras.Model`` as ``{"terms": terms}``;
* the counts of the vocabulary's terms, OOV column dropped (as in exercise 2);
* one ``Dense(units, activation="relu")`` per entry of ``hidden_units``, in
  order;
* ``Dense(1, activation="sigmoid")``;
* compiled with ``keras.optimizers.Adagrad(learning_rate=0.1,
  global_clipnorm=5.0)`` and ``keras.losses.BinaryCrossentropy(reduction="sum")``.

Raise ``ValueError`` for an empty vocabulary or a hidden layer size below 1.

Shapes
------
* input ``terms``: ragged strings, ``[batch, None]``;
* counts: ``(batch, len(vocabulary))``;
* hidden layers: ``(batch, 20)`` and ``(batch, 20)``;
* output: ``(batch, 1)``, the probability that the review is positive.

Example
-------
>>> model = build_dnn_model(["great", "bad", "!"], hidden_units=(4, 3))
>>> [tuple(weight.shape) for weight in model.trainable_weights]
[(3, 4), (4,), (4, 3), (3,), (3, 1), (1,)]
>>> batch = {"terms": tf.ragged.constant([["a", "great", "film"], ["bad", "bad", "!"]])}
>>> model.predict(batch, verbose=0).shape
(2, 1)
>>> build_dnn_model(["great"], hidden_units=(0,))
Traceback (most recent call last):
...
ValueError: hidden layer sizes must be at least 1, got (0,)
"""

from __future__ import annotations

import keras
import tensorflow as tf


def build_dnn_model(vocabulary, hidden_units=(20, 20)):
    """A DNN with ReLU hidden layers on the counts of the vocabulary's terms, compiled.

    Args:
        vocabulary: a sequence of distinct terms (str).
        hidden_units: the size of each hidden layer, in order.

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, shape ``(batch, 1)``.

    Raises:
        ValueError: the vocabulary is empty, or a hidden layer size is below 1.
    """
    raise NotImplementedError("build_dnn_model() in ex03_dnn_counts.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 3`")
