"""Grading a class: result files, gradebook, resume, a crashed grading run, reproducibility,
the one graded-suite command with the settings it is given, and what tells the instructor how far a
grade can be trusted: unique result names, repeated gradings, plausibility, the sandbox mode."""

from __future__ import annotations

import csv
import itertools
import json
import random
import re
import sys
from pathlib import Path

import pytest

from embedlab import cli, manifest
from embedlab.classroom import grade, gradebook, plausibility, repeats, submissions
from embedlab.classroom import mode as modes
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


def _assert_unique_and_safe(names, folders):
    assert len(names) == len(folders)
    assert len({name.lower() for name in names}) == len(names), names   # case-insensitive file systems too
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", name) and len(name) <= submissions.MAX_NAME + 12, name


def test_a_folder_named_like_anothers_suffix_keeps_every_submission_apart():
    """x/alice, y/alice and z/alice-2: three names, z keeps its own, in whatever order they come."""
    folders = [Path("/c/x/alice"), Path("/c/y/alice"), Path("/c/z/alice-2")]
    assert submissions.submission_names(folders) == ["alice", "alice-3", "alice-2"]
    for order in itertools.permutations(folders):
        names = submissions.submission_names(list(order))
        _assert_unique_and_safe(names, order)
        assert names[order.index(Path("/c/z/alice-2"))] == "alice-2"


def test_adversarial_folder_names_never_share_a_result():
    tricky = ["alice", "alice", "alice-2", "alice-2", "alice-3", "Alice", "ALICE-2", "a b", "a_b", "a?b",
              "Zoë", "Zoé", "Zo_", "..", "...", ".hidden", "hidden", "-", "--", "submission", "日本", "",
              "x" * 300, "x" * 300 + "y", "x" * 71 + "-2", "alice-2-2", "a/../b"]
    folders = [Path("/c") / f"f{index}" / name if name else Path("/") for index, name in enumerate(tricky)]
    _assert_unique_and_safe(submissions.submission_names(folders), folders)
    shuffler = random.Random(9)
    for _ in range(200):
        picked = [Path("/c") / str(index) / shuffler.choice(tricky[:20]) for index in range(shuffler.randint(2, 12))]
        _assert_unique_and_safe(submissions.submission_names(picked), picked)


# ------------------------------------------------ a class graded without pytest (fast, faked gradings)
def _payload(score_ex01: int, sandbox: str = "bwrap", figures: dict | None = None) -> dict:
    payload = grade.fallback_result("s", Path("/x"), "missing")
    row = payload["exercises"]["ex01_input_pipeline"]
    assert score_ex01 in (0, 4, 6, 10)
    row["tests"] = [{"exercise": "ex01_input_pipeline", "points": 6, "passed": score_ex01 >= 6, "name": "a"},
                    {"exercise": "ex01_input_pipeline", "points": 4, "passed": score_ex01 in (4, 10), "name": "b"}]
    row["score"], payload["score"] = score_ex01, score_ex01
    for exercise_row in payload["exercises"].values():
        exercise_row["sandbox"] = sandbox
    if figures:
        payload["exercises"]["ex02_linear_model"]["figures"] = figures
    return payload


@pytest.fixture
def fake_class(tmp_path, monkeypatch):
    """grade_many with every grading faked: `scores[folder name]` is the list of ex01 scores, one per grading."""
    state = {"scores": {}, "calls": [], "mode": "bwrap", "reported": None, "figures": {}}

    def grade_once(folder, figures, log_path, settings, pytest_args):
        state["calls"].append((folder.name, settings.sandbox))
        scores = state["scores"][folder.name]
        score = scores[sum(1 for name, _ in state["calls"] if name == folder.name) - 1]
        payload = _payload(score, state["reported"] or settings.sandbox, state["figures"].get(folder.name))
        return payload, "graded", None

    monkeypatch.setattr(grade, "_grade_once", grade_once)
    monkeypatch.setattr(modes, "class_mode", lambda settings: state["mode"])
    monkeypatch.setattr(grade, "prepare_grading_data", lambda settings: tmp_path / "data")
    monkeypatch.setattr(grade, "prepare_references", lambda *args: None)
    state["settings"] = Settings.from_environment({})
    return state


def _book(out: Path) -> dict[str, dict]:
    return {row["submission"]: row for row in csv.DictReader((out / "gradebook.csv").open())}


