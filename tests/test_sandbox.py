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
from tests.machine import scaled

ADVERSARIAL = Path(__file__).with_name("adversarial")
EXPECTED = tomllib.loads((ADVERSARIAL / "expected.toml").read_text())
# Seconds per worker on an idle machine (an honest exercise takes a few); stretched by the measured load.
TIME_LIMIT = 25


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.from_environment()


@pytest.fixture(scope="module")
def sandbox(settings) -> Sandbox:
    return Sandbox(settings)


# ------------------------------------------------------------ validation
# What the wire tests' "exercise" declares: fixed here, so that the tests do not
# depend on what today's collectors return.
DECLARED = {"predictions": "PREDICTIONS", "vocabulary": "STRINGS", "probes": "NUMBER_DICT", "figure": "PLAIN"}


@pytest.fixture(autouse=True)
def _declared_returns(request, monkeypatch):
    from embedlab.grading import contract, schema

    if request.node.get_closest_marker("slow") is not None or "sandbox" in request.fixturenames:
        return  # real workers: the real declarations
    monkeypatch.setattr(contract, "returns", lambda exercise_id: {key: getattr(schema, kind)
                                                                   for key, kind in DECLARED.items()})


def _write_worker_output(out: Path, result: dict, exercise="ex02_linear_model", arrays=None, **extra):
    (out / "arrays").mkdir(parents=True, exist_ok=True)
    for name, array in (arrays or {}).items():
        np.save(out / "arrays" / name, array, allow_pickle=True)
    payload = {"complete": True, "exercise": exercise, "result": result, **extra}
    (out / "result.json").write_text(json.dumps(payload))


def test_a_genuine_result_comes_back_with_its_arrays(tmp_path):
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "a0.npy"}, "errors": {}, "seconds": {"x": 1.0}},
                         arrays={"a0.npy": np.full(4, 0.25)})
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
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
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert why is None
    assert "predictions" not in result or result["predictions"] is None
    assert any(expected_error in message for message in result["errors"].values()), result["errors"]


def test_a_result_for_another_exercise_is_refused(tmp_path):
    _write_worker_output(tmp_path, {"errors": {}}, exercise="ex08_bigrams")
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert result is None and "another exercise" in why


def test_an_incomplete_or_tampered_result_is_refused(tmp_path):
    (tmp_path / "result.json").write_text('{"complete": true, "exercise": "ex02_linear_model"')
    assert wire.load_result(tmp_path, "ex02_linear_model", 4)[0] is None
    _write_worker_output(tmp_path, {"errors": {}}, tampered=["embedlab.grading.scoring.judge_model"])
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert result is None and "replaced parts of the grader" in why


def test_array_references_cannot_leave_the_arrays_folder(tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros(4))
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "../secret.npy"}, "errors": {}})
    result, _ = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert result.get("predictions") is None


def test_strings_lists_and_numbers_are_checked(tmp_path):
    _write_worker_output(tmp_path, {"vocabulary": ["a", 3], "probes": {"great": "high"}, "errors": {"x": 5}},
                         exercise="ex07_bigger_vocabulary")
    result, _ = wire.load_result(tmp_path, "ex07_bigger_vocabulary", 4)
    assert "vocabulary" not in result and "probes" not in result
    assert "x" not in result["errors"]


def test_only_what_the_collector_declares_comes_back(tmp_path):
    _write_worker_output(tmp_path, {"score": 100, "exercise": "ex08_bigrams", "errors": {}})
    result, _ = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert "score" not in result and "not declared" in result["errors"]["score"]
    assert result["exercise"] == "ex02_linear_model"


# ------------------------------------------------------------ what a worker leaves behind
def test_a_deeply_nested_result_is_a_reason_not_a_crash(tmp_path):
    (tmp_path / "result.json").write_text('{"complete": true, "exercise": "ex02_linear_model", "result": '
                                          + "[" * 500_000 + "]" * 500_000 + "}")
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert result is None and "nested too deeply" in why


def test_a_huge_result_file_is_refused_before_it_is_parsed(tmp_path):
    with open(tmp_path / "result.json", "w") as handle:
        handle.write('{"complete": true, "exercise": "ex02_linear_model", "result": {"x": "')
        handle.write("a" * (wire.MAX_RESULT_BYTES + 10) + '"}}')
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert result is None and "larger than" in why


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00\xff\xff\xff\x7f" + b" " * 100,
                                     b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
                                     b"'shape': (100000000000,), }" + b" " * 40 + b"\n"])
