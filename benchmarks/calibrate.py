"""Calibrate the model exercises' pass marks from runs of the reference solutions.

Usage::

    python benchmarks/calibrate.py [--runs 6] [--exercises ex02 ex07 ...]
                                   [--variant-runs 3] [--no-variants]
                                   [--update-manifest]

For every model exercise (``is_model``: those with ``thresholds`` in
exercises.toml), and every exercise graded on figures of its own (``marks``:
`calibration_marks.py`), it trains the reference solution in ``solutions/`` exactly
as the autograder does (`embedlab.grading.contract.collect`: the grader's
pipeline, budget and seeding) with seeds 1..runs-1 and the grader's own
seed, and scores the test predictions with `embedlab.grading.scoring`. The
pass mark is ``floor_to_2_decimals(min over runs - margin)`` for accuracy
and AUC alike, with the exercise's ``margin`` from exercises.toml. The weak
variants of ``tests/variants/`` that must fail on score must fall
below the pass marks.

It prints a summary and writes ``docs/calibration.md``
(``benchmarks/calibration_report.py``); with ``--update-manifest`` also the
pass marks into ``embedlab/exercises.toml`` (only when every run passed and
every accuracy-weak variant failed). Runs happen one after the other (2
cores: two trainings at once would distort the timings); expect about 15
minutes for the default 6 runs of all exercises plus 3 of each weak variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calibration_marks import (
    marks_exercises,
    marks_report,
    misses,
    run_mark_variants,
    run_marks,
    set_manifest_line,
    update_marks,
)
from calibration_report import below, format_report, summarize

from embedlab import files, manifest
from embedlab.errors import EmbedlabError

REPORT = files.REPOSITORY / "docs" / "calibration.md"


def model_exercises() -> list[manifest.Exercise]:
    return [exercise for exercise in manifest.load() if exercise.is_model]


def geometry_exercise() -> manifest.Exercise:
    """The exercise that judges a barely trained embedding too (its budget has short_steps): exercise 6."""
    return next(exercise for exercise in manifest.load() if exercise.budget and exercise.budget.short_steps)


def load_variants() -> dict[str, dict]:
    """The weak variants of tests/variants/ whose graded exercise is a model exercise."""
    from embedlab.authoring import variants

    ids = {exercise.id for exercise in model_exercises()}
    return {variant["name"]: variant for variant in variants.load()
            if variant["graded"] in ids and not variants.is_style(variant)}


# ---------------------------------------------------------------- measuring
def run_seeds(runs: int) -> list[int]:
    """Seeds 1..runs-1 and the grader's own seed (the one that decides a grade)."""
    return [*range(1, runs), manifest.grading_seed()] if runs > 0 else []


def measure(exercise_id: str, module_path: Path, data_dir: Path, labels, seed: int) -> dict:
    import keras

    from embedlab.grading import contract as harness
    from embedlab.grading import scoring

    keras.backend.clear_session()
    # As the autograder: questions drawn in the trusted process (here with the run's seed), then the test
    # predictions computed by the grader from the model's exports (the collector's test_predictions).
    questions = harness.make_questions(exercise_id, data_dir, seed)
    started = time.perf_counter()
    result = harness.collect(exercise_id, module_path, data_dir, seed, questions=questions)
    wall = time.perf_counter() - started
    seconds = result.get("seconds", {})
    row = {
        "seed": seed,
        "errors": result.get("errors", {}),
        "train_s": seconds.get("train"),
        "build_s": (seconds.get("build") or 0.0) + (seconds.get("build_vocabulary") or 0.0),
        "wall_s": wall,
    }
    try:
        predictions = harness.test_predictions(exercise_id, result, questions, data_dir)
    except (harness.Refused, EmbedlabError) as error:
        predictions = None
        row["errors"] = {**row["errors"], "test_predictions": str(error)}
    if predictions is None:
        row.update(accuracy=float("nan"), auc=float("nan"))
    else:
        row.update(accuracy=scoring.accuracy(predictions, labels), auc=scoring.roc_auc(predictions, labels))
    return row


def measure_geometry(data_dir: Path, seed: int) -> dict:
    """Exercise 6's geometry check on the reference: trained, and after its short_steps only."""
    import tempfile

    import keras

    from embedlab.grading import contract as harness
    from embedlab.grading.scoring import separability
    from embedlab.vocabulary import INFORMATIVE_TERMS, NEGATIVE_TERMS, POSITIVE_TERMS

    keras.backend.clear_session()
    exercise = geometry_exercise()
    positive = [INFORMATIVE_TERMS.index(term) for term in POSITIVE_TERMS]
    negative = [INFORMATIVE_TERMS.index(term) for term in NEGATIVE_TERMS]
    questions = harness.make_questions(exercise.id, data_dir, seed)
    with tempfile.TemporaryDirectory() as scratch:
        result = harness.collect(exercise.id, files.SOLUTIONS / exercise.module_file, data_dir, seed,
                                 out_dir=Path(scratch), questions=questions)
    row = {"seed": seed, "errors": result.get("errors", {})}
    # The trained embedding as the grader verifies it (exercise 4's architecture check); the short one as plotted.
    trained, why = harness.collector(exercise.id).test_embedding(result, questions)
    if trained is None:
        row["errors"] = {**row["errors"], "trained embedding": why}
    for name, matrix in (("trained", trained), ("short", result.get("short_matrix"))):
        row[name] = float("nan") if matrix is None else separability(matrix[positive], matrix[negative])
    return row


