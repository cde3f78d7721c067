"""The same submission gets the same predictions, and so the same score, run after run.

The predictions compared are the grader's own: the test reviews' probabilities computed from what the
trained model exported (`contract.test_predictions`), with the session's grading-time questions.
"""

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
exercise, module, data_dir, questions_seed = sys.argv[1:5]
questions = harness.make_questions(exercise, data_dir, int(questions_seed))
result = harness.collect(exercise, module, data_dir, questions=questions)
predictions = harness.test_predictions(exercise, result, questions, data_dir)
print(hashlib.sha256(predictions.tobytes()).hexdigest())
"""


def predictions(submission, exercise_id: str, result: dict):
    return harness.test_predictions(exercise_id, result, submission.questions(exercise_id), submission.data_dir())


@pytest.mark.parametrize("exercise", COURSE_MODELS, ids=lambda exercise: exercise.id)
def test_another_process_trains_to_identical_predictions(exercise, submission):
    """This session's predictions (grader's seed) match those of a fresh process, bit for bit."""
    here = hashlib.sha256(predictions(submission, exercise.id, submission.result(exercise.id)).tobytes()).hexdigest()
    module = SOLUTIONS / exercise.module_file
    there = subprocess.run([sys.executable, "-c", SCRIPT, exercise.id, str(module), str(submission.data_dir()),
                            str(submission.questions_seed)],
                           capture_output=True, text=True, check=True, cwd=REPOSITORY).stdout.strip()
    assert here == there, f"{exercise.id}: two runs with the grader's seed gave different predictions"


def test_a_different_seed_gives_different_predictions(submission):
    """The seed reaches the training: otherwise the determinism above would prove nothing."""
    exercise = COURSE_MODELS[0]
    module = SOLUTIONS / exercise.module_file
    first = predictions(submission, exercise.id, submission.result(exercise.id))
    second = harness.collect(exercise.id, module, submission.data_dir(), seed=manifest.grading_seed() + 1,
                             questions=submission.questions(exercise.id))
    assert not np.array_equal(first, predictions(submission, exercise.id, second))
