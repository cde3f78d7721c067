"""`embedlab projector N`: a trained embedding as the Embedding Projector's vectors.tsv and metadata.tsv.

Through the command line, in this process, on the real reviews: the solution's exercise-4 embedding
(the cheapest model of the course with one) is exported as the grader verified it; an exercise without
an embedding, and a stub, give one line on stderr, a non-zero exit and no files.
"""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import cli, manifest
from embedlab.commands import projector
from embedlab.vocabulary import INFORMATIVE_TERMS

from data_fixtures import prepared_data  # noqa: F401 - a fixture

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

EMBEDDING = "ex04_embedding_dnn"  # the 50-term 2-D embedding: one epoch of a small model


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_exports_the_verified_embedding_of_the_solution(prepared_data, tmp_path, capsys):  # noqa: F811
    code, out, err = run_cli(capsys, "projector", EMBEDDING, "--target", "solutions", "--out", str(tmp_path),
                             "--quiet")
    assert code == 0, err
    folder = tmp_path / EMBEDDING
    metadata = (folder / projector.METADATA).read_text().splitlines()
    vectors = np.loadtxt(folder / projector.VECTORS, delimiter="\t")
    assert metadata == list(INFORMATIVE_TERMS)
    assert vectors.shape == (len(INFORMATIVE_TERMS), 2) and np.all(np.isfinite(vectors))
    # Trained, not the start: the clearly positive and negative terms lie apart along some direction.
    great, awful = vectors[INFORMATIVE_TERMS.index("great")], vectors[INFORMATIVE_TERMS.index("awful")]
    assert np.linalg.norm(great - awful) > 0.5
    assert str(folder / projector.VECTORS) in out


def test_an_exercise_without_an_embedding_is_one_line(tmp_path, capsys):
    without = next(exercise for exercise in manifest.load() if exercise not in projector.with_embedding())
    code, out, err = run_cli(capsys, "projector", without.id, "--out", str(tmp_path))
    assert code == 1 and err.count("\n") == 1 and "has no embedding to export" in err
    assert not list(tmp_path.iterdir())


def test_a_stub_exports_nothing(prepared_data, tmp_path, capsys):  # noqa: F811
    code, out, err = run_cli(capsys, "projector", EMBEDDING, "--out", str(tmp_path), "--quiet")
    assert code == 1 and err.count("\n") == 1 and "not done yet" in err, err
    assert not list(tmp_path.rglob("*.tsv"))


def test_every_exercise_that_trains_an_embedding_can_export_it():
    exporting = {exercise.id for exercise in projector.with_embedding()}
    assert {EMBEDDING, "ex07_bigger_vocabulary", "ex08_bigrams"} <= exporting