# --------------------------------------------------------------- manifest
def update_manifest(thresholds: dict[str, dict]) -> None:
    text = manifest.MANIFEST_PATH.read_text()
    for exercise_id, threshold in thresholds.items():
        line = f"thresholds = {{ accuracy = {threshold['accuracy']:.2f}, auc = {threshold['auc']:.2f} }}"
        text = set_manifest_line(text, exercise_id, "thresholds", line)
    files.write_atomic(manifest.MANIFEST_PATH, text)


# ------------------------------------------------------------------- main
def resolve(names: list[str] | None) -> list[str]:
    """The calibrated exercises named (by id or number), in the manifest's order; all of them if none."""
    models = [exercise.id for exercise in manifest.load()
              if exercise in model_exercises() or exercise in marks_exercises()]
    if not names:
        return models
    chosen = []
    for name in names:
        try:
            exercise = manifest.get(name)
        except EmbedlabError as error:
            raise SystemExit(str(error)) from None
        if exercise.id not in models:
            raise SystemExit(f"{name}: not a calibrated exercise (choose from {', '.join(models)})")
        if exercise.id not in chosen:
            chosen.append(exercise.id)
    return chosen


def arguments(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6,
                        help="runs per solution: seeds 1..RUNS-1 and the grader's seed (default 6)")
    parser.add_argument("--exercises", nargs="+", metavar="ID", help="model exercises to run (default: all)")
    parser.add_argument("--variant-runs", type=int, default=3,
                        help="runs per weak variant: seeds 1..N-1 and the grader's seed (default 3)")
    parser.add_argument("--no-variants", action="store_true", help="skip the weak variants")
    parser.add_argument("--tfrecords", default=None, help="prepared TFRecords folder (default: tfrecords/)")
    parser.add_argument("--output", default=str(REPORT),
                        help=f"report to write (default {REPORT.relative_to(files.REPOSITORY)})")
    parser.add_argument("--update-manifest", action="store_true", help="write the pass marks into exercises.toml")
    parser.add_argument("--save-json", metavar="PATH", help="also save the raw runs as JSON")
    parser.add_argument("--from-json", metavar="PATH",
                        help="rewrite the report (and manifest) from runs saved with --save-json; train nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    # This script is an edge: it reads the environment once, here.
    from embedlab.quiet import quiet_tensorflow
    from embedlab.settings import Settings

    quiet_tensorflow()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        seeds, elapsed = saved["seeds"], saved["elapsed"]
        results = {exercise_id: (rows, summarize(rows, exercise_id))
                   for exercise_id, rows in saved["solutions"].items()}
        from calibration_marks import summarize_marks

        marks = {exercise_id: (rows, summarize_marks(rows, dict(manifest.get(exercise_id).mark_margins)))
                 for exercise_id, rows in saved.get("marks", {}).items()}
        return finish(args, results, saved["variants"], seeds, elapsed, saved.get("geometry", []), marks,
                      saved.get("mark_variants", {}))

    settings = Settings.from_environment(tfrecords_dir=args.tfrecords)
    from embedlab.grading import data as grading_data

    chosen = resolve(args.exercises)
    exercises = [exercise_id for exercise_id in chosen if manifest.get(exercise_id).is_model]
    marked = [exercise_id for exercise_id in chosen if manifest.get(exercise_id).marks]
    data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    labels = grading_data.load_test_labels(data_dir)
    seeds = run_seeds(args.runs)
    started = time.perf_counter()

    results: dict[str, tuple[list[dict], dict]] = {}
    for exercise_id in exercises:
        rows = []
        for seed in seeds:
            row = measure(exercise_id, files.SOLUTIONS / manifest.get(exercise_id).module_file, data_dir, labels, seed)
            rows.append(row)
            print(f"{exercise_id} seed {seed}: accuracy {row['accuracy']:.4f}, AUC {row['auc']:.4f}, "
                  f"train {row['train_s'] or 0:.1f} s, build {row['build_s']:.1f} s"
                  + (f", errors {row['errors']}" if row["errors"] else ""), flush=True)
        results[exercise_id] = (rows, summarize(rows, exercise_id))
        threshold = results[exercise_id][1]["threshold"]
        print(f"{exercise_id}: pass mark accuracy {threshold['accuracy']:.2f}, AUC {threshold['auc']:.2f}", flush=True)

    variant_results = {} if args.no_variants else measure_variants(exercises, results, data_dir, labels,
                                                                   args.variant_runs)
    marks = run_marks(marked, data_dir, seeds)
    mark_variants = {} if args.no_variants else run_mark_variants(mark_variant_list(), marks, data_dir,
                                                                  run_seeds(args.variant_runs))
    elapsed = time.perf_counter() - started
    geometry = []
    if not args.exercises:
        exercise = geometry_exercise()
        for seed in seeds:
            geometry.append(measure_geometry(data_dir, seed))
            print(f"{exercise.id[:4]} geometry seed {seed}: trained {geometry[-1]['trained']:.0%}, "
                  f"{exercise.budget.short_steps} steps {geometry[-1]['short']:.0%}", flush=True)
    if args.save_json:
        Path(args.save_json).write_text(json.dumps({
            "seeds": seeds, "elapsed": elapsed, "variants": variant_results, "geometry": geometry,
            "solutions": {exercise_id: rows for exercise_id, (rows, _) in results.items()},
            "marks": {exercise_id: rows for exercise_id, (rows, _) in marks.items()},
            "mark_variants": mark_variants}, indent=1))
    return finish(args, results, variant_results, seeds, elapsed, geometry, marks, mark_variants)


def mark_variant_list() -> dict[str, dict]:
    """The weak variants of the exercises graded on figures of their own."""
    from embedlab.authoring import variants

    ids = {exercise.id for exercise in marks_exercises()}
    return {variant["name"]: variant for variant in variants.load()
            if variant["graded"] in ids and not variants.is_style(variant)}


def measure_variants(exercises: list[str], results: dict, data_dir: Path, labels, runs: int) -> dict[str, list[dict]]:
    import tempfile

    from embedlab.authoring import variants

    variant_results: dict[str, list[dict]] = {}
    for name, variant in load_variants().items():
        if variant["graded"] not in exercises:
            continue
        rows = []
        folder = variants.materialize(variant, Path(tempfile.mkdtemp(prefix=f"variant-{name}-")))
        for seed in run_seeds(runs):
            row = measure(variant["graded"], folder / manifest.get(variant["graded"]).module_file, data_dir,
                          labels, seed)
            rows.append(row)
            threshold = results[variant["graded"]][1]["threshold"]
            print(f"variant {name} seed {seed}: accuracy {row['accuracy']:.4f}, AUC {row['auc']:.4f}, "
                  f"below the pass mark: {below(row, threshold)}", flush=True)
        variant_results[name] = rows
    return variant_results


def finish(args, results: dict, variant_results: dict, seeds: list[int], elapsed: float,
           geometry: list[dict], marks: dict | None = None, mark_variants: dict | None = None) -> int:
    from embedlab.authoring import variants

    known, marks, mark_variants, marked = load_variants(), marks or {}, mark_variants or {}, mark_variant_list()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    report = format_report(results, variant_results, known, seeds, elapsed, geometry, geometry_exercise(),
                           extra=marks_report(marks, mark_variants, marked))
    output.write_text(report)
    print(f"wrote {output}")

    problems = []
    for exercise_id, (rows, summary) in results.items():
        for row in rows:
            if row["errors"] or below(row, summary["threshold"]):
                problems.append(f"{exercise_id} seed {row['seed']} fails its own pass mark or raised {row['errors']}")
    for name, rows in variant_results.items():
        if variants.must_score_below(known[name]) and known[name]["graded"] in results:
            threshold = results[known[name]["graded"]][1]["threshold"]
            problems += [f"weak variant {name} seed {row['seed']} reaches the pass marks"
                         for row in rows if not below(row, threshold)]
    problems += [f"{geometry_exercise().id[:4]} geometry seed {row['seed']}: trained embedding separates only "
                 f"{row['trained']:.0%}" for row in geometry if not row["trained"] >= 1.0]
    for exercise_id, (rows, summary) in marks.items():
        problems += [f"{exercise_id} seed {row['seed']} misses its own marks or raised {row['errors']}"
                     for row in rows if row["errors"] or misses(row, summary["mark"])]
    for name, rows in mark_variants.items():
        variant = marked[name]
        marks_of = marks[variant["graded"]][1]["mark"] if variant["graded"] in marks else {}
        wanted = {figure: marks_of[figure] for figure in variant.get("below", ()) if figure in marks_of}
        problems += [f"weak variant {name} seed {row['seed']} reaches the mark of {figure}"
                     for row in rows for figure, mark in wanted.items()
                     if row["figures"].get(figure, float("nan")) >= mark]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if args.update_manifest:
        if problems:
            print("exercises.toml not updated: fix the problems above first", file=sys.stderr)
        else:
            update_manifest({exercise_id: summary["threshold"] for exercise_id, (_, summary) in results.items()})
            update_marks({exercise_id: summary["mark"] for exercise_id, (_, summary) in marks.items()})
            print(f"updated {manifest.MANIFEST_PATH.relative_to(files.REPOSITORY)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
