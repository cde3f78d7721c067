"""Grade many submissions: one pytest process per submission, workers inside, a gradebook at the end.

`grade_one` runs the graded suite (``tests/grading``) on one submission
folder in a separate pytest process with ``--isolated`` (so the student's
code runs only in sandboxed workers, see `embedlab.isolation.sandbox`), and always
leaves a valid per-submission result file, even if that pytest process
crashes or hangs. `grade_many` grades a class in parallel (``jobs``), skips
submissions already graded with the same files (resume), and writes the
gradebook (CSV and JSON).

Layout of the output folder::

    results/<name>.json     one submission's result (atomic writes)
    figures/<name>/...      the plots of the student's embedding
    logs/<name>.log         the pytest process's output
    gradebook.csv, gradebook.json
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from embedlab import manifest

from embedlab.files import REPOSITORY
GRADING_TESTS = REPOSITORY / "tests" / "grading"
RESULT_FORMAT = 1


# ------------------------------------------------------------------ helpers
def write_json_atomic(path: Path, payload) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(payload, stream, indent=2, default=str)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


def write_text_atomic(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    os.replace(partial, path)


@functools.lru_cache(maxsize=None)
def grader_version() -> str:
    """A hash of the grader's own code and tests: a change regrades everything."""
    from embedlab import files

    return files.code_version(*sorted(GRADING_TESTS.glob("*.py")))


def submission_files(folder: Path) -> list[Path]:
    return [path for path in sorted(Path(folder).glob("*.py")) if path.is_file() and not path.is_symlink()]


def submission_hash(folder: Path, seed: int | None = None) -> str:
    """The submission's .py files (names and bytes), the seed and the grader's version."""
    digest = hashlib.sha256(f"{grader_version()}|{seed}".encode())
    for path in submission_files(folder):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def submission_names(folders: list[Path]) -> list[str]:
    """A file-system-safe, unique name per submission folder."""
    names, seen = [], {}
    for folder in folders:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(folder).resolve().name) or "submission"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}-{count + 1}")
    return names


def graded_exercises() -> list:
    return list(manifest.load())


def fallback_result(name: str, folder: Path, reason: str) -> dict:
    """Every exercise 0, with the reason: what a crashed grading still produces."""
    exercises = {}
    for exercise in graded_exercises():
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
    for exercise in graded_exercises():
        if exercise.id not in exercises:
            exercises[exercise.id] = {
                "title": exercise.title, "bonus": exercise.bonus, "score": 0, "max_score": 0, "tests": []}
    return payload


# --------------------------------------------------------------- one submission
def pytest_command(folder: Path, results_json: Path, figures: Path, data_dir: Path | None, seed: int | None,
                   extra: list[str] | None = None) -> list[str]:
    # Every path-valued option as ONE token (--target=PATH): pytest's early argument scan takes a
    # separate value of an option it does not know yet for a test path, and loads the conftest.py
    # found there. --confcutdir keeps it from loading any conftest.py outside tests/grading, and
    # the plugin comes with -p since tests/conftest.py is outside that too.
    command = [sys.executable, "-m", "pytest", str(GRADING_TESTS), "-p", "embedlab.pytest_plugin",
               f"--confcutdir={GRADING_TESTS}", f"--rootdir={REPOSITORY}", f"--config-file={REPOSITORY / 'pyproject.toml'}",
               f"--target={Path(folder).resolve()}", "--isolated", f"--results-json={results_json}",
               f"--output-dir={figures}", "-p", "no:cacheprovider", "-q", "--no-header", "-rN", "--color=no"]
    if data_dir is not None:
        command += [f"--grading-data={data_dir}"]
    if seed is not None:
        command += [f"--seed={seed}"]
    return command + list(extra or [])


def overall_time_limit() -> float:
    """The longest a pytest process may take: every exercise's worker limit, plus margin."""
    override = os.environ.get("EMBEDLAB_TIME_LIMIT")
    per_exercise = [float(override) if override else exercise.time_limit for exercise in graded_exercises()]
    # An exercise with a reference run (5-7) may take two workers.
    return sum(per_exercise) * 2 + 300


def grade_one(folder: Path, out_dir: Path, name: str | None = None, data_dir: Path | None = None,
              seed: int | None = None, resume: bool = True, pytest_args: list[str] | None = None) -> dict:
    """Grade one submission folder; write and return its result (never raises for the submission's faults)."""
    folder = Path(folder).resolve()
    out_dir = Path(out_dir).resolve()
    name = name or submission_names([folder])[0]
    result_path = out_dir / "results" / f"{name}.json"
    digest = submission_hash(folder, seed)
    if resume and result_path.is_file():
        try:
            previous = json.loads(result_path.read_text())
            if previous.get("hash") == digest and previous.get("format") == RESULT_FORMAT:
                previous["resumed"] = True
                return previous
        except (OSError, ValueError):
            pass
    started = time.time()
    figures = out_dir / "figures" / name
    log_path = out_dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    status, reason = "graded", None
    with tempfile.TemporaryDirectory(prefix="embedlab-grade-") as scratch:
        pytest_json = Path(scratch) / "pytest-results.json"
        command = pytest_command(folder, pytest_json, figures, data_dir, seed, pytest_args)
        with open(log_path, "wb") as log:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            process = subprocess.Popen(command, cwd=str(REPOSITORY), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                returncode = process.wait(timeout=overall_time_limit())
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
                tail = _log_tail(log_path)
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
    write_json_atomic(result_path, result)
    return result


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-600:]


