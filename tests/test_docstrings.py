"""The examples in docstrings run: the solutions' (the exercises' spec) and the package's."""

import doctest
import importlib.util

import pytest

from embedlab import manifest
from embedlab.grading import scoring
from embedlab.authoring import stubs
from embedlab.data import tokenizer

REPOSITORY = stubs.REPOSITORY


@pytest.mark.parametrize("module", [tokenizer, scoring, stubs], ids=lambda module: module.__name__)
def test_package_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("exercise", manifest.load(), ids=lambda exercise: exercise.id)
def test_solution_docstring_examples(exercise):
    path = REPOSITORY / "solutions" / exercise.module_file
    spec = importlib.util.spec_from_file_location(f"doctest_{exercise.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{path.name}: its docstring should show an example"
    assert result.failed == 0