def test_every_student_of_a_clashing_class_keeps_their_points(tmp_path, fake_class):
    folders = [tmp_path / "x" / "alice", tmp_path / "y" / "alice", tmp_path / "z" / "alice-2"]
    for folder in folders:
        folder.mkdir(parents=True)
    fake_class["scores"] = {"alice": [4, 6], "alice-2": [10]}
    results = grade.grade_many(folders, tmp_path / "out", fake_class["settings"], progress=False)
    assert [result["score"] for result in results] == [4, 6, 10]
    book = _book(tmp_path / "out")
    assert sorted(book) == ["alice", "alice-2", "alice-3"] and book["alice-2"]["score"] == "10"
    assert book["alice"]["score"] == "4" and book["alice-3"]["score"] == "6"
    assert {row["folder"] for row in book.values()} == {str(folder) for folder in folders}
    assert len(list((tmp_path / "out" / "results").glob("*.json"))) == 3


def test_repeat_flags_a_submission_whose_score_changes_and_keeps_the_first_grading(tmp_path, fake_class):
    (tmp_path / "coin").mkdir()
    (tmp_path / "steady").mkdir()
    fake_class["scores"] = {"coin": [10, 10, 0], "steady": [4] * 6}
    coin, steady = grade.grade_many([tmp_path / "coin", tmp_path / "steady"], tmp_path / "out",
                                    fake_class["settings"], progress=False, repeat=3)
    assert [name for name, _ in fake_class["calls"]].count("coin") == 3
    assert coin["score"] == 10 and coin["repeats"]["scores"] == [10, 10, 0] and not coin["repeats"]["consistent"]
    assert any("grading 3: score 10 -> 0" in text for text in coin["repeats"]["differences"])
    assert any("ex01_input_pipeline a: passed -> failed" in text for text in coin["repeats"]["differences"])
    assert coin["flags"] and steady["repeats"]["consistent"] and not steady["flags"]
    stored = json.loads((tmp_path / "out" / "results" / "coin.json").read_text())
    assert stored["repeats"] == coin["repeats"] and stored["score"] == 10
    book = _book(tmp_path / "out")
    assert book["coin"]["repeats"].startswith("DIFFERS x3") and book["steady"]["repeats"] == "same x3"
    assert any("coin" in text for text in json.loads((tmp_path / "out" / "gradebook.json").read_text())["warnings"])
    # --repeat never resumes: everything is graded 3 times again
    grade.grade_many([tmp_path / "steady"], tmp_path / "out", fake_class["settings"], progress=False, repeat=3)
    assert [name for name, _ in fake_class["calls"]].count("steady") == 6


def test_a_changed_test_outcome_with_the_same_score_is_a_difference():
    first, other = _payload(6), _payload(6)
    other["exercises"]["ex01_input_pipeline"]["tests"][0].update(passed=False, points=4)
    other["exercises"]["ex01_input_pipeline"]["tests"][1].update(passed=True, points=6)
    found = repeats.compare([first, first, other])
    assert not found["consistent"] and found["scores"] == [6, 6, 6]
    assert found["differences"] == ["grading 3: ex01_input_pipeline a: passed -> failed",
                                    "grading 3: ex01_input_pipeline b: failed -> passed"]
    assert repeats.compare([first, _payload(6)])["consistent"] and repeats.column({"repeats": None}) == ""


def test_implausible_figures_are_flagged_in_the_result_and_the_gradebook(tmp_path, fake_class, monkeypatch):
    maxima = {"ex02_linear_model": {"accuracy": 0.8063, "auc": 0.8911}}
    monkeypatch.setattr(plausibility, "limits", lambda: maxima)
    for name in ("forged", "honest", "broken"):
        (tmp_path / name).mkdir()
    fake_class["scores"] = {"forged": [10], "honest": [10], "broken": [10]}
    fake_class["figures"] = {"forged": {"accuracy": 0.97, "auc": 0.99}, "honest": {"accuracy": 0.7863, "auc": 0.8711},
                             "broken": {"accuracy": float("nan"), "auc": 0.5}}
    forged, honest, broken = grade.grade_many([tmp_path / "forged", tmp_path / "honest", tmp_path / "broken"],
                                              tmp_path / "out", fake_class["settings"], progress=False)
    assert forged["score"] == 10  # a flag, not a lost point
    assert [flag.split(" > ")[0] for flag in forged["implausible"]] == ["ex02_linear_model accuracy 0.9700",
                                                                        "ex02_linear_model auc 0.9900"]
    assert honest["implausible"] == [] and not honest["flags"]
    assert broken["implausible"] == ["ex02_linear_model accuracy nan is not a finite number"]
    book = _book(tmp_path / "out")
    assert "accuracy 0.9700 > plausible 0.8063" in book["forged"]["implausible"] and book["honest"]["implausible"] == ""
    assert "FLAG: implausible: ex02_linear_model auc 0.9900" in gradebook.format_report(forged)


