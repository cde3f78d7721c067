"""Exercise 5: look inside the embedding; a lookup is a matrix product (Tasks 4-5).

The concept
-----------
After training exercise 4's model, its ``terms_embedding`` layer holds a
``(vocabulary size, dimension)`` matrix: row ``i`` is the learned vector of
vocabulary term ``i``. This exercise takes the matrix out of the model and
recomputes, in plain numpy, what the layer does, to see that an embedding is
a lookup table and that the lookup is a matrix product.

* A *one-hot* vector of a term has one entry per vocabulary term, all zero
  except a 1 at the term's index. It says which term, nothing more: the
  one-hot vectors of any two different terms are orthogonal and equally far
  apart, so they carry no notion of similarity. A term that is not in the
  vocabulary gets the zero vector.
* ``one_hot(term) @ matrix`` picks out the term's row: the same numbers as
  ``matrix[index]``. Looking up by index (``keras.layers.Embedding``) is the
  cheap way to compute the product; the product is the way to understand it.
* A review's *counts* vector (multi-hot: how many times each vocabulary term
  occurs) times the matrix adds up its terms' rows, each as often as the term
  occurs. Divided by the number of in-vocabulary terms, it is the mean vector
  that the model's hidden layers see. Terms outside the vocabulary add
  nothing, and a review with none of the vocabulary's terms maps to zeros.

In the learned matrix, distances mean something: terms the model uses the
same way end up with nearby rows. With only 2 columns the matrix is small
(50 x 2 numbers) and can be drawn (exercise 6); more columns would hold more
distinctions between terms, at the cost of more weights to learn.

What to build
-------------
Plain numpy functions; ``vocabulary`` is a sequence of distinct terms (str).

* ``embedding_matrix(model)``: the weights of the model's layer named
  ``"terms_embedding"``, as a float numpy array;
* ``one_hot(term, vocabulary)``: the term's one-hot vector, zeros for a term
  outside the vocabulary;
* ``counts_vector(terms, vocabulary)``: how many times each vocabulary term
  occurs in the list ``terms`` (other terms ignored);
* ``lookup(term, matrix, vocabulary)``: the term's row, found by index,
  zeros for a term outside the vocabulary;
* ``lookup_by_matmul(term, matrix, vocabulary)``: the same row, computed as
  ``one_hot(term) @ matrix``;
* ``review_vector(terms, matrix, vocabulary)``: ``counts_vector(terms) @
  matrix`` divided by the number of in-vocabulary terms, zeros if there are
  none.

Raise ``ValueError`` when ``matrix`` is not 2-D or its row count differs from
the vocabulary's length: the given helper ``_checked`` does that check.

Shapes
------
With ``V = len(vocabulary)`` and ``D`` the embedding dimension:

* ``embedding_matrix(model)``: ``(V, D)``;
* ``one_hot``, ``counts_vector``: ``(V,)`` float32;
* ``lookup``, ``lookup_by_matmul``, ``review_vector``: ``(D,)``.

Example
-------
>>> vocabulary = ["great", "bad", "!"]
>>> matrix = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]])
>>> one_hot("bad", vocabulary).tolist()
[0.0, 1.0, 0.0]
>>> one_hot("meh", vocabulary).tolist()
[0.0, 0.0, 0.0]
>>> counts_vector(["great", "!", "great", "film"], vocabulary).tolist()
[2.0, 0.0, 1.0]
>>> lookup("bad", matrix, vocabulary).tolist()
[-1.0, 0.5]
>>> lookup_by_matmul("bad", matrix, vocabulary).tolist()
[-1.0, 0.5]
>>> review_vector(["great", "!", "great", "film"], matrix, vocabulary).tolist()
[0.6666666666666666, 2.3333333333333335]
>>> review_vector(["film"], matrix, vocabulary).tolist()
[0.0, 0.0]
>>> import keras
>>> model = keras.Sequential([keras.Input(shape=(3,)),
...                           keras.layers.Dense(2, use_bias=False, name="terms_embedding")])
>>> embedding_matrix(model).shape
(3, 2)
"""

from __future__ import annotations

import numpy as np

EMBEDDING_LAYER = "terms_embedding"


def embedding_matrix(model):
    """The ``(vocabulary size, dimension)`` weights of the model's ``terms_embedding`` layer."""
    # BEGIN SOLUTION
    weights = model.get_layer(EMBEDDING_LAYER).get_weights()
    if not weights:
        raise ValueError(f"layer {EMBEDDING_LAYER!r} has no weights (was the model built?)")
    return np.asarray(weights[0], dtype=np.float64)
    # END SOLUTION


def one_hot(term, vocabulary):
    """The term's one-hot vector over the vocabulary, float32, shape ``(V,)``."""
    # BEGIN SOLUTION
    vocabulary = list(vocabulary)
    vector = np.zeros(len(vocabulary), dtype=np.float32)
    if term in vocabulary:
        vector[vocabulary.index(term)] = 1.0
    return vector
    # END SOLUTION


def counts_vector(terms, vocabulary):
    """How many times each vocabulary term occurs in ``terms``, float32, shape ``(V,)``."""
    # BEGIN SOLUTION
    index = {term: position for position, term in enumerate(vocabulary)}
    vector = np.zeros(len(index), dtype=np.float32)
    for term in terms:
        if term in index:
            vector[index[term]] += 1.0
    return vector
    # END SOLUTION


def lookup(term, matrix, vocabulary):
    """The term's row of ``matrix``, found by index; zeros outside the vocabulary."""
    # BEGIN SOLUTION
    matrix = _checked(matrix, vocabulary)
    vocabulary = list(vocabulary)
    if term not in vocabulary:
        return np.zeros(matrix.shape[1], dtype=matrix.dtype)
    return matrix[vocabulary.index(term)].copy()
    # END SOLUTION


def lookup_by_matmul(term, matrix, vocabulary):
    """The term's row of ``matrix``, computed as ``one_hot(term) @ matrix``."""
    # BEGIN SOLUTION
    matrix = _checked(matrix, vocabulary)
    return one_hot(term, vocabulary).astype(matrix.dtype) @ matrix
    # END SOLUTION


def review_vector(terms, matrix, vocabulary):
    """The mean row of a review's in-vocabulary terms (zeros if it has none)."""
    # BEGIN SOLUTION
    matrix = _checked(matrix, vocabulary)
    counts = counts_vector(terms, vocabulary).astype(matrix.dtype)
    total = counts.sum()
    if total == 0:
        return np.zeros(matrix.shape[1], dtype=matrix.dtype)
    return counts @ matrix / total
    # END SOLUTION


def _checked(matrix, vocabulary):
    """``matrix`` as a float array, after checking it has one row per term (given)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"the matrix must be 2-D, got shape {matrix.shape}")
    if matrix.shape[0] != len(vocabulary):
        raise ValueError(f"the matrix has {matrix.shape[0]} rows for {len(vocabulary)} vocabulary terms")
    if not np.issubdtype(matrix.dtype, np.floating):
        matrix = matrix.astype(np.float64)
    return matrix
