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

The plot follows the course's: each term written at its point, on a square
figure, with both axes running from ``1.2 * matrix.min()`` to ``1.2 *
matrix.max()``. To make it readable, each point gets a marker and its term
a label beside it; the three punctuation terms (".", "!", "?") get a bold,
boxed label (`label_style`), or a lone "." would be a speck; and a title
says what was trained and for how long. Fifty labels placed by hand
overlap ("excellent" and "perfect" end up on top of each other), so
`spread_labels`, given below, nudges overlapping labels apart once the
figure is drawn: label placement is a drawing chore, not this exercise's
lesson, and a label only moves beside its point, never the point.

Build the figure with ``matplotlib.figure.Figure`` and attach a
``FigureCanvasAgg`` to it, rather than using ``matplotlib.pyplot``: such a
figure belongs to nobody but the caller, works without a display, and is
garbage-collected like any other object (pyplot keeps every figure it makes
until it is closed).

What to build
-------------
* ``plot_embedding(matrix, vocabulary, title=None)`` returns a new
  ``matplotlib.figure.Figure`` of ``FIGURE_SIZE`` inches with one ``Axes``
  holding, for each vocabulary term (x and y: its row of the matrix):

  - a marker at ``(x, y)`` (e.g. one ``ax.scatter`` of all the points);
  - exactly one text, the term itself, anchored at ``(x, y)``: either
    ``ax.annotate(term, (x, y), xytext=LABEL_OFFSET,
    textcoords="offset points", **label_style(term))`` (drawn beside the
    point) or ``ax.text(x, y, term)``; no other text in the Axes;

  x and y limits both ``(1.2 * matrix.min(), 1.2 * matrix.max())``, a label
  on each axis (e.g. ``"dimension 1"``, ``"dimension 2"``) and, when
  ``title`` is given, that title (``ax.set_title(title)``). Finish with
  ``spread_labels(ax)``. Raise ``ValueError`` when the matrix is not 2-D with
  2 columns or its row count differs from the vocabulary's length.
* ``save_embedding_plot(matrix, vocabulary, path, title=None)`` draws that
  figure, saves it as a PNG at ``path`` (creating missing parent folders)
  with tight margins (``bbox_inches="tight"``) and returns the path as a
  ``pathlib.Path``.

Shapes
------
* ``matrix``: ``(len(vocabulary), 2)``, e.g. ``(50, 2)``;
* the figure: one Axes, ``len(vocabulary)`` texts.

Example
-------
>>> import numpy as np
>>> matrix = np.array([[1.0, 0.5], [-1.0, -0.5], [0.0, 0.1]])
>>> figure = plot_embedding(matrix, ["great", "bad", "!"], title="three terms")
>>> ax = figure.axes[0]
>>> [text.get_text() for text in ax.texts]
['great', 'bad', '!']
>>> [float(limit) for limit in ax.get_xlim() + ax.get_ylim()]
[-1.2, 1.2, -1.2, 1.2]
>>> ax.get_title(), bool(ax.get_xlabel() and ax.get_ylabel())
('three terms', True)
>>> label_style("!")["fontweight"], "bbox" in label_style("great")
('bold', False)
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

FIGURE_SIZE = (10, 10)
LABEL_OFFSET = (4, 3)  # points right of and above the marker: the label stays beside its point
PUNCTUATION = (".", "!", "?")


def label_style(term):
    """Text properties for a term's label: punctuation bold, larger and boxed, so that "." shows."""
    if term in PUNCTUATION:
        return {"fontsize": 16, "fontweight": "bold",
                "bbox": {"boxstyle": "round,pad=0.15", "facecolor": "lightyellow", "edgecolor": "0.5"}}
    return {"fontsize": 12}