def _calibrated_maxima() -> dict[str, dict[str, float]]:
    text = (Path(__file__).parents[1] / "docs" / "calibration.md").read_text()
    found = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 4 and re.fullmatch(r"ex\d\d_\w+", cells[0]) and " / " in cells[3]:
            found[cells[0]] = {"accuracy": float(cells[3].split(" / ")[2]), "auc": float(cells[4].split(" / ")[2])}
    return found


def test_every_model_exercise_has_a_plausible_maximum_above_its_calibrated_one():
    """exercises.toml's `plausible` = the highest figure of the calibration runs + a margin of 0.02-0.03."""
    calibrated = _calibrated_maxima()
    limits = plausibility.limits()
    assert set(calibrated) == {exercise.id for exercise in manifest.load() if exercise.is_model}
    assert set(limits) == set(calibrated), "exercises.toml: a model exercise without `plausible`"
    for exercise_id, figures in calibrated.items():
        for metric, highest in figures.items():
            margin = limits[exercise_id][metric] - highest
            assert 0.02 - 1e-9 <= margin <= 0.03 + 1e-9, (exercise_id, metric, margin)
            assert limits[exercise_id][metric] < 1.0


def test_the_sandbox_mode_is_in_every_result_and_row_and_a_weaker_worker_wins(tmp_path, fake_class):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fake_class["scores"] = {"a": [4], "b": [6]}
    (first,) = grade.grade_many([tmp_path / "a"], tmp_path / "out", fake_class["settings"], progress=False)
    assert first["sandbox"] == "bwrap" and first["network_isolated"] and fake_class["calls"][-1][1] == "bwrap"
    fake_class["reported"] = "none"  # a worker that says it ran in a weaker mode than the class's
    second = grade.grade_many([tmp_path / "a", tmp_path / "b"], tmp_path / "out", fake_class["settings"],
                              progress=False)[1]
    assert second["sandbox"] == "none" and not second["network_isolated"]
    assert any("reported sandbox modes ['none']" in flag for flag in second["flags"])
    book = _book(tmp_path / "out")
    assert book["a"]["sandbox"] == "bwrap" and book["b"]["sandbox"] == "none"
    warnings = json.loads((tmp_path / "out" / "gradebook.json").read_text())["warnings"]
    assert any("'none'" in text and "WITHOUT" in text for text in warnings)
    assert "NO network isolation" in gradebook.format_report(second)


def test_resume_needs_the_same_folder_and_the_same_mode(tmp_path, fake_class):
    for name in ("x", "y"):
        (tmp_path / name / "alice").mkdir(parents=True)
        (tmp_path / name / "alice" / "ex01_input_pipeline.py").write_text("x = 1\n")  # identical files
    fake_class["scores"] = {"alice": [4, 6, 6]}
    out = tmp_path / "out"
    assert grade.grade_many([tmp_path / "x" / "alice"], out, fake_class["settings"], progress=False)[0]["score"] == 4
    # the same files in another student's folder under the same result name: graded, not resumed
    other = grade.grade_many([tmp_path / "y" / "alice"], out, fake_class["settings"], progress=False)[0]
    assert other["score"] == 6 and not other.get("resumed")
    again = grade.grade_many([tmp_path / "y" / "alice"], out, fake_class["settings"], progress=False)[0]
    assert again.get("resumed") and len(fake_class["calls"]) == 2
    fake_class["mode"] = "uid"  # graded in bwrap before: a weaker mode regrades
    assert not grade.grade_many([tmp_path / "y" / "alice"], out, fake_class["settings"], progress=False)[0].get(
        "resumed")


