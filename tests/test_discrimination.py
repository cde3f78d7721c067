"""The autograder tells work from no work: stubs score 0, weak models lose their points, other correct
styles keep them.

Each check runs the graded suite on another target in a child pytest, exactly
as a student or instructor would, and reads its results file.

Variants are listed in tests/variants/*.toml (see embedlab/authoring/variants.py):
each is a reference solution with one change. A weak one names the graded
tests its flaw must fail; a style one (``full = true``) must get full marks.
"""

from pathlib import Path

import pytest

from embedlab import files, manifest
from embedlab.authoring import variants
from embedlab.grading.suite import run_suite

VARIANTS = variants.load()
WEAK = [variant for variant in VARIANTS if not variants.is_style(variant)]
STYLES = [variant for variant in VARIANTS if variants.is_style(variant)]

pytestmark = [pytest.mark.instructor, pytest.mark.slow]


def grade(target: Path, tmp_path: Path, *exercises: str) -> dict:
    run = run_suite(target, output_dir=tmp_path / "figures", exercises=exercises, capture_output=True)
    # 0: all passed, 1: some failed. Anything else is the harness breaking.
    assert run.returncode in (0, 1) and run.results is not None, (
        f"the grader itself failed on {target} (exit {run.returncode}):\n{run.stdout[-3000:]}"
        f"\n{run.stderr[-3000:]}")
    return run.results


def test_untouched_stubs_score_zero(tmp_path):
    report = grade(files.EXERCISES, tmp_path)
    graded = {exercise.id for exercise in manifest.load()}
    assert set(report["exercises"]) == graded, "every exercise should be graded"
    earned = {exercise_id: row["score"] for exercise_id, row in report["exercises"].items() if row["score"]}
    assert not earned, f"untouched stubs earned points: {earned}"
    for row in report["exercises"].values():
        for test in row["tests"]:
            assert "not done yet" in test["message"], (
                f"{test['name']}: a stub should fail with a pointer to the exercise, got {test['message']!r}")


@pytest.mark.parametrize("variant", WEAK, ids=lambda variant: variant["name"])
def test_weak_variant_loses_its_points(variant, tmp_path):
    """Every weak variant fails the graded tests its flaw should fail, and loses points."""
    exercise = manifest.get(variant["graded"])
    report = grade(variants.materialize(variant, tmp_path / variant["name"]), tmp_path, exercise.id)
    row = report["exercises"][exercise.id]
    failed = [test["nodeid"] for test in row["tests"] if not test["passed"]]
    for test_name in variant["fails"]:
        assert any(test_name in nodeid for nodeid in failed), (
            f"{variant['name']}: {test_name} should fail for this weak {exercise.id}; failed: {failed}")
    assert row["score"] < row["max_score"]


@pytest.mark.parametrize("variant", STYLES or [pytest.param(None, marks=pytest.mark.skip("no style variants"))],
                         ids=lambda variant: variant["name"] if variant else "none")
def test_another_correct_style_gets_full_marks(variant, tmp_path):
    """A correct solution written another way (nested models, activation layers, adapt) loses nothing."""
    exercise = manifest.get(variant["graded"])
    report = grade(variants.materialize(variant, tmp_path / variant["name"]), tmp_path, exercise.id)
    row = report["exercises"][exercise.id]
    lost = [f"{test['name']}: {test['message']}" for test in row["tests"] if not test["passed"]]
    assert row["score"] == row["max_score"] and not lost, f"{variant['name']} lost points: {lost}"
