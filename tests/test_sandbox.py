"""The sandbox: validation of what crosses back, and the adversarial fixtures in tests/adversarial/.

The fast tests check `embedlab.isolation.wire.load_result` on hand-made worker
outputs, and the configuration-free parts of the sandbox (its mode, the
labeled paths, exit reasons). The slow ones grade every fixture of
tests/adversarial/ with `embedlab grade`'s machinery (2 at once, 25 s per worker) and
compare with tests/adversarial/expected.toml.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tomllib

from embedlab.isolation import probe, supervise, uids, wire
from embedlab.isolation.sandbox import Sandbox, SandboxError
from embedlab.settings import Settings

ADVERSARIAL = Path(__file__).with_name("adversarial")
EXPECTED = tomllib.loads((ADVERSARIAL / "expected.toml").read_text())
TIME_LIMIT = 25


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.from_environment()


@pytest.fixture(scope="module")
def sandbox(settings) -> Sandbox:
    return Sandbox(settings)


# ------------------------------------------------------------ validation
def _write_worker_output(out: Path, result: dict, token="t0k", exercise="ex02_linear_model", arrays=None, **extra):
    (out / "arrays").mkdir(parents=True, exist_ok=True)
    for name, array in (arrays or {}).items():
        np.save(out / "arrays" / name, array, allow_pickle=True)
    payload = {"complete": True, "token": token, "exercise": exercise, "result": result, **extra}
    (out / "result.json").write_text(json.dumps(payload))


def test_a_genuine_result_comes_back_with_its_arrays(tmp_path):
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "a0.npy"}, "errors": {}, "seconds": {"x": 1.0}},
                         arrays={"a0.npy": np.full(4, 0.25)})
    result, why = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert why is None and result["predictions"].dtype == np.float64 and result["predictions"].shape == (4,)


@pytest.mark.parametrize("case, arrays, expected_error", [
    ("nan", {"a0.npy": np.array([0.1, np.nan, 0.2, 0.3])}, "NaN"),
    ("shape", {"a0.npy": np.zeros((4, 2))}, "dimensions"),
    ("length", {"a0.npy": np.zeros(3)}, "shape"),
    ("pickle", {"a0.npy": np.array([object(), 1, 2, 3], dtype=object)}, "dropped"),
    ("strings", {"a0.npy": np.array(["a", "b", "c", "d"])}, "dropped"),
])
def test_bad_predictions_are_refused_with_a_reason(tmp_path, case, arrays, expected_error):
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "a0.npy"}, "errors": {}}, arrays=arrays)
    result, why = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert why is None
    assert "predictions" not in result or result["predictions"] is None
    assert any(expected_error in message for message in result["errors"].values()), result["errors"]


def test_a_result_with_the_wrong_token_is_a_forgery(tmp_path):
    _write_worker_output(tmp_path, {"errors": {}}, token="guess")
    result, why = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert result is None and "forged" in why


def test_an_incomplete_or_tampered_result_is_refused(tmp_path):
    (tmp_path / "result.json").write_text('{"complete": true, "token": "t0k"')
    assert wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)[0] is None
    _write_worker_output(tmp_path, {"errors": {}}, tampered=["embedlab.grading.scoring.judge_model"])
    result, why = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert result is None and "replaced parts of the grader" in why


def test_array_references_cannot_leave_the_arrays_folder(tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros(4))
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "../secret.npy"}, "errors": {}})
    result, _ = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert result.get("predictions") is None


def test_strings_lists_and_numbers_are_checked(tmp_path):
    _write_worker_output(tmp_path, {"vocabulary": ["a", 3], "probes": {"great": "high"}, "errors": {"x": 5}},
                         exercise="ex07_bigger_vocabulary")
    result, _ = wire.load_result(tmp_path, "t0k", "ex07_bigger_vocabulary", 4)
    assert "vocabulary" not in result and "probes" not in result
    assert "x" not in result["errors"]


def test_only_what_the_collector_declares_comes_back(tmp_path):
    _write_worker_output(tmp_path, {"score": 100, "exercise": "ex08_bigrams", "errors": {}})
    result, _ = wire.load_result(tmp_path, "t0k", "ex02_linear_model", 4)
    assert "score" not in result and "not declared" in result["errors"]["score"]
    assert result["exercise"] == "ex02_linear_model"


# ------------------------------------------------------------ configuration
def test_the_labeled_paths_cover_the_source_the_data_was_prepared_from(tmp_path):
    from embedlab import files

    archive = tmp_path / "reviews.tar.gz"
    (tmp_path / "manifest.json").write_text(json.dumps({"source": {"kind": "archive", "path": str(archive)}}))
    settings = Settings(seed=0, tfrecords_dir=tmp_path, labeled_files=("/somewhere/else.npy",))
    paths = probe.labeled_paths(settings, tmp_path / ".grading")
    assert {str(archive), "/somewhere/else.npy", str(tmp_path / "test.tfrecord"), str(files.SOLUTIONS),
            str(tmp_path / ".grading" / "test_labels.npy")} <= set(paths)
    (tmp_path / "manifest.json").write_text(json.dumps({"source": {"kind": "tensorflow-datasets"}}))
    assert probe.prepared_from(tmp_path) is None


def test_an_unknown_sandbox_mode_is_refused(tmp_path):
    with pytest.raises(SandboxError, match="expected auto, bwrap, uid or none"):
        _ = Sandbox(Settings(seed=0, tfrecords_dir=tmp_path, sandbox="chroot")).mode


@pytest.mark.parametrize("returncode, stderr, expected", [
    (-9, "", "killed by SIGKILL (out of memory?) before writing its results"),
    (-25, "", "killed by SIGXFSZ (a file grew past the size limit)"),
    (-200, "", "killed by 200 before"),
    (0, "noise", "exited with status 0 before writing its results (sys.exit or os._exit in the submission?)"),
    (3, "ValueError: boom", "status 3 before writing its results; last line of its error output: ValueError: boom"),
])
def test_exit_reasons_say_what_happened(returncode, stderr, expected):
    assert expected in supervise.exit_reason(returncode, stderr)
    if returncode == 0:
        assert "noise" not in supervise.exit_reason(returncode, stderr)


# ------------------------------------------------------------ the sandbox itself
def _grading_data():
    from embedlab.errors import EmbedlabError
    from embedlab.grading import data as grading_data

    settings = Settings.from_environment()
    try:
        return grading_data.ensure(settings.tfrecords_dir, settings.grading_data())
    except EmbedlabError as error:
        pytest.skip(f"no grading data: {error}")


def _needs_real_sandbox(sandbox: Sandbox):
    if sandbox.mode == "none":
        pytest.skip("not root: workers would run as this user (EMBEDLAB_SANDBOX=none)")


def test_the_label_probe_notices_a_readable_file(sandbox, settings):
    _needs_real_sandbox(sandbox)
    data_dir = _grading_data()
    sandbox.check_labels_hidden(data_dir)  # the real labels: hidden
    # A fresh Sandbox: the first one remembers that this data folder was checked.
    leaky = Sandbox(settings.replace(labeled_files=("/etc/hostname",)))
    with pytest.raises(SandboxError, match="/etc/hostname"):
        leaky.check_labels_hidden(data_dir)


def _worker_uids_alive(settings: Settings) -> list[int]:
    import psutil

    alive = []
    for process in psutil.process_iter(["uids"]):
        ids = process.info.get("uids")
        if ids and settings.uid_base <= ids.real < settings.uid_base + uids.UID_SLOTS:
            alive.append(process.pid)
    return alive


@pytest.fixture(scope="module")
def class_results(tmp_path_factory):
    """Every attack fixture graded once, like a class: 2 at once, 25 s per worker."""
    from embedlab.classroom import grade

    _grading_data()
    out = tmp_path_factory.mktemp("adversarial-grading")
    folders = [ADVERSARIAL / name for name in EXPECTED]
    results = grade.grade_many(folders, out, Settings.from_environment(time_limit=TIME_LIMIT), jobs=2, resume=False,
                               progress=False)
    return out, {result["submission"]: result for result in results}


@pytest.mark.slow
@pytest.mark.parametrize("attack", list(EXPECTED))
def test_attack_scores_what_it_deserves(class_results, attack):
    out, results = class_results
    expected = EXPECTED[attack]
    # A valid results file in every case.
    stored = json.loads((out / "results" / f"{attack}.json").read_text())
    assert stored["submission"] == attack and stored["status"] == "graded", stored.get("reason")
    assert isinstance(stored["score"], int) and set(stored["exercises"]) >= {"ex01_input_pipeline"}
    result = results[attack]
    scores = expected.get("scores", {})
    for exercise_id, row in result["exercises"].items():
        if exercise_id in scores:
            assert row["score"] == scores[exercise_id], (attack, exercise_id, row["tests"])
        elif exercise_id not in expected.get("failed", {}):
            assert row["score"] == 0, (attack, exercise_id)
    for exercise_id, reason in expected.get("reasons", {}).items():
        messages = " ".join(test["message"] for test in result["exercises"][exercise_id]["tests"] if not test["passed"])
        assert reason in messages, (attack, exercise_id, messages[:600])
    for exercise_id, titles in expected.get("failed", {}).items():
        tests = result["exercises"][exercise_id]["tests"]
        for title in titles:
            assert any(title in test["name"] and not test["passed"] for test in tests), (attack, title)


@pytest.mark.slow
def test_no_forged_file_reached_the_grading_output(class_results):
    out, _ = class_results
    names = {path.name for path in out.rglob("*.json")}
    assert names == {"gradebook.json", *(f"{attack}.json" for attack in EXPECTED)}


@pytest.mark.slow
def test_no_worker_process_survives(class_results, settings):
    assert _worker_uids_alive(settings) == []


@pytest.mark.slow
def test_labels_cannot_be_read_and_constant_predictions_fail_a_real_pass_mark(sandbox):
    from embedlab import manifest
    from embedlab.grading import data as grading_data
    from embedlab.grading import scoring

    _needs_real_sandbox(sandbox)
    data_dir = _grading_data()
    labels = grading_data.load_test_labels(data_dir)
    with ThreadPoolExecutor(max_workers=2) as pool:
        leaked, constant = pool.map(
            lambda name: sandbox.run_exercise("ex02_linear_model", ADVERSARIAL / name, data_dir, time_limit=120),
            ["read_labels", "constant_predictions"])
    assert [layer["name"] for layer in leaked["model"]["dense_layers"]] == ["leaked_0"], leaked["model"]
    marks = manifest.get("ex02_linear_model").thresholds
    thresholds = manifest.Metrics(accuracy=max(marks.accuracy, 0.6), auc=max(marks.auc, 0.6))
    for result in (leaked, constant):
        passed, message = scoring.judge_model(result["predictions"], labels, thresholds, "constant")
        assert not passed, message