def test_a_grader_error_still_gives_a_result_with_its_mode(tmp_path, fake_class, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("grader bug")

    monkeypatch.setattr(grade, "grade_one", broken)
    (tmp_path / "s").mkdir()
    (result,) = grade.grade_many([tmp_path / "s"], tmp_path / "out", fake_class["settings"], progress=False)
    assert result["status"] == "crashed" and result["sandbox"] == "bwrap" and "grader bug" in result["reason"]
    assert json.loads((tmp_path / "out" / "results" / "s.json").read_text())["sandbox"] == "bwrap"


def test_only_bwrap_counts_as_network_isolation():
    assert modes.warning("bwrap") is None
    for mode in ("uid", "none", "in-process", "unknown"):
        assert "WITHOUT" in modes.warning(mode) and "network" in modes.warning(mode)
    assert modes.weakest({"bwrap", "uid"}) == "uid" and modes.weakest({"bwrap", "odd"}) == "odd"
    assert modes.weakest(set()) == "none"


def test_the_hash_follows_the_files_and_the_seed(tmp_path):
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 1\n")
    first = submissions.submission_hash(tmp_path)
    assert submissions.submission_hash(tmp_path) == first
    assert submissions.submission_hash(tmp_path, seed=3) != first
    (tmp_path / "ex01_input_pipeline.py").write_text("x = 2\n")
    assert submissions.submission_hash(tmp_path) != first


def test_the_report_gives_the_reason_for_every_lost_point():
    text = gradebook.format_report(_fake_result("bob", 0))
    assert f"bob: 0 / {manifest.total_points()}" in text and "-10: grading: missing" in text


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
    assert f"sub: 0 / {manifest.total_points()}" in capsys.readouterr().out


def test_grade_passes_repeat_and_sandbox_and_warns_loudly_without_network_isolation(tmp_path, monkeypatch, capsys):
    seen = {}

    def grade_many(folders, out_dir, settings, **options):
        seen.update(options, settings=settings)
        return [{**grade.fallback_result("sub", folders[0], "not graded"), "submission": "sub", "folder": "/sub",
                 "status": "graded", "reason": None, "sandbox": "uid", "flags": []}]

    monkeypatch.setattr(grade, "grade_many", grade_many)
    monkeypatch.setattr(modes, "class_mode", lambda settings: settings.sandbox)
    (tmp_path / "sub").mkdir()
    assert cli.main(["grade", str(tmp_path / "sub"), "--repeat", "3", "--sandbox", "uid", "--quiet",
                     "--out", str(tmp_path / "out")]) == 0
    assert seen["repeat"] == 3 and seen["settings"].sandbox == "uid"
    captured = capsys.readouterr()
    assert captured.err.count("WARNING: student code ran in sandbox mode 'uid'") == 2 and "!!!!" in captured.err
    assert "sandbox: uid  (NO network isolation)" in captured.out
    assert cli.main(["grade", str(tmp_path / "sub"), "--repeat", "0", "--out", str(tmp_path / "out")]) == 1


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
    from embedlab.grading import contract

    honest, exercise_id = ADVERSARIAL / "honest", "ex02_linear_model"
    questions = contract.make_questions(exercise_id, data_dir, 1234)
    runs = [sandbox.run_exercise(exercise_id, honest, data_dir, questions=questions) for _ in range(2)]
    assert all("weights" in run for run in runs), [run["errors"] for run in runs]
    first, second = (contract.test_predictions(exercise_id, run, questions, data_dir) for run in runs)
    assert np.array_equal(first, second)


@pytest.mark.slow
def test_an_honest_submission_graded_twice_is_the_same_and_says_its_sandbox(tmp_path):
    """One real class grading: exercise 1's reference solution, --repeat 2, in the machine's sandbox."""
    settings = _settings()
    submission = tmp_path / "honest"
    submission.mkdir()
    exercise = manifest.get("1")
    (submission / exercise.module_file).write_text(
        (Path(__file__).parents[1] / "solutions" / exercise.module_file).read_text())
    out = tmp_path / "out"
    (result,) = grade.grade_many([submission], out, settings, jobs=1, progress=False, repeat=2)
    assert result["status"] == "graded" and result["exercises"][exercise.id]["score"] == exercise.points
    assert result["repeats"]["count"] == 2 and result["repeats"]["consistent"], result["repeats"]
    assert result["sandbox"] == modes.class_mode(settings) and not result["implausible"]
    assert (out / "logs" / "honest.repeat2.log").is_file()
    row = _book(out)["honest"]
    assert row["repeats"] == "same x2" and row["sandbox"] == result["sandbox"]