def test_an_empty_truncated_or_huge_array_is_dropped_with_a_reason(tmp_path, content):
    _write_worker_output(tmp_path, {"predictions": {"__ndarray__": "a0.npy"}, "errors": {}})
    (tmp_path / "arrays" / "a0.npy").write_bytes(content)
    result, why = wire.load_result(tmp_path, "ex02_linear_model", 4)
    assert why is None and result.get("predictions") is None
    assert any("dropped" in message for message in result["errors"].values()), result["errors"]


def test_arrays_are_never_read_through_a_symlink(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    np.save(elsewhere / "a0.npy", np.full(4, 0.5))
    out = tmp_path / "out"
    out.mkdir()
    (out / "arrays").symlink_to(elsewhere)
    (out / "result.json").write_text(json.dumps({"complete": True, "exercise": "ex02_linear_model",
                                                 "result": {"predictions": {"__ndarray__": "a0.npy"}}}))
    result, _ = wire.load_result(out, "ex02_linear_model", 4)
    assert result.get("predictions") is None


def test_only_the_expected_figures_come_back_never_through_a_symlink(tmp_path):
    from embedlab import manifest
    from embedlab.isolation import staging

    exercise = next(exercise for exercise in manifest.load() if exercise.figures)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / exercise.figures[0]).write_bytes(staging.PNG_MAGIC + b"secret")
    out = tmp_path / "out"
    out.mkdir()
    (out / "figures").symlink_to(secret)
    target = tmp_path / "target"
    staging.bring_figures(out, target, {}, staging.expected_figures(exercise.id, {}))
    assert list(target.iterdir()) == []
    (out / "figures").unlink()
    (out / "figures").mkdir()
    for index in range(5):
        with open(out / "figures" / f"extra{index}.png", "wb") as handle:
            handle.truncate(16 * 2**20)  # sparse: big, costs nothing to make
    (out / "figures" / exercise.figures[0]).write_bytes(staging.PNG_MAGIC + b"plot")
    with open(out / "figures" / exercise.figures[-1], "wb") as handle:
        handle.truncate(staging.FIGURE_BYTES + 1)
    staging.bring_figures(out, target, {}, staging.expected_figures(exercise.id, {"saved": {"path": "extra0.png"}}))
    sizes = {path.name: path.stat().st_size for path in target.iterdir()}
    assert sizes == {exercise.figures[0]: 12, "extra0.png": 16 * 2**20} or sizes == {exercise.figures[0]: 12}
    assert sum(sizes.values()) <= staging.FIGURES_TOTAL_BYTES


