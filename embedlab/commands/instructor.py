"""The instructor's commands: stubs, notebooks, course-check, grade, gradebook merge, gradescope-bundle, gradescope-run.

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
    return _report_stale(stubs.stale_stubs(), "exercises/", "stubs")


def _report_stale(stale: list, folder: str, command: str) -> int:
    """Name each generated file that differs from what solutions/ generates; 1 if any does."""
    for path in stale:
        print(f"{path}: stale; run `embedlab {command} --write` to regenerate it from solutions/", file=sys.stderr)
    if not stale:
        print(f"{folder} matches what solutions/ generates")
    return 1 if stale else 0


def _notebooks(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.authoring import notebooks

    if args.solutions:
        for path in notebooks.write_notebooks(Path(args.solutions), solution=True):
            print(f"wrote {path}")
        print(f"solution notebooks in {args.solutions} (never commit them)")
    if args.write:
        for path in notebooks.write_notebooks():
            print(f"wrote {path.relative_to(files.REPOSITORY)}")
        return 0
    if args.solutions:
        return 0
    return _report_stale(notebooks.stale_notebooks(), "notebooks/", "notebooks")


def _course_check(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.authoring import check

    problems = check.problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("every exercise has its solution, a fresh stub and notebook, a collector and tests whose points add up")
    return 1 if problems else 0


def _loud(text: str) -> None:
    """A warning the instructor cannot miss: its own block on stderr."""
    bar = "!" * 78
    print(f"{bar}\n{text}\n{bar}", file=sys.stderr)


def _grade(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import grade, gradebook, mode, shards

    folders = [Path(path) for path in args.submissions]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise EmbedlabError(f"not a submission folder: {', '.join(missing)}")
    if args.results and len(folders) != 1:
        raise EmbedlabError("--results (Gradescope's results.json) needs exactly one submission")
    if args.repeat < 1:
        raise EmbedlabError(f"--repeat {args.repeat}: grade each submission at least once")
    shard = shards.parse_shard(args.shard) if args.shard else None
    settings = settings.replace(sandbox=args.sandbox)
    warning = mode.warning(mode.class_mode(settings))
    if warning:
        _loud(warning)
    results = grade.grade_many(folders, Path(args.out), settings, jobs=args.jobs, resume=not args.no_resume,
                               progress=settings.shows_progress(), repeat=args.repeat, shard=shard)
    if shard:
        print(f"shard {shard[0]}/{shard[1]}: {len(results)} of the {len(folders)} submissions")
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


def _merge(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import gradebook, merge, shards
    from embedlab.classroom.submissions import grader_version

    out = Path(args.out)
    results = merge.merge([Path(path) for path in args.outputs], out, Path(args.class_dir) if args.class_dir else None)
    print(f"merged {len(results)} results into {out}: {out / 'gradebook.csv'} and {out / 'gradebook.json'}")
    foreign = [result["folder"] for result in results if not Path(result["folder"]).is_dir()]
    if foreign:
        print(f"note: {len(foreign)} results were graded in folders not on this machine (e.g. {foreign[0]}); "
              f"`embedlab grade` into {out} regrades them, unless merged with --class DIR (this machine's class)",
              file=sys.stderr)
    if results[0]["grader_version"] != grader_version():
        print(f"note: graded by grader version {results[0]['grader_version']}, this machine has {grader_version()}: "
              f"`embedlab grade` here regrades them all", file=sys.stderr)
    if shards.stored_questions_seed(out) is None:
        print(f"note: no {shards.CLASS_FILE} with the class's questions seed in the merged folders: `embedlab grade` "
              f"into {out} regrades them all unless given their --questions-seed", file=sys.stderr)
    for text in gradebook.class_warnings(results):
        _loud(text)
    return 0


def _bundle(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import bundle

    path = bundle.build_bundle(Path(args.out), timeout_minutes=args.timeout_minutes,
                               reviews=None if args.reviews is None else Path(args.reviews), memory_mb=args.memory_mb)
    print(f"{path}: upload it as the autograder of a Gradescope programming assignment "
          f"(set its timeout to {args.timeout_minutes:g} minutes; see docs/grading.md for memory and CPUs)")
    return 0


def _gradescope_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import gradescope

    gradescope.prepare_image(settings)
    return 0


def _gradescope_run(args: argparse.Namespace, settings: Settings) -> int:
    from embedlab.classroom import gradescope

    return gradescope.run(settings)


def add_commands(commands) -> None:
    from embedlab.classroom import bundle as bundle_defaults

    stubs = commands.add_parser("stubs", help="check or regenerate exercises/ from solutions/")
    stubs.add_argument("--write", action="store_true", help="regenerate the stubs instead of checking them")
    stubs.set_defaults(run=_stubs)

    notebooks = commands.add_parser("notebooks", help="check or regenerate notebooks/ from solutions/")
    notebooks.add_argument("--write", action="store_true", help="regenerate the student notebooks")
    notebooks.add_argument("--solutions", metavar="DIR", help="write the solution notebooks into DIR (not committed)")
    notebooks.set_defaults(run=_notebooks)

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
    grade.add_argument("--shard", metavar="K/N",
                       help="grade only share K of N of the submissions (by name; N machines given the same "
                            "SUBMISSIONS and K = 1..N grade each once); needs the class's --questions-seed")
    grade.add_argument("--questions-seed", type=int, default=None, metavar="N",
                       help="the seed of the grading-time questions, the same for the whole class (default: the one "
                            "kept in OUT/class.json, else a new one; EMBEDLAB_QUESTIONS_SEED)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar, no per-submission report")
    grade.set_defaults(run=_grade)

    book = commands.add_parser("gradebook", help="merge the results of several machines into one gradebook")
    actions = book.add_subparsers(dest="action", metavar="ACTION", required=True)
    merging = actions.add_parser(
        "merge", help="merge grading output folders into one",
        description="Merge the results/ of several `embedlab grade --out` folders (e.g. one per machine or "
                    "--shard) into OUT, with figures, logs and gradebook.csv/.json; OUT's own results take "
                    "part. Refuses results of different graders or seeds and two different results for one "
                    "submission.")
    merging.add_argument("outputs", nargs="+", metavar="OUTPUT", help="a folder written by `embedlab grade --out`")
    merging.add_argument("--out", required=True, metavar="DIR", help="the merged folder (created if missing)")
    merging.add_argument("--class", dest="class_dir", metavar="DIR",
                         help="this machine's copy of the class folder: results graded elsewhere then record "
                              "DIR/<their class path> as their folder, so `embedlab grade` here resumes them")
    merging.set_defaults(run=_merge)

    bundle = commands.add_parser("gradescope-bundle", help="build the Gradescope autograder zip")
    bundle.add_argument("--out", default="autograder.zip", metavar="PATH", help="default: autograder.zip")
    bundle.add_argument("--timeout-minutes", type=float, default=bundle_defaults.TIMEOUT_MINUTES, metavar="N",
                        help="the timeout set on Gradescope's autograder settings page: grading stops in time to "
                             f"write results.json (default {bundle_defaults.TIMEOUT_MINUTES:g})")
    bundle.add_argument("--memory-mb", type=float, default=bundle_defaults.MEMORY_MB, metavar="MB",
                        help="the memory set on Gradescope's autograder settings page: no worker may use more "
                             f"than that less the grader's own {bundle_defaults.GRADER_MB} MB "
                             f"(default {bundle_defaults.MEMORY_MB})")
    bundle.add_argument("--reviews", default=None, metavar="ARCHIVE",
                        help="a copy of the reviews archive to put in the bundle (else the image downloads them)")
    bundle.set_defaults(run=_bundle)

    prepare = commands.add_parser(
        "gradescope-prepare", help="(inside Gradescope's setup.sh) grading data, questions seed, reference runs")
    prepare.set_defaults(run=_gradescope_prepare)

    run = commands.add_parser(
        "gradescope-run", help="(inside Gradescope) grade $AUTOGRADER_ROOT/submission into results/results.json",
        description="What the bundle's run_autograder calls: grade the submission in AUTOGRADER_ROOT "
                    "(default /autograder) and always leave results/results.json.")
    run.set_defaults(run=_gradescope_run)
