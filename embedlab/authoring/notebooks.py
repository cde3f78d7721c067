"""Notebooks, generated from the reference solutions like the stubs.

One Jupyter notebook per exercise of the manifest, from the same source as
``exercises/<id>.py`` (`embedlab.authoring.stubs`):

* a first code cell tagged ``setup``: in Colab it fetches the course (the
  manifest's ``[course] repository``) and `embedlab.notebook.setup` installs
  it and prepares the data; elsewhere it checks the set-up;
* the module docstring as markdown cells: the title, then one cell per
  section (The concept, What to build, Shapes, Example);
* the module's code as code cells: its imports and constants, then each
  top-level function or class in a cell of its own, with the stub's body
  (``notebooks/<id>.ipynb``, committed) or the solution's (generated on
  demand, never committed);
* a last code cell tagged ``check`` that grades the notebook.

The JSON is deterministic (fixed cell ids, no outputs): the same solutions
give the same bytes, so `stale_notebooks` can compare files.
`module_source` turns a notebook back into a module (`embedlab.authoring.export`).

>>> cells = code_cells('import math\\n\\n\\ndef f(x):\\n    return math.sqrt(x)\\n')
>>> cells
['import math', 'def f(x):\\n    return math.sqrt(x)']
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from embedlab import files, manifest
from embedlab.authoring import stubs
from embedlab.authoring.export import CHECK_TAG, SETUP_TAG, module_source
from embedlab.authoring.sources import choose_sources
from embedlab.errors import EmbedlabError

__all__ = ["NOTEBOOKS", "choose_sources", "code_cells", "make_notebook", "module_source", "notebook_text",
           "stale_notebooks", "write_notebooks"]

NOTEBOOKS = files.REPOSITORY / "notebooks"
COLAB_FOLDER = "/content/embedlab"  # where the setup cell clones the course in Colab
_HEADING = re.compile(r"^-{3,}$")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def course_repository() -> str:
    """The course's git repository (``[course] repository`` in exercises.toml); '' if unset."""
    from embedlab.manifest import tomllib

    with open(manifest.MANIFEST_PATH, "rb") as handle:
        return str(tomllib.load(handle).get("course", {}).get("repository", "")).strip()


