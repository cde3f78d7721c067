"""Grading a class: result files, gradebook, resume, a crashed grading run, reproducibility,
and the one graded-suite command with the settings it is given."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from embedlab import cli, manifest
from embedlab.classroom import grade, gradebook, submissions
from embedlab.grading.suite import suite_command
from embedlab.settings import Settings

ADVERSARIAL = Path(__file__).with_name("adversarial")


def _fake_result(name: str, score_ex01: int) -> dict:
    result = {"format": grade.RESULT_FORMAT, "submission": name, "folder": f"/x/{name}", "hash": "h",
              "status": "graded", "reason": None, "seconds": 1.0,
              **grade.fallback_result(name, Path("/x"), "missing")}
    result["exercises"]["ex01_input_pipeline"]["score"] = score_ex01
    result["score"] = score_ex01
    return result


def test_gradebook_has_one_row_per_submission_and_points_per_exercise(tmp_path):
    csv_path, json_path = gradebook.write_gradebook(tmp_path, [_fake_result("bob", 7), _fake_result("alice", 10)])
    rows = list(csv.DictReader(csv_path.open()))
    assert [row["submission"] for row in rows] == ["alice", "bob"]
    assert rows[0]["ex01_input_pipeline"] == "10" and rows[1]["score"] == "7"
    assert set(manifest.get(e.id).id for e in manifest.load()) <= set(rows[0])
    book = json.loads(json_path.read_text())
    assert book["max_points"]["ex01_input_pipeline"] == 10 and len(book["submissions"]) == 2


def test_the_fallback_result_fails_every_exercise_with_the_reason():
    result = grade.fallback_result("x", Path("/x"), "pytest crashed")
    assert result["score"] == 0 and result["max_score"] == manifest.total_points()
    assert all(row["tests"][0]["message"] == "pytest crashed" for row in result["exercises"].values())


def test_names_are_unique_and_safe(tmp_path):
    (tmp_path / "a b").mkdir()
    (tmp_path / "x" / "a b").mkdir(parents=True)
    assert submissions.submission_names([tmp_path / "a b", tmp_path / "x" / "a b"]) == ["a_b", "a_b-2"]


def test_the_hash_follows_the_files_and_the_seed(tmp_path):
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 1\n")
    first = submissions.submission_hash(tmp_path)
    assert submissions.submission_hash(tmp_path) == first
    assert submissions.submission_hash(tmp_path, seed=3) != first
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 2\n")
    assert submissions.submission_hash(tmp_path) != first


def test_the_report_gives_the_reason_for_every_lost_point():
    text = gradebook.format_report(_fake_result("bob", 0))
    assert "bob: 0 / 100" in text and "-10: grading: missing" in text


def test_the_suite_command_passes_every_setting_as_one_token(tmp_path):
    settings = Settings.from_environment({}, seed=0, tfrecords_dir=tmp_path / "records",
                                         grading_data_dir=tmp_path / "data", time_limit=25.0)
    command = suite_command(tmp_path / "sub", tmp_path / "r.json", isolated=True, output_dir=tmp_path / "fig",
                            settings=settings, exercises=["4", "ex06_plot_embedding"], extra=["-x"])
    for option in (f"--target={tmp_path / 'sub'}", f"--results-json={tmp_path / 'r.json'}", "--isolated",
                   f"--output-dir={tmp_path / 'fig'}", "--seed=0", f"--tfrecords={tmp_path / 'records'}",
                   f"--grading-data={tmp_path / 'data'}", "--sandbox=auto", "--time-limit=25.0",
                   "-p", "embedlab.pytest_plugin"):
        assert option in command, option
    assert any(token.startswith("--confcutdir=") for token in command)
    assert command[command.index("-k") + 1] == "ex04 or ex06" and command[-1] == "-x"
    plain = suite_command("exercises", tmp_path / "r.json", settings=Settings.from_environment({}))
    assert "--target=exercises" in plain and "--isolated" not in plain and "-k" not in plain
    assert not [token for token in plain if token.startswith(("--grading-data", "--time-limit"))]
    assert f"--seed={manifest.grading_seed()}" in plain


def test_seed_zero_reaches_the_grader_as_zero(tmp_path, monkeypatch, capsys):
    seen = {}

    def grade_many(folders, out_dir, settings, **options):
        seen["settings"] = settings
        return [{**grade.fallback_result("sub", folders[0], "not graded"), "submission": "sub",
                 "status": "graded", "reason": None}]

    monkeypatch.setattr(grade, "grade_many", grade_many)
    (tmp_path / "sub").mkdir()
    assert cli.main(["grade", str(tmp_path / "sub"), "--seed", "0", "--time-limit", "30", "--quiet",
                     "--out", str(tmp_path / "out")]) == 0
    settings = seen["settings"]
    assert settings.seed == 0 and settings.time_limit == 30 and settings.quiet
    command = suite_command(tmp_path / "sub", tmp_path / "r.json", settings=settings)
    assert "--seed=0" in command and "--time-limit=30.0" in command
    assert "sub: 0 / 100" in capsys.readouterr().out


def _settings():
    from embedlab.errors import EmbedlabError
    from embedlab.grading import data as grading_data

    settings = Settings.from_environment()
    try:
        grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    except EmbedlabError as error:
        pytest.skip(f"no grading data: {error}")
    return settings


@pytest.mark.slow
def test_a_crashed_grading_run_still_leaves_a_valid_result(tmp_path, monkeypatch):
    monkeypatch.setattr(grade, "suite_command",
                        lambda *args, **kwargs: [sys.executable, "-c", "import os; print('boom'); os._exit(3)"])
    (tmp_path / "sub").mkdir()
    result = grade.grade_one(tmp_path / "sub", tmp_path / "out", Settings.from_environment(), resume=False)
    stored = json.loads((tmp_path / "out" / "results" / "sub.json").read_text())
    assert stored["status"] == "crashed" and stored["score"] == 0 and "status 3" in stored["reason"]
    assert result["exercises"]["ex01_input_pipeline"]["tests"][0]["passed"] is False


@pytest.mark.slow
def test_resume_skips_finished_submissions_and_regrades_changed_ones(tmp_path):
    settings = _settings()
    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "notes.py").write_text("# no exercise files: nothing to run, every exercise 0\n")
    out = tmp_path / "out"
    first = grade.grade_many([submission], out, settings, jobs=1, progress=False)[0]
    assert first["status"] == "graded" and first["score"] == 0 and not first.get("resumed")
    again = grade.grade_many([submission], out, settings, jobs=1, progress=False)[0]
    assert again.get("resumed") and again["hash"] == first["hash"]
    (submission / "ex01_input_pipeline.py").write_text("def make_dataset(*args, **kwargs):\n    raise ValueError\n")
    third = grade.grade_many([submission], out, settings, jobs=1, progress=False)[0]
    assert not third.get("resumed") and third["hash"] != first["hash"]
    assert (out / "gradebook.csv").is_file()


@pytest.mark.slow
def test_the_same_exercise_gives_the_same_predictions_twice():
    import numpy as np

    from embedlab.grading import data as grading_data
    from embedlab.isolation.sandbox import Sandbox

    settings = _settings()
    sandbox = Sandbox(settings)
    if sandbox.mode == "none":
        pytest.skip("needs root for the sandbox")
    data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    honest = ADVERSARIAL / "honest"
    runs = [sandbox.run_exercise("ex02_linear_model", honest, data_dir) for _ in range(2)]
    assert all("predictions" in run for run in runs), [run["errors"] for run in runs]
    assert np.array_equal(runs[0]["predictions"], runs[1]["predictions"])
