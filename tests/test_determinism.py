"""The same submission gets the same predictions, and so the same score, run after run."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from embedlab.grading import contract as harness
from embedlab.pytest_plugin import REPOSITORY

pytestmark = [pytest.mark.instructor, pytest.mark.slow]

SCRIPT = """
import hashlib, sys
from embedlab.grading import data as grading_data
from embedlab.grading import contract as harness
result = harness.collect(sys.argv[1], sys.argv[2], grading_data.ensure())
print(hashlib.sha256(result["predictions"].tobytes()).hexdigest())
"""


@pytest.mark.parametrize("exercise_id", ["ex02_linear_model", "ex04_embedding_dnn"])
def test_another_process_trains_to_identical_predictions(exercise_id, submission):
    """This session's predictions (grader's seed) match those of a fresh process, bit for bit."""
    here = hashlib.sha256(submission.result(exercise_id)["predictions"].tobytes()).hexdigest()
    module = REPOSITORY / "solutions" / f"{exercise_id}.py"
    there = subprocess.run([sys.executable, "-c", SCRIPT, exercise_id, str(module)], capture_output=True,
                           text=True, check=True, cwd=REPOSITORY).stdout.strip()
    assert here == there, f"{exercise_id}: two runs with the grader's seed gave different predictions"


def test_a_different_seed_gives_different_predictions(submission):
    """The seed reaches the training: otherwise the determinism above would prove nothing."""
    module = REPOSITORY / "solutions" / "ex02_linear_model.py"
    first = submission.result("ex02_linear_model")["predictions"]
    second = harness.collect("ex02_linear_model", module, submission.data_dir(), seed=1)["predictions"]
    assert not np.array_equal(first, second)
