"""The grader's own training: one batch per call into TensorFlow against several, side by side.

    python benchmarks/bench_fit.py                   # every model exercise, 2 paired rounds (~6 min on 2 cores)
    python benchmarks/bench_fit.py --numbers 2,4 --repeats 3

For each exercise whose budget trains a model (epochs in exercises.toml), the
reference solution is collected the way the grader collects a submission
(`embedlab.grading.contract.collect`, in this process), once with
``training.STEPS_PER_EXECUTION = 1`` (Keras' default: how the grader trained
before) and once with the grader's setting, in alternating order. Prints per
exercise and setting the median seconds of its training steps (graph building
included) and of the whole collection, then whether every exported array
(trained weights, matrices, answers) is identical, the largest difference if
not, and the test accuracy and AUC the grader computes from each. CPU seconds
(of this process, every thread) vary less than wall seconds on a busy machine.

The machine's load average is printed too: figures taken while other work
runs are slow and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from embedlab import files, manifest  # noqa: E402
from embedlab.quiet import quiet_tensorflow  # noqa: E402

QUESTIONS_SEED = 1  # any fixed draw: the questions do not change the training


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", default="", help="exercise numbers, comma-separated (default: every model one)")
    parser.add_argument("--repeats", type=int, default=2, help="paired rounds per exercise (default: 2)")
    parser.add_argument("--tfrecords", default=str(files.DEFAULT_TFRECORDS), help="the prepared TFRecords folder")
    parser.add_argument("--grading-data", default=None, help="grading-data folder (default: from the TFRecords)")
    args = parser.parse_args(argv)
    wanted = {int(number) for number in args.numbers.split(",") if number.strip()}
    exercises = [exercise for exercise in manifest.load() if exercise.budget and exercise.budget.epochs
                 and (not wanted or exercise.number in wanted)]
    if not exercises:
        parser.error(f"no model exercise among {sorted(wanted)}")

    quiet_tensorflow()
    from embedlab.grading import data as grading_data
    from embedlab.grading import training

    data_dir = grading_data.ensure(Path(args.tfrecords), args.grading_data)
    labels = grading_data.load_test_labels(data_dir)
    settings = {"one": 1, "several": training.STEPS_PER_EXECUTION}
    print(f"machine: {os.cpu_count()} cores, load average {_load()}; steps per execution: {settings}")
    # Untimed: the first training of a process also pays TensorFlow's own start-up.
    _collect(exercises[0], data_dir, labels)
    for exercise in exercises:
        runs: dict[str, list[dict]] = {name: [] for name in settings}
        for round_number in range(args.repeats):
            order = list(settings) if round_number % 2 == 0 else list(settings)[::-1]
            for name in order:
                training.STEPS_PER_EXECUTION = settings[name]
                runs[name].append(_collect(exercise, data_dir, labels))
        training.STEPS_PER_EXECUTION = settings["several"]
        _report(exercise, runs)
    print(f"load average at the end: {_load()}")
    return 0


def _collect(exercise, data_dir: Path, labels) -> dict:
    from embedlab.grading import contract, scoring

    questions = contract.make_questions(exercise.id, data_dir, QUESTIONS_SEED)
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="embedlab-bench-fit-") as out_dir:  # exercise 6's plots
        result = contract.collect(exercise.id, files.SOLUTIONS / exercise.module_file, data_dir,
                                  questions=questions, out_dir=Path(out_dir))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    run = {"seconds": seconds, "cpu": cpu, "errors": result["errors"],
           "train": sum(value for step, value in result["seconds"].items() if step.startswith("train")),
           "arrays": {key: value for key, value in result.items()
                      if key.endswith(("weights", "matrix", "answers")) and value is not None}}
    if not hasattr(contract.collector(exercise.id), "test_predictions"):
        run["figures"] = "no test predictions (the exercise scores no model)"
        return run
    try:
        predictions = contract.test_predictions(exercise.id, result, questions, data_dir)
        run["figures"] = (scoring.accuracy(predictions, labels), scoring.roc_auc(predictions, labels))
    except contract.Refused as refused:
        run["figures"] = f"refused: {refused}"
    return run


def _report(exercise, runs: dict[str, list[dict]]) -> None:
    import numpy as np

    print(f"\n{exercise.id} (budget: {exercise.budget})")
    for name, done in runs.items():
        errors = [run["errors"] for run in done if run["errors"]]
        each = ", ".join(f"{run['train']:.2f}" for run in done)
        print(f"  {name:8s} steps per call: training {statistics.median(r['train'] for r in done):6.2f} s, "
              f"collection {statistics.median(r['seconds'] for r in done):6.2f} s, "
              f"{statistics.median(r['cpu'] for r in done):6.2f} CPU-s (training runs: {each})"
              + (f"; errors {errors[0]}" if errors else ""))
    one, several = runs["one"][0], runs["several"][0]
    largest = 0.0
    for key in sorted(set(one["arrays"]) | set(several["arrays"])):
        first, second = one["arrays"].get(key), several["arrays"].get(key)
        if first is None or second is None:
            print(f"  {key}: only in one of the two runs")
            continue
        pairs = zip(first, second) if isinstance(first, list) else [(first, second)]
        for a, b in pairs:
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            largest = max(largest, np.inf if a.shape != b.shape else float(np.max(np.abs(a - b), initial=0.0)))
    same = all(run["arrays"].keys() == one["arrays"].keys() for run in runs["one"] + runs["several"])
    print(f"  exported arrays: {'identical' if largest == 0.0 and same else f'largest difference {largest:.3g}'}")
    for name, done in runs.items():
        figures = done[0]["figures"]
        text = figures if isinstance(figures, str) else f"accuracy {figures[0]:.10f}, AUC {figures[1]:.10f}"
        print(f"  {name:8s} steps per call: {text}")


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
