"""Calibration of the figures other than accuracy / AUC (``marks`` in exercises.toml), for
``benchmarks/calibrate.py``: measured on the reference as the grader computes them (the questions, the
collection, then the collector's trusted ``calibrated_figures``), summarized, reported, written back.

>>> summary = summarize_marks([{"seed": 1, "errors": {}, "figures": {"agreement": 0.81}, "wall_s": 3.0},
...                            {"seed": 2, "errors": {}, "figures": {"agreement": 0.79}, "wall_s": 3.2}],
...                           {"agreement": 0.05})
>>> summary["mark"], round(summary["figures"]["agreement"]["mean"], 2)
({'agreement': 0.74}, 0.8)
>>> misses({"figures": {"agreement": 0.70}}, {"agreement": 0.74}), misses({"figures": {}}, {"agreement": 0.74})
(True, True)
"""

from __future__ import annotations

import math
import re
import statistics
import tempfile
import time
from pathlib import Path

from calibration_report import floor2

from embedlab import files, manifest
from embedlab.errors import EmbedlabError


def marks_exercises() -> list[manifest.Exercise]:
    """The exercises graded on calibrated figures of their own (``marks``)."""
    return [exercise for exercise in manifest.load() if exercise.marks]


def measure_marks(exercise_id: str, module_path: Path, data_dir: Path, seed: int) -> dict:
    """One run of the exercise as the grader grades it: its calibrated figures, or the errors that stopped them."""
    import keras

    from embedlab.grading import contract as harness

    keras.backend.clear_session()
    questions = harness.make_questions(exercise_id, data_dir, seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        result = harness.collect(exercise_id, module_path, data_dir, seed, out_dir=Path(scratch), questions=questions)
    row = {"seed": seed, "errors": dict(result.get("errors", {})), "wall_s": time.perf_counter() - started,
           "train_s": sum(value for step, value in (result.get("seconds") or {}).items() if step.startswith("train"))}
    try:
        row["figures"] = harness.calibrated_figures(exercise_id, result, questions, data_dir)
    except (harness.Refused, EmbedlabError) as error:
        row["figures"] = {}
        row["errors"]["calibrated_figures"] = str(error)
    return row


def summarize_marks(rows: list[dict], margins: dict[str, float]) -> dict:
    """Mean / min / max of each figure over the runs, and its pass mark: floor2(min - margin)."""
    names = sorted({name for row in rows for name in row["figures"]} | set(margins))
    summary: dict = {"runs": len(rows), "figures": {}, "margin": dict(margins), "mark": {}}
    for name in names:
        values = [row["figures"][name] for row in rows if not math.isnan(row["figures"].get(name, math.nan))]
        summary["figures"][name] = {"mean": statistics.fmean(values) if values else math.nan,
                                    "min": min(values, default=math.nan), "max": max(values, default=math.nan)}
        summary["mark"][name] = floor2(summary["figures"][name]["min"] - margins.get(name, 0.0))
    walls = [row["wall_s"] for row in rows]
    trains = [row.get("train_s") or 0.0 for row in rows]
    summary["wall_s"] = statistics.fmean(walls) if walls else math.nan
    summary["train_s"] = statistics.fmean(trains) if trains else math.nan
    return summary


def misses(row: dict, marks: dict[str, float]) -> bool:
    """Whether a run misses one of the marks (a figure not computed misses it)."""
    return any(not row["figures"].get(name, math.nan) >= mark for name, mark in marks.items())


def run_marks(exercise_ids: list[str], data_dir: Path, seeds: list[int]) -> dict[str, tuple[list[dict], dict]]:
    results = {}
    for exercise_id in exercise_ids:
        exercise = manifest.get(exercise_id)
        rows = []
        for seed in seeds:
            rows.append(measure_marks(exercise_id, files.SOLUTIONS / exercise.module_file, data_dir, seed))
            shown = ", ".join(f"{name} {value:.4f}" for name, value in rows[-1]["figures"].items())
            print(f"{exercise_id} seed {seed}: {shown or 'no figures'}, {rows[-1]['wall_s']:.1f} s"
                  + (f", errors {rows[-1]['errors']}" if rows[-1]["errors"] else ""), flush=True)
        results[exercise_id] = (rows, summarize_marks(rows, dict(exercise.mark_margins)))
    return results


def run_mark_variants(variants_by_name: dict[str, dict], results: dict, data_dir: Path,
                      seeds: list[int]) -> dict[str, list[dict]]:
    from embedlab.authoring import variants

    measured = {}
    for name, variant in variants_by_name.items():
        if variant["graded"] not in results:
            continue
        folder = variants.materialize(variant, Path(tempfile.mkdtemp(prefix=f"variant-{name}-")))
        rows = [measure_marks(variant["graded"], folder / manifest.get(variant["graded"]).module_file, data_dir,
                              seed) for seed in seeds]
        for row in rows:
            shown = ", ".join(f"{key} {value:.4f}" for key, value in row["figures"].items())
            print(f"variant {name} seed {row['seed']}: {shown or 'no figures'}", flush=True)
        measured[name] = rows
    return measured


def marks_report(results: dict, variant_results: dict, known: dict) -> list[str]:
    """The report's section on the calibrated figures, their runs and the weak variants measured on them."""
    if not results:
        return []
    lines = [
        "## Calibrated figures other than accuracy and AUC",
        "",
        "Some exercises are graded on a figure of their own (`marks` in exercises.toml), computed by the",
        "grader in its own process from what the student's code exported (the collector's",
        "`calibrated_figures`, after checking the exports against the model's answers). Each run below is the",
        "reference graded as the autograder grades it; the pass mark is the lowest value over the runs minus",
        "the margin (`mark_margins`), rounded down to 2 decimals. The collectors' docstrings define each figure.",
        "",
        "| exercise | figure | runs | margin | mean / min / max | pass mark | grading s (mean) | train s (mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for exercise_id, (_, summary) in results.items():
        for name, values in summary["figures"].items():
            lines.append(f"| {exercise_id} | {name} | {summary['runs']} | {summary['margin'].get(name, 0):g} | "
                         f"{values['mean']:.4f} / {values['min']:.4f} / {values['max']:.4f} | "
                         f"**{summary['mark'][name]:.2f}** | {summary['wall_s']:.1f} | {summary['train_s']:.1f} |")
    lines.append("")
    for exercise_id, (rows, summary) in results.items():
        names = list(summary["figures"])
        lines += [f"### {exercise_id}", "", "| seed | " + " | ".join(names) + " | grading s | errors |",
                  "|---" * (len(names) + 3) + "|"]
        for row in rows:
            errors = "; ".join(f"{key}: {value}" for key, value in row["errors"].items())
            lines.append(f"| {row['seed']} | " + " | ".join(f"{row['figures'].get(name, math.nan):.4f}"
                                                              for name in names)
                         + f" | {row['wall_s']:.1f} | {errors} |")
        lines.append("")
    if variant_results:
        lines += ["### Weak variants on these figures", "",
                  "A variant's `below` (tests/variants/) names the figures it must fall below; `fails`, the graded",
                  "tests that must fail.", "",
                  "| variant | exercise | flaw | seed | figures | below a mark | must be below | must fail |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, rows in variant_results.items():
            variant = known[name]
            marks = results[variant["graded"]][1]["mark"]
            for row in rows:
                shown = ", ".join(f"{key} {value:.4f}" for key, value in row["figures"].items()) or "none"
                lines.append(f"| {name} | {variant['graded']} | {variant['flaw']} | {row['seed']} | {shown} | "
                             f"{'yes' if misses(row, marks) else 'no'} | {', '.join(variant.get('below', ()))} "
                             f"| {', '.join(variant['fails'])} |")
        lines.append("")
    return lines


def set_manifest_line(text: str, exercise_id: str, key: str, line: str) -> str:
    """`text` (exercises.toml) with the exercise's one ``key = {...}`` line replaced by `line`."""
    block = re.search(rf'\[\[exercise\]\]\nid = "{exercise_id}"\n.*?(?=\n\[\[exercise\]\]|\Z)', text, re.S)
    if block is None:
        raise SystemExit(f"{manifest.MANIFEST_PATH}: no exercise {exercise_id}")
    new, count = re.subn(rf"^{key} = \{{[^}}\n]*\}}$", line, block.group(0), flags=re.M)
    if count != 1:
        raise SystemExit(f"{manifest.MANIFEST_PATH}: exercise {exercise_id} has {count} '{key} = {{...}}' lines; "
                         "expected 1")
    return text.replace(block.group(0), new)


def update_marks(marks: dict[str, dict[str, float]]) -> None:
    """Write each exercise's `marks = {...}` line into exercises.toml (its block must have one)."""
    text = manifest.MANIFEST_PATH.read_text()
    for exercise_id, values in marks.items():
        line = "marks = { " + ", ".join(f"{name} = {value:.2f}" for name, value in values.items()) + " }"
        text = set_manifest_line(text, exercise_id, "marks", line)
    files.write_atomic(manifest.MANIFEST_PATH, text)
