"""`embedlab list`, `hint`, `check` and `plot`: the student's commands.

`check` runs the graded suite (`embedlab.grading.suite`) in a child pytest
and turns its results into a short report: points per exercise, the first
thing to fix, and the next hint. `plot` draws the figures of the exercises
that declare some (``figures`` in exercises.toml) from the student's code.

`add_commands(commands)` registers them on the one parser's subcommands
(see `embedlab.cli`); each handler takes ``(args, settings)``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from embedlab import files, manifest
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings

KEYWORD_TARGETS = ("exercises", "solutions")


def _list(args: argparse.Namespace, settings: Settings) -> int:
    for exercise in manifest.load():
        budget = exercise.budget
        trained = f", trained {budget.epochs} epoch(s) of batch {budget.batch_size}" if budget and budget.epochs else ""
        bonus = " (bonus)" if exercise.bonus else ""
        print(f"{exercise.number}. {exercise.id}: {exercise.title} - {exercise.points} points{bonus}{trained}")
    print(f"total: {manifest.total_points()} points, +{manifest.total_points(True) - manifest.total_points()} bonus")
    return 0


def _hint(args: argparse.Namespace, settings: Settings) -> int:
    exercise = manifest.get(args.exercise)
    hints = exercise.hints
    if args.level < 1 or args.level > len(hints):
        raise EmbedlabError(f"{exercise.id} has hints 1 to {len(hints)}, not {args.level}")
    shown = hints if args.all else hints[: args.level]
    for level, hint in enumerate(shown, start=1):
        print(textwrap.fill(f"Hint {level}/{len(hints)} for {exercise.id}: {hint}", width=100,
                            subsequent_indent="    "))
    if not args.all and args.level < len(hints):
        print(f"(more: embedlab hint {exercise.number} {args.level + 1})")
    return 0


def _target(target: str) -> str | Path:
    """A keyword target as is; a folder relative to where the command was run."""
    return target if target in KEYWORD_TARGETS else Path(target).resolve()


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.grading.suite import run_suite

    selected = [manifest.get(name).id for name in args.exercises]
    print(f"grading {args.target} ({', '.join(selected) or 'all exercises'}); "
          "models are trained for real, this takes a minute or two...", flush=True)
    run = run_suite(_target(args.target), settings=settings, exercises=selected,
                    extra=["-v"] if args.verbose else [], stdout=None if args.verbose else subprocess.DEVNULL)
    if run.results is None:
        raise EmbedlabError(f"the autograder stopped before scoring (pytest exit status {run.returncode})")
    report = run.results
    print(summarize(report))
    if args.expect_score is not None and report["score"] != args.expect_score:
        print(f"expected a score of {args.expect_score}, got {report['score']}", file=sys.stderr)
        return 1
    if args.expect_score is not None:
        return 0
    return 0 if all(row["score"] == row["max_score"] for row in report["exercises"].values()) else 1


def summarize(report: dict) -> str:
    """The student's report of a graded run: points per exercise, then the first thing to fix."""
    lines = []
    first_unfinished = None
    for exercise_id, row in report["exercises"].items():
        mark = "done" if row["score"] == row["max_score"] else "todo"
        lines.append(f"  [{mark}] {exercise_id:<26} {row['score']:>3} / {row['max_score']}")
        if mark == "todo" and first_unfinished is None:
            first_unfinished = (exercise_id, next(test for test in row["tests"] if not test["passed"]))
    lines.append(f"  score: {report['score']} / {report['max_score']}"
                 + (f" (+{report['bonus']} bonus)" if report.get("bonus") else ""))
    if first_unfinished:
        exercise_id, test = first_unfinished
        exercise = manifest.get(exercise_id)
        lines += ["", f"Next: {exercise_id} - {test['name']}",
                  textwrap.fill(test["message"], width=100, initial_indent="  ", subsequent_indent="  "),
                  textwrap.fill(f"Hint: {exercise.hints[0]}", width=100, initial_indent="  ",
                                subsequent_indent="  ") if exercise.hints else "",
                  f"  More hints: `embedlab hint {exercise.number} 2`"]
    else:
        lines += ["", "Every exercise passes. Look at your embedding: figures/ holds the plots."]
    return "\n".join(lines)


def _plot(args: argparse.Namespace, settings: Settings) -> int:
    """Run each exercise that draws figures on the target, as the grader does, and describe its plots."""
    from embedlab.grading import contract
    from embedlab.grading import data as grading_data
    from embedlab.grading.scoring import separability
    from embedlab.vocabulary import INFORMATIVE_TERMS, NEGATIVE_TERMS, POSITIVE_TERMS

    folder = files.REPOSITORY / args.target if args.target in KEYWORD_TARGETS else Path(args.target)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    index = ([INFORMATIVE_TERMS.index(term) for term in POSITIVE_TERMS],
             [INFORMATIVE_TERMS.index(term) for term in NEGATIVE_TERMS])
    shown, problems, needed = False, [], []
    for exercise in manifest.with_figures():
        result = contract.collect(exercise.id, folder / exercise.module_file, data_dir, seed=settings.seed,
                                  out_dir=out)
        # The collector reports each figure it drew as "<stage>_plot", its matrix as "<stage>_matrix".
        drawn = {Path(value).name: key.removesuffix("_plot") for key, value in result.items()
                 if key.endswith("_plot") and isinstance(value, str)}
        for figure in exercise.figures:
            stage = drawn.get(figure)
            if stage is None:
                continue
            label = (f"after {exercise.budget.short_steps} steps" if stage == "short"
                     else f"after {exercise.budget.epochs} epoch")
            matrix = result[f"{stage}_matrix"]
            split = separability(matrix[index[0]], matrix[index[1]])
            print(f"{result[f'{stage}_plot']}: the embedding {label}; a straight line separates "
                  f"{split:.0%} of the clearly positive and negative terms")
            shown = True
        problems += [f"{step}: {message}" for step, message in result["errors"].items()]
        needed += [*exercise.requires, exercise.id]
    if not shown:
        numbers = " and ".join(str(manifest.get(exercise_id).number) for exercise_id in dict.fromkeys(needed))
        raise EmbedlabError(f"no plot: {'; '.join(problems) or f'exercises {numbers} must work first'}")
    return 0


def add_commands(commands) -> None:
    listing = commands.add_parser("list", help="list the exercises, their points and training budgets")
    listing.set_defaults(run=_list)

    hint = commands.add_parser("hint", help="show the hints of an exercise, one tier at a time")
    hint.add_argument("exercise", help="exercise number or id, as `embedlab list` shows them")
    hint.add_argument("level", nargs="?", type=int, default=1, help="which hint tier (default 1)")
    hint.add_argument("--all", action="store_true", help="show every tier")
    hint.set_defaults(run=_hint)

    check = commands.add_parser("check", help="grade your exercises and say what to do next")
    check.add_argument("exercises", nargs="*", help="exercise numbers or ids (default: all)")
    check.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    check.add_argument("--verbose", action="store_true", help="show pytest's own output")
    check.add_argument("--expect-score", type=int, default=None,
                       help="exit 0 only if the total score equals this (CI uses 0 for the untouched stubs)")
    check.set_defaults(run=_check)

    plot = commands.add_parser("plot", help="train your model and plot its 2-D embedding, as the grader does")
    plot.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    plot.add_argument("--out", default="figures", help="folder for the PNG files (default: figures)")
    plot.set_defaults(run=_plot)
