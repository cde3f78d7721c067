"""Which of a student's two copies of an exercise to grade: the module or the notebook.

A student writes each exercise either in ``exercises/<id>.py`` or in
``notebooks/<id>.ipynb``. For each exercise of the manifest:

* the notebook's exported code (`embedlab.authoring.export`) is the stub's
  and the module is anything: the module is graded (nothing to say);
* the notebook was edited and the module is still the stub: the notebook;
* both were edited: the one modified last.

"Still the stub" compares statements, not bytes (`export.same_code`): a
notebook saved with outputs, or a module reformatted, is not an edit. When
some notebook is chosen, `choose_sources` stages a copy of the exercises
folder with those notebooks exported in the place of their modules, since
an exercise's grading may import another exercise's module (exercise 6
trains exercise 4's model).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from embedlab import files, manifest
from embedlab.authoring import export, stubs
from embedlab.errors import EmbedlabError

STAGED_NAME = "exercises"  # the staged folder's name: figures go to figures/exercises/ as for exercises/


def pick(exercise: manifest.Exercise, module: Path, notebook: Path, stub: str | None) -> tuple[str, str | None]:
    """``("module" | "notebook", note)`` for one exercise; `stub` is its stub's source (None: unknown)."""
    if not notebook.is_file():
        return "module", None
    try:
        exported = export.module_source(export.read(notebook))
    except EmbedlabError as error:
        return "module", f"{exercise.id}: {error}; graded {module.name} instead"
    if stub is not None and export.same_code(exported, stub):
        return "module", None
    module_edited = module.is_file() and (stub is None or not export.same_code(module.read_text(), stub))
    if not module.is_file():
        return "notebook", f"{exercise.id}: graded the notebook {notebook.name} (no module {module.name})"
    if not module_edited:
        return "notebook", f"{exercise.id}: graded the notebook {notebook.name} (the module is still the stub)"
    if notebook.stat().st_mtime > module.stat().st_mtime:
        return "notebook", f"{exercise.id}: graded the notebook {notebook.name} (both edited; the notebook last)"
    return "module", f"{exercise.id}: graded the module {module.name} (both edited; the module last)"


def choose_sources(exercises_folder: Path, notebooks_folder: Path, scratch: Path | None = None,
                   solutions: Path = files.SOLUTIONS, noted: list[str] | None = None) -> tuple[Path, list[str]]:
    """The folder to grade and one note per exercise that does not come from its module as is.

    Without any notebook chosen it is `exercises_folder` itself. Otherwise a
    staged copy in `scratch` (the caller removes it), or in a temporary
    folder removed when the process ends. `noted`: only these exercises (and
    those they require) get a note (None: all).
    """
    exercises_folder, notebooks_folder = Path(exercises_folder), Path(notebooks_folder)
    shown = None if noted is None else {required for name in noted
                                        for required in (manifest.get(name).id, *manifest.get(name).requires)}
    chosen, notes = {}, []
    for exercise in manifest.load():
        try:
            stub = stubs.make_stub(stubs._read_solution(solutions, exercise.module_file), exercise.module_file)
        except EmbedlabError:
            stub = None  # no solutions/ here: any notebook counts as edited
        notebook = notebooks_folder / f"{exercise.id}.ipynb"
        which, note = pick(exercise, exercises_folder / exercise.module_file, notebook, stub)
        if note and (shown is None or exercise.id in shown):
            notes.append(note)
        if which == "notebook":
            chosen[exercise.module_file] = exported(notebook)
    if not chosen:
        return exercises_folder, notes
    if scratch is None:
        scratch = Path(tempfile.mkdtemp(prefix="embedlab-sources-"))
        atexit.register(shutil.rmtree, scratch, True)
    return stage(exercises_folder, chosen, Path(scratch)), notes


def stage(exercises_folder: Path, modules: dict[str, str], scratch: Path) -> Path:
    """`scratch`/exercises: a copy of `exercises_folder` with each ``{module file: source}`` written over it."""
    staged = scratch / STAGED_NAME
    if Path(exercises_folder).is_dir():
        shutil.copytree(exercises_folder, staged, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    staged.mkdir(parents=True, exist_ok=True)
    for module_file, source in modules.items():
        files.write_atomic(staged / module_file, source)
    return staged


def exported(notebook: Path) -> str:
    """A notebook's code cells as the module graded in its place, saying where it came from."""
    return f"# Exported from {notebook.name}: its code cells.\n" + export.module_source(export.read(notebook))
