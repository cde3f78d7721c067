"""Exercise 10: similarity, shared tokens against embeddings.

The concept
-----------
How alike are two reviews? The simplest answer compares their words. The
*Jaccard similarity* of two sets of terms is the size of their intersection
over the size of their union::

    jaccard(A, B) = |A & B| / |A | B|

1.0 for the same set, 0.0 for sets with no term in common. It only sees
tokens: "a superb film" and "an excellent movie" share no term, so their
Jaccard similarity is 0.0, while "a superb film" and "a dreadful film"
share two of four terms (0.5). Most of what two reviews share is "the",
"a", "," and "of": two random training reviews have a Jaccard similarity
of about 0.11, whatever they say.

An embedding gives every term a vector, and the *cosine similarity* of two
vectors is the cosine of the angle between them::

    cosine(u, v) = u . v / (|u| |v|)

1.0 for vectors pointing the same way (whatever their lengths), 0.0 for
orthogonal ones, -1.0 for opposite ones. It compares directions, not
lengths: a term's vector can grow with how often it was trained without
changing what it is similar to. (A zero vector has no direction; its
similarity to anything is taken to be 0.0 here.)

In exercise 7's embedding, trained to tell positive reviews from negative
ones, terms used the same way point the same way. The nearest terms (by
cosine) of "excellent" in the reference solution's trained 16-dimensional
embedding (seed 1), among the 5,000 most frequent training terms, are
"perfectly", "fantastic", "8", "perfect", "favorite", "refreshing",
"peters", "wonderful", "appreciated" and "highly"; those of "awful" are
"worst", "poorly", "boring", "terrible", "existent" (as in "non existent"),
"waste", "ripped", "unless", "mess" and "wooden". No token is shared, yet
the model learned that "fantastic" and "excellent" do the same job (a
rating of "8" out of 10 too, and a name, "peters", that reviewers
praise). That is why an embedding generalizes where token overlap cannot,
and why a review with a rare word of praise still gets its sentiment right.

A review's vector is the mean of its terms' vectors (exercise 5), and two
reviews can then be compared by the cosine of their vectors. On 2,000 random
pairs of training reviews, in the same embedding, the two measures hardly
agree (correlation 0.08): the embedding's cosine separates the pairs of
the same sentiment (mean cosine 0.71) from the pairs of opposite sentiment
(mean -0.36), while the Jaccard similarity does not (0.114 against 0.113).
Two reviews with few words in common can be close in embedding space, and
two with many in common far apart: two short negative reviews that share
little more than "movie" and "." (Jaccard 0.07) have a cosine of 0.995,
both full of words of disappointment that the embedding puts together; a
positive and a negative review about jokes, which share "the plot", "the
acting", "jokes" and much else (Jaccard 0.30, far above a typical pair's),
have a cosine of -0.79.

The grading draws that picture from your functions in
``similarity_pairs.png`` (``embedlab plot 10``): Jaccard against cosine,
one point per pair of 2,000 drawn at grading time, coloured by whether the
two reviews have the same label, with a pair of each kind marked (A: few
terms in common but close, B: many in common but far apart) and their
figures given below the plot.

What to build
-------------
Plain numpy functions (no TensorFlow needed); ``vocabulary`` is a sequence
of distinct terms (str) and ``matrix`` has one row per vocabulary term.

1. ``jaccard(terms_a, terms_b)``: the Jaccard similarity of the two term
   *sets* (a term repeated counts once), a float. Two empty sets are the
   same set: 1.0.
2. ``cosine(u, v)``: the cosine similarity of two vectors of the same
   length, a float; 0.0 if either is all zeros.
3. ``review_vector(terms, matrix, vocabulary)``: the mean of the rows of
   the review's in-vocabulary terms (each occurrence counts), zeros of
   shape ``(D,)`` if it has none: exercise 5's mean.
4. ``nearest_terms(term, matrix, vocabulary, k=10)``: the ``k`` other
   vocabulary terms whose rows have the highest cosine similarity with the
   term's row, best first, as a list of str; the term itself is left out.
   Raise ``ValueError`` for a term outside the vocabulary, and when
   ``matrix`` is not 2-D or its row count differs from the vocabulary's
   length (the given helper ``_checked`` does that check).

Shapes
------
With ``V = len(vocabulary)`` and ``D`` the embedding dimension:

* ``matrix``: ``(V, D)``; ``u``, ``v``: ``(D,)``;
* ``review_vector``: ``(D,)``; ``nearest_terms``: ``k`` terms (fewer if
  the vocabulary has no ``k`` other terms).

Example
-------
>>> jaccard(["a", "superb", "film"], ["a", "dreadful", "film", "film"])
0.5
>>> jaccard(["a", "superb", "film"], ["an", "excellent", "movie"])
0.0
>>> jaccard([], [])
1.0
>>> round(cosine(np.array([1.0, 2.0]), np.array([2.0, 4.0])), 4)  # the same direction
1.0
>>> round(cosine(np.array([1.0, 2.0]), np.array([-3.0, -6.0])), 4)
-1.0
>>> round(cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])), 4)
0.7071
>>> cosine(np.array([1.0, 0.0]), np.zeros(2))
0.0
>>> vocabulary = ["superb", "excellent", "awful", "film"]
>>> matrix = np.array([[2.0, 0.1], [0.9, 0.0], [-1.0, 0.2], [0.1, 1.0]])
>>> np.round(review_vector(["superb", "film", "superb", "meh"], matrix, vocabulary), 4).tolist()
[1.3667, 0.4]
>>> nearest_terms("superb", matrix, vocabulary, k=2)
['excellent', 'film']
>>> nearest_terms("meh", matrix, vocabulary)
Traceback (most recent call last):
    ...
ValueError: 'meh' is not in the vocabulary
"""

from __future__ import annotations

import numpy as np


def jaccard(terms_a, terms_b):
    """The Jaccard similarity of two term sets: ``|A & B| / |A | B|`` (1.0 for two empty sets)."""
    raise NotImplementedError("jaccard() in ex10_similarity.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 10`")


def cosine(u, v):
    """The cosine similarity of two vectors, ``u . v / (|u| |v|)`` (0.0 if either is all zeros)."""
    raise NotImplementedError("cosine() in ex10_similarity.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 10`")


def review_vector(terms, matrix, vocabulary):
    """The mean row of a review's in-vocabulary terms (zeros if it has none)."""
    raise NotImplementedError("review_vector() in ex10_similarity.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 10`")


def nearest_terms(term, matrix, vocabulary, k=10):
    """The ``k`` vocabulary terms most cosine-similar to ``term`` (itself left out), best first."""
    raise NotImplementedError("nearest_terms() in ex10_similarity.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 10`")


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
