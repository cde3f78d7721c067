"""The examples in docstrings run: the solutions' (the exercises' spec) and the package's."""

import doctest
import importlib
import importlib.util

import pytest

from embedlab import files, manifest

REPOSITORY = files.REPOSITORY


# Every package module whose docstrings show an example (found by reading, not importing).
EXAMPLE_MODULES = sorted(
    ".".join(path.relative_to(files.REPOSITORY).with_suffix("").parts).removesuffix(".__init__")
    for path in files.PACKAGE_DIR.rglob("*.py") if ">>> " in path.read_text())


def test_the_package_has_examples():
    assert len(EXAMPLE_MODULES) >= 4, EXAMPLE_MODULES


@pytest.mark.parametrize("name", EXAMPLE_MODULES)
def test_package_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("exercise", manifest.load(), ids=lambda exercise: exercise.id)
def test_solution_docstring_examples(exercise):
    path = REPOSITORY / "solutions" / exercise.module_file
    spec = importlib.util.spec_from_file_location(f"doctest_{exercise.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{path.name}: its docstring should show an example"
    assert result.failed == 0
