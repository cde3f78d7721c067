"""`embedlab plot`: draw the figures of the exercises that declare some, from the student's code.

Every file written is named, with what it shows: the collector of an exercise
with figures says so (``figure_descriptions(result)``: (path, what) pairs);
an embedding's line also says how well a straight line separates its
clearly positive and negative terms.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from embedlab import files, manifest
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings

KEYWORD_TARGETS = ("exercises", "solutions")


def plot(args: argparse.Namespace, settings: Settings) -> int:
    """Run each exercise that draws figures on the target, as the grader does, and name every file it wrote."""
    from embedlab.grading import contract, progress
    from embedlab.grading import data as grading_data

    folder = files.REPOSITORY / args.target if args.target in KEYWORD_TARGETS else Path(args.target)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    shown, problems, needed = False, [], []
    questions_seed = settings.questions_seed_or_new()
    chosen = [manifest.get(name) for name in getattr(args, "exercises", None) or []]
    unfit = [exercise.id for exercise in chosen if not exercise.figures]
    if unfit:
        raise EmbedlabError(f"{', '.join(unfit)}: no figures to draw (exercises with figures: "
                            f"{', '.join(str(exercise.number) for exercise in manifest.with_figures())})")
    for exercise in chosen or manifest.with_figures():
        # The plot of the grader's random matrix is one of the questions the collector asks, as in grading.
        questions = contract.make_questions(exercise.id, data_dir, questions_seed)
        progress.current().exercise_started(exercise.id)  # on a terminal: its training's progress
        result = contract.collect(exercise.id, folder / exercise.module_file, data_dir, seed=settings.seed,
                                  out_dir=out, questions=questions)
        progress.current().idle()
        describe = getattr(contract.collector(exercise.id), "figure_descriptions", None)
        for path, what in describe(result) if describe else []:
            if Path(path).is_file():
                print(f"{path}: {what}{separation(result, path)}")
                shown = True
        problems += [f"{step}: {message}" for step, message in result["errors"].items()]
        needed += [*exercise.requires, exercise.id]
    if not shown:
        numbers = " and ".join(str(manifest.get(exercise_id).number) for exercise_id in dict.fromkeys(needed))
        raise EmbedlabError(f"no plot: {'; '.join(problems) or f'exercises {numbers} must work first'}")
    return 0


def separation(result: dict, path: str) -> str:
    """For a plotted embedding (the collector reports "<stage>_plot" and "<stage>_matrix"): how well a straight
    line separates its clearly positive and negative terms; "" for any other file."""
    from embedlab.grading.scoring import separability
    from embedlab.vocabulary import INFORMATIVE_TERMS, NEGATIVE_TERMS, POSITIVE_TERMS

    stage = next((key.removesuffix("_plot") for key, value in result.items()
                  if key.endswith("_plot") and value == path), None)
    matrix = result.get(f"{stage}_matrix") if stage else None
    if matrix is None:
        return ""
    split = separability(matrix[[INFORMATIVE_TERMS.index(term) for term in POSITIVE_TERMS]],
                         matrix[[INFORMATIVE_TERMS.index(term) for term in NEGATIVE_TERMS]])
    return f"; a straight line separates {split:.0%} of the clearly positive and negative terms"
