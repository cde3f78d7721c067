"""`embedlab grade` and `embedlab gradescope-bundle`: the instructor's commands.

Wire them in with ``grade_cli.add_commands(commands)`` (an argparse
subparsers object); `python -m embedlab.commands.instructor ...` runs them directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _grade(args: argparse.Namespace) -> int:
    from embedlab.classroom import classgrade

    folders = [Path(path) for path in args.submissions]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        from embedlab.errors import EmbedlabError

        raise EmbedlabError(f"not a submission folder: {', '.join(missing)}")
    if args.results and len(folders) != 1:
        from embedlab.errors import EmbedlabError

        raise EmbedlabError("--results (Gradescope's results.json) needs exactly one submission")
    if args.time_limit:
        os.environ["EMBEDLAB_TIME_LIMIT"] = str(args.time_limit)
    results = classgrade.grade_many(
        folders, Path(args.out), jobs=args.jobs, data_dir=Path(args.grading_data) if args.grading_data else None,
        seed=args.seed, resume=not args.no_resume, progress=not args.quiet)
    if not args.quiet or len(results) == 1:
        for result in results:
            print(classgrade.format_report(result))
    print(f"gradebook: {Path(args.out) / 'gradebook.csv'} and {Path(args.out) / 'gradebook.json'}")
    if args.results:
        from embedlab.classroom import gradescope

        gradescope.write_results(results[0], Path(args.results))
        print(f"Gradescope results: {args.results}")
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from embedlab.classroom import gradescope

    path = gradescope.build_bundle(Path(args.out))
    print(f"{path}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def add_commands(commands) -> None:
    grade = commands.add_parser(
        "grade", help="grade submission folders in isolated workers; write results and a gradebook",
        description="Grade each SUBMISSION folder (a student's ex01_input_pipeline.py ... ex08_bigrams.py). "
                    "Student code runs only in sandboxed worker processes.")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="a folder of a student's exercise files")
    grade.add_argument("--out", default="grading-output", metavar="DIR",
                       help="results/, figures/, logs/ and the gradebook go here (default: grading-output)")
    grade.add_argument("--jobs", "-j", type=int, default=1, metavar="N", help="submissions graded at once (default 1)")
    grade.add_argument("--results", metavar="PATH", help="also write Gradescope's results.json (one submission)")
    grade.add_argument("--grading-data", metavar="DIR", help="grading-data folder (default: built from tfrecords/)")
    grade.add_argument("--seed", type=int, default=None, help="grading seed (default: the course's fixed seed)")
    grade.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                       help="override every exercise's worker time limit (default: exercises.toml)")
    grade.add_argument("--no-resume", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--quiet", action="store_true", help="no progress bar, no per-submission report")
    grade.set_defaults(run=_grade)

    bundle = commands.add_parser("gradescope-bundle", help="build the Gradescope autograder zip")
    bundle.add_argument("--out", default="autograder.zip", metavar="PATH", help="default: autograder.zip")
    bundle.set_defaults(run=_bundle)
