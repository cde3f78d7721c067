"""The course check: is every exercise of the manifest complete and consistent?

For each exercise declared in ``embedlab/exercises.toml`` it checks, without
running any of it:

* its solution exists and its solution markers are well formed;
* its stub exists and is what the solution generates (not stale);
* its collector module exists (``embedlab/grading/collectors/<id>.py``);
* its points add up: the points of the shared model checks it declares
  (``checks``) plus the ``@pytest.mark.points(n)`` of its own test file
  (``tests/grading/test_<id>.py``, if it has one) equal its ``points``.

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
    return problems


def problems() -> list[str]:
    """Every problem of every exercise; empty when the course checks out."""
    return [problem for exercise in manifest.load() for problem in exercise_problems(exercise)]
