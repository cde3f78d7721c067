"""Subcommands for students (`list`, `hint`, `check`) and instructors (`stubs`).

`check` runs the autograder (pytest on tests/grading) in a child process and
turns its results into a short report: points per exercise, the first thing
to fix, and the next hint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from embedlab import manifest
from embedlab.errors import EmbedlabError

from embedlab.files import REPOSITORY


def _list(args: argparse.Namespace) -> int:
    for exercise in manifest.load():
        budget = exercise.budget
        trained = f", trained {budget.epochs} epoch(s) of batch {budget.batch_size}" if budget and budget.epochs else ""
        bonus = " (bonus)" if exercise.bonus else ""
        print(f"{exercise.number}. {exercise.id}: {exercise.title} - {exercise.points} points{bonus}{trained}")
    print(f"total: {manifest.total_points()} points, +{manifest.total_points(True) - manifest.total_points()} bonus")
    return 0


def _hint(args: argparse.Namespace) -> int:
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


def run_autograder(target: str, exercise_ids: list[str], extra: list[str], results: Path) -> int:
    """Run pytest on the graded tests of `exercise_ids`; returns its exit status."""
    command = [sys.executable, "-m", "pytest", str(REPOSITORY / "tests" / "grading"), f"--target={target}",
               "--results-json", str(results), "-q", "-p", "no:cacheprovider", "--no-header", "-rN", *extra]
    if exercise_ids:
        command += ["-k", " or ".join(exercise_id[:4] for exercise_id in exercise_ids)]
    return subprocess.call(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL if not extra else None)


def _check(args: argparse.Namespace) -> int:
    selected = [manifest.get(name).id for name in args.exercises]
    with tempfile.TemporaryDirectory() as scratch:
        results = Path(scratch) / "results.json"
        print(f"grading {args.target} ({', '.join(selected) or 'all exercises'}); "
              "models are trained for real, this takes a minute or two...", flush=True)
        status = run_autograder(args.target, selected, ["-v"] if args.verbose else [], results)
        if not results.is_file():
            raise EmbedlabError(f"the autograder stopped before scoring (pytest exit status {status})")
        report = json.loads(results.read_text())
    print(summarize(report))
    if args.expect_score is not None and report["score"] != args.expect_score:
        print(f"expected a score of {args.expect_score}, got {report['score']}", file=sys.stderr)
        return 1
    if args.expect_score is not None:
        return 0
    return 0 if all(row["score"] == row["max_score"] for row in report["exercises"].values()) else 1


def summarize(report: dict) -> str:
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


def _stubs(args: argparse.Namespace) -> int:
    from embedlab.authoring import stubs

    if args.write:
        for path in stubs.write_stubs():
            print(f"wrote {path.relative_to(REPOSITORY)}")
        return 0
    stale = stubs.stale_stubs()
    for path in stale:
        print(f"{path}: stale; run `embedlab stubs --write` to regenerate it from solutions/", file=sys.stderr)
    if not stale:
        print("exercises/ matches what solutions/ generates")
    return 1 if stale else 0


def add_commands(commands) -> None:
    listing = commands.add_parser("list", help="list the exercises, their points and training budgets")
    listing.set_defaults(run=_list)

    hint = commands.add_parser("hint", help="show the hints of an exercise, one tier at a time")
    hint.add_argument("exercise", help="exercise number or id, e.g. 4 or ex04_embedding_dnn")
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

    stubs = commands.add_parser("stubs", help="(instructors) check or regenerate exercises/ from solutions/")
    stubs.add_argument("--write", action="store_true", help="regenerate the stubs instead of checking them")
    stubs.set_defaults(run=_stubs)

    add_plot_command(commands)

    from embedlab.commands import instructor as grade_cli

    grade_cli.add_commands(commands)


def _plot(args: argparse.Namespace) -> int:
    """Train the target's exercise-4 model and draw its embedding with its exercise-6 plot."""
    from embedlab import manifest as course
    from embedlab.grading import data as grading_data
    from embedlab.grading import contract as harness
    from embedlab.grading.scoring import separability
    from embedlab.vocabulary import INFORMATIVE_TERMS, NEGATIVE_TERMS, POSITIVE_TERMS

    folder = REPOSITORY / args.target if args.target in ("exercises", "solutions") else Path(args.target)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exercise = course.get("ex06_plot_embedding")
    result = harness.collect(exercise.id, folder / exercise.module_file, grading_data.ensure(), out_dir=out)
    index = [INFORMATIVE_TERMS.index(term) for term in POSITIVE_TERMS], [INFORMATIVE_TERMS.index(term) for term in NEGATIVE_TERMS]
    shown = False
    for name, label in (("trained", f"after {exercise.budget.epochs} epoch"),
                        ("short", f"after {exercise.budget.short_steps} steps")):
        if f"{name}_plot" in result:
            matrix = result[f"{name}_matrix"]
            split = separability(matrix[index[0]], matrix[index[1]])
            print(f"{result[f'{name}_plot']}: the embedding {label}; a straight line separates "
                  f"{split:.0%} of the clearly positive and negative terms")
            shown = True
    if not shown:
        problems = "; ".join(f"{step}: {message}" for step, message in result["errors"].items())
        raise EmbedlabError(f"no plot: {problems or 'exercises 4 and 6 must work first'}")
    return 0


def add_plot_command(commands) -> None:
    plot = commands.add_parser("plot", help="train your exercise-4 model and plot its 2-D embedding (exercise 6)")
    plot.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    plot.add_argument("--out", default="figures", help="folder for the PNG files (default: figures)")
    plot.set_defaults(run=_plot)
