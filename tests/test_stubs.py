"""Stubs come from the solutions; malformed markers are errors; committed stubs are fresh."""

import importlib.util
import re

import pytest

from embedlab import manifest
from embedlab.authoring import stubs
from embedlab.errors import EmbedlabError

GOOD = "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n"


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n", "inside the region"),
    ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
    ("def f():\n    pass\n    # END SOLUTION\n", "without a"),
    ("def f():\n    # BEGIN SOLUTION\n    pass\n# END SOLUTION\n", "not indented like"),
    ("def f():\n    # BEGIN SOLUTIONS\n    pass\n    # END SOLUTION\n", "malformed"),
    ("def f():\n    # begin solution\n    pass\n", None),
])
def test_malformed_markers_are_errors(source, problem):
    if problem is None:  # lower case is not a marker at all: kept as a comment
        assert stubs.make_stub(source, "ex09_x.py") == source
        return
    with pytest.raises(EmbedlabError, match=problem):
        stubs.make_stub(source, "ex09_x.py")


def test_region_becomes_a_pointed_not_implemented_error():
    stub = stubs.make_stub(GOOD, "ex03_dnn_counts.py")
    assert "return x" not in stub
    assert re.search(r'raise NotImplementedError\("f\(\) in ex03_dnn_counts.py .*embedlab hint 3', stub)


def test_committed_stubs_match_the_solutions():
    stale = stubs.stale_stubs()
    assert not stale, f"stale stubs {stale}: run `embedlab stubs --write` and commit exercises/"


@pytest.mark.parametrize("exercise", manifest.load(), ids=lambda exercise: exercise.id)
def test_every_solution_has_regions_and_no_stub_leaks_one(exercise):
    solution = (stubs.REPOSITORY / "solutions" / exercise.module_file).read_text()
    stub = (stubs.REPOSITORY / "exercises" / exercise.module_file).read_text()
    assert solution.count(stubs.BEGIN) >= 1
    assert "SOLUTION" not in stub and stub.count("raise NotImplementedError(") == solution.count(stubs.BEGIN)


@pytest.mark.parametrize("exercise", manifest.load(), ids=lambda exercise: exercise.id)
def test_every_stub_imports(exercise):
    """A stub must import cleanly, so that the grader reports 'not done yet', not a crash."""
    path = stubs.REPOSITORY / "exercises" / exercise.module_file
    spec = importlib.util.spec_from_file_location(f"stub_{exercise.id}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
