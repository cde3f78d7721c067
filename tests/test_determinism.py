"""The same submission gets the same predictions, and so the same score, run after run."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from embedlab import manifest
from embedlab.files import REPOSITORY, SOLUTIONS
from embedlab.grading import contract as harness

pytestmark = [pytest.mark.instructor, pytest.mark.slow]

# The crash course's own models (the exercises with the course's figures to compare with).
COURSE_MODELS = [exercise for exercise in manifest.load() if exercise.is_model and exercise.course_results]

SCRIPT = """
import hashlib, sys
from embedlab.grading import contract as harness
result = harness.collect(sys.argv[1], sys.argv[2], sys.argv[3])
print(hashlib.sha256(result["predictions"].tobytes()).hexdigest())
"""


@pytest.mark.parametrize("exercise", COURSE_MODELS, ids=lambda exercise: exercise.id)
def test_another_process_trains_to_identical_predictions(exercise, submission):
    """This session's predictions (grader's seed) match those of a fresh process, bit for bit."""
    here = hashlib.sha256(submission.result(exercise.id)["predictions"].tobytes()).hexdigest()
    module = SOLUTIONS / exercise.module_file
    there = subprocess.run([sys.executable, "-c", SCRIPT, exercise.id, str(module), str(submission.data_dir())],
                           capture_output=True, text=True, check=True, cwd=REPOSITORY).stdout.strip()
    assert here == there, f"{exercise.id}: two runs with the grader's seed gave different predictions"


def test_a_different_seed_gives_different_predictions(submission):
    """The seed reaches the training: otherwise the determinism above would prove nothing."""
    exercise = COURSE_MODELS[0]
    module = SOLUTIONS / exercise.module_file
    first = submission.result(exercise.id)["predictions"]
    second = harness.collect(exercise.id, module, submission.data_dir(), seed=manifest.grading_seed() + 1)
    assert not np.array_equal(first, second["predictions"])
