"""One class graded by several machines: shares without a coordinator, one questions seed for the class,
the merge of their result folders into one gradebook (and its refusals), resume afterwards; and the route of
docs/cluster.md run for real with GNU parallel on this machine."""

from __future__ import annotations

import csv
import json
import random
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embedlab import cli
from embedlab.classroom import grade, merge, shards, submissions
from embedlab.classroom import mode as modes
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings
from tests.data_fixtures import tree_state
from tests.machine import scaled

REPOSITORY = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------ shares
def test_shares_split_any_class_without_overlap_and_never_move_a_submission():
    shuffler = random.Random(10)
    for _ in range(50):
        names = [f"s{shuffler.randrange(10**6)}" for _ in range(shuffler.randint(1, 40))]
        count = shuffler.randint(1, 6)
        shares = [{name for name in names if shards.in_shard(name, (k, count))} for k in range(1, count + 1)]
        assert sum(len(share) for share in shares) == len(set(names)) and set().union(*shares) == set(names)
        more = names + [f"t{index}" for index in range(20)]  # others join the class: nobody changes share
        for k, share in enumerate(shares, 1):
            assert share == {name for name in more if shards.in_shard(name, (k, count))} & set(names)
    assert all(shards.in_shard(name, None) for name in ("a", "b"))


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "a/b", "1", "1/2/3", "2/-1", "1.5/2"])
def test_a_bad_shard_is_a_one_line_error(text, tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    assert cli.main(["grade", str(tmp_path / "sub"), "--shard", text, "--out", str(tmp_path / "out")]) == 1
    assert f"--shard {text}: expected K/N" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_class_paths_are_relative_to_the_class_and_the_same_wherever_the_class_is(tmp_path):
    for root in (tmp_path / "here" / "class", tmp_path / "elsewhere" / "deeper" / "copy"):
        assert shards.class_paths([root / "alice", root / "bob", root / "late" / "carol"]) == [
            "alice", "bob", "late/carol"]
    assert shards.class_paths([tmp_path / "class" / "alice"]) == ["alice"]


# ------------------------------------------------------------ a class graded with every grading faked
@pytest.fixture
def fake(tmp_path, monkeypatch):
    """grade_many with every grading faked: ex01's score is the digit in the submission's ex01 file."""
    calls = []

    def grade_once(folder, figures, log_path, settings, pytest_args):
        calls.append((folder, settings.questions_seed))
        payload = grade.fallback_result(folder.name, folder, "faked")
        score = int((folder / "ex01_input_pipeline.py").read_text().split("=")[1])
        payload["exercises"]["ex01_input_pipeline"]["score"] = payload["score"] = score
        figures.mkdir(parents=True, exist_ok=True)
        (figures / "embedding.png").write_bytes(b"png of " + folder.name.encode())
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(f"graded {folder}\n")
        return payload, "graded", None

    monkeypatch.setattr(grade, "_grade_once", grade_once)
    monkeypatch.setattr(modes, "class_mode", lambda settings: "bwrap")
    monkeypatch.setattr(grade, "prepare_grading_data", lambda settings: tmp_path / "data")
    monkeypatch.setattr(grade, "prepare_references", lambda *args: None)
    return calls


def _class(root: Path, scores: dict[str, int]) -> list[Path]:
    for path, score in scores.items():
        (root / path).mkdir(parents=True, exist_ok=True)
        (root / path / "ex01_input_pipeline.py").write_text(f"score = {score}\n")
    return [root / path for path in scores]


# x/hal is "hal" and y/hal "hal-2" on every machine; the two names fall in different shares.
SCORES = {"alice": 10, "bob": 4, "carol": 0, "dave": 6, "erin": 10, "frank": 4, "x/hal": 6, "y/hal": 0}


def _rows(out: Path) -> dict[str, dict]:
    return {row["submission"]: {key: value for key, value in row.items() if key != "seconds"}
            for row in csv.DictReader((out / "gradebook.csv").open())}


def _shards(folders, tmp_path, settings, count=2):
    outs = []
    for k in range(1, count + 1):
        outs.append(tmp_path / f"out-{k}")
        grade.grade_many(folders, outs[-1], settings, progress=False, shard=(k, count))
    return outs


def test_two_shards_merge_into_the_gradebook_of_one_machine(tmp_path, fake):
    folders = _class(tmp_path / "class", SCORES)
    settings = Settings.from_environment({}, questions_seed=77)
    single = grade.grade_many(folders, tmp_path / "single", settings, progress=False)
    assert {result["status"] for result in single} == {"graded"}
    outs = _shards(folders, tmp_path, settings)
    shares = [json.loads((out / "gradebook.json").read_text())["submissions"] for out in outs]
    assert all(shares) and sum(map(len, shares)) == len(SCORES)  # both machines work, nobody twice
    assert {row["submission"] for share in shares for row in share} == {result["submission"] for result in single}
    merged = merge.merge(outs, tmp_path / "merged")
    assert [result["submission"] for result in merged] == sorted(result["submission"] for result in single)
    assert [shards.in_shard(name, (1, 2)) for name in ("hal", "hal-2")] == [False, True]
    assert _rows(tmp_path / "merged") == _rows(tmp_path / "single")  # hal and hal-2 named alike everywhere
    assert {seed for _, seed in fake} == {77}
    for result in merged:  # figures and logs came along, and the result points at them
        assert Path(result["figures"]).parent == tmp_path / "merged" / "figures"
        assert (Path(result["figures"]) / "embedding.png").read_bytes() == b"png of " + result["class_path"].split(
            "/")[-1].encode()
        assert Path(result["log"]).read_text().startswith("graded ")
    assert shards.stored_questions_seed(tmp_path / "merged") == 77
    # merging again, or a shard again into the merged folder, changes nothing
    merge.merge(outs[:1], tmp_path / "merged")
    assert _rows(tmp_path / "merged") == _rows(tmp_path / "single")


def test_a_shard_needs_the_class_questions_seed_and_a_class_keeps_one(tmp_path, fake):
    folders = _class(tmp_path / "class", {"alice": 10, "bob": 4})
    with pytest.raises(EmbedlabError, match="--questions-seed"):
        grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}), progress=False, shard=(1, 2))
    assert not fake and not (tmp_path / "out").exists()
    # a class graded without a seed keeps the one it drew: later runs, shards included, use it
    grade.grade_many(folders[:1], tmp_path / "out", Settings.from_environment({}), progress=False)
    drawn = shards.stored_questions_seed(tmp_path / "out")
    assert drawn is not None and oct((tmp_path / "out" / "class.json").stat().st_mode)[-3:] == "600"
    grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}), progress=False)
    assert {seed for _, seed in fake} == {drawn} and len(fake) == 2  # alice resumed, bob graded
    for k in (1, 2):
        grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}), progress=False, shard=(k, 2))
    assert len(fake) == 2
    with pytest.raises(EmbedlabError, match="another questions seed"):
        grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}, questions_seed=drawn + 1),
                         progress=False)
    # --no-resume regrades the class with the seed given, which the class keeps
    grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}, questions_seed=5), resume=False,
                     progress=False)
    assert shards.stored_questions_seed(tmp_path / "out") == 5 and fake[-1][1] == 5
    # results graded with other questions than the class's (its class.json replaced) are graded again
    count = len(fake)
    shards.write_class_file(tmp_path / "out", 6)
    grade.grade_many(folders, tmp_path / "out", Settings.from_environment({}), progress=False)
    assert len(fake) == count + 2 and {seed for _, seed in fake[count:]} == {6}


