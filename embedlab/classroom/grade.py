"""Grade submissions: one pytest process per submission, sandboxed workers inside it.

`grade_one` runs the graded suite (``tests/grading``, see
`embedlab.grading.suite`) on one submission folder in a separate pytest
process with ``--isolated`` (so the student's code runs only in sandboxed
workers, see `embedlab.isolation.sandbox`), and always leaves a valid
per-submission result file, even if that pytest process crashes or hangs.
`grade_many` grades a class in parallel (``jobs``), skips submissions
already graded with the same files (resume), runs the grader's trusted
reference runs once for the class, and keeps the gradebook
(`embedlab.classroom.gradebook`) up to date.

Layout of the output folder::

    results/<name>.json     one submission's result (atomic writes)
    figures/<name>/...      the plots of the student's embedding
    logs/<name>.log         the pytest process's output
    gradebook.csv, gradebook.json
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from embedlab import files, manifest
from embedlab.classroom.gradebook import write_gradebook
from embedlab.classroom.submissions import grader_version, submission_files, submission_hash, submission_names
from embedlab.grading.suite import suite_command
from embedlab.settings import Settings

RESULT_FORMAT = 1


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


def _stored(result_path: Path, digest: str) -> dict | None:
    """The stored result if it was graded from the same files, seed and grader (resume)."""
    try:
        previous = json.loads(result_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(previous, dict) or previous.get("hash") != digest or previous.get("format") != RESULT_FORMAT:
        return None
    previous["resumed"] = True
    return previous


# --------------------------------------------------------------- one submission
def overall_time_limit(settings: Settings) -> float:
    """The longest a pytest process may take: every exercise's worker limit, plus margin."""
    per_exercise = [settings.time_limit_for(exercise) for exercise in manifest.load()]
    # An exercise with a trusted reference run may take two workers.
    return sum(per_exercise) * 2 + 300


def grade_one(folder: Path, out_dir: Path, settings: Settings, name: str | None = None, resume: bool = True,
              pytest_args: list[str] | None = None) -> dict:
    """Grade one submission folder; write and return its result (never raises for the submission's faults)."""
    folder = Path(folder).resolve()
    out_dir = Path(out_dir).resolve()
    name = name or submission_names([folder])[0]
    result_path = out_dir / "results" / f"{name}.json"
    digest = submission_hash(folder, settings.seed)
    if resume and result_path.is_file():
        previous = _stored(result_path, digest)
        if previous is not None:
            return previous
    started = time.time()
    figures = out_dir / "figures" / name
    log_path = out_dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    status, reason = "graded", None
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
                returncode = process.wait(timeout=overall_time_limit(settings))
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
            payload = fallback_result(name, folder, reason)
    payload = _complete(payload)
    result = {
        "format": RESULT_FORMAT, "submission": name, "folder": str(folder), "hash": digest,
        "grader_version": grader_version(), "status": status, "reason": reason,
        "score": payload["score"], "max_score": payload["max_score"], "bonus": payload.get("bonus", 0),
        "seconds": round(time.time() - started, 1), "files": [path.name for path in submission_files(folder)],
        "exercises": payload["exercises"], "figures": str(figures), "log": str(log_path),
    }
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


def prepare_references(folders: list[Path], data_dir: Path, settings: Settings, jobs: int) -> None:
    """The trusted reference runs, once for the whole class instead of once per submission."""
    from embedlab.grading import contract
    from embedlab.isolation.sandbox import Sandbox

    needed = [exercise.id for exercise in manifest.load()
              if contract.has_trusted_reference(exercise.id)
              and any((Path(folder) / exercise.module_file).is_file() for folder in folders)]
    if not needed:
        return
    sandbox = Sandbox(settings)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(sandbox.reference, exercise_id, data_dir) for exercise_id in needed]:
            future.result()


def grade_many(folders: list[Path], out_dir: Path, settings: Settings, jobs: int = 1, resume: bool = True,
               progress: bool = True, on_result=None) -> list[dict]:
    """Grade every folder (in parallel), write per-submission results and the gradebook."""
    folders = [Path(folder).resolve() for folder in folders]
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = prepare_grading_data(settings)
    # Every submission's pytest process then grades with exactly this data folder.
    settings = settings.replace(grading_data_dir=data_dir)
    names = submission_names(folders)
    todo = []
    results: dict[str, dict] = {}
    for folder, name in zip(folders, names):
        path = out_dir / "results" / f"{name}.json"
        previous = _stored(path, submission_hash(folder, settings.seed)) if resume and path.is_file() else None
        if previous is not None:
            results[name] = previous
        else:
            todo.append((folder, name))
    if todo:
        prepare_references([folder for folder, _ in todo], data_dir, settings, jobs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(folders), initial=len(results), unit="submission", desc="grading",
                   file=sys.stderr, dynamic_ncols=True)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(grade_one, folder, out_dir, settings, name, False): (folder, name)
                       for folder, name in todo}
            for future in as_completed(futures):
                folder, name = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # a grader bug must not lose the class
                    result = {"format": RESULT_FORMAT, "submission": name, "folder": str(folder),
                              "hash": None, "status": "crashed", "reason": f"grader error: {error!r}",
                              **fallback_result(name, folder, f"grader error: {error!r}")}
                    files.write_json_atomic(out_dir / "results" / f"{name}.json", result)
                results[name] = result
                if on_result is not None:
                    on_result(result)
                write_gradebook(out_dir, list(results.values()))
                if bar is not None:
                    bar.set_postfix_str(f"{name}: {result['score']}/{result['max_score']}")
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    write_gradebook(out_dir, list(results.values()))
    return [results[name] for name in names]
