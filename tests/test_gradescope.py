"""Gradescope: results.json format, the autograder zip, run_autograder with fake /autograder paths."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from embedlab import manifest
from embedlab.classroom import bundle, grade, gradescope
from embedlab.errors import EmbedlabError
from embedlab.grading import deadline
from embedlab.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _result(tmp_path) -> dict:
    result = {"format": 1, "submission": "s", "folder": "/x", "hash": "h", "status": "graded", "reason": None,
              "seconds": 12.3, "figures": str(tmp_path / "figures"),
              **grade.fallback_result("s", Path("/x"), "missing file")}
    row = result["exercises"]["ex01_input_pipeline"]
    row["tests"] = [{"exercise": "ex01_input_pipeline", "points": 6, "passed": True, "message": "", "name": "a"},
                    {"exercise": "ex01_input_pipeline", "points": 4, "passed": False, "message": "why", "name": "b"}]
    row["score"] = 6
    result["score"] = 6
    return result


def test_results_follow_gradescopes_format(tmp_path):
    payload = gradescope.to_gradescope(_result(tmp_path))
    assert payload["score"] == 6 and payload["visibility"] == "visible" and payload["stdout_visibility"] == "hidden"
    assert isinstance(payload["execution_time"], int) and f"Score: 6 / {manifest.total_points()}" in payload["output"]
    first, second = payload["tests"][:2]
    assert first == {"name": "ex01_input_pipeline: a", "number": "1.1", "score": 6, "max_score": 6,
                     "status": "passed", "output": "passed", "visibility": "visible"}
    assert second["score"] == 0 and second["status"] == "failed" and second["output"] == "why"
    assert sum(test["max_score"] for test in payload["tests"]) == manifest.total_points(include_bonus=True)
    json.dumps(payload)


def _strict_json(path: Path) -> dict:
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_the_sandbox_mode_and_flags_reach_the_instructor_only(tmp_path):
    result = {**_result(tmp_path), "sandbox": "uid",
              "flags": ["implausible: ex02_linear_model accuracy 0.9700 > plausible 0.8063"]}
    payload = gradescope.to_gradescope(result)
    (integrity,) = [test for test in payload["tests"] if test["name"].startswith("grading integrity")]
    assert integrity["visibility"] == "hidden" and integrity["max_score"] == 0 and integrity["score"] == 0
    assert "sandbox: uid" in integrity["output"] and "WITHOUT network isolation" in integrity["output"]
    assert "FLAG: implausible: ex02_linear_model" in integrity["output"] and integrity["status"] == "failed"
    visible = payload["output"] + "".join(test["output"] for test in payload["tests"] if test is not integrity)
    assert "sandbox" not in visible and "implausible" not in visible
    clean = gradescope.to_gradescope({**_result(tmp_path), "sandbox": "bwrap", "flags": []})
    (integrity,) = [test for test in clean["tests"] if test["name"].startswith("grading integrity")]
    assert integrity["output"] == "sandbox: bwrap" and integrity["status"] == "passed"
    assert payload["score"] == clean["score"] == 6


def test_gradescope_run_prints_the_integrity_lines_and_writes_strict_json(tmp_path, monkeypatch, capsys):
    def grade_many(folders, out_dir, settings, **options):
        assert options.get("resume") is False
        result = {**_result(tmp_path), "sandbox": "none", "flags": ["2 gradings differ: score 6 -> 0"]}
        result["exercises"]["ex02_linear_model"]["figures"] = {"accuracy": float("nan")}
        return [result]

    monkeypatch.setattr(grade, "grade_many", grade_many)
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "ex01_input_pipeline.py").write_text("x = 1\n")
    assert gradescope.run(Settings.from_environment({}, autograder_root=tmp_path)) == 0
    results = _strict_json(tmp_path / "results" / "results.json")
    assert results["score"] == 6 and results["stdout_visibility"] == "hidden"
    out = capsys.readouterr().out
    assert "sandbox: none" in out and "WITHOUT any isolation" in out and "FLAG: 2 gradings differ" in out


@pytest.mark.parametrize("drawing", manifest.with_figures(), ids=lambda exercise: exercise.id)
def test_each_exercises_plot_travels_as_an_inline_image(tmp_path, drawing):
    plot = tmp_path / "figures" / drawing.id / drawing.figures[0]
    plot.parent.mkdir(parents=True)
    plot.write_bytes(PNG)
    tests = gradescope.to_gradescope(_result(tmp_path))["tests"]
    image = [test for test in tests if test.get("output_format") == "html"]
    assert len(image) == 1 and image[0]["max_score"] == 0
    assert image[0]["name"] == f"{drawing.id}: your plot, {drawing.figures[0]} (not graded)"
    assert image[0]["number"] == f"{drawing.number}.0"
    assert base64.b64encode(PNG).decode() in image[0]["output"]


def test_the_bundle_holds_what_gradescope_needs(tmp_path):
    path = bundle.build_bundle(tmp_path / "autograder.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    for needed in ("setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "autograder.env",
                   "embedlab/isolation/sandbox.py", "embedlab/isolation/worker.py", "embedlab/exercises.toml",
                   "embedlab/__main__.py", "tests/conftest.py"):
        assert needed in names
    assert [name for name in names if name.startswith("tests/grading/test_")]
    assert modes["run_autograder"] == 0o100755 and modes["setup.sh"] == 0o100755
    assert setup == (bundle.TEMPLATES / "setup.sh").read_text()
    assert run == (bundle.TEMPLATES / "run_autograder").read_text()
    assert not [name for name in names if "adversarial" in name or "tfrecord" in name or "__pycache__" in name]
    assert not [name for name in names if name.startswith("solutions/")]
    assert "bubblewrap" in setup and '/bin/embedlab" prepare' in setup and '/bin/embedlab" gradescope-prepare' in setup
    assert '-c "$SOURCE/constraints.txt"' in setup and "check_installed" in setup
    assert '"$PYTHON" -m embedlab gradescope-run' in run and "autograder.env" in run
    assert not [name for name in names if name.startswith("data/")]


def test_the_bundle_carries_the_deadline_of_its_timeout_and_a_reviews_archive(tmp_path):
    (tmp_path / "reviews.tar.gz").write_bytes(b"\x1f\x8b" + b"x" * 100)
    path = bundle.build_bundle(tmp_path / "a.zip", timeout_minutes=40, reviews=tmp_path / "reviews.tar.gz")
    with zipfile.ZipFile(path) as archive:
        env = archive.read("autograder.env").decode()
        stored = archive.getinfo("data/reviews.tar.gz")
    assert f"EMBEDLAB_DEADLINE_SECONDS={40 * 60 - bundle.RESERVE_SECONDS}\n" in env
    assert stored.compress_type == zipfile.ZIP_STORED and stored.file_size == 102
    with pytest.raises(EmbedlabError, match="too short"):
        bundle.build_bundle(tmp_path / "b.zip", timeout_minutes=1)
    with pytest.raises(EmbedlabError, match="no such reviews archive"):
        bundle.build_bundle(tmp_path / "b.zip", reviews=tmp_path / "missing.tar.gz")
    assert not (tmp_path / "b.zip").exists()


def test_the_deadline_cuts_each_worker_to_what_is_left():
    exercise = manifest.load()[0]
    assert deadline.time_left_for(Settings.from_environment({}), exercise.id) == (None, None)
    far = Settings.from_environment({"EMBEDLAB_DEADLINE_SECONDS": "100000"})
    assert deadline.time_left_for(far, exercise.id) == (None, None)  # its own limit fits
    soon = Settings.from_environment({}, deadline=time.time() + 60)
    limit, late = deadline.time_left_for(soon, exercise.id)
    assert late is None and 60 - deadline.RESERVE_SECONDS - 2 < limit <= 60 - 20
    assert limit < exercise.time_limit
    gone = Settings.from_environment({}, deadline=time.time() + deadline.RESERVE_SECONDS + 5)
    assert deadline.time_left_for(gone, exercise.id) == (None, deadline.DEADLINE_BEFORE)
    assert "EMBEDLAB_DEADLINE_SECONDS" in deadline.DEADLINE_BEFORE
    with pytest.raises(EmbedlabError, match="EMBEDLAB_DEADLINE_SECONDS=-3: must be a positive number"):
        Settings.from_environment({"EMBEDLAB_DEADLINE_SECONDS": "-3"})


def test_gradescope_run_grades_with_the_images_questions_seed(tmp_path, monkeypatch):
    seen = {}

    def grade_many(folders, out_dir, settings, **options):
        seen["seed"] = settings.questions_seed
        return [{**_result(tmp_path), "sandbox": "uid"}]

    monkeypatch.setattr(grade, "grade_many", grade_many)
    (tmp_path / "submission").mkdir()
    data = tmp_path / "grading"
    settings = Settings.from_environment({}, autograder_root=tmp_path, grading_data_dir=data)
    assert gradescope.run(settings) == 0 and seen["seed"] is None  # no image seed: grade_many draws one
    data.mkdir()
    (data / gradescope.IMAGE_FILE).write_text(json.dumps({"questions_seed": 1234}))
    assert gradescope.image_questions_seed(settings) == 1234
    assert gradescope.run(settings) == 0 and seen["seed"] == 1234
    results = _strict_json(tmp_path / "results" / "results.json")
    (integrity,) = [test for test in results["tests"] if test["name"].startswith("grading integrity")]
    assert "uid mode" in integrity["output"] and results["extra_data"]["sandbox"] == "uid"
    (data / gradescope.IMAGE_FILE).write_text('{"questions_seed": "x"}')
    assert gradescope.image_questions_seed(settings) is None


WATCHED = """
import sys, time
from pathlib import Path
from embedlab.classroom import grade, gradescope
from embedlab.settings import Settings
grade.grade_many = lambda *args, **kwargs: time.sleep(60)
root = Path(sys.argv[1])
(root / "submission").mkdir()
gradescope.run(Settings.from_environment({"EMBEDLAB_DEADLINE_SECONDS": "2"}, autograder_root=root))
"""


def test_at_the_deadline_the_watchdog_writes_results_and_ends_the_run(tmp_path):
    started = time.time()
    done = subprocess.run([sys.executable, "-c", WATCHED, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and time.time() - started < 20, done.stderr[-2000:]
    results = _strict_json(tmp_path / "results" / "results.json")
    assert results["score"] == 0 and "overall time limit ran out" in results["output"]
    assert "EMBEDLAB_DEADLINE_SECONDS" in results["output"]


def test_setup_calls_functions_that_exist():
    """setup.sh's python -c lines name modules and functions by their current paths, and its embedlab
    commands exist."""
    import importlib
    import re

    from embedlab.cli import build_parser

    setup = (bundle.TEMPLATES / "setup.sh").read_text()
    calls = re.findall(r"from (embedlab[\w.]*) import (\w+).*?\2\.(\w+)\(", setup, re.S)
    assert {(module, name, function) for module, name, function in calls} >= {
        ("embedlab.classroom", "bundle", "check_installed")}
    for command in re.findall(r'/bin/embedlab" ([\w-]+)', setup):
        build_parser().parse_args([command])  # SystemExit if there were no such command
    for module, name, function in calls:
        assert callable(getattr(importlib.import_module(f"{module}.{name}"), function))


def test_gradescope_run_reads_the_root_from_settings_and_always_writes_results(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no data here")

    monkeypatch.setattr(grade, "grade_many", broken)
    (tmp_path / "submission").mkdir()
    assert gradescope.run(Settings.from_environment({}, autograder_root=tmp_path)) == 1
    results = _strict_json(tmp_path / "results" / "results.json")
    assert results["score"] == 0 and "RuntimeError: no data here" in results["output"]


def test_submission_files_are_found_in_folders_too(tmp_path):
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "ex02_linear_model.py").write_text("x = 1\n")
    (tmp_path / "sub" / "ex01_input_pipeline.py").write_text("x = 1\n")
    (tmp_path / "sub" / "other.py").write_text("x = 1\n")
    assert gradescope.collect_submission(tmp_path / "sub", tmp_path / "copy") == [
        "ex01_input_pipeline.py", "ex02_linear_model.py"]


@pytest.mark.slow
def test_run_autograder_writes_results_with_fake_autograder_paths(tmp_path):
    from embedlab.errors import EmbedlabError
    from embedlab.grading import data as grading_data

    settings = Settings.from_environment()
    try:
        data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    except EmbedlabError as error:
        pytest.skip(f"no grading data: {error}")
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "submission" / "ex02_linear_model.py").write_text("def build_linear_model(v)\n")  # syntax error
    with zipfile.ZipFile(bundle.build_bundle(tmp_path / "autograder.zip")) as archive:
        script = archive.read("run_autograder").decode()
    (tmp_path / "run_autograder").write_text(script)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "EMBEDLAB_PYTHON": sys.executable,
           "EMBEDLAB_GRADING_DATA": str(data_dir),
           "EMBEDLAB_TFRECORDS": str(settings.tfrecords_dir)}
    done = subprocess.run(["bash", str(tmp_path / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    results = json.loads((root / "results" / "results.json").read_text())
    assert done.returncode == 0, done.stderr[-2000:]
    assert results["score"] == 0 and results["tests"]
    failed = [test for test in results["tests"] if test["name"].startswith("ex02") and test["status"] == "failed"]
    assert failed and any("SyntaxError" in test["output"] for test in failed)
    (integrity,) = [test for test in results["tests"] if test["name"].startswith("grading integrity")]
    assert integrity["visibility"] == "hidden" and integrity["output"].startswith("sandbox: ")


def test_a_deadline_cut_is_said_in_the_summary(tmp_path):
    result = _result(tmp_path)
    assert "time limit" not in gradescope.to_gradescope(result)["output"]
    result["exercises"]["ex01_input_pipeline"]["tests"][1]["message"] = deadline.DEADLINE_BEFORE
    assert gradescope.DEADLINE_MARK in deadline.DEADLINE_BEFORE
    assert "The autograder's overall time limit ran out" in gradescope.to_gradescope(result)["output"]


def test_the_memory_set_on_gradescope_caps_every_workers_limit(tmp_path):
    import zipfile

    from embedlab import manifest
    from embedlab.classroom import bundle
    from embedlab.errors import EmbedlabError

    env = zipfile.ZipFile(bundle.build_bundle(tmp_path / "a.zip", memory_mb=3072)).read("autograder.env").decode()
    cap = 3072 - bundle.GRADER_MB
    assert f"EMBEDLAB_MEMORY_CAP_MB={cap}" in env.splitlines()
    settings = Settings.from_environment({"EMBEDLAB_MEMORY_CAP_MB": str(cap)})
    limits = {exercise.id: settings.memory_limit_for(exercise) for exercise in manifest.load()}
    assert max(limits.values()) == cap
    assert all(limits[exercise.id] == min(exercise.memory_limit_mb, cap) for exercise in manifest.load())
    with pytest.raises(EmbedlabError, match="too little"):
        bundle.build_bundle(tmp_path / "b.zip", memory_mb=1024)
    with pytest.raises(EmbedlabError, match="EMBEDLAB_MEMORY_CAP_MB|memory cap"):
        Settings.from_environment({"EMBEDLAB_MEMORY_CAP_MB": "-5"})
