"""Grading a class: result files, gradebook, resume, a crashed grading run, reproducibility."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest

from embedlab import manifest
from embedlab.classroom import classgrade

ADVERSARIAL = Path(__file__).with_name("adversarial")


def _fake_result(name: str, score_ex01: int) -> dict:
    result = {"format": classgrade.RESULT_FORMAT, "submission": name, "folder": f"/x/{name}", "hash": "h",
              "status": "graded", "reason": None, "seconds": 1.0,
              **classgrade.fallback_result(name, Path("/x"), "missing")}
    result["exercises"]["ex01_input_pipeline"]["score"] = score_ex01
    result["score"] = score_ex01
    return result


def test_gradebook_has_one_row_per_submission_and_points_per_exercise(tmp_path):
    csv_path, json_path = classgrade.write_gradebook(tmp_path, [_fake_result("bob", 7), _fake_result("alice", 10)])
    rows = list(csv.DictReader(csv_path.open()))
    assert [row["submission"] for row in rows] == ["alice", "bob"]
    assert rows[0]["ex01_input_pipeline"] == "10" and rows[1]["score"] == "7"
    assert set(manifest.get(e.id).id for e in manifest.load()) <= set(rows[0])
    book = json.loads(json_path.read_text())
    assert book["max_points"]["ex01_input_pipeline"] == 10 and len(book["submissions"]) == 2


def test_the_fallback_result_fails_every_exercise_with_the_reason():
    result = classgrade.fallback_result("x", Path("/x"), "pytest crashed")
    assert result["score"] == 0 and result["max_score"] == manifest.total_points()
    assert all(row["tests"][0]["message"] == "pytest crashed" for row in result["exercises"].values())


def test_names_are_unique_and_safe(tmp_path):
    (tmp_path / "a b").mkdir()
    (tmp_path / "x" / "a b").mkdir(parents=True)
    assert classgrade.submission_names([tmp_path / "a b", tmp_path / "x" / "a b"]) == ["a_b", "a_b-2"]


def test_the_hash_follows_the_files_and_the_seed(tmp_path):
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 1\n")
    first = classgrade.submission_hash(tmp_path)
    assert classgrade.submission_hash(tmp_path) == first
    assert classgrade.submission_hash(tmp_path, seed=3) != first
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 2\n")
    assert classgrade.submission_hash(tmp_path) != first


def test_the_report_gives_the_reason_for_every_lost_point():
    text = classgrade.format_report(_fake_result("bob", 0))
    assert "bob: 0 / 100" in text and "-10: grading: missing" in text


def _data_dir():
    from embedlab.grading import data as grading_data
    from embedlab.errors import EmbedlabError

    try:
        return grading_data.ensure()
    except EmbedlabError as error:
        pytest.skip(f"no grading data: {error}")


@pytest.mark.slow
def test_a_crashed_grading_run_still_leaves_a_valid_result(tmp_path, monkeypatch):
    monkeypatch.setattr(classgrade, "pytest_command",
                        lambda *args, **kwargs: [sys.executable, "-c", "import os; print('boom'); os._exit(3)"])
    (tmp_path / "sub").mkdir()
    result = classgrade.grade_one(tmp_path / "sub", tmp_path / "out", resume=False)
    stored = json.loads((tmp_path / "out" / "results" / "sub.json").read_text())
    assert stored["status"] == "crashed" and stored["score"] == 0 and "status 3" in stored["reason"]
    assert result["exercises"]["ex01_input_pipeline"]["tests"][0]["passed"] is False


@pytest.mark.slow
def test_resume_skips_finished_submissions_and_regrades_changed_ones(tmp_path):
    data_dir = _data_dir()
    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "notes.py").write_text("# no exercise files: nothing to run, every exercise 0\n")
    out = tmp_path / "out"
    first = classgrade.grade_many([submission], out, jobs=1, data_dir=data_dir, progress=False)[0]
    assert first["status"] == "graded" and first["score"] == 0 and not first.get("resumed")
    again = classgrade.grade_many([submission], out, jobs=1, data_dir=data_dir, progress=False)[0]
    assert again.get("resumed") and again["hash"] == first["hash"]
    (submission / "ex01_input_pipeline.py").write_text("def make_dataset(*args, **kwargs):\n    raise ValueError\n")
    third = classgrade.grade_many([submission], out, jobs=1, data_dir=data_dir, progress=False)[0]
    assert not third.get("resumed") and third["hash"] != first["hash"]
    assert (out / "gradebook.csv").is_file()


@pytest.mark.slow
def test_the_same_exercise_gives_the_same_predictions_twice():
    import numpy as np

    from embedlab.isolation import sandbox

    if sandbox.mode() == "none":
        pytest.skip("needs root for the sandbox")
    data_dir = _data_dir()
    honest = ADVERSARIAL / "honest"
    runs = [sandbox.run_exercise("ex02_linear_model", honest, data_dir) for _ in range(2)]
    assert all("predictions" in run for run in runs), [run["errors"] for run in runs]
    assert np.array_equal(runs[0]["predictions"], runs[1]["predictions"])