def test_cleanup_survives_a_deep_unreadable_tree(tmp_path):
    from embedlab.isolation import staging

    work = tmp_path / "work"
    os_path = work
    work.mkdir()
    import os

    descriptor = os.open(work, os.O_RDONLY)
    for _ in range(1500):  # deeper than PATH_MAX and the recursion limit
        os.mkdir("d", dir_fd=descriptor)
        following = os.open("d", os.O_RDONLY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = following
    os.close(descriptor)
    os.chmod(os_path, 0o000)
    staging.remove(work)
    assert not work.exists()


def test_questions_go_in_as_plain_data_with_their_dtypes(tmp_path):
    from embedlab.isolation import inputs

    questions = {"reviews": [3, 1, 2], "weights": np.arange(6, dtype=np.float32).reshape(2, 3),
                 "ids": np.array([5, 7], dtype=np.int64), "terms": ["great", "awful"], "nested": {"k": 0.5}}
    inputs.write_questions(tmp_path / "in", questions)
    back = inputs.read_questions(tmp_path / "in")
    assert back["weights"].dtype == np.float32 and np.array_equal(back["weights"], questions["weights"])
    assert back["ids"].dtype == np.int64 and back["reviews"] == [3, 1, 2] and back["nested"] == {"k": 0.5}
    assert inputs.digest(questions) == inputs.digest(back) != inputs.digest({**questions, "reviews": [3, 1, 4]})
    assert inputs.read_questions(tmp_path / "nothing") == {}
    with pytest.raises(SandboxError, match="not plain data"):
        inputs.write_questions(tmp_path / "bad", {"model": object()})


def test_the_reference_cache_is_keyed_by_the_questions(tmp_path):
    from embedlab.isolation import inputs, references

    one = references.cache_path("ex05_inside_embedding", tmp_path, 1, "v", inputs.digest({"a": 1}))
    two = references.cache_path("ex05_inside_embedding", tmp_path, 1, "v", inputs.digest({"a": 2}))
    assert one != two


def test_uid_locks_live_in_one_private_system_folder():
    import os
    import stat as stat_module

    if os.geteuid() != 0:
        pytest.skip("needs root")
    folder = uids.lock_dir()
    assert str(folder).startswith(("/run/", "/var/lock/"))
    info = os.stat(folder)
    assert info.st_uid == 0 and stat_module.S_IMODE(info.st_mode) == 0o700
    assert not hasattr(uids, "kill_uid")


def test_modes_without_network_isolation_warn():
    from embedlab.isolation import sandbox as sandbox_module

    assert sandbox_module.warning_for("bwrap") is None
    for mode in ("uid", "none"):
        assert "no network isolation" in sandbox_module.warning_for(mode)


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


@pytest.mark.slow
def test_one_forkserver_per_submission_imports_tensorflow_once(sandbox):
    """Two exercises of one submission: children of one forkserver that ran no TensorFlow operation before
    forking, each as an unprivileged uid, the second paying no import."""
    from embedlab import files
    from embedlab.grading import contract

    _needs_real_sandbox(sandbox)
    data_dir = _grading_data()
    first, second = (sandbox.run_exercise(exercise_id, files.SOLUTIONS, data_dir,
                                          questions=contract.make_questions(exercise_id, data_dir, 5))
                     for exercise_id in ("ex01_input_pipeline", "ex05_inside_embedding"))
    assert not first["errors"] and not second["errors"], (first["errors"], second["errors"])
    servers = [result["worker_forkserver"] for result in (first, second)]
    assert servers[0]["pid"] == servers[1]["pid"] and [server["runs"] for server in servers] == [1, 2]
    assert all(server["no_tensorflow_op"] for server in servers)
    assert all(server["uid"] not in (None, 0) for server in servers)
    # The shared import is counted once, in every exercise's memory.
    assert first["worker_shared_mb"] == second["worker_shared_mb"] > 300
    assert second["worker_peak_memory_mb"] >= second["worker_shared_mb"]
    sandbox.close(files.SOLUTIONS)


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
    """Every attack fixture graded once, like a class: 2 at once, 25 s per worker (more on a busy machine)."""
    from embedlab.classroom import grade

    _grading_data()
    out = tmp_path_factory.mktemp("adversarial-grading")
    folders = [ADVERSARIAL / name for name in EXPECTED]
    settings = Settings.from_environment(time_limit=scaled(TIME_LIMIT))
    results = grade.grade_many(folders, out, settings, jobs=2, resume=False, progress=False)
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
    # class.json: the class's questions seed, written by the grader itself.
    assert names == {"gradebook.json", "class.json", *(f"{attack}.json" for attack in EXPECTED)}


@pytest.mark.slow
def test_figures_come_back_only_as_capped_regular_files(class_results):
    from embedlab.isolation import staging

    out, _ = class_results
    for attack in ("figures_symlink", "many_pngs"):
        paths = list((out / "figures" / attack).rglob("*"))
        assert not any(path.is_symlink() for path in paths), paths
        assert sum(path.stat().st_size for path in paths if path.is_file()) <= staging.FIGURES_TOTAL_BYTES


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
    from embedlab.grading import contract

    exercise_id = "ex02_linear_model"
    questions = contract.make_questions(exercise_id, data_dir, 1234)
    with ThreadPoolExecutor(max_workers=2) as pool:
        leaked, constant = pool.map(
            lambda name: sandbox.run_exercise(exercise_id, ADVERSARIAL / name, data_dir, time_limit=120,
                                              questions=questions),
            ["read_labels", "constant_predictions"])
    assert [layer["name"] for layer in leaked["model"]["dense_layers"]] == ["leaked_0"], leaked["model"]
    marks = manifest.get(exercise_id).thresholds
    thresholds = manifest.Metrics(accuracy=max(marks.accuracy, 0.6), auc=max(marks.auc, 0.6))
    for result in (leaked, constant):
        try:
            predictions = contract.test_predictions(exercise_id, result, questions, data_dir)
        except contract.Refused:
            continue  # refused outright: no pass mark either
        passed, message = scoring.judge_model(predictions, labels, thresholds, "constant")
        assert not passed, message
