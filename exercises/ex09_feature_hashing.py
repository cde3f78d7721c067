"""Exercise 9: feature hashing, every term of a review and no vocabulary.

The concept
-----------
Exercises 2 to 8 looked every term up in a vocabulary: a list made before
training (50 hand-picked terms, or the 20,000 most frequent ones of the
training split) in which a term's position is its column. A term outside the
list is lost, the list has to be counted and stored, and a term first seen at
prediction time has no column at all.

Feature hashing (Weinberger et al., 2009) keeps no list. A hash function turns
each term into a number, and that number modulo ``num_bins`` is the term's
column, its *bucket*: every term gets one, seen in training or not, and
nothing has to be counted first. ``keras.layers.Hashing(num_bins)`` does it:
without a salt it uses FarmHash's 64-bit fingerprint of the term's UTF-8
bytes (``tf.strings.to_hash_bucket_fast``), the same bucket in every process
and on every machine. With ``output_mode="count"`` it turns a review into
``num_bins`` counts, how many of its terms fell in each bucket, and one
``Dense(1, activation="sigmoid")`` on those counts is exercise 2's logistic
regression over every term of the review.

The price is *collisions*. There are far more terms than buckets (the
training reviews hold 81,383 distinct terms), so some terms share a bucket,
and two terms in one bucket are indistinguishable: they are added into the
same count and get the same weight. A review of ``["excellent"]`` and a review
of the term it collides with get exactly the same output. Measured on the
training split (``colliding_terms`` below):

* at 1,000 bins every bucket is crowded: each of the 50 informative terms of
  exercise 2 shares its bucket with 61 to 108 other training terms, and some
  with a very frequent one: "disappointing" (421 occurrences) gets the weight
  it shares with "of" (145,863), "poorly" the one it shares with "to". By
  chance none of the 50 shares a bucket with another of the 50 (about 1.2
  such pairs are expected; at 100 bins "unfortunately", "amazing" and
  "enjoyed" share one);
* at 20,000 bins each of the 50 still shares its bucket, with 1 to 9 training
  terms, nearly all rare ("great", 9,061 times, with "blown", 184 times, and
  five rarer ones); the worst case is "movie" with "their". Of the 20,000 most
  frequent terms, 12,623 share a bucket with another of them;
* at 100,000 bins 32 of the 50 share a bucket with 1 to 3 training terms, the
  most frequent of them "strange" (927 times, with "worse"): a weight mostly
  learned from the frequent term, barely moved by the rare ones.

Collisions cost less than one might fear, because a frequent term's weight is
learned from its own occurrences and the rare terms in its bucket only nudge
it. One epoch of batches of 25 (the recipe below, seed 1) reaches 0.660 test
accuracy and 0.729 AUC at 100 bins, 0.808 / 0.883 at 1,000, 0.869 / 0.941 at
20,000 (0.876 / 0.943 on average over six seeds, docs/calibration.md) and
0.873 / 0.947 at 100,000. The same logistic regression over a
vocabulary of the same size, the 20,000 most frequent training terms
(``StringLookup(..., output_mode="count")``, its out-of-vocabulary column
kept as one more count), reaches 0.868 / 0.945: hashing
into 20,000 buckets loses almost nothing against it, and exercise 7's fastText
over that vocabulary (about 0.886 / 0.953) does better with its learned
embedding, not with its vocabulary. The trade-off: a vocabulary needs a pass
over the data and a list to keep with the model, and it drops unseen terms;
hashing needs neither, keeps every term, and pays with weights shared at
random, more of them the fewer buckets there are.

The model is trained as in exercise 2: ``keras.optimizers.Adagrad`` at
learning rate 0.1 with ``global_clipnorm=5.0`` and the binary cross-entropy
summed over the batch. Twenty thousand counts are mostly zeros, so the
``Hashing`` layer returns them as a ``tf.SparseTensor`` (``sparse=True``),
which ``Dense`` multiplies without making them dense. Unlike ``StringLookup``
there is no out-of-vocabulary column to drop: every column is a bucket.

What to build
-------------
1. ``colliding_terms(terms, num_bins)``: the distinct terms of ``terms`` that
   share their bucket (``keras.layers.Hashing(num_bins)``, no salt) with
   another, different term of ``terms``, sorted. A term listed twice does not
   collide with itself. Raise ``ValueError`` when ``num_bins`` is below 1.
2. ``build_hashed_model(num_bins=20000)`` returns a ``keras.Model`` from
   ``{"terms": keras.Input(shape=(None,), dtype="string", ragged=True,
   name="terms")}``: ``keras.layers.Hashing(num_bins, output_mode="count",
   sparse=True)``, then ``Dense(1, activation="sigmoid")``; compiled with
   ``keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0)`` and
   ``keras.losses.BinaryCrossentropy(reduction="sum")``. Raise ``ValueError``
   when ``num_bins`` is below 1.

Shapes
------
With ``B = num_bins``:

* input ``terms``: ragged strings, ``[batch, None]``;
* counts: ``(batch, B)``, sparse (column ``j``: how many of the review's terms
  fall in bucket ``j``);
* ``Dense`` kernel: ``(B, 1)``, bias ``(1,)``; output: ``(batch, 1)``, the
  probability that the review is positive.

Example
-------
>>> colliding_terms(["great", "awful", "film", "great"], num_bins=10)
['awful', 'great']
>>> colliding_terms(["great", "awful", "film"], num_bins=1000)
[]
>>> model = build_hashed_model(num_bins=10)
>>> [tuple(weight.shape) for weight in model.trainable_weights]
[(10, 1), (1,)]
>>> answers = model.predict({"terms": tf.ragged.constant([["great"], ["awful"], ["film"]])}, verbose=0)
>>> bool(answers[0, 0] == answers[1, 0]), bool(answers[0, 0] == answers[2, 0])
(True, False)
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def colliding_terms(terms, num_bins):
    """The distinct terms of `terms` that share a bucket with another of them, sorted.

    Args:
        terms: a sequence of terms (str).
        num_bins: the number of buckets of ``keras.layers.Hashing`` (at least 1).

    Returns:
        A sorted list of ``str``.

    Raises:
        ValueError: ``num_bins`` is below 1.
    """
    raise NotImplementedError("colliding_terms() in ex09_feature_hashing.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 9`")


def build_hashed_model(num_bins=20000):
    """Logistic regression over the counts of a review's terms hashed into ``num_bins`` buckets.

    Args:
        num_bins: the number of buckets (at least 1).

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, shape ``(batch, 1)``.

    Raises:
        ValueError: ``num_bins`` is below 1.
    """
    raise NotImplementedError("build_hashed_model() in ex09_feature_hashing.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 9`")
