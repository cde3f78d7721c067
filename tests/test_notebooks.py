"""The notebooks: generated from the solutions, fresh, exported back to modules, graded from a kernel.

The last tests execute the notebooks for real, in a Jupyter kernel of this
Python started by nbclient: every student notebook must end on a clear "not
done yet" with 0 points, the solution notebooks of each way of grading
(`SOLUTION_RUNS`) on full points.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from embedlab import files, manifest
from embedlab.authoring import check, export, notebooks, sources, stubs

from data_fixtures import prepared_data  # noqa: F401 - a fixture

EXERCISES = manifest.load()
ids = [exercise.id for exercise in EXERCISES]
# A solution notebook executed is its exercise graded in full, training and all (up to minutes each on 2
# cores), and every notebook's export is compared with its solution (test_export_round_trip_...): one of
# each way an exercise is graded is executed, a model's pass mark, figures drawn from a required
# exercise, and calibrated figures of its own.
SOLUTION_RUNS = list({exercise.id: exercise for exercise in (
    next(exercise for exercise in EXERCISES if exercise.is_model),
    next(exercise for exercise in EXERCISES if exercise.figures and exercise.requires),
    next((exercise for exercise in EXERCISES if exercise.marks), EXERCISES[-1]),
)}.values())


def solution_source(exercise) -> str:
    return (files.SOLUTIONS / exercise.module_file).read_text()


def stub_source(exercise) -> str:
    return stubs.make_stub(solution_source(exercise), exercise.module_file)


def solution_notebook(exercise) -> dict:
    return json.loads(notebooks.notebook_text(notebooks.make_notebook(exercise, solution_source(exercise),
                                                                      solution=True)))


def top_level_names(path) -> set[str]:
    spec = importlib.util.spec_from_file_location(f"nb_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name for name, value in vars(module).items()
            if callable(value) and getattr(value, "__module__", None) == module.__name__}


def test_committed_notebooks_are_fresh():
    stale = notebooks.stale_notebooks()
    assert not stale, f"stale notebooks {stale}: run `embedlab notebooks --write` and commit notebooks/"


def test_a_changed_or_missing_notebook_is_stale(tmp_path):
    shutil.copytree(notebooks.NOTEBOOKS, tmp_path, dirs_exist_ok=True)
    assert notebooks.stale_notebooks(notebooks=tmp_path) == []
    changed, missing = tmp_path / f"{ids[1]}.ipynb", tmp_path / f"{ids[2]}.ipynb"
    changed.write_text(changed.read_text().replace("raise NotImplementedError(", "return None  # (", 1))
    missing.unlink()
    assert notebooks.stale_notebooks(notebooks=tmp_path) == [str(changed), str(missing)]
    assert check.notebook_problems(notebooks_folder=tmp_path) == [
        f"{changed}: stale; run `embedlab notebooks --write`", f"{missing}: stale; run `embedlab notebooks --write`"]


def test_generation_gives_the_same_bytes():
    first, second = notebooks.expected_notebooks(), notebooks.expected_notebooks()
    assert first == second and sorted(first) == sorted(f"{name}.ipynb" for name in ids)
    for text in first.values():
        cells = json.loads(text)["cells"]
        assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None for cell in cells)


@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_cells_are_setup_lesson_code_check(exercise):
    notebook = json.loads((notebooks.NOTEBOOKS / f"{exercise.id}.ipynb").read_text())
    cells = notebook["cells"]
    assert cells[0]["metadata"]["tags"] == ["setup"] and "notebook.setup()" in "".join(cells[0]["source"])
    assert cells[-1]["metadata"]["tags"] == ["check"]
    assert f"notebook.check({exercise.number})" in "".join(cells[-1]["source"])
    headings = [cell["source"][0].strip() for cell in cells if cell["cell_type"] == "markdown"]
    assert headings[0].startswith(f"# Exercise {exercise.number}")
    assert {"## What to build", "## Shapes", "## Example"} <= set(headings)
    code = [cell for cell in cells[1:-1] if cell["cell_type"] == "code"]
    definitions = [line for line in stub_source(exercise).splitlines() if line.startswith(("def ", "class "))]
    assert len(code) == 1 + len(definitions)  # the imports and constants, then one cell per function or class
    assert notebook["metadata"]["embedlab"] == {"exercise": exercise.id, "kind": "exercise"}


@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_export_round_trip_is_the_stub_and_the_solution(exercise, tmp_path):
    student = export.read(notebooks.NOTEBOOKS / f"{exercise.id}.ipynb")
    pairs = ((student, stub_source(exercise)), (solution_notebook(exercise), solution_source(exercise)))
    for notebook, module in pairs:
        exported = export.module_source(notebook)
        assert export.same_code(exported, module)
        assert not export.same_code(exported, stub_source(exercise) + "\nEXTRA = 1\n")
        (tmp_path / "exported.py").write_text(exported)
        (tmp_path / "module.py").write_text(module)
        assert top_level_names(tmp_path / "exported.py") == top_level_names(tmp_path / "module.py") != set()


def test_export_leaves_out_trials_and_keeps_syntax_errors():
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["setup"]}, "source": "notebook.setup()"},
        {"cell_type": "code", "metadata": {}, "source": ["!pip install nothing\n", "import math\n", "LIMIT = 3"]},
        {"cell_type": "code", "metadata": {}, "source": "def f(x):\n    return math.sqrt(x)\n\nmodel = f(4)\nf(9)"},
        {"cell_type": "code", "metadata": {"tags": ["check"]}, "source": "notebook.check(1)"}]}
    source = export.module_source(notebook)
    assert "notebook." not in source and "model = f(4)" not in source and "f(9)" not in source
    assert "# !pip install nothing" in source and "LIMIT = 3" in source and "return math.sqrt(x)" in source
    assert export.left_out(notebook) == ["model = f(4)", "f(9)"]
    notebook["cells"][2]["source"] = "def f(x)\n    return x"
    with pytest.raises(SyntaxError):
        compile(export.module_source(notebook), "exported.py", "exec")


def test_the_setup_cell_fetches_the_course_in_colab_only():
    exercise = EXERCISES[0]
    with_url = notebooks.make_notebook(exercise, solution_source(exercise), repository="https://git.example/course")
    cell = with_url.cells[0].source
    assert '"git", "clone"' in cell and '"https://git.example/course"' in cell and 'in sys.modules:' in cell
    without = notebooks.make_notebook(exercise, solution_source(exercise), repository="").cells[0].source
    assert '"git", "clone"' not in without and "[course] repository in embedlab/exercises.toml" in without


@pytest.fixture
def student_folders(tmp_path):
    """A student's exercises/ and notebooks/ as handed out: the stubs and the committed notebooks."""
    modules, books = tmp_path / "exercises", tmp_path / "notebooks"
    modules.mkdir()
    for exercise in EXERCISES:
        (modules / exercise.module_file).write_text(stub_source(exercise))
    shutil.copytree(notebooks.NOTEBOOKS, books)
    return modules, books


