"""Facts about the pictures a submission draws: a matplotlib figure's texts
and limits, and whether a file is a PNG. Plain data only, for the tests to
judge (see `embedlab.grading.contract`); matplotlib is imported inside.

>>> facts = png_facts("no/such/file.png")
>>> facts["exists"], facts["is_png"], facts["bytes"]
(False, False, 0)
>>> figure_facts("not a figure")
{'type': 'str', 'is_figure': False}
"""

from __future__ import annotations

from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def figure_facts(figure) -> dict:
    """The figure's type, its number of axes, and the first axes' texts, limits, axis labels and titles.

    Each text is ``[text, x, y]`` with (x, y) the point it is anchored at: where
    an ``ax.text`` is placed, or the point an ``ax.annotate`` annotates (its
    ``xy``), wherever its label is drawn. ``titles`` holds the first axes'
    titles (centre, left, right) and the figure's suptitle, the non-empty ones.
    """
    from matplotlib.figure import Figure

    facts = {"type": type(figure).__name__, "is_figure": isinstance(figure, Figure)}
    if not facts["is_figure"]:
        return facts
    axes = figure.get_axes()
    facts["axes"] = len(axes)
    if axes:
        first = axes[0]
        facts["texts"] = [[text.get_text(), *(float(value) for value in anchor(text))] for text in first.texts]
        facts["xlim"] = [float(value) for value in first.get_xlim()]
        facts["ylim"] = [float(value) for value in first.get_ylim()]
        facts["xlabel"], facts["ylabel"] = str(first.get_xlabel()), str(first.get_ylabel())
        suptitle = figure.get_suptitle() if hasattr(figure, "get_suptitle") else ""
        facts["titles"] = [str(title) for title in (*(first.get_title(loc) for loc in ("center", "left", "right")),
                                                    suptitle) if title]
    return facts


def anchor(text) -> tuple[float, float]:
    """The point a text marks: an annotation's ``xy``, a plain text's position."""
    xy = getattr(text, "xy", None)
    return tuple(xy) if xy is not None and hasattr(text, "xyann") else tuple(text.get_position())


def png_facts(path) -> dict:
    """Whether `path` is a file, its size, and whether it starts like a PNG."""
    path = Path(path)
    data = path.read_bytes() if path.is_file() else b""
    return {"exists": path.is_file(), "bytes": len(data), "is_png": data[:8] == PNG_SIGNATURE, "path": str(path)}
