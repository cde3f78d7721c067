"""`embedlab projector N`: a trained embedding of the course as the Embedding Projector's two files.

The exercise is run as the grader runs it (the grader's pipeline, budget and seed; the student's code or
the solutions), and its collector's ``embedding(result, questions)`` hands back the terms and their
vectors as the grader verified them (weights that reproduce the model's own answers): exercises whose
collector has no such hook have no embedding to export. The files are those the Embedding Projector
(https://projector.tensorflow.org, "Load") reads: ``vectors.tsv``, one vector per line, its numbers
separated by tabs, and ``metadata.tsv``, the term of each line, in the same order (one column, no
header), as TensorFlow's word-embeddings tutorial writes them.

>>> import io
>>> vectors, metadata = io.StringIO(), io.StringIO()
>>> write_tsv(["great", "bad\\tfilm"], [[0.5, -1.0], [2.0, 0.25]], vectors, metadata)
>>> vectors.getvalue().splitlines(), metadata.getvalue().splitlines()
(['0.5\\t-1', '2\\t0.25'], ['great', 'bad film'])
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

from embedlab import files, manifest
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings

VECTORS, METADATA = "vectors.tsv", "metadata.tsv"


def with_embedding() -> list[manifest.Exercise]:
    """The exercises whose collector exports a verified embedding."""
    from embedlab.grading import contract

    return [exercise for exercise in manifest.load()
            if callable(getattr(contract.collector(exercise.id), "embedding", None))]


def write_tsv(terms, matrix, vectors, metadata) -> None:
    """One line per term: its vector in `vectors`, the term itself in `metadata` (tabs and newlines as spaces)."""
    for term, row in zip(terms, matrix):
        vectors.write("\t".join(f"{float(value):.6g}" for value in row) + "\n")
        metadata.write(" ".join(str(term).split()) + "\n")


def source_folder(target: str, exercise: manifest.Exercise) -> Path:
    """The folder to run: the solutions, a folder given, or the student's modules (or saved notebooks)."""
    if target == "solutions":
        return files.SOLUTIONS
    if target != "exercises":
        return Path(target).resolve()
    from embedlab.authoring.notebooks import NOTEBOOKS, choose_sources

    folder, notes = choose_sources(files.EXERCISES, NOTEBOOKS, noted=[exercise.id])
    print("\n".join(notes)) if notes else None
    return Path(folder)


def projector(args: argparse.Namespace, settings: Settings) -> int:
    import numpy as np

    from embedlab.grading import contract, linear_mean, progress
    from embedlab.grading import data as grading_data

    exercise = manifest.get(args.exercise)
    if not callable(getattr(contract.collector(exercise.id), "embedding", None)):
        exporting = with_embedding()
        raise EmbedlabError(f"{exercise.id} has no embedding to export (exercises that have one: "
                            f"{', '.join(str(other.number) for other in exporting)})")
    folder = source_folder(args.target, exercise)
    data_dir = grading_data.ensure(settings.tfrecords_dir, settings.grading_data_dir)
    questions = contract.make_questions(exercise.id, data_dir, settings.questions_seed_or_new())
    progress.current().exercise_started(exercise.id)
    with tempfile.TemporaryDirectory() as scratch:  # the exercise's plots are `embedlab plot`'s business
        result = contract.collect(exercise.id, folder / exercise.module_file, data_dir, seed=settings.seed,
                                  out_dir=Path(scratch), questions=questions)
    progress.current().idle()
    where = f"{folder.name}/{exercise.module_file}"
    if any(str(error).startswith("NotImplementedError") for error in result["errors"].values()):
        # The same sentence as the grader's for an unwritten function: where it is, and where to start.
        raise EmbedlabError(str(linear_mean.nothing_to_judge(result, where, "embedding")))
    try:
        terms, matrix = contract.collector(exercise.id).embedding(result, questions)
    except contract.Refused as refused:
        steps = "; ".join(f"{step}: {error}" for step, error in list(result["errors"].items())[:3])
        raise EmbedlabError(f"{where}: {refused}"
                            + (f" ({steps})" if steps and steps not in str(refused) else "")) from None
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or len(terms) != len(matrix) or not np.all(np.isfinite(matrix)):
        raise EmbedlabError(f"{exercise.id}: the embedding to export has shape {matrix.shape} for {len(terms)} "
                            "terms or holds NaN (an error of the grader: tell your instructor)")
    out = Path(args.out) / exercise.id
    out.mkdir(parents=True, exist_ok=True)
    vectors, metadata = io.StringIO(), io.StringIO()
    write_tsv(terms, matrix, vectors, metadata)
    files.write_atomic(out / VECTORS, vectors.getvalue())
    files.write_atomic(out / METADATA, metadata.getvalue())
    print(f"{out / VECTORS}, {out / METADATA}: {len(terms):,} terms of {matrix.shape[1]} dimensions from "
          f"{folder.name}/{exercise.module_file}, trained as the grader trains it. Open "
          "https://projector.tensorflow.org, choose 'Load', and give it both files.")
    return 0


def add_command(commands) -> None:
    command = commands.add_parser("projector",
                                  help="export a trained embedding for the Embedding Projector (vectors.tsv, "
                                       "metadata.tsv)")
    command.add_argument("exercise", help="exercise number or id whose embedding to export")
    command.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder")
    command.add_argument("--out", default="projector", help="folder for the files (default: projector)")
    command.add_argument("--quiet", action="store_true", help="no progress, only the files written")
    command.set_defaults(run=projector)
