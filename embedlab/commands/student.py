"""`embedlab list`, `hint`, `check`, `plot` and `projector`: the student's commands.

`check` runs the graded suite (`embedlab.grading.suite`) in a child pytest
and turns its results into a short report: points per exercise, the first
thing to fix, and the next hint. `plot` draws the figures of the exercises
that declare some (``figures`` in exercises.toml) from the student's code;
`projector` exports a trained embedding for the Embedding Projector.

`add_commands(commands)` registers them on the one parser's subcommands
(see `embedlab.cli`); each handler takes ``(args, settings)``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from embedlab import manifest
from embedlab.commands import projector
from embedlab.commands.plotting import plot as _plot
from embedlab.commands.report import render_text
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
    from embedlab.grading.progress import child_channel
    from embedlab.grading.suite import run_suite

    selected = [manifest.get(name).id for name in args.exercises]
    if settings.shows_progress():  # quiet (CI, --quiet, a log file): the report only
        print(f"grading {args.target} ({', '.join(selected) or 'all exercises'}); "
              "models are trained for real, this takes a minute or two...", flush=True)
    # pytest's own output (the grader's source, its introspection) is never the student's: the report is.
    target = _target(args.target)
    if args.target == "exercises":  # the student's own: each exercise from its module or from its notebook
        from embedlab import files
        from embedlab.authoring.notebooks import NOTEBOOKS, choose_sources

        target, notes = choose_sources(files.EXERCISES, NOTEBOOKS, noted=selected or None)
        print("\n".join(notes), flush=True) if notes else None
    with child_channel() as channel:  # the child's progress, shown here while it runs
        run = run_suite(target, settings=settings.replace(progress=channel), exercises=selected,
                        stdout=subprocess.DEVNULL)
    if run.results is None:
        raise EmbedlabError(f"the autograder stopped before scoring (pytest exit status {run.returncode})")
    report = run.results
    print(render_text(report, verbose=args.verbose))
    if args.expect_score is not None and report["score"] != args.expect_score:
        print(f"expected a score of {args.expect_score}, got {report['score']}", file=sys.stderr)
        return 1
    if args.expect_score is not None:
        return 0
    return 0 if all(row["score"] == row["max_score"] for row in report["exercises"].values()) else 1


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
    check.add_argument("--verbose", action="store_true",
                       help="also show the traceback of your code where it raised (your files' lines only)")
    check.add_argument("--expect-score", type=int, default=None,
                       help="exit 0 only if the total score equals this (CI uses 0 for the untouched stubs)")
    check.add_argument("--quiet", action="store_true", help="no progress, only the report")
    check.set_defaults(run=_check)

    plot = commands.add_parser("plot", help="train your models and draw the exercises' figures, as the grader does")
    plot.add_argument("exercises", nargs="*", help="exercise numbers or ids (default: every exercise with figures)")
    plot.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    plot.add_argument("--out", default="figures", help="folder for the PNG files (default: figures)")
    plot.add_argument("--quiet", action="store_true", help="no progress, only the files written")
    plot.set_defaults(run=_plot)

    projector.add_command(commands)
