"""The course check: is every exercise of the manifest complete and consistent?

For each exercise declared in ``embedlab/exercises.toml`` it checks, without
running any of it:

* its solution exists and its solution markers are well formed;
* its stub exists and is what the solution generates (not stale);
* its notebook exists and is what the solution generates (``notebooks/<id>.ipynb``);
* its collector module exists (``embedlab/grading/collectors/<id>.py``);
* its points add up: the points of the shared model checks it declares
  (``checks``) plus the ``@pytest.mark.points(n)`` of its own test file
  (``tests/grading/test_<id>.py``, if it has one) equal its ``points``;
* every graded test it takes (its own, and the shared checks of
  ``tests/grading/test_models.py`` it declares) has a hint in its
  ``test_hints``, and every key there names one of those tests.

`embedlab course-check` prints the problems; the test suite fails on any.
"""

from __future__ import annotations

import ast
from pathlib import Path

from embedlab import files, manifest
from embedlab.authoring import stubs
from embedlab.errors import EmbedlabError

COLLECTORS = files.PACKAGE_DIR / "grading" / "collectors"


def marked_points(test_file: Path) -> int:
    """The points of the ``pytest.mark.points(n)`` tests in a test file (read, not run).

    A test parametrized over a literal list counts once per parameter set.
    """
    tree = ast.parse(Path(test_file).read_text(), filename=str(test_file))
    total = 0
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        points, copies = 0, 1
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            if decorator.func.attr == "points" and decorator.args and isinstance(decorator.args[0], ast.Constant):
                points = int(decorator.args[0].value)
            elif decorator.func.attr == "parametrize" and len(decorator.args) >= 2:
                values = decorator.args[1]
                if not isinstance(values, (ast.List, ast.Tuple)):
                    raise EmbedlabError(f"{test_file} line {node.lineno}: {node.name} is parametrized over "
                                        "something other than a literal list; its points cannot be counted")
                copies *= len(values.elts)
        total += points * copies
    return total


SHARED_CHECKS = "test_models.py"


def graded_tests(exercise: manifest.Exercise, grading_tests: Path = files.GRADING_TESTS) -> set[str]:
    """The keys (function names without ``test_``) of the graded tests an exercise takes (read, not run)."""
    keys = set()
    own = grading_tests / f"test_{exercise.module_file}"
    if own.is_file():
        for node in ast.walk(ast.parse(own.read_text(), filename=str(own))):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "points"
                    for d in node.decorator_list):
                keys.add(node.name.removeprefix("test_"))
    shared = grading_tests / SHARED_CHECKS
    declared = dict(exercise.checks)
    if shared.is_file() and declared:
        for node in ast.walk(ast.parse(shared.read_text(), filename=str(shared))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                # @pytest.mark.parametrize("exercise_id", cases("<check>"))
                calls = [arg for arg in getattr(decorator, "args", [])[1:] if isinstance(arg, ast.Call)]
                if any(getattr(call.func, "id", None) == "cases" and call.args
                       and getattr(call.args[0], "value", None) in declared for call in calls):
                    keys.add(node.name.removeprefix("test_"))
    return keys


def hint_problems(exercise: manifest.Exercise, grading_tests: Path = files.GRADING_TESTS) -> list[str]:
    """A graded test without a hint, or a hint for no graded test, in the exercise's `test_hints`."""
    tests, hinted = graded_tests(exercise, grading_tests), {key for key, _ in exercise.test_hints}
    problems = [f"{exercise.id}: graded test test_{key} has no hint in [exercise.test_hints]"
                for key in sorted(tests - hinted)]
    return problems + [f"{exercise.id}: test_hints key '{key}' names no graded test of the exercise"
                       for key in sorted(hinted - tests)]


def exercise_problems(exercise: manifest.Exercise, solutions: Path = files.SOLUTIONS,
                      exercises: Path = files.EXERCISES, grading_tests: Path = files.GRADING_TESTS) -> list[str]:
    problems = []
    solution = solutions / exercise.module_file
    stub = exercises / exercise.module_file
    if not solution.is_file():
        problems.append(f"{solution}: no solution")
    else:
        try:
            expected = stubs.make_stub(solution.read_text(), exercise.module_file)
        except EmbedlabError as error:
            problems.append(str(error))
        else:
            if not stub.is_file() or stub.read_text() != expected:
                problems.append(f"{stub}: stale; run `embedlab stubs --write`")
    collector = COLLECTORS / exercise.module_file
    if not collector.is_file():
        problems.append(f"{collector}: no collector for {exercise.id}")
    test_file = grading_tests / f"test_{exercise.module_file}"
    try:
        own = marked_points(test_file) if test_file.is_file() else 0
    except EmbedlabError as error:
        return [*problems, str(error)]
    shared = sum(points for _, points in exercise.checks)
    if own + shared != exercise.points:
        problems.append(f"{exercise.id}: its tests are worth {own + shared} points ({shared} in shared checks, "
                        f"{own} in {test_file.name}); exercises.toml says {exercise.points}")
    return problems + hint_problems(exercise, grading_tests)


def notebook_problems(solutions: Path = files.SOLUTIONS, notebooks_folder: Path | None = None) -> list[str]:
    """The student notebooks that are missing or stale (`embedlab.authoring.notebooks`)."""
    from embedlab.authoring import notebooks

    try:
        stale = notebooks.stale_notebooks(solutions, notebooks.NOTEBOOKS if notebooks_folder is None
                                          else notebooks_folder)
    except EmbedlabError:
        return []  # a missing solution or a malformed marker: its stub's problem already names it
    return [f"{path}: stale; run `embedlab notebooks --write`" for path in stale]


def problems() -> list[str]:
    """Every problem of every exercise; empty when the course checks out."""
    return [problem for exercise in manifest.load() for problem in exercise_problems(exercise)] + notebook_problems()
