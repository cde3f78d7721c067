"""A notebook's code as a module: what the grader imports from a notebook.

`module_source` joins the notebook's code cells, less the cells tagged
``setup`` and ``check``, into one module. Only the statements a module of
the exercise is made of are kept: imports, functions, classes, constants
(assignments that call nothing), ``if``/``try`` blocks and docstrings.
Anything else (a call to try a function out, a training run, a plot) is left
out, so that importing the module never runs the student's experiments,
and `left_out` names them. Lines of IPython magic (``%matplotlib``,
``!pip``) become comments. A cell that is not valid Python is kept as it
is: importing the module then reports the syntax error.

>>> notebook = {"cells": [
...     {"cell_type": "code", "metadata": {"tags": ["setup"]}, "source": "from embedlab import notebook"},
...     {"cell_type": "markdown", "metadata": {}, "source": "# Exercise"},
...     {"cell_type": "code", "metadata": {}, "source": "%matplotlib inline\\nimport math\\nSIZE = 2"},
...     {"cell_type": "code", "metadata": {}, "source": "def f(x):\\n    return math.sqrt(x) * SIZE"},
...     {"cell_type": "code", "metadata": {}, "source": "f(4)"}]}
>>> print(module_source(notebook))
# %matplotlib inline
import math
SIZE = 2
<BLANKLINE>
<BLANKLINE>
def f(x):
    return math.sqrt(x) * SIZE
<BLANKLINE>
>>> left_out(notebook)
['f(4)']
"""

from __future__ import annotations

import ast
from pathlib import Path

from embedlab.errors import EmbedlabError

SETUP_TAG = "setup"
CHECK_TAG = "check"
_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.Try)


def read(path: Path) -> dict:
    """A notebook file as a dict (any nbformat 4 version); `EmbedlabError` if it is not one."""
    import json

    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise EmbedlabError(f"{path}: cannot read the notebook ({error.strerror or error})") from None
    except ValueError as error:
        raise EmbedlabError(f"{path}: not a notebook (invalid JSON: {error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise EmbedlabError(f"{path}: not a notebook (no list of cells)")
    return notebook


def code_sources(notebook: dict) -> list[str]:
    """The text of each code cell that is the student's code (not tagged setup or check)."""
    sources = []
    for cell in notebook.get("cells", []):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") != "code" or SETUP_TAG in tags or CHECK_TAG in tags:
            continue
        source = cell.get("source", "")
        sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _split(source: str) -> tuple[list[tuple[int, str]], list[str]]:
    """A cell's graded lines (with their line numbers in the cell), and the first lines of those left out."""
    lines = [f"# {line}" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    numbered = list(enumerate(lines, start=1))
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return numbered, []
    dropped = [node for node in tree.body if not _is_kept(node)]
    drop = {number for node in dropped for number in range(node.lineno, node.end_lineno + 1)}
    drop -= {number for node in tree.body if _is_kept(node)
             for number in range(node.lineno, node.end_lineno + 1)}
    return [(number, line) for number, line in numbered if number not in drop], \
        [lines[node.lineno - 1].strip() for node in dropped]


def _is_kept(node: ast.stmt) -> bool:
    if isinstance(node, _KEPT):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is None or not any(isinstance(part, ast.Call) for part in ast.walk(node.value))
    # A docstring, or a bare constant.
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def module_source(notebook: dict) -> str:
    """The notebook's graded code cells joined into one module (see the module docstring)."""
    return "".join(f"{line}\n" for line, _ in module_lines(notebook))


def module_lines(notebook: dict) -> list[tuple[str, tuple[str, int] | None]]:
    """Each line of `module_source` with where it comes from: (its cell's first line, its line in the cell)."""
    out: list[tuple[str, tuple[str, int] | None]] = []
    for source in code_sources(notebook):
        kept, _ = _split(source)
        while kept and not kept[0][1].strip():
            kept.pop(0)
        while kept and not kept[-1][1].strip():
            kept.pop()
        if not kept:
            continue
        if out:
            out += [("", None), ("", None)]
        first = next(line for line in source.splitlines() if line.strip()).strip()
        out += [(line, (first, number)) for number, line in kept]
    return out


def origin(notebook: dict, line: int) -> str | None:
    """Where line `line` (from 1) of `module_source` is in the notebook, in words; None if it is no cell's."""
    lines = module_lines(notebook)
    found = lines[line - 1][1] if 0 < line <= len(lines) else None
    if found is None:
        return None
    first, number = found
    return f"line {number} of the cell that starts {first[:60]!r}"


def left_out(notebook: dict) -> list[str]:
    """The first line of each statement `module_source` leaves out, in order."""
    return [line for source in code_sources(notebook) for line in _split(source)[1]]


def same_code(first: str, second: str) -> bool:
    """Two modules with the same statements (comments, blank lines, the module docstring and
    ``from __future__`` imports aside)."""
    def shape(source: str) -> str | None:
        try:
            body = ast.parse(source).body
        except SyntaxError:
            return None
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        body = [node for node in body if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
        return ast.dump(ast.Module(body=body, type_ignores=[]))

    first_shape, second_shape = shape(first), shape(second)
    return first == second or (first_shape is not None and first_shape == second_shape)