def spread_labels(ax, rounds=300, padding=2.0):
    """Move the Axes' annotation labels off each other and off the markers; the same figure, the same result.

    Call it last, once the limits are set. It measures each label's box once
    with the figure's renderer; then, round after round, it moves each label
    off every box it overlaps, along the direction that needs the smaller
    move: by half the overlap off another label (which moves the other half),
    by a quarter off a marker (so labels part first), until nothing overlaps
    or `rounds` runs out. Only a label's offset from its point changes
    (``annotation.xy`` stays the point); a label that ends up away from its
    point gets a thin line to it. Plain ``ax.text`` labels stay where they are.
    """
    labels = [text for text in ax.texts if hasattr(text, "xyann")]
    if not labels:
        return
    figure = ax.get_figure()
    renderer = figure.canvas.get_renderer()
    points = ax.transData.transform([label.xy for label in labels])  # pixels; the markers never move
    boxes = np.array([label.get_window_extent(renderer).padded(padding).extents for label in labels])
    start = boxes.copy()
    for _ in range(rounds):
        moves = _label_moves(boxes) + _marker_moves(boxes, points) / 4
        if not np.abs(moves).max() > 0.01:
            break
        boxes += np.hstack([moves, moves])
    for label, (dx, dy) in zip(labels, (boxes - start)[:, :2] * 72.0 / figure.dpi):
        x, y = label.xyann
        label.xyann = (x + dx, y + dy)
    inverse = ax.transData.inverted()
    for (x0, y0, x1, y1), point in zip(boxes, points):
        nearest = np.clip(point, (x0 + padding, y0 + padding), (x1 - padding, y1 - padding))
        if np.hypot(*(nearest - point)) > 3 * padding:
            ax.plot(*inverse.transform([point, nearest]).T, color="0.6", linewidth=0.6, zorder=1)


def _overlaps(boxes, others):
    """The widths and heights by which each box overlaps each other one (<= 0: apart)."""
    wide = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    high = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    return wide, high


def _away(boxes, others, wide, high):
    """Per pair: the move of the first box off the second, along the axis of the smaller overlap."""
    centres = (boxes[:, None, :2] + boxes[:, None, 2:]) / 2 - (others[None, :, :2] + others[None, :, 2:]) / 2
    order = np.arange(len(boxes))[:, None] - np.arange(len(others))[None, :]
    # Ties (the same centre) go by order, so the result never depends on chance.
    sign = np.where(centres != 0, np.sign(centres), np.where(order[..., None] < 0, -1.0, 1.0))
    overlapping = (wide > 0) & (high > 0)
    vertical = high <= wide
    move = np.zeros(boxes.shape[:1] + others.shape[:1] + (2,))
    move[..., 1] = np.where(overlapping & vertical, high, 0.0) * sign[..., 1]
    move[..., 0] = np.where(overlapping & ~vertical, wide, 0.0) * sign[..., 0]
    return move


def _label_moves(boxes):
    wide, high = _overlaps(boxes, boxes)
    np.fill_diagonal(wide, 0.0)
    return _away(boxes, boxes, wide, high).sum(axis=1) / 2


def _marker_moves(boxes, points, radius=3.0):
    markers = np.hstack([points - radius, points + radius])
    wide, high = _overlaps(boxes, markers)
    return _away(boxes, markers, wide, high).sum(axis=1)


def plot_embedding(matrix, vocabulary, title=None):
    """A figure with a marker at each vocabulary term's 2-D embedding vector and the term labelled beside it.

    Args:
        matrix: the ``(len(vocabulary), 2)`` embedding matrix.
        vocabulary: the terms, in the matrix's row order.
        title: the Axes' title (what was trained, and how long), or None.

    Returns:
        A new ``matplotlib.figure.Figure`` with one Axes.

    Raises:
        ValueError: the matrix does not have shape ``(len(vocabulary), 2)``.
    """
    raise NotImplementedError("plot_embedding() in ex06_plot_embedding.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 6`")


def save_embedding_plot(matrix, vocabulary, path, title=None):
    """Draw the embedding with `plot_embedding` and save it as a PNG at ``path``, with tight margins.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    raise NotImplementedError("save_embedding_plot() in ex06_plot_embedding.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 6`")
