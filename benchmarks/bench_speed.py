"""Grading speed and memory, this checkout against another one, side by side in one run.

    python benchmarks/bench_speed.py --before-python /venv-old/bin/python --before-tfrecords /data-old
    python benchmarks/bench_speed.py            # this checkout only

For each version (``after``: the Python running this script and its
embedlab; ``before``: ``--before-python``, a venv whose embedlab is another
checkout, graded on its own copy of the prepared data):

* **in-process suite**: wall seconds of the graded suite on ``solutions/`` in
  one pytest process (``pytest tests/grading --target solutions``);
* **one submission**: wall seconds of ``embedlab grade solutions`` alone (the
  class-wide trusted reference runs included), and of its pytest process
  (``seconds`` in its result: the reference runs excluded), with the ratio of
  the latter to the in-process suite;
* **a class**: ``--copies`` copies of ``solutions/`` graded with ``--jobs 2``:
  seconds per submission (median, max), submissions per minute, scores;
* **TensorFlow imports per submission**: processes that loaded
  libtensorflow themselves (their parent had not), counted from the process
  table every 0.2 s during the one-submission grading;
* **per exercise** (``--exercises``): a worker's seconds and peak memory as
  its supervisor measured it, from direct `Sandbox.run_exercise` calls.

Run it on a quiet machine: any other CPU-heavy process stretches every
figure (3-5x seen here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _embedlab_root(python: str) -> Path:
    code = "import embedlab, pathlib; print(pathlib.Path(embedlab.__file__).resolve().parent.parent)"
    # From /: a checkout in the working folder would shadow the one the Python has installed.
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return Path(done.stdout.strip())


class ImportCounter(threading.Thread):
    """Counts processes that mapped libtensorflow while their parent had not (each one imported it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.importers: set[tuple[int, float]] = set()
        self.stop = threading.Event()

    @staticmethod
    def _maps_tensorflow(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/maps") as handle:
                return any("libtensorflow" in line for line in handle)
        except OSError:
            return False

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            for process in psutil.process_iter(["pid", "ppid", "create_time"]):
                info = process.info
                key = (info["pid"], info["create_time"])
                if key in self.importers or not self._maps_tensorflow(info["pid"]):
                    continue
                if not self._maps_tensorflow(info["ppid"]):
                    self.importers.add(key)
            time.sleep(0.2)


def _timed(command: list[str], env: dict, cwd: Path, count_imports: bool = False) -> tuple[float, int | None]:
    counter = ImportCounter() if count_imports else None
    if counter:
        counter.start()
    started = time.monotonic()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if counter:
        counter.stop.set()
        counter.join()
    return seconds, len(counter.importers) if counter else None


def _per_exercise(python: str, env: dict) -> dict:
    code = r'''
import json, sys
from pathlib import Path
from embedlab import files, manifest
from embedlab.grading import contract, data
from embedlab.isolation.sandbox import Sandbox
from embedlab.settings import Settings
settings = Settings.from_environment()
data_dir = data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
sandbox = Sandbox(settings)
rows = {}
for exercise in manifest.load():
    questions = contract.make_questions(exercise.id, data_dir, 1)
    result = sandbox.run_exercise(exercise.id, files.SOLUTIONS, data_dir, questions=questions)
    rows[exercise.id] = {"seconds": result.get("worker_seconds"),
                         "peak_mb": result.get("worker_peak_memory_mb", result.get("worker_peak_tree_rss_mb")),
                         "errors": sorted(result.get("errors", {}))}
print(json.dumps(rows))
'''
    done = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=True, cwd="/")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(python: str, tfrecords: Path, copies: int, exercises: bool, scratch: Path) -> dict:
    root = _embedlab_root(python)
    env = {**os.environ, "EMBEDLAB_TFRECORDS": str(tfrecords), "EMBEDLAB_QUESTIONS_SEED": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("CI", None)
    figures: dict = {"checkout": str(root)}
    suite = [python, "-m", "pytest", "tests/grading", "-p", "embedlab.pytest_plugin", "--target=solutions", "-q",
             "-p", "no:cacheprovider", f"--results-json={scratch / 'inprocess.json'}"]
    figures["in_process_s"], _ = _timed(suite, env, root)
    out = scratch / "one"
    command = [python, "-m", "embedlab", "grade", str(root / "solutions"), "--out", str(out), "--no-resume",
               "--jobs", "1"]
    figures["one_wall_s"], figures["tensorflow_imports"] = _timed(command, env, root, count_imports=True)
    one = json.loads(next((out / "results").glob("*.json")).read_text())
    figures["one_pytest_s"] = one["seconds"]
    figures["ratio_to_in_process"] = round(one["seconds"] / figures["in_process_s"], 2)
    figures["one_score"] = f"{one['score']}/{one['max_score']} +{one.get('bonus', 0)}"
    print(json.dumps(figures), file=sys.stderr, flush=True)  # so far, should a later step fail
    if copies:
        klass = scratch / "class"
        for index in range(copies):
            shutil.copytree(root / "solutions", klass / f"student{index:02d}")
        out = scratch / "class-out"
        command = [python, "-m", "embedlab", "grade", *map(str, sorted(klass.iterdir())), "--out", str(out),
                   "--no-resume", "--jobs", "2"]
        figures["class_wall_s"], _ = _timed(command, env, root)
        rows = [json.loads(path.read_text()) for path in sorted((out / "results").glob("*.json"))]
        seconds = [row["seconds"] for row in rows]
        figures.update(class_median_s=statistics.median(seconds), class_max_s=max(seconds),
                       per_minute=round(60 * len(rows) / figures["class_wall_s"], 2),
                       class_scores=sorted({f"{row['score']}/{row['max_score']} +{row.get('bonus', 0)}"
                                            for row in rows}))
    if exercises:
        figures["exercises"] = _per_exercise(python, env)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-python", help="a Python whose embedlab is the other checkout")
    parser.add_argument("--before-tfrecords", type=Path, help="the other checkout's prepared data (a copy)")
    parser.add_argument("--tfrecords", type=Path, default=HERE / "tfrecords")
    parser.add_argument("--copies", type=int, default=10, help="submissions in the class run (0: none)")
    parser.add_argument("--no-exercises", action="store_true", help="skip the per-exercise runs")
    args = parser.parse_args()
    versions = [("after", sys.executable, args.tfrecords)]
    if args.before_python:
        versions.insert(0, ("before", args.before_python, args.before_tfrecords or args.tfrecords))
    report = {}
    for name, python, tfrecords in versions:
        with tempfile.TemporaryDirectory(prefix=f"embedlab-bench-{name}-") as scratch:
            report[name] = measure(python, Path(tfrecords).resolve(), args.copies, not args.no_exercises,
                                   Path(scratch))
        print(json.dumps({name: report[name]}), flush=True)
    keys = ["in_process_s", "one_wall_s", "one_pytest_s", "ratio_to_in_process", "tensorflow_imports", "one_score",
            "class_median_s", "class_max_s", "per_minute", "class_scores"]
    print(f"\n{'figure':24}" + "".join(f"{name:>24}" for name in report))
    for key in keys:
        print(f"{key:24}" + "".join(f"{_fmt(report[name].get(key)):>24}" for name in report))
    for exercise_id in report[versions[-1][0]].get("exercises", {}):
        cells = []
        for name in report:
            row = report[name].get("exercises", {}).get(exercise_id, {})
            cells.append(f"{_fmt(row.get('seconds'))} s {_fmt(row.get('peak_mb'))} MB")
        print(f"{exercise_id:24}" + "".join(f"{cell:>24}" for cell in cells))
    return 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, list):
        return ",".join(value)
    return "-" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
