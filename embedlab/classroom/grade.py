"""Grade submissions: one pytest process per submission, sandboxed workers inside it.

`grade_one` runs the graded suite (``tests/grading``, see
`embedlab.grading.suite`) on one submission folder in a separate pytest
process with ``--isolated`` (so the student's code runs only in sandboxed
workers, see `embedlab.isolation.sandbox`), and always leaves a valid
per-submission result file, even if that pytest process crashes or hangs.
`grade_many` grades a class in parallel (``jobs``), or one share of it
(``shard``, `embedlab.classroom.shards`: several machines, one class), skips
submissions already graded with the same files, folder, sandbox mode and
questions (resume, `embedlab.classroom.resume`), runs the grader's trusted
reference runs once for the class, and keeps the gradebook
(`embedlab.classroom.gradebook`) up to date. The class's questions seed
is kept in the output folder (``class.json``).

What an instructor must not miss travels in every result and gradebook
row: ``sandbox``, the isolation mode the workers ran in
(`embedlab.classroom.mode`, with a warning when it has no network
isolation); ``repeats``, with ``repeat=N`` the differences of N fresh
gradings (`embedlab.classroom.repeats`; the first grading's scores are
kept); ``implausible``, figures above the calibrated maxima
(`embedlab.classroom.plausibility`); ``flags``, all of them as sentences.

Layout of the output folder::

    results/<name>.json     one submission's result (atomic writes)
    figures/<name>/...      the plots of the student's embedding
    logs/<name>.log         the pytest process's output (logs/<name>.repeat<k>.log: a repeat's)
    gradebook.csv, gradebook.json
    class.json              the class's questions seed (owner only)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from embedlab import files, manifest
from embedlab.classroom import mode as modes
from embedlab.classroom import plausibility, repeats, shards
from embedlab.classroom.gradebook import write_gradebook
from embedlab.classroom.resume import RESULT_FORMAT, stored_result
from embedlab.classroom.submissions import submission_files, submission_hash, submission_names
from embedlab.grading.progress_display import ClassBar
from embedlab.grading.suite import suite_command
from embedlab.settings import Settings


# ------------------------------------------------------------------ results
def fallback_result(name: str, folder: Path, reason: str) -> dict:
    """Every exercise 0, with the reason: what a crashed grading still produces."""
    exercises = {}
    for exercise in manifest.load():
        exercises[exercise.id] = {
            "title": exercise.title, "bonus": exercise.bonus, "score": 0, "max_score": exercise.points,
            "tests": [{"exercise": exercise.id, "points": exercise.points, "passed": False,
                       "message": reason, "name": "grading"}],
        }
    maximum = sum(row["max_score"] for row in exercises.values() if not row["bonus"])
    return {"score": 0, "max_score": maximum, "bonus": 0, "exercises": exercises}


def _valid_pytest_payload(payload) -> bool:
    if not isinstance(payload, dict) or not isinstance(payload.get("exercises"), dict):
        return False
    for row in payload["exercises"].values():
        if not isinstance(row, dict) or not isinstance(row.get("tests"), list):
            return False
        if not all(isinstance(row.get(key), (int, float)) for key in ("score", "max_score")):
            return False
    return all(isinstance(payload.get(key), (int, float)) for key in ("score", "max_score"))


def _complete(payload: dict) -> dict:
    """Exercises the pytest run did not report (e.g. no tests yet) appear with 0 / their points."""
    exercises = payload["exercises"]
    for exercise in manifest.load():
        if exercise.id not in exercises:
            exercises[exercise.id] = {
                "title": exercise.title, "bonus": exercise.bonus, "score": 0, "max_score": 0, "tests": []}
    return payload


# --------------------------------------------------------------- one submission
def overall_time_limit(settings: Settings) -> float:
    """The longest a pytest process may take: every exercise's worker limit, plus margin."""
    per_exercise = [settings.time_limit_for(exercise) for exercise in manifest.load()]
    # An exercise with a trusted reference run may take two workers.
    return sum(per_exercise) * 2 + 300