def test_merged_results_resume_here_with_class_and_a_changed_submission_is_regraded(tmp_path, fake):
    """Machine 2 graded its copy of the class at another path; --class puts this machine's copy in its place."""
    here = _class(tmp_path / "here" / "class", SCORES)
    there = _class(tmp_path / "node2" / "work" / "class", SCORES)
    settings = Settings.from_environment({}, questions_seed=8)
    grade.grade_many(here, tmp_path / "out-1", settings, progress=False, shard=(1, 2))
    grade.grade_many(there, tmp_path / "out-2", settings, progress=False, shard=(2, 2))
    graded = len(fake)
    assert graded == len(SCORES)
    merge.merge([tmp_path / "out-1", tmp_path / "out-2"], tmp_path / "plain")
    again = grade.grade_many(here, tmp_path / "plain", settings, progress=False)
    regraded = len(fake) - graded
    assert regraded == sum(1 for result in again if not result.get("resumed")) > 0  # machine 2's: not resumed
    merged = merge.merge([tmp_path / "out-1", tmp_path / "out-2"], tmp_path / "merged", class_dir=tmp_path / "here"
                         / "class")
    assert {result["folder"] for result in merged} == {str(folder) for folder in here}
    assert {result["graded_folder"] for result in merged} & {str(folder) for folder in there}
    before = len(fake)
    resumed = grade.grade_many(here, tmp_path / "merged", Settings.from_environment({}), progress=False)
    assert len(fake) == before and all(result.get("resumed") for result in resumed)
    (here[1] / "ex01_input_pipeline.py").write_text("score = 6\n")  # bob changes his file
    regraded = grade.grade_many(here, tmp_path / "merged", Settings.from_environment({}), progress=False)
    assert [folder for folder, _ in fake[before:]] == [here[1]] and fake[-1][1] == 8
    assert {result["submission"]: result["score"] for result in regraded}["bob"] == 6
    assert _rows(tmp_path / "merged")["bob"]["score"] == "6"


