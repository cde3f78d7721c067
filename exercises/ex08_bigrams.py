"""Exercise 8 (bonus): beat the linear baselines with unigrams and bigrams.

The concept
-----------
A bag of words forgets word order, and some of it matters: "not good", "no
plot", "must see" and "waste of" say more than their words one by one. A
*bigram* is a pair of neighbouring terms; adding the bigrams of a review to
its bag of single terms (*unigrams*) brings back the local order at the price
of a much larger vocabulary: the 25,000 training reviews hold about 1.4
million distinct unigrams and bigrams.

That is where sparse inputs and embeddings pay off. The counts over a
100,000-entry vocabulary are still only a few hundred non-zero entries per
review, so they travel as a ``tf.SparseTensor`` and their product with the
embedding matrix touches only those rows. Each n-gram gets a 16-number
vector; a review is the mean of its n-grams' vectors; one
``Dense(1, activation="sigmoid")`` reads the sentiment off that mean. This is
the fastText classifier (Joulin et al., 2016): an embedding lookup, a mean,
and logistic regression, trained in seconds. The dimension again trades
expressiveness for size: 100,000 x 16 weights here; a one-hot input to a 20
unit hidden layer would need 2,000,000.

The n-grams are made *inside* the model, by a small layer calling
``tf.strings.ngrams(terms, ngram_width=(1, 2), separator=" ")`` on the
ragged batch of terms, so the model takes the same ``{"terms": ragged}``
input as every other exercise and needs no special input pipeline. The
vocabulary is built the same way from the training reviews: the most
frequent unigrams and bigrams, ordered by ``(-count, n-gram)`` so that every
process builds the same list.

Measured on this course's split (budget: 2 epochs of batches of 25, Adam at
learning rate 0.005; docs/calibration.md): about 0.908 test accuracy and
0.967 AUC, against 0.786 for the course's linear model on 50 terms and 0.886
for exercise 7's unigram embedding. The bigrams are what help: the same
model over unigrams alone (all of them) reaches 0.887. Building
the vocabulary takes about 5 seconds and training 10 to 18 seconds per epoch
on two cores. For
comparison, a Naive-Bayes-weighted logistic regression on the same
unigram+bigram counts (NBSVM-style, Wang and Manning, 2012) reaches 0.913 on
this split: linear models on n-gram bags are strong baselines for sentiment.

What to build
-------------
* ``build_ngram_vocabulary(file_pattern, max_ngrams=100000)``: the
  ``max_ngrams`` most frequent unigrams and bigrams (two terms joined by one
  space) of the TFRecords at ``file_pattern`` (a path, glob or list), as
  ``str``, ordered by ``(-count, n-gram)``. ``ValueError`` when
  ``max_ngrams`` is below 1, ``FileNotFoundError`` when a pattern matches no
  file.
* ``UnigramsAndBigrams``, a ``keras.layers.Layer`` whose ``call(terms)``
  returns the unigrams followed by the bigrams of each review.
* ``NgramMeanEmbedding(vocabulary_size, dimension)``: exercise 7's
  ``SparseMeanEmbedding`` under a name of its own (both are registered for
  serialization): the mean vector of a review's in-vocabulary n-grams from
  ``StringLookup`` counts with their OOV column 0 (dense or sparse), zeros
  for none.
* ``build_bigram_model(file_pattern, max_ngrams=100000, dimension=16)``: the
  vocabulary from ``file_pattern``, then a compiled ``keras.Model`` from
  ``{"terms": keras.Input(shape=(None,), dtype="string", ragged=True,
  name="terms")}``: n-grams, sparse counts
  (``StringLookup(..., output_mode="count", sparse=True)``), a
  ``NgramMeanEmbedding`` named ``"ngrams_embedding"``, ``Dense(1,
  activation="sigmoid")``; compiled with
  ``keras.optimizers.Adam(learning_rate=0.005)`` and
  ``keras.losses.BinaryCrossentropy()``.

Shapes
------
With ``V`` the number of n-grams kept and ``D = dimension``:

* input ``terms``: ragged strings, ``[batch, None]``;
* n-grams: ragged strings, ``[batch, None]`` (``2n - 1`` per review of ``n``
  terms, ``n > 0``);
* sparse counts: ``(batch, V + 1)`` (column 0: OOV);
* ``ngrams_embedding`` weight: ``(V, D)``; its output ``(batch, D)``;
* output: ``(batch, 1)``, the probability that the review is positive.

Example
-------
>>> layer = UnigramsAndBigrams()
>>> layer(tf.ragged.constant([["not", "good", "!"], ["bad"]])).to_list()
[[b'not', b'good', b'!', b'not good', b'good !'], [b'bad']]
>>> import os, shutil, tempfile
>>> from embedlab.data.records import serialize, write_records
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "tiny.tfrecord")
>>> write_records(path, [serialize(["not", "good", "!"], 0.0),
...                      serialize(["very", "good", "!"], 1.0)])
2
>>> build_ngram_vocabulary(path, max_ngrams=4)
['!', 'good', 'good !', 'not']
>>> model = build_bigram_model(path, max_ngrams=4, dimension=3)
>>> model.get_layer("ngrams_embedding").get_weights()[0].shape
(4, 3)
>>> model.predict({"terms": tf.ragged.constant([["not", "good"], ["meh"]])}, verbose=0).shape
(2, 1)
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import glob
import math
import os

import keras
import numpy as np
import tensorflow as tf

NGRAM_WIDTHS = (1, 2)
SEPARATOR = " "


def build_ngram_vocabulary(file_pattern, max_ngrams=100000):
    """The ``max_ngrams`` most frequent unigrams and bigrams, ordered by ``(-count, n-gram)``.

    Args:
        file_pattern: a path, a glob, or a list of them (course schema).
        max_ngrams: how many n-grams to keep (at least 1).

    Returns:
        A list of ``str``, most frequent first; bigrams are two terms joined
        by one space.

    Raises:
        ValueError: ``max_ngrams`` is below 1.
        FileNotFoundError: a pattern matches no file.
    """
    raise NotImplementedError("build_ngram_vocabulary() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")


@keras.saving.register_keras_serializable(package="embedlab_course")
class UnigramsAndBigrams(keras.layers.Layer):
    """Each review's terms followed by its bigrams ("first second")."""

    def call(self, terms):
        raise NotImplementedError("call() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")


