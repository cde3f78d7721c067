"""Figures of the class grader: attacks caught, reproducibility, throughput, memory per worker.

    python benchmarks/bench_grade.py                 # everything (~15-20 min on 2 cores)
    python benchmarks/bench_grade.py --skip-reruns   # without the 5 reruns of solutions/

Prints:
* adversarial fixtures caught / total, and forged results that survived (must be 0);
* the score spread over 5 gradings of the reference solutions (solutions/);
* seconds per submission (median, max) and submissions per minute with --jobs 2
  (4 copies of solutions/);
* peak memory per worker (parent-side RSS sampling of the worker's process tree).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from embedlab import manifest  # noqa: E402
from embedlab.classroom import grade  # noqa: E402
from embedlab.isolation.sandbox import Sandbox  # noqa: E402
from embedlab.settings import Settings  # noqa: E402

ATTACK_TIME_LIMIT = 25.0  # seconds per worker for the attack fixtures, as tests/test_sandbox.py grades them


def adversarial(out: Path, settings: Settings) -> dict:
    expected = tomllib.loads((REPOSITORY / "tests" / "adversarial" / "expected.toml").read_text())
    results = grade.grade_many([REPOSITORY / "tests" / "adversarial" / name for name in expected], out,
                               settings.replace(time_limit=ATTACK_TIME_LIMIT), jobs=2, resume=False, progress=True)
    caught, survived, details = 0, 0, []
    for result in results:
        want = expected[result["submission"]]
        ok = result["status"] == "graded"
        for exercise_id, row in result["exercises"].items():
            if exercise_id in want.get("scores", {}):
                ok &= row["score"] == want["scores"][exercise_id]
            elif exercise_id not in want.get("failed", {}):
                ok &= row["score"] == 0
        for exercise_id, titles in want.get("failed", {}).items():
            tests = result["exercises"][exercise_id]["tests"]
            ok &= all(any(title in t["name"] and not t["passed"] for t in tests) for title in titles)
        caught += ok
        details.append((result["submission"], ok, result["score"]))
    forged = [path for path in out.rglob("*.json")
              if path.name not in {"gradebook.json", *(f"{name}.json" for name in expected)}]
    survived = len(forged) + sum(1 for name, ok, _ in details if not ok and "fake" in name)
    return {"caught": caught, "total": len(results), "forged_survived": survived, "details": details}


def reruns(out: Path, settings: Settings, count: int) -> dict:
    scores, per_test = [], []
    for index in range(count):
        result = grade.grade_one(REPOSITORY / "solutions", out / f"rerun{index}", settings, name="solutions",
                                 resume=False)
        scores.append((result["score"], result.get("bonus", 0)))
        per_test.append({exercise_id: row["score"] for exercise_id, row in result["exercises"].items()})
        print(f"  rerun {index + 1}: {result['score']} / {result['max_score']} in {result['seconds']} s", flush=True)
    return {"scores": scores, "identical": all(row == per_test[0] for row in per_test)}


def throughput(out: Path, settings: Settings, copies: int, jobs: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="bench-class-"))
    folders = []
    for index in range(copies):
        folder = scratch / f"student{index}"
        shutil.copytree(REPOSITORY / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
        folders.append(folder)
    started = time.time()
    results = grade.grade_many(folders, out, settings, jobs=jobs, resume=False, progress=True)
    wall = time.time() - started
    seconds = [result["seconds"] for result in results]
    shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds_median": statistics.median(seconds), "seconds_max": max(seconds), "wall": wall,
            "per_minute": 60 * len(results) / wall, "scores": [r["score"] for r in results]}


def worker_memory(settings: Settings, data_dir: Path) -> dict:
    sandbox = Sandbox(settings)
    peaks = {}
    for exercise in manifest.load():
        if not (REPOSITORY / "solutions" / exercise.module_file).is_file():
            continue
        result = sandbox.run_exercise(exercise.id, REPOSITORY / "solutions", data_dir)
        peaks[exercise.id] = (result.get("worker_peak_tree_rss_mb"), result.get("worker_seconds"))
        print(f"  {exercise.id}: peak RSS {peaks[exercise.id][0]} MB, {peaks[exercise.id][1]} s", flush=True)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-reruns", action="store_true")
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    settings = Settings.from_environment()
    data_dir = grade.prepare_grading_data(settings)
    # Every grading below uses this one data folder.
    settings = settings.replace(grading_data_dir=data_dir)
    out = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    figures = {}

    print("adversarial fixtures ...", flush=True)
    figures["adversarial"] = adversarial(out / "adversarial", settings)
    print(f"  caught {figures['adversarial']['caught']} / {figures['adversarial']['total']}; "
          f"forged results that survived: {figures['adversarial']['forged_survived']}")
    for name, ok, score in figures["adversarial"]["details"]:
        print(f"    {'ok ' if ok else 'BAD'} {name}: {score}")

    print("peak memory per worker (solutions/) ...", flush=True)
    figures["worker_memory"] = worker_memory(settings, data_dir)

    if not args.skip_reruns:
        print(f"{args.reruns} gradings of solutions/ ...", flush=True)
        figures["reruns"] = reruns(out, settings, args.reruns)
        print(f"  scores {figures['reruns']['scores']}; identical per exercise: {figures['reruns']['identical']}")

    print(f"{args.copies} copies of solutions/ with --jobs {args.jobs} ...", flush=True)
    figures["throughput"] = throughput(out / "class", settings, args.copies, args.jobs)
    t = figures["throughput"]
    print(f"  seconds per submission: median {t['seconds_median']:.0f}, max {t['seconds_max']:.0f}; "
          f"{t['per_minute']:.2f} submissions per minute (wall {t['wall']:.0f} s); scores {t['scores']}")
    print(json.dumps(figures, indent=2, default=str))
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
