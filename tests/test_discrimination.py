"""The autograder tells work from no work: stubs score 0, weak models lose their points.

Each check runs the graded suite on another target in a child pytest, exactly
as a student or instructor would, and reads its results file.

A weak variant is a folder under tests/weak_variants/ holding one exercise
module with one deliberate flaw, and an ``expect.toml`` naming the exercise
and the graded tests that flaw must fail::

    exercise = "ex02_linear_model"
    fails = ["test_trained_model_reaches_the_pass_mark"]
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embedlab import manifest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPOSITORY = Path(__file__).resolve().parent.parent
VARIANTS = sorted(path for path in (REPOSITORY / "tests" / "weak_variants").glob("*") if (path / "expect.toml").is_file())

pytestmark = [pytest.mark.instructor, pytest.mark.slow]


def grade(target: Path, tmp_path: Path, *selection: str) -> dict:
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "pytest", str(REPOSITORY / "tests" / "grading"), "--target", str(target),
               "--results-json", str(results), "--output-dir", str(tmp_path / "figures"), "-q",
               "-p", "no:cacheprovider", *selection]
    completed = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True)
    # 0: all passed, 1: some failed. Anything else is the harness breaking.
    assert completed.returncode in (0, 1), (
        f"the grader itself failed on {target} (exit {completed.returncode}):\n{completed.stdout[-3000:]}"
        f"\n{completed.stderr[-3000:]}")
    return json.loads(results.read_text())


def test_untouched_stubs_score_zero(tmp_path):
    report = grade(REPOSITORY / "exercises", tmp_path)
    graded = {exercise.id for exercise in manifest.load()}
    assert set(report["exercises"]) == graded, "every exercise should be graded"
    earned = {exercise_id: row["score"] for exercise_id, row in report["exercises"].items() if row["score"]}
    assert not earned, f"untouched stubs earned points: {earned}"
    for row in report["exercises"].values():
        for test in row["tests"]:
            assert "not done yet" in test["message"] or "NotImplementedError" in test["message"], (
                f"{test['name']}: a stub should fail with a pointer to the exercise, got {test['message']!r}")


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda path: path.name)
def test_weak_variant_loses_its_points(variant, tmp_path):
    expect = tomllib.loads((variant / "expect.toml").read_text())
    exercise = manifest.get(expect["exercise"])
    report = grade(variant, tmp_path, "-k", exercise.id[:4])
    row = report["exercises"][exercise.id]
    failed = {test["name"] for test in row["tests"] if not test["passed"]}
    failed_nodes = " ".join(node for node in _failed_nodeids(report, exercise.id))
    for test_name in expect["fails"]:
        assert test_name in failed_nodes, (
            f"{variant.name}: {test_name} should fail for this weak {exercise.id}, but it passed "
            f"(failed: {sorted(failed)})")
    assert row["score"] < row["max_score"]


def _failed_nodeids(report: dict, exercise_id: str) -> list[str]:
    return [test["nodeid"] for test in report["exercises"][exercise_id]["tests"] if not test["passed"]]