# ------------------------------------------------------------ refusals
def _edit(out: Path, change) -> Path:
    path = sorted((out / "results").glob("*.json"))[0]
    result = json.loads(path.read_text())
    change(result)
    path.write_text(json.dumps(result))
    return path


REFUSALS = {
    "grader": (lambda result: result.update(grader_version="0123456789abcdef"), "different grader versions"),
    "seed": (lambda result: result.update(seed=result["seed"] + 1), "different grading seeds"),
    "questions": (lambda result: result.update(questions="feedfeedfeedfeed"), "another questions seed"),
    "time_limit": (lambda result: result.update(time_limit=25.0), "different time limits"),
    "format": (lambda result: result.update(format=2), "malformed result file: result format 2"),
    "key": (lambda result: result.pop("exercises"), "malformed result file: 'exercises' missing"),
    "score": (lambda result: result.update(score="ten"), "malformed result file: 'score'"),
    "name": (lambda result: result.update(submission="mallory"), "it is the result of 'mallory'"),
    "class_path": (lambda result: result.update(class_path="../../etc"), "not a path inside the class"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_merge_refuses_what_is_not_one_grading_of_one_class_and_writes_nothing(case, tmp_path, fake):
    folders = _class(tmp_path / "class", SCORES)
    outs = _shards(folders, tmp_path, Settings.from_environment({}, questions_seed=3))
    change, message = REFUSALS[case]
    path = _edit(outs[1], change)
    with pytest.raises(EmbedlabError, match=message) as refused:
        merge.merge(outs, tmp_path / "merged")
    assert "\n" not in str(refused.value) and not (tmp_path / "merged").exists()
    if case not in ("grader", "seed", "time_limit"):  # these name the first file of each kind, maybe another
        assert str(path) in str(refused.value)


def test_merge_refuses_two_different_results_for_one_submission_a_bad_file_and_a_foreign_seed(tmp_path, fake):
    folders = _class(tmp_path / "class", SCORES)
    outs = _shards(folders, tmp_path, Settings.from_environment({}, questions_seed=3))
    merge.merge(outs, tmp_path / "merged")
    state = tree_state(tmp_path / "merged")
    # bob's file changed and bob was graded again on machine 2: two results for bob
    (folders[1] / "ex01_input_pipeline.py").write_text("score = 10\n")
    grade.grade_many(folders[1:2], tmp_path / "again", Settings.from_environment({}, questions_seed=3),
                     progress=False)
    with pytest.raises(EmbedlabError, match=r"two different results for bob: .*merged/results/bob.json and "
                                            r".*again/results/bob.json \(graded from other files"):
        merge.merge([tmp_path / "again"], tmp_path / "merged")
    assert tree_state(tmp_path / "merged") == state
    (outs[0] / "results" / "broken.json").write_text("{not json")
    with pytest.raises(EmbedlabError, match=r"out-1/results/broken.json: malformed result file"):
        merge.merge(outs, tmp_path / "other")
    (outs[0] / "results" / "broken.json").unlink()
    with pytest.raises(EmbedlabError, match="not a grading output folder"):
        merge.merge([tmp_path / "class"], tmp_path / "other")
    shards.write_class_file(outs[1], 4)  # a class.json whose seed its results were not graded with
    with pytest.raises(EmbedlabError, match="graded with another questions seed than .*out-2/class.json"):
        merge.merge(outs, tmp_path / "other")
    assert not (tmp_path / "other").exists() and tree_state(tmp_path / "merged") == state


def test_the_merge_command_says_what_will_not_resume_here(tmp_path, fake, capsys):
    folders = _class(tmp_path / "node2" / "class", {"alice": 10, "bob": 4})
    grade.grade_many(folders, tmp_path / "out-1", Settings.from_environment({}, questions_seed=3), progress=False)
    shutil.rmtree(tmp_path / "node2")  # the machine that graded it, gone
    assert cli.main(["gradebook", "merge", str(tmp_path / "out-1"), "--out", str(tmp_path / "merged")]) == 0
    captured = capsys.readouterr()
    assert "merged 2 results" in captured.out and "graded in folders not on this machine" in captured.err
    assert cli.main(["gradebook", "merge", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m2")]) == 1
    assert "embedlab gradebook: error:" in capsys.readouterr().err and not (tmp_path / "m2").exists()


# ------------------------------------------------------------ the route of docs/cluster.md, for real
# Cheap submissions (seconds each): the untouched stubs, and three attack fixtures whose shares differ.
CLASS = {"stub": REPOSITORY / "exercises", "syntax_error": REPOSITORY / "tests" / "adversarial" / "syntax_error",
         "sys_exit_import": REPOSITORY / "tests" / "adversarial" / "sys_exit_import",
         "missing_ex05": REPOSITORY / "tests" / "adversarial" / "missing_ex05"}
# Seconds per worker on an idle machine, stretched by the measured load (tests/machine.py).
TIME_LIMIT = 25
EMBEDLAB = f"{sys.executable} -m embedlab"  # what a node runs; `embedlab` on its PATH does the same


def _tool(name: str, package: str | None = None) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (apt-get install {package or name}); docs/cluster.md's route needs it"
        if Settings.from_environment().ci:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def _run(command: list[str] | str, cwd: Path, timings: dict, step: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, shell=isinstance(command, str), capture_output=True, text=True,
                          timeout=900)
    timings[step] = round(time.monotonic() - started, 1)
    assert done.returncode == 0, f"{step}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _copy_class(work: Path) -> list[str]:
    for name, source in CLASS.items():
        shutil.copytree(source, work / "class" / name, ignore=shutil.ignore_patterns("__pycache__"))
    return sorted(CLASS)


def _outcomes(out: Path) -> dict[str, dict]:
    """Per submission: score, status, mode, and every test's outcome, from the result files."""
    found = {}
    for path in sorted((out / "results").glob("*.json")):
        result = json.loads(path.read_text())
        found[path.stem] = {"score": result["score"], "bonus": result["bonus"], "status": result["status"],
                            "sandbox": result["sandbox"], "class_path": result["class_path"],
                            "questions": result["questions"],
                            "tests": {exercise_id: [(test["name"], test["passed"]) for test in row["tests"]]
                                      for exercise_id, row in result["exercises"].items()}}
    return found


def _route(work: Path, parallel: str, seed: int, timings: dict) -> None:
    """Single-machine gradebook, then the class in 2 shards through `parallel`, merged into work/merged."""
    limit = scaled(TIME_LIMIT)
    _run(f"{EMBEDLAB} grade class/* --out single --jobs 2 --questions-seed {seed} --time-limit {limit} --quiet",
         work, timings, "one machine, --jobs 2")
    shard = (f"{EMBEDLAB} grade class/* --out out-{{}} --shard {{}}/2 --questions-seed {seed} "
             f"--time-limit {limit} --quiet")
    _run(f"{parallel} {shlex.quote(shard)} ::: 1 2", work, timings, "2 shards through GNU parallel")
    assert all((work / f"out-{k}" / "results").is_dir() for k in (1, 2))
    shares = [sorted(path.stem for path in (work / f"out-{k}" / "results").glob("*.json")) for k in (1, 2)]
    assert all(shares) and sorted(shares[0] + shares[1]) == sorted(CLASS), shares


def _grader_version() -> str:
    return submissions.grader_version.__wrapped__()  # not cached: this test's subprocesses compute it afresh


def _resume(work: Path, timings: dict) -> None:
    """Into the merged folder: nothing unchanged is graded again, a changed submission is."""
    limit = scaled(TIME_LIMIT)  # the same as the first grading's (measured once): a changed limit regrades all
    graded_by = json.loads((work / "merged" / "gradebook.json").read_text())["grader_version"]
    if graded_by != _grader_version():  # never in CI; here, someone's edit of embedlab/ while the test ran
        pytest.skip("the grader's code changed while this test ran: a changed grader regrades all, by design")
    before = tree_state(work / "merged" / "results")
    _run(f"{EMBEDLAB} grade class/* --out merged --time-limit {limit} --quiet", work, timings, "resume: none")
    assert tree_state(work / "merged" / "results") == before
    (work / "class" / "missing_ex05" / "notes.py").write_text("# a new file: another hash\n")
    _run(f"{EMBEDLAB} grade class/* --out merged --time-limit {limit} --quiet", work, timings, "resume: one")
    after = tree_state(work / "merged" / "results")
    assert [name for name in after if after[name] != before.get(name)] == ["missing_ex05.json"]
    regraded = json.loads((work / "merged" / "results" / "missing_ex05.json").read_text())
    assert "notes.py" in regraded["files"] and regraded["questions"] == shards.fingerprint(SEED)


SEED = 424242


def _require_grading_data() -> None:
    from embedlab.grading import data as grading_data

    settings = Settings.from_environment()
    try:
        grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    except EmbedlabError as error:
        if settings.ci:
            pytest.fail(f"no grading data: {error}", pytrace=False)
        pytest.skip(f"no grading data: {error}")


@pytest.mark.slow
def test_two_shards_through_gnu_parallel_give_the_gradebook_of_one_machine_and_resume(tmp_path):
    """docs/cluster.md's route on this machine (`-S :`, the same commands as on nodes), timed."""
    _require_grading_data()
    parallel = f"{_tool('parallel')} --will-cite -S : -j 2 --halt now,fail=1"
    work, timings = tmp_path / "work", {}
    _copy_class(work)
    _route(work, parallel, SEED, timings)
    _run(f"{EMBEDLAB} gradebook merge out-1 out-2 --out merged", work, timings, "merge")
    assert _outcomes(work / "merged") == _outcomes(work / "single")
    assert _rows(work / "merged") == _rows(work / "single")  # scores, modes and folders: this machine's
    assert {row["status"] for row in _rows(work / "merged").values()} == {"graded"}
    assert _rows(work / "merged")["syntax_error"]["ex01_input_pipeline"] == "10"  # not a class of zeros
    _resume(work, timings)
    print("timings (s):", timings)


@pytest.fixture
def sshd(tmp_path):
    """An sshd of this test on 127.0.0.1 (a free port), root's login by a key of its own: a "node"."""
    daemon, keygen, _ = _tool("sshd", "openssh-server"), _tool("ssh-keygen", "openssh-client"), _tool("rsync")
    keys = tmp_path / "ssh"
    keys.mkdir()
    for name in ("host", "node"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    shutil.copy(keys / "node.pub", keys / "authorized_keys")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nStrictModes no\nUsePAM no\n"
        f"PidFile {keys / 'sshd.pid'}\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    process = subprocess.Popen([daemon, "-D", "-f", str(keys / "sshd_config"), "-E", str(keys / "sshd.log")])
    ssh = (f"ssh -p {port} -i {keys / 'node'} -o BatchMode=yes -o StrictHostKeyChecking=no "
           f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
    try:
        for _ in range(50):
            if subprocess.run(f"{ssh} root@127.0.0.1 true", shell=True, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"sshd did not start: {(keys / 'sshd.log').read_text()[-500:]}")
        yield ssh
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_two_shards_over_ssh_graded_elsewhere_merge_and_resume_here_with_class(tmp_path, sshd):
    """The same route over real SSH (a node on this machine): the class travels to a work folder of the node,
    the output folders come back; their folders are the node's, so the merge is given --class."""
    _require_grading_data()
    work, timings = tmp_path / "work", {}
    _copy_class(work)
    parallel = (f"{_tool('parallel')} --will-cite --ssh {shlex.quote(sshd)} -S root@127.0.0.1 -j 2 "
                f"--halt now,fail=1 --workdir ... --transferfile {work}/./class --return out-{{}} --cleanup")
    _route(work, parallel, SEED, timings)
    graded = json.loads(next((work / "out-1" / "results").glob("*.json")).read_text())["folder"]
    assert not graded.startswith(str(work)), graded  # graded in the node's copy of the class
    done = _run(f"{EMBEDLAB} gradebook merge out-1 out-2 --out elsewhere", work, timings, "merge")
    assert "graded in folders not on this machine" in done.stderr
    _run(f"{EMBEDLAB} gradebook merge out-1 out-2 --out merged --class class", work, timings, "merge --class")
    assert _outcomes(work / "merged") == _outcomes(work / "single")
    assert _rows(work / "merged") == _rows(work / "single")
    _resume(work, timings)
    print("timings (s):", timings)