def _grade_once(folder: Path, figures: Path, log_path: Path, settings: Settings,
                pytest_args: list[str] | None) -> tuple[dict, str, str | None]:
    """One fresh pytest process on `folder`: (its complete score table, status, reason)."""
    status, reason = "graded", None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="embedlab-grade-") as scratch:
        pytest_json = Path(scratch) / "pytest-results.json"
        command = suite_command(folder, pytest_json, isolated=True, output_dir=figures, settings=settings,
                                extra=["--color=no", *(pytest_args or [])])
        with open(log_path, "wb") as log:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            process = subprocess.Popen(command, cwd=str(files.REPOSITORY), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                # The run's own deadline cuts each worker's limit; a few seconds more before giving up on it.
                left = settings.seconds_left()
                limit = overall_time_limit(settings) if left is None else min(overall_time_limit(settings), left + 10)
                returncode = process.wait(timeout=max(limit, 1.0))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                returncode = None
                status, reason = "crashed", "the grading run took too long and was stopped"
        payload = None
        if pytest_json.is_file():
            try:
                payload = json.loads(pytest_json.read_text())
            except ValueError:
                payload = None
        if payload is None or not _valid_pytest_payload(payload):
            status = "crashed"
            if reason is None:
                tail = files.tail(log_path) or "(no log)"
                reason = (f"the grading run ended (status {returncode}) without a score table; "
                          f"the grader's log ends with: {tail}")
            payload = fallback_result(folder.name, folder, reason)
    return _complete(payload), status, reason


def judge(result: dict, mode: str, gradings: list[dict]) -> dict:
    """Add what the instructor must see to `result`: sandbox mode, repeats, implausible figures, flags."""
    seen = set().union(*(modes.reported(grading) for grading in gradings))
    result["sandbox"] = modes.weakest(seen | {mode})
    result["network_isolated"] = modes.network_isolated(result["sandbox"])
    flags = []
    if seen - {mode}:
        flags.append(f"workers reported sandbox modes {sorted(seen)}, the class was graded in {mode!r}")
    result["repeats"] = repeats.compare(gradings)
    if not result["repeats"]["consistent"]:
        flags.append(f"{len(gradings)} gradings differ: " + "; ".join(result["repeats"]["differences"][:5]))
    result["implausible"] = plausibility.flags(result)
    flags += [f"implausible: {flag}" for flag in result["implausible"]]
    result["flags"] = flags
    return result


def grade_one(folder: Path, out_dir: Path, settings: Settings, name: str | None = None, resume: bool = True,
              pytest_args: list[str] | None = None, repeat: int = 1, class_path: str | None = None) -> dict:
    """Grade one submission folder; write and return its result (never raises for the submission's faults).

    With ``repeat`` > 1 it is graded that many times, each fresh (never
    resumed); the first grading's scores are kept and every difference of
    the others is in ``result["repeats"]`` and ``result["flags"]``.
    ``class_path``: the folder relative to its class (see `shards.select`; default: its name).
    """
    folder = Path(folder).resolve()
    out_dir = Path(out_dir).resolve()
    name = name or submission_names([folder])[0]
    repeat = max(1, int(repeat))
    mode = modes.class_mode(settings)
    settings = settings.replace(sandbox=mode)  # every worker in this very mode, or none runs
    result_path = out_dir / "results" / f"{name}.json"
    digest = submission_hash(folder, settings.seed)
    if resume and repeat == 1 and result_path.is_file():
        previous = stored_result(result_path, digest, folder, mode, shards.fingerprint(settings.questions_seed))
        if previous is not None:
            return previous
    started = time.time()
    figures = out_dir / "figures" / name
    log_path = out_dir / "logs" / f"{name}.log"
    payload, status, reason = _grade_once(folder, figures, log_path, settings, pytest_args)
    gradings = [{**payload, "status": status}]
    for number in range(2, repeat + 1):
        with tempfile.TemporaryDirectory(prefix="embedlab-repeat-") as scratch:
            again, again_status, _ = _grade_once(folder, Path(scratch) / "figures",
                                                 out_dir / "logs" / f"{name}.repeat{number}.log", settings,
                                                 pytest_args)
        gradings.append({**again, "status": again_status})
    result = {
        "format": RESULT_FORMAT, "submission": name, "folder": str(folder), "hash": digest,
        **shards.identity(settings, class_path or folder.name), "status": status, "reason": reason,
        "score": payload["score"], "max_score": payload["max_score"], "bonus": payload.get("bonus", 0),
        "seconds": round(time.time() - started, 1), "files": [path.name for path in submission_files(folder)],
        "exercises": payload["exercises"], "figures": str(figures), "log": str(log_path),
    }
    judge(result, mode, gradings)
    files.write_json_atomic(result_path, result)
    return result


# ----------------------------------------------------------------- a class
def prepare_grading_data(settings: Settings) -> Path:
    """Build (once) the grading data and check that workers cannot read its labels."""
    from embedlab.grading import data as grading_data
    from embedlab.isolation.sandbox import Sandbox

    data_dir = Path(grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir))
    Sandbox(settings).check_labels_hidden(data_dir)
    return data_dir.resolve()


