"""The student's calls in a notebook: `setup()` in the first cell, `check(n)` in the last.

``check(4)`` grades exercise 4 from the saved notebook, the way
``embedlab check 4`` grades ``exercises/``: it finds the notebook's file
(the kernel's own notebook in Jupyter or VS Code, the live notebook in
Colab, else ``<id>.ipynb`` or ``notebooks/<id>.ipynb`` from where the kernel
runs, else the course's ``notebooks/``), exports its code cells into a
scratch folder beside the other exercises' modules (exercise 6 trains
exercise 4's model), runs the graded suite there, and shows the result as a
table, the text report and the plots the grading drew.

This module is an edge: it reads the environment for the notebook's path
(``JPY_SESSION_NAME``) and the grader's settings (`Settings.from_environment`).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embedlab import __version__, files, manifest
from embedlab.authoring import export, sources
from embedlab.authoring.notebooks import NOTEBOOKS
from embedlab.errors import EmbedlabError
from embedlab.quiet import quiet_tensorflow
from embedlab.settings import Settings

KEYWORD_FOLDERS = {"exercises": files.EXERCISES, "solutions": files.SOLUTIONS}


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def setup() -> None:
    """The first cell: quiet TensorFlow; in Colab install the course and prepare the data; elsewhere check both."""
    quiet_tensorflow()
    if _in_colab():
        _install_in_colab()
    settings = Settings.from_environment()
    print(f"embedlab {__version__} from {files.REPOSITORY}")
    from embedlab.data import order

    try:
        order.require(settings.tfrecords_dir)
    except EmbedlabError as error:
        if not _in_colab():
            print(f"not ready: no prepared data ({error}); run `embedlab prepare` once in a terminal")
            return
        print("preparing the reviews through tensorflow-datasets (once per runtime, a few minutes)...", flush=True)
        subprocess.run([sys.executable, "-m", "embedlab", "prepare"], check=True)
    print(f"ready: data in {settings.tfrecords_dir}; write the code cells, then run the last cell to check")


def _install_in_colab() -> None:
    marker = files.REPOSITORY / ".colab-installed"
    if marker.is_file():
        return
    print("installing the course's pinned packages (once per runtime, a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-c", str(files.REPOSITORY / "constraints.txt"),
                    "-e", str(files.REPOSITORY)], check=True)
    marker.write_text("installed\n")


class Checked(dict):
    """The graded run's report (as `embedlab check` reads it), shown in one line."""

    def __repr__(self) -> str:
        rows = self.get("exercises", {})
        return ", ".join(f"{name}: {row['score']} / {row['max_score']}" for name, row in rows.items()) or "no score"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


def check(exercise: int | str, others: str | Path | None = None, notebook: str | Path | None = None) -> Checked | None:
    """Grade exercise `exercise` from its saved notebook and show the result.

    `others`: where the other exercises' modules come from: None (the
    course's ``exercises/`` and ``notebooks/``, whichever the student edited),
    ``"solutions"``, ``"exercises"`` or a folder. `notebook`: the notebook
    file to grade (default: found as the module docstring says).
    """
    quiet_tensorflow()
    chosen = manifest.get(exercise)
    content, where, label = _read_notebook(chosen, notebook)
    print(f"grading {chosen.id} from {where}; the model is trained for real, this can take a minute...", flush=True)
    for line in export.left_out(content):
        print(f"  not graded (not an import, function, class or constant): {line[:70]}")
    from embedlab.grading.suite import run_suite

    figures = files.REPOSITORY / "figures" / "notebooks"  # kept, as `embedlab check` keeps its plots
    shutil.rmtree(figures / chosen.id, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="embedlab-notebook-") as scratch:
        folder = _stage(chosen, content, others, Path(scratch))
        run = run_suite(folder, exercises=[chosen.id], settings=Settings.from_environment(), output_dir=figures,
                        capture_output=True)
    images = [(path.name, path.read_bytes()) for path in sorted((figures / chosen.id).glob("*.png"))]
    if run.results is None:
        output = f"{run.stdout or ''}\n{run.stderr or ''}".splitlines()
        detail = " | ".join(line.strip() for line in output if line.strip())[-600:]
        print(f"the autograder stopped before scoring (pytest exit status {run.returncode}): {detail}")
        return None
    report = Checked(_in_notebook_terms(run.results, chosen, content, label))
    _show(report, images)
    return report