@keras.saving.register_keras_serializable(package="embedlab_course")
class NgramMeanEmbedding(keras.layers.Layer):
    """Mean vector of a review's n-grams, from ``StringLookup`` counts with the OOV column.

    Args:
        vocabulary_size: the number of in-vocabulary n-grams (the counts have
            one more column, column 0, for the OOV ones).
        dimension: the length of each n-gram's vector.

    Input: counts ``(batch, vocabulary_size + 1)``, dense or ``tf.SparseTensor``.
    Output: ``(batch, dimension)``.
    """

    def __init__(self, vocabulary_size, dimension, **kwargs):
        raise NotImplementedError("__init__() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")

    def build(self, input_shape):
        raise NotImplementedError("build() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")

    def call(self, counts):
        raise NotImplementedError("call() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")

    def get_config(self):
        raise NotImplementedError("get_config() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")


def build_bigram_model(file_pattern, max_ngrams=100000, dimension=16):
    """fastText over unigrams and bigrams, with a vocabulary from the training TFRecords.

    Args:
        file_pattern: the training TFRecords (path, glob or list).
        max_ngrams: how many of the most frequent n-grams to keep.
        dimension: the length of each n-gram's vector.

    Returns:
        A compiled ``keras.Model`` from ``{"terms": ragged strings}`` to the
        probability of a positive review, shape ``(batch, 1)``.
    """
    raise NotImplementedError("build_bigram_model() in ex08_bigrams.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 8`")