def _edit(path, text: str, age: float) -> None:
    path.write_text(text)
    os.utime(path, (time.time() - age, time.time() - age))


@pytest.mark.parametrize("edited, graded", [
    ((), {}),
    (("module",), {}),
    (("notebook",), {"notebook"}),
    (("module-later", "notebook"), {"module"}),
    (("module", "notebook-later"), {"notebook"}),
])
def test_choose_sources_grades_what_the_student_edited(student_folders, tmp_path, edited, graded):
    modules, books = student_folders
    exercise = EXERCISES[3]
    module, book = modules / exercise.module_file, books / f"{exercise.id}.ipynb"
    for what in edited:
        age = 0 if what.endswith("-later") else 60
        if what.startswith("module"):
            _edit(module, solution_source(exercise), age)
        else:
            _edit(book, json.dumps(solution_notebook(exercise)), age)
    folder, notes = sources.choose_sources(modules, books, tmp_path / "scratch")
    if graded == {"notebook"}:
        assert folder == tmp_path / "scratch" / "exercises" and folder.is_dir()
        assert export.same_code((folder / exercise.module_file).read_text(), solution_source(exercise))
        assert sorted(path.name for path in folder.glob("*.py")) == sorted(e.module_file for e in EXERCISES)
        assert notes and notes[0].startswith(f"{exercise.id}: graded the notebook {book.name}")
    else:
        assert folder == modules
        assert notes == ([f"{exercise.id}: graded the module {module.name} (both edited; the module last)"]
                         if graded == {"module"} else [])


def test_an_unreadable_notebook_is_named_and_the_module_graded(student_folders, tmp_path):
    modules, books = student_folders
    (books / f"{ids[0]}.ipynb").write_text("{ not json")
    folder, notes = sources.choose_sources(modules, books, tmp_path / "scratch", noted=[ids[0]])
    assert folder == modules and len(notes) == 1 and "not a notebook (invalid JSON" in notes[0]