def _in_notebook_terms(report: dict, exercise: manifest.Exercise, content: dict, label: str) -> dict:
    """The report with the exported module's name and line numbers told as the notebook's name and cells."""
    import json
    import re

    def cell_line(found: re.Match) -> str:
        where = export.origin(content, int(found.group(1)))
        return json.dumps(where)[1:-1] if where else found.group(0)

    module = re.escape(exercise.module_file)
    text = re.sub(rf"(?:{sources.STAGED_NAME}/)?{module} line (\d+)", cell_line, json.dumps(report))
    return json.loads(re.sub(rf"{sources.STAGED_NAME}/{module}", json.dumps(label)[1:-1], text))


def _stage(exercise: manifest.Exercise, content: dict, others: str | Path | None, scratch: Path) -> Path:
    """`scratch`/exercises: the other exercises' modules, and this notebook's code as the exercise's module."""
    if others is None:
        folder, notes = sources.choose_sources(files.EXERCISES, NOTEBOOKS, scratch / "chosen")
        for note in notes:
            if note.split(":")[0] in exercise.requires:
                print(f"  {note}")
    else:
        folder = KEYWORD_FOLDERS.get(str(others), Path(others))
        if not Path(folder).is_dir():
            raise EmbedlabError(f"{folder}: no such folder of exercise modules")
    return sources.stage(folder, {exercise.module_file: export.module_source(content)}, scratch)


def _read_notebook(exercise: manifest.Exercise, notebook: str | Path | None) -> tuple[dict, str, str]:
    """The notebook to grade, where it comes from (a file and when it was saved), and its short name."""
    if notebook is None and _in_colab():
        from google.colab import _message  # Colab's own kernel API: the notebook as the browser holds it

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
        if reply and isinstance(reply.get("ipynb"), dict):
            return reply["ipynb"], "this Colab notebook (as it is now)", "this notebook"
    path = Path(notebook) if notebook is not None else find_notebook(exercise)
    if path is None:
        raise EmbedlabError(f"cannot find {exercise.id}'s notebook: pass its file, e.g. check({exercise.number}, "
                            f"notebook=\"{exercise.id}.ipynb\"), or run the notebook from its folder")
    saved = path.stat().st_mtime
    ago = max(0, int(time.time() - saved))
    when = time.strftime("%H:%M:%S", time.localtime(saved))
    return export.read(path), f"{path} (saved at {when}, {_duration(ago)} ago)", path.name


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def find_notebook(exercise: manifest.Exercise) -> Path | None:
    """The exercise's notebook file: the kernel's own notebook if it is this exercise's, else a file found by name."""
    shell = _shell()
    namespace = getattr(shell, "user_ns", {}) if shell is not None else {}
    # VS Code names the kernel's notebook in `__vsc_ipynb_file__`; Jupyter's server in JPY_SESSION_NAME
    # (ipykernel copies it to `__session__`).
    for candidate in (namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"),
                      os.environ.get("JPY_SESSION_NAME")):
        if not candidate or not str(candidate).endswith(".ipynb"):
            continue
        for path in (Path(candidate), Path.cwd() / Path(candidate).name):
            if path.is_file() and _exercise_of(path) in (exercise.id, None):
                return path
    name = f"{exercise.id}.ipynb"
    for path in (Path.cwd() / name, Path.cwd() / "notebooks" / name, NOTEBOOKS / name):
        if path.is_file():
            return path
    return None


def _exercise_of(path: Path) -> str | None:
    try:
        return (export.read(path).get("metadata") or {}).get("embedlab", {}).get("exercise")
    except EmbedlabError:
        return None


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _render(report: dict) -> tuple[str, str]:
    """The report as text and as HTML: `embedlab.commands.report`'s renderers when it has them."""
    from embedlab.commands import report as rendering

    render_text = getattr(rendering, "render_text", None)
    render_html = getattr(rendering, "render_html", None)
    text = render_text(report) if render_text else rendering.summarize(report)
    page = render_html(report) if render_html else f"<pre>{html.escape(text)}</pre>"
    return text, page


def _show(report: Checked, images: list[tuple[str, bytes]]) -> None:
    text, page = _render(report)
    try:
        from IPython.display import HTML, Image, display
    except ImportError:
        display = None
    if display is not None and _shell() is not None:
        display(HTML(page))
    print(text)
    for name, data in images:
        print(f"{name}:")
        if display is not None and _shell() is not None:
            display(Image(data=data, format="png"))