# ----------------------------------------------------------------- a class
def prepare_grading_data(data_dir: Path | None = None) -> Path:
    """Build (once) the grading data and check that workers cannot read its labels."""
    from embedlab.grading import data as grading_data
    from embedlab.isolation import sandbox

    data_dir = Path(data_dir) if data_dir else grading_data.ensure()
    sandbox.check_labels_hidden(data_dir)
    return data_dir.resolve()


def prepare_references(folders: list[Path], data_dir: Path, seed: int | None, jobs: int) -> None:
    """The trusted reference runs (exercises 5-7), once for the whole class instead of once per submission."""
    from embedlab.isolation import sandbox

    needed = [exercise_id for exercise_id in sandbox.REFERENCE_KEYS
              if any((Path(folder) / manifest.get(exercise_id).module_file).is_file() for folder in folders)]
    if not needed:
        return
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(sandbox.reference, exercise_id, data_dir,
                                   manifest.grading_seed() if seed is None else seed) for exercise_id in needed]:
            future.result()


def gradebook_rows(results: list[dict]) -> list[dict]:
    rows = []
    for result in results:
        row = {"submission": result["submission"], "score": result["score"], "max_score": result["max_score"],
               "bonus": result.get("bonus", 0), "status": result["status"], "seconds": result.get("seconds")}
        for exercise in graded_exercises():
            row[exercise.id] = result["exercises"].get(exercise.id, {}).get("score", 0)
        row["folder"] = result["folder"]
        rows.append(row)
    return rows


def write_gradebook(out_dir: Path, results: list[dict]) -> tuple[Path, Path]:
    rows = gradebook_rows(sorted(results, key=lambda result: result["submission"]))
    fields = ["submission", "score", "max_score", "bonus", *[e.id for e in graded_exercises()], "status",
              "seconds", "folder"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    csv_path, json_path = Path(out_dir) / "gradebook.csv", Path(out_dir) / "gradebook.json"
    write_text_atomic(csv_path, buffer.getvalue())
    maxima = {exercise.id: exercise.points for exercise in graded_exercises()}
    write_json_atomic(json_path, {"grader_version": grader_version(), "max_points": maxima, "submissions": rows})
    return csv_path, json_path


def grade_many(folders: list[Path], out_dir: Path, jobs: int = 1, data_dir: Path | None = None,
               seed: int | None = None, resume: bool = True, progress: bool = True,
               on_result=None) -> list[dict]:
    """Grade every folder (in parallel), write per-submission results and the gradebook."""
    folders = [Path(folder).resolve() for folder in folders]
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = prepare_grading_data(data_dir)
    names = submission_names(folders)
    todo = []
    results: dict[str, dict] = {}
    for folder, name in zip(folders, names):
        path = out_dir / "results" / f"{name}.json"
        if resume and path.is_file():
            try:
                previous = json.loads(path.read_text())
                if previous.get("hash") == submission_hash(folder, seed) and previous.get("format") == RESULT_FORMAT:
                    previous["resumed"] = True
                    results[name] = previous
                    continue
            except (OSError, ValueError):
                pass
        todo.append((folder, name))
    if todo:
        prepare_references([folder for folder, _ in todo], data_dir, seed, jobs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(folders), initial=len(results), unit="submission", desc="grading",
                   file=sys.stderr, dynamic_ncols=True)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(grade_one, folder, out_dir, name, data_dir, seed, False): name
                       for folder, name in todo}
            for future in as_completed(futures):
                name = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - a grader bug must not lose the class
                    folder = dict((n, f) for f, n in todo)[name]
                    result = {"format": RESULT_FORMAT, "submission": name, "folder": str(folder),
                              "hash": None, "status": "crashed", "reason": f"grader error: {error!r}",
                              **fallback_result(name, folder, f"grader error: {error!r}")}
                    write_json_atomic(out_dir / "results" / f"{name}.json", result)
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


# --------------------------------------------------------------- reporting
def format_report(result: dict) -> str:
    """A submission's score per exercise, and the reason for every lost point."""
    lines = [f"{result['submission']}: {result['score']} / {result['max_score']}"
             + (f" (+{result['bonus']} bonus)" if result.get("bonus") else "")
             + ("" if result["status"] == "graded" else f"  [{result['status']}: {result.get('reason')}]")]
    for exercise_id, row in result["exercises"].items():
        if not row.get("max_score") and not row.get("tests"):
            continue
        lines.append(f"  {exercise_id:<26} {row['score']:>3} / {row['max_score']:<3}"
                     + ("  (bonus)" if row.get("bonus") else ""))
        for test in row["tests"]:
            if not test["passed"] and test.get("points"):
                message = " ".join(str(test.get("message", "")).split())
                lines.append(f"      -{test['points']}: {test.get('name')}: {message[:400]}")
    return "\n".join(lines)