def test_the_notebooks_command(tmp_path):
    def embedlab(*arguments):
        return subprocess.run([sys.executable, "-m", "embedlab", "notebooks", *arguments], capture_output=True,
                              text=True, cwd=tmp_path)

    fresh = embedlab()
    assert fresh.returncode == 0 and "notebooks/ matches" in fresh.stdout, fresh.stderr
    written = embedlab("--solutions", str(tmp_path / "solved"))
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in (tmp_path / "solved").iterdir()) == sorted(f"{name}.ipynb" for name in ids)
    refused = embedlab("--solutions", str(notebooks.NOTEBOOKS))
    assert refused.returncode == 1 and "never go into the students' notebooks/" in refused.stderr


# ------------------------------------------------------------ executed in a real kernel
@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernelspec of this very Python (so the kernel imports this embedlab), whatever the machine has."""
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager

    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(str(folder / "embedlab-tests"))
    specs = KernelSpecManager(kernel_dirs=[str(folder)])
    assert specs.get_kernel_spec("embedlab-tests").argv[0] == sys.executable
    return specs


def execute(path, kernel, data) -> tuple[str, str, float]:
    """Run the notebook at `path` from its folder; the check cell's printed text and result, and the seconds."""
    import nbclient
    import nbformat
    from jupyter_client import KernelManager

    notebook = nbformat.read(path, as_version=4)
    environment = {key: value for key, value in os.environ.items() if key != "JPY_SESSION_NAME"}
    environment["EMBEDLAB_TFRECORDS"] = str(data)
    started = time.perf_counter()
    nbclient.NotebookClient(notebook, km=KernelManager(kernel_name="embedlab-tests", kernel_spec_manager=kernel),
                            timeout=900, resources={"metadata": {"path": str(path.parent)}}).execute(env=environment)
    seconds = time.perf_counter() - started
    outputs = notebook.cells[-1].outputs
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    result = "".join(output.data.get("text/plain", "") for output in outputs if output.output_type == "execute_result")
    print(f"{path.name}: executed in {seconds:.1f} s")
    return printed, result, seconds


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("exercise", EXERCISES, ids=ids)
def test_a_student_notebook_runs_to_not_done_yet(exercise, kernel, prepared_data, tmp_path):  # noqa: F811
    path = tmp_path / f"{exercise.id}.ipynb"
    shutil.copy(notebooks.NOTEBOOKS / path.name, path)
    printed, result, _ = execute(path, kernel, prepared_data)
    assert f"grading {exercise.id} from {path}" in printed
    assert "not done yet" in printed, printed
    assert result == f"{exercise.id}: 0 / {exercise.points}", printed


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("exercise", SOLUTION_RUNS, ids=[exercise.id for exercise in SOLUTION_RUNS])
def test_a_solution_notebook_runs_to_full_points(exercise, kernel, prepared_data, tmp_path):  # noqa: F811
    (path,) = [path for path in notebooks.write_notebooks(tmp_path, solution=True) if path.stem == exercise.id]
    printed, result, _ = execute(path, kernel, prepared_data)
    assert result == f"{exercise.id}: {exercise.points} / {exercise.points}", printed


def test_check_finds_the_kernels_notebook_and_names_its_cells(tmp_path, monkeypatch):
    from embedlab import notebook as api

    exercise = EXERCISES[3]
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert api.find_notebook(exercise) == notebooks.NOTEBOOKS / f"{exercise.id}.ipynb"
    here = tmp_path / f"{exercise.id}.ipynb"
    shutil.copy(notebooks.NOTEBOOKS / here.name, here)
    assert api.find_notebook(exercise) == here
    renamed = tmp_path / "my copy.ipynb"
    shutil.copy(here, renamed)
    monkeypatch.setenv("JPY_SESSION_NAME", str(renamed))
    assert api.find_notebook(exercise) == renamed
    assert api.find_notebook(EXERCISES[2]) == notebooks.NOTEBOOKS / f"{EXERCISES[2].id}.ipynb"  # another's
    content = export.read(renamed)
    line = next(number for number, (text, _) in enumerate(export.module_lines(content), 1) if "raise Not" in text)
    report = {"exercises": {exercise.id: {"tests": [{"message": f"exercises/{exercise.module_file}: not done yet "
                                                                f"({exercise.module_file} line {line}, in f)"}]}}}
    message = api._in_notebook_terms(report, exercise, content, renamed.name)["exercises"][exercise.id]
    assert message["tests"][0]["message"].startswith("my copy.ipynb: not done yet (line ")
    assert "of the cell that starts '" in message["tests"][0]["message"]
