"""Exercise 6: plot the learned 2-D embedding (Task 5).

The concept
-----------
One-hot vectors put every term at the same distance from every other: they
cannot show that "great" and "excellent" are alike. A learned embedding can.
Exercise 4's model maps each of the 50 informative terms to a point of the
plane (one row of its ``(50, 2)`` matrix), trained only to tell positive
reviews from negative ones. Drawing those points shows what the training
found: words of praise gather on one side, words of blame on the other, and
neutral words ("movie", "film", "him", "her") sit between them. Run the
training again and the picture is rotated or mirrored, since the axes mean
nothing on their own; the grouping is what is learned.

Two dimensions are what make this plot possible, and they are also a limit:
a plane can hold the positive/negative split and little else. A bigger
embedding (exercise 7 uses 16 dimensions) can separate more kinds of terms
but can no longer be looked at directly.

The plot follows the course's: each term's text written at its point, on a
square figure, with both axes running from ``1.2 * matrix.min()`` to
``1.2 * matrix.max()``.

Build the figure with ``matplotlib.figure.Figure`` and attach a
``FigureCanvasAgg`` to it, rather than using ``matplotlib.pyplot``: such a
figure belongs to nobody but the caller, works without a display, and is
garbage-collected like any other object (pyplot keeps every figure it makes
until it is closed).

What to build
-------------
* ``plot_embedding(matrix, vocabulary)`` returns a new
  ``matplotlib.figure.Figure`` of 15 x 15 inches with one ``Axes`` holding one
  ``ax.text(x, y, term)`` per vocabulary term (x and y: the term's row of the
  matrix), and x and y limits both ``(1.2 * matrix.min(), 1.2 *
  matrix.max())``. Raise ``ValueError`` when the matrix is not 2-D with 2
  columns or its row count differs from the vocabulary's length.
* ``save_embedding_plot(matrix, vocabulary, path)`` draws that figure, saves
  it as a PNG at ``path`` (creating missing parent folders) and returns the
  path as a ``pathlib.Path``.

Shapes
------
* ``matrix``: ``(len(vocabulary), 2)``, e.g. ``(50, 2)``;
* the figure: one Axes, ``len(vocabulary)`` texts.

Example
-------
>>> import numpy as np
>>> matrix = np.array([[1.0, 0.5], [-1.0, -0.5], [0.0, 0.1]])
>>> figure = plot_embedding(matrix, ["great", "bad", "film"])
>>> [text.get_text() for text in figure.axes[0].texts]
['great', 'bad', 'film']
>>> [float(limit) for limit in figure.axes[0].get_xlim() + figure.axes[0].get_ylim()]
[-1.2, 1.2, -1.2, 1.2]
>>> plot_embedding(np.zeros((3, 3)), ["great", "bad", "film"])
Traceback (most recent call last):
...
ValueError: the matrix must have shape (3, 2), got (3, 3)
"""

from __future__ import annotations

import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FIGURE_SIZE = (15, 15)


def plot_embedding(matrix, vocabulary):
    """A figure with each vocabulary term written at its 2-D embedding vector.

    Args:
        matrix: the ``(len(vocabulary), 2)`` embedding matrix.
        vocabulary: the terms, in the matrix's row order.

    Returns:
        A new ``matplotlib.figure.Figure`` with one Axes.

    Raises:
        ValueError: the matrix does not have shape ``(len(vocabulary), 2)``.
    """
    raise NotImplementedError("plot_embedding() in ex06_plot_embedding.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 6`")


def save_embedding_plot(matrix, vocabulary, path):
    """Draw the embedding with `plot_embedding` and save it as a PNG at ``path``.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    raise NotImplementedError("save_embedding_plot() in ex06_plot_embedding.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 6`")