def prepare_references(folders: list[Path], data_dir: Path, settings: Settings) -> None:
    """The trusted reference runs, once for the whole class instead of once per submission."""
    from embedlab.grading import contract
    from embedlab.isolation.sandbox import Sandbox

    needed = [exercise.id for exercise in manifest.load()
              if contract.has_trusted_reference(exercise.id)
              and any((Path(folder) / exercise.module_file).is_file() for folder in folders)]
    if not needed:
        return
    sandbox = Sandbox(settings)
    # The class's questions: every submission's grading draws the same ones, so one trusted run serves all.
    questions = {exercise_id: contract.make_questions(exercise_id, data_dir, settings.questions_seed)
                 for exercise_id in needed}
    try:
        for exercise_id in needed:  # one forkserver serves them, one at a time
            sandbox.reference(exercise_id, data_dir, questions[exercise_id])
    finally:
        sandbox.close()  # its TensorFlow would stay in memory for the whole class


def grade_many(folders: list[Path], out_dir: Path, settings: Settings, jobs: int = 1, resume: bool = True,
               progress: bool = True, on_result=None, repeat: int = 1, shard: shards.Shard | None = None) -> list[dict]:
    """Grade every folder (in parallel), write per-submission results and the gradebook.

    The sandbox mode is resolved once for the class and every submission is
    graded in it; ``repeat`` > 1 grades each submission that many times
    (no resume), see `grade_one`. ``shard`` (K, N): only share K of `folders`
    is graded and returned (`shards.select`), with the class's questions seed.
    """
    folders = [Path(folder).resolve() for folder in folders]
    out_dir = Path(out_dir).resolve()
    mode = modes.class_mode(settings)
    # Every submission's pytest process then grades with exactly this data folder and this mode.
    settings = settings.replace(sandbox=mode)
    resume = resume and repeat <= 1
    # One draw of grading-time questions for the class, kept in out_dir (the same for --repeat, resume, shards).
    seed = shards.class_questions_seed(out_dir, settings, resume, sharded=shard is not None)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = prepare_grading_data(settings)
    settings = settings.replace(grading_data_dir=data_dir, questions_seed=seed)
    folders, names, paths = shards.select(folders, shard)  # named among the whole class, as on every shard
    todo = []
    results: dict[str, dict] = {}
    for folder, name in zip(folders, names):
        path = out_dir / "results" / f"{name}.json"
        previous = (stored_result(path, submission_hash(folder, settings.seed), folder, mode, shards.fingerprint(seed))
                    if resume and path.is_file() else None)
        if previous is not None:
            results[name] = previous
        else:
            todo.append((folder, name))
    if todo:
        prepare_references([folder for folder, _ in todo], data_dir, settings)
    bar = ClassBar(len(folders), len(results), show=progress)  # which submission, which of its exercises
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(grade_one, folder, out_dir, bar.settings_for(settings, name), name, False, None,
                                   repeat, paths[name]): (folder, name) for folder, name in todo}
            for future in as_completed(futures):
                folder, name = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # a grader bug must not lose the class
                    result = {"format": RESULT_FORMAT, "submission": name, "folder": str(folder), "hash": None,
                              **shards.identity(settings, paths[name]), "status": "crashed",
                              "reason": f"grader error: {error!r}",
                              **fallback_result(name, folder, f"grader error: {error!r}")}
                    judge(result, mode, [result])
                    files.write_json_atomic(out_dir / "results" / f"{name}.json", result)
                results[name] = result
                if on_result is not None:
                    on_result(result)
                write_gradebook(out_dir, list(results.values()))
                bar.done(name, result)
    finally:
        bar.close()
    write_gradebook(out_dir, list(results.values()))
    return [results[name] for name in names]
