"""`embedlab stubs`, `course-check`, `grade`, `gradescope-bundle` and `gradescope-run`: the instructor's commands.

`add_commands(commands)` registers them on the one parser's subcommands
(see `embedlab.cli`); each handler takes ``(args, settings)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embedlab import files
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings


def _stubs(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.authoring import stubs

    if args.write:
        for path in stubs.write_stubs():
            print(f"wrote {path.relative_to(files.REPOSITORY)}")
        return 0
    stale = stubs.stale_stubs()
    for path in stale:
        print(f"{path}: stale; run `embedlab stubs --write` to regenerate it from solutions/", file=sys.stderr)
    if not stale:
        print("exercises/ matches what solutions/ generates")
    return 1 if stale else 0


def _course_check(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.authoring import check

    problems = check.problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("every exercise has its solution, a fresh stub, a collector and tests whose points add up")
    return 1 if problems else 0


def _loud(text: str) -> None:
    """A warning the instructor cannot miss: its own block on stderr."""
    bar = "!" * 78
    print(f"{bar}\n{text}\n{bar}", file=sys.stderr)


def _grade(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import grade, gradebook, mode

    folders = [Path(path) for path in args.submissions]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise EmbedlabError(f"not a submission folder: {', '.join(missing)}")
    if args.results and len(folders) != 1:
        raise EmbedlabError("--results (Gradescope's results.json) needs exactly one submission")
    if args.repeat < 1:
        raise EmbedlabError(f"--repeat {args.repeat}: grade each submission at least once")
    settings = settings.replace(sandbox=args.sandbox)
    warning = mode.warning(mode.class_mode(settings))
    if warning:
        _loud(warning)
    results = grade.grade_many(folders, Path(args.out), settings, jobs=args.jobs, resume=not args.no_resume,
                               progress=not settings.quiet, repeat=args.repeat)
    if not settings.quiet or len(results) == 1:
        for result in results:
            print(gradebook.format_report(result))
    print(f"gradebook: {Path(args.out) / 'gradebook.csv'} and {Path(args.out) / 'gradebook.json'}")
    for text in gradebook.class_warnings(results):
        _loud(text)
    if args.results:
        from embedlab.classroom import gradescope

        gradescope.write_results(results[0], Path(args.results))
        print(f"Gradescope results: {args.results}")
    return 0


def _bundle(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import bundle

    path = bundle.build_bundle(Path(args.out))
    print(f"{path}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def _gradescope_run(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import gradescope

    return gradescope.run(settings)


def add_commands(commands) -> None:
    stubs = commands.add_parser("stubs", help="check or regenerate exercises/ from solutions/")
    stubs.add_argument("--write", action="store_true", help="regenerate the stubs instead of checking them")
    stubs.set_defaults(run=_stubs)

    course_check = commands.add_parser(
        "course-check", help="check that every exercise has its solution, stub, collector and points")
    course_check.set_defaults(run=_course_check)

    grade = commands.add_parser(
        "grade", help="grade submission folders in isolated workers; write results and a gradebook",
        description="Grade each SUBMISSION folder (a student's exercise files, as in exercises/). "
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
    grade.add_argument("--repeat", type=int, default=1, metavar="N",
                       help="grade each submission N times, fresh (no resume), and flag any difference in score "
                            "or test outcome (column 'repeats'); the first grading's scores count (default 1)")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "uid", "none"), default=None,
                       help="how workers are isolated (default: EMBEDLAB_SANDBOX, else auto); only bwrap cuts "
                            "the network")
    grade.add_argument("--quiet", action="store_true", help="no progress bar, no per-submission report")
    grade.set_defaults(run=_grade)

    bundle = commands.add_parser("gradescope-bundle", help="build the Gradescope autograder zip")
    bundle.add_argument("--out", default="autograder.zip", metavar="PATH", help="default: autograder.zip")
    bundle.set_defaults(run=_bundle)

    run = commands.add_parser(
        "gradescope-run", help="(inside Gradescope) grade $AUTOGRADER_ROOT/submission into results/results.json",
        description="What the bundle's run_autograder calls: grade the submission in AUTOGRADER_ROOT "
                    "(default /autograder) and always leave results/results.json.")
    run.set_defaults(run=_gradescope_run)
