"""Exercise 11: embeddings by dimensionality reduction (PPMI and a truncated SVD).

The concept
-----------
Exercises 4 and 7 learned their embeddings from the labels: each term's
vector moved until the model told positive reviews from negative ones. An
embedding can also be had without a single label, from how terms are used:
"you shall know a word by the company it keeps" (Firth, 1957). Count, over
the training reviews, how often each term occurs near each other term; two
terms with similar rows of counts are used alike. Then squeeze those long
rows into a few numbers each.

1. **Co-occurrence counts.** For the ``V`` terms of a vocabulary and the
   ``C`` terms of a context list, ``counts[i, j]`` is how often context term
   ``j`` occurs at most ``window`` positions before or after an occurrence
   of term ``i`` in the same review. Here: the 2,000 most frequent training
   terms, their 500 most frequent as contexts, a window of 5.
2. **PPMI.** Raw counts are mostly frequency: every term co-occurs with
   "the" and "." more than with anything else. Pointwise mutual information
   compares each count with what chance would give if the two terms were
   independent::

       pmi(i, j) = log( p(i, j) / (p(i) p(j)) ),   p(i, j) = counts[i, j] / N,
       p(i) = row sum i / N,   p(j) = column sum j / N,   N = the sum of all counts

   and the *positive* PMI keeps only what is more frequent than chance:
   ``ppmi = max(0, pmi)``. A pair never seen (count 0, log 0 = -inf) gets 0,
   and so does every entry of an all-zero row or column (Church and Hanks,
   1990; Levy and Goldberg, 2014).
3. **Truncated SVD.** Every matrix is ``U @ diag(S) @ Vt``, with orthonormal
   columns in ``U`` and rows in ``Vt`` and the singular values ``S`` in
   descending order (``numpy.linalg.svd``). Keeping the first ``k`` of
   them gives the best rank-``k`` approximation of the matrix (Eckart and
   Young, 1936): the first components explain the most of it. A term's
   ``k``-dimensional vector is its row of ``U_k * sqrt(S_k)``. The sign of
   each component is arbitrary (``-u`` and ``-v`` work as well as ``u`` and
   ``v``), so the grader compares components up to sign.

What the first axes capture, measured on the training reviews (2,000 terms,
500 contexts, window 5; the reference solution): co-occurrence, not
sentiment. Axis 1 is mostly frequency: its correlation with the terms' log
frequency is 0.64 (the frequent "end", ".", "one", "course", "think" at one
end, names such as "gary", "danny", "alan" at the other). Axis 2 is topic:
the story ("decides", "meets", "finds", "son", "husband", "daughter",
"kills") against the craft ("acting", "editing", "photography",
"cinematography", "lighting", "cheesy"). Axis 3 sets actors' names
("william", "robert", "richard") against talk to the reader ("you",
"yourself", "please", "bother"). No axis is sentiment: the largest
correlation of one of the 16 axes with the terms' polarity (the log odds of
a positive review among their occurrences) is 0.38 (axis 3). Without PPMI,
the raw counts' first axis is nothing but frequency ("the", ".", "of",
"and" at one end).

A logistic regression on each review's mean of its terms' 16-dimensional SVD
vectors (the grader's, fitted on the 25,000 training reviews, scored on the
25,000 test reviews) reaches 0.778 accuracy (AUC 0.860): sentiment is in
there, spread over many axes, and a supervised model can find it. The same
regression on the 2-D SVD vectors reaches 0.573 only, where exercise 4's
2-D embedding, trained on the labels, puts its whole plane on sentiment
(about 0.78, exercise 4's figure). Raw counts instead of PPMI give 0.634
with 16 dimensions, and the 16 *smallest* singular values' components
0.601. PPMI is not the only good weighting: ``log(1 + counts)`` reaches
0.801 here; what matters is taming the frequent terms.

Plotted side by side (docs/images/svd_vs_learned.png), the 50 informative
terms show the difference. In the learned plane praise ("excellent",
"perfect", "brilliant") and blame ("worst", "poorly", "waste") lie at
opposite ends. In the SVD's plane "her", "him" and "family", words of the
story, stand far from the rest, and praise and blame crowd together:
"excellent" and "fantastic" sit next to "poor" and "dull", "awful" and
"terrible" just above them (a line can still part the seven clearest terms
of each kind, but by a narrow gap among neutral words).

What to build
-------------
1. ``cooccurrence_matrix(reviews, vocabulary, contexts, window=WINDOW)``:
   the ``(len(vocabulary), len(contexts))`` float64 counts of step 1.
   ``reviews`` is a list of reviews, each a list of terms. Positions are
   those of the review as given: a term outside the vocabulary and the
   contexts is not counted but keeps its place. For each pair of positions
   ``p < q`` of a review with ``q - p <= window``, add 1 at ``[row of the
   term at p, column of the term at q]`` and 1 at ``[row of the term at q,
   column of the term at p]``, when those terms are in the vocabulary and
   the contexts. A term repeated nearby is its own context; a position is
   never its own. Raise ``ValueError`` if ``window < 1``. With 25,000
   reviews, loop over the ``window`` offsets, not over the pairs: give every
   position its row (-1 if none) and its column, then count the pairs of
   positions ``offset`` apart with ``numpy.bincount`` (see the hints).
2. ``ppmi(counts)``: the positive pointwise mutual information of step 2,
   float64 of the same shape, 0 wherever the count is 0 (an all-zero matrix
   gives zeros). Raise ``ValueError`` for a matrix that is not 2-D or has a
   negative count.
3. ``truncated_svd(matrix, k)``: ``(U_k, S_k, Vt_k)`` with ``U_k`` of shape
   ``(n, k)`` (orthonormal columns), ``S_k`` of shape ``(k,)`` (the ``k``
   largest singular values, descending) and ``Vt_k`` of shape ``(k, m)``,
   for an ``(n, m)`` matrix: ``U_k @ np.diag(S_k) @ Vt_k`` is its best
   rank-``k`` approximation. Raise ``ValueError`` unless ``1 <= k <=
   min(n, m)``.
4. ``svd_embedding(matrix, k)``: the ``(n, k)`` term vectors ``U_k *
   sqrt(S_k)`` (each column of ``U_k`` times the square root of its
   singular value).
5. ``plot_side_by_side(svd_matrix, learned_matrix, vocabulary, title=None)``:
   a new ``matplotlib.figure.Figure`` (``FigureCanvasAgg`` attached, no
   pyplot) with two Axes: the first with one text per vocabulary term at its
   row of ``svd_matrix``, the second the same for ``learned_matrix`` (e.g.
   ``ax.annotate(term, (x, y), xytext=LABEL_OFFSET, textcoords="offset
   points")``), no other text in them; each Axes with its own title
   (``SVD_TITLE``, ``LEARNED_TITLE``) and axis labels, and ``title``, when
   given, as the figure's title (``figure.suptitle(title)``). Raise
   ``ValueError`` unless both matrices have shape ``(len(vocabulary), 2)``.

Shapes
------
* ``counts`` and its ``ppmi``: ``(len(vocabulary), len(contexts))``, e.g.
  ``(2000, 500)``;
* ``truncated_svd``: ``(n, k)``, ``(k,)``, ``(k, m)``; ``svd_embedding``:
  ``(n, k)``, e.g. ``(2000, 16)`` and ``(2000, 2)``;
* the figure: two Axes, ``len(vocabulary)`` texts in each.

Example
-------
>>> import numpy as np
>>> reviews = [["a", "great", "film", "x", "great"], ["a", "film"]]
>>> counts = cooccurrence_matrix(reviews, ["great", "film"], ["great", "film", "a"], window=2)
>>> counts.tolist()
[[0.0, 2.0, 1.0], [2.0, 0.0, 2.0]]
>>> ppmi(np.array([[2.0, 0.0], [0.0, 2.0]])).round(4).tolist()
[[0.6931, 0.0], [0.0, 0.6931]]
>>> u, s, vt = truncated_svd(np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 1)
>>> u.shape, s.tolist(), np.abs(vt).tolist()
((3, 1), [3.0], [[1.0, 0.0]])
>>> np.abs(svd_embedding(np.diag([4.0, 1.0]), 2)).tolist()
[[2.0, 0.0], [0.0, 1.0]]
>>> figure = plot_side_by_side(np.eye(2), -np.eye(2), ["great", "bad"], title="two terms")
>>> [[text.get_text() for text in ax.texts] for ax in figure.axes]
[['great', 'bad'], ['great', 'bad']]
>>> truncated_svd(np.eye(3), 4)
Traceback (most recent call last):
...
ValueError: k must be between 1 and 3 for a (3, 3) matrix, got 4
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

WINDOW = 5
FIGURE_SIZE = (18, 9)
LABEL_OFFSET = (3, 2)  # points right of and above the marker
SVD_TITLE = "truncated SVD of the PPMI matrix (no labels)"
LEARNED_TITLE = "exercise 4's learned embedding (trained on the labels)"
# Coloured in the plot, to see where praise and blame end up (the course's clearest terms).
PRAISE = ("great", "excellent", "perfect", "amazing", "brilliant", "loved", "fantastic")
BLAME = ("bad", "worst", "awful", "terrible", "waste", "poorly", "horrible")


def cooccurrence_matrix(reviews, vocabulary, contexts, window=WINDOW):
    """How often each context term occurs within `window` positions of each vocabulary term.

    Args:
        reviews: the reviews, each a list of terms.
        vocabulary: the terms of the rows.
        contexts: the terms of the columns.
        window: the largest distance between two positions that count as neighbours.

    Returns:
        float64 counts of shape ``(len(vocabulary), len(contexts))``.

    Raises:
        ValueError: ``window < 1``.
    """
    raise NotImplementedError("cooccurrence_matrix() in ex11_svd_embeddings.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 11`")


def ppmi(counts):
    """The positive pointwise mutual information of a matrix of co-occurrence counts (0 where a count is 0).

    Raises:
        ValueError: the matrix is not 2-D or holds a negative count.
    """
    raise NotImplementedError("ppmi() in ex11_svd_embeddings.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 11`")


def truncated_svd(matrix, k):
    """The `k` largest singular values of `matrix` and their singular vectors: ``(U_k, S_k, Vt_k)``.

    Raises:
        ValueError: the matrix is not 2-D, or `k` is not between 1 and ``min(matrix.shape)``.
    """
    raise NotImplementedError("truncated_svd() in ex11_svd_embeddings.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 11`")


def svd_embedding(matrix, k):
    """Each row's `k`-dimensional vector: ``U_k * sqrt(S_k)`` of the truncated SVD of `matrix`."""
    raise NotImplementedError("svd_embedding() in ex11_svd_embeddings.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 11`")


def label_colour(term):
    """Praise green, blame red, every other term dark grey."""
    return "tab:green" if term in PRAISE else "tab:red" if term in BLAME else "0.2"


def plot_side_by_side(svd_matrix, learned_matrix, vocabulary, title=None):
    """A figure with two Axes: the terms at their SVD points, and at their learned points.

    Raises:
        ValueError: a matrix does not have shape ``(len(vocabulary), 2)``.
    """
    raise NotImplementedError("plot_side_by_side() in ex11_svd_embeddings.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 11`")