def code_cells(source: str) -> list[str]:
    """A module's code after its docstring: the imports and constants, then one cell per function or class.

    Comment lines right above a function or class go into its cell; ``from __future__`` imports are left out.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    body = tree.body
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        start, body = body[0].end_lineno, body[1:]
    cuts = [start]
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)]) - 1
            while first > cuts[-1] and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            cuts.append(first)
    cuts.append(len(lines))
    # A notebook runs its cells without `from __future__` imports (they must come first in a module, and the
    # setup cell comes first); they change nothing in this course's code (`export.same_code` ignores them).
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            lines[node.lineno - 1:node.end_lineno] = [""] * (node.end_lineno - node.lineno + 1)
    cells = ["\n".join(lines[begin:end]).strip("\n") for begin, end in zip(cuts, cuts[1:])]
    return [cell for cell in cells if cell.strip()]


def lesson_cells(docstring: str, exercise: manifest.Exercise, solution: bool) -> list[str]:
    """The docstring as markdown: a title cell with how to work, then one cell per section."""
    lines = docstring.strip("\n").splitlines()
    title, sections, current = lines[0].rstrip("."), [], ["", []]
    for index, line in enumerate(lines[1:], start=1):
        if index + 1 < len(lines) and _HEADING.match(lines[index + 1].strip()) and line.strip():
            sections.append(current)
            current = [line.strip(), []]
        elif not _HEADING.match(line.strip()):
            current[1].append(line)
    sections.append(current)
    work = (f"**How to work here.** Run the first cell. Write your code in the code cells below, in place of "
            f"each `raise NotImplementedError(...)`, save the notebook, then run the last cell: it grades the "
            f"saved notebook. The grader takes the code cells' imports, functions, classes and constants; any "
            f"other statement (a call to try something out) is left out. You may work in "
            f"`exercises/{exercise.module_file}` instead: `embedlab check` grades whichever of the two you edited.")
    if solution:
        work = "**Reference solution** (not for students). The last cell grades it beside the other solutions."
    cells = [f"# {title}\n\n" + (_markdown(sections[0][1]) + "\n\n" if _markdown(sections[0][1]) else "") + work]
    cells += [f"## {heading}\n\n{_markdown(body)}" for heading, body in sections[1:]]
    return cells


def _markdown(lines: list[str]) -> str:
    """reStructuredText-ish docstring lines as markdown: ``code`` to `code`, doctest blocks fenced."""
    out, in_example = [], False
    for line in lines:
        starts_example = line.startswith(">>> ")
        if starts_example and not in_example:
            out.append("```python")
            in_example = True
        elif in_example and not line.strip():
            out.append("```")
            in_example = False
        out.append(line)
    if in_example:
        out.append("```")
    text = "\n".join(out).strip("\n")
    parts = re.split(r"(```python\n.*?\n```)", text, flags=re.DOTALL)
    return "".join(part if part.startswith("```") else _LITERAL.sub(r"`\1`", part) for part in parts)


def setup_source(repository: str) -> str:
    """The first cell: in Colab, fetch the course so that `embedlab` imports; then `notebook.setup()`."""
    folder = json.dumps(COLAB_FOLDER)
    if repository:
        imports = "import os\nimport subprocess\nimport sys\n"
        fetch = (f"        subprocess.run([\"git\", \"clone\", \"--quiet\", \"--depth=1\", {json.dumps(repository)}, "
                 f"{folder}], check=True)\n")
    else:
        imports = "import os\nimport sys\n"
        fetch = ("        raise RuntimeError(\"no course repository to install from: the instructor sets \"\n"
                 "                           \"[course] repository in embedlab/exercises.toml\")\n")
    return ("# Run this cell first. In Colab it installs the course and prepares the data (once per runtime).\n"
            f"{imports}\n"
            "if \"google.colab\" in sys.modules:\n"
            f"    if not os.path.isdir({folder}):\n"
            f"{fetch}"
            f"    sys.path.insert(0, {folder})\n"
            "from embedlab import notebook\n\n"
            "notebook.setup()")


def check_source(exercise: manifest.Exercise, solution: bool) -> str:
    others = ", others=\"solutions\"" if solution else ""
    return ("# Save the notebook first (Ctrl+S): this grades the saved file.\n"
            f"from embedlab import notebook\n\nnotebook.check({exercise.number}{others})")


def make_notebook(exercise: manifest.Exercise, solution_source: str, *, solution: bool = False,
                  repository: str | None = None):
    """The exercise's notebook (an `nbformat` node): the stub's code, or the solution's if `solution`."""
    import nbformat.v4 as v4

    code = _without_markers(solution_source) if solution else stubs.make_stub(solution_source, exercise.module_file)
    docstring = ast.get_docstring(ast.parse(solution_source), clean=True) or exercise.title
    repository = course_repository() if repository is None else repository

    def code_cell(source: str, cell_id: str, tags: tuple[str, ...] = ()):
        return v4.new_code_cell(source, id=cell_id, metadata={"tags": list(tags)} if tags else {})

    cells = [code_cell(setup_source(repository), "setup", (SETUP_TAG,))]
    cells += [v4.new_markdown_cell(text, id=f"lesson-{index}")
              for index, text in enumerate(lesson_cells(docstring, exercise, solution), start=1)]
    cells += [code_cell(text, f"code-{index}") for index, text in enumerate(code_cells(code), start=1)]
    cells.append(code_cell(check_source(exercise, solution), "check", (CHECK_TAG,)))
    return v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "embedlab": {"exercise": exercise.id, "kind": "solution" if solution else "exercise"},
    })


def _without_markers(source: str) -> str:
    return "".join(line for line in source.splitlines(keepends=True)
                   if line.strip() not in (stubs.BEGIN, stubs.END))


def notebook_text(notebook) -> str:
    """The notebook's JSON as committed: nbformat's own layout (sorted keys), one final newline."""
    import nbformat

    nbformat.validate(notebook)
    return nbformat.writes(notebook).rstrip("\n") + "\n"


def expected_notebooks(solutions: Path = files.SOLUTIONS, *, solution: bool = False) -> dict[str, str]:
    """File name -> the notebook text the solutions generate, for every exercise of the manifest."""
    repository = course_repository()
    expected = {}
    for exercise in manifest.load():
        source = stubs._read_solution(solutions, exercise.module_file)
        notebook = make_notebook(exercise, source, solution=solution, repository=repository)
        expected[f"{exercise.id}.ipynb"] = notebook_text(notebook)
    return expected


def stale_notebooks(solutions: Path = files.SOLUTIONS, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Student notebooks missing or different from what their solutions generate."""
    stale = []
    for name, text in expected_notebooks(solutions).items():
        path = Path(notebooks) / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    return stale


def write_notebooks(out: Path = NOTEBOOKS, solutions: Path = files.SOLUTIONS, *, solution: bool = False) -> list[Path]:
    """Write the student notebooks (or, with `solution`, the solution notebooks) into `out`; the files changed."""
    out = Path(out)
    if solution and out.resolve() == NOTEBOOKS.resolve():
        raise EmbedlabError(f"{out}: solution notebooks never go into the students' notebooks/ folder")
    written = []
    for name, text in expected_notebooks(solutions, solution=solution).items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            files.write_atomic(path, text)
            written.append(path)
    return written
