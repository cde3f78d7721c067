"""What a graded test sees of its exercise: the collected plain data, and
failure messages that teach (what is missing, why, and where to read).

Used by the autograder's pytest plugin (the ``collected`` fixture); it never
touches student objects, only the data `embedlab.grading.contract.collect`
returned.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from embedlab import manifest


class Collected:
    """The plain data of one exercise, with failure messages that teach."""

    def __init__(self, exercise_id: str, data: dict, folder: Path, questions: dict | None = None,
                 data_dir: Path | None = None, figures: dict | None = None):
        self.exercise = manifest.get(exercise_id)
        self.data = data
        self.folder = folder
        self.questions = questions or {}   # the trusted copy: never went through the student's process
        self.data_dir = data_dir
        self.figures = {} if figures is None else figures  # what the tests measured, for the results file
        self._predictions = None

    @property
    def references(self) -> dict:
        """The grader's own expected values (the trusted run's, in isolation)."""
        references = self.data.get("references")
        return references if isinstance(references, dict) else {}

    def test_predictions(self):
        """The test reviews' probabilities, computed by the grader from the model's exports (cached).

        Fails the test with the reason when the grader refuses the exports.
        """
        if self._predictions is None:
            from embedlab.grading import contract

            try:
                self._predictions = contract.test_predictions(self.exercise.id, self.data, self.questions,
                                                              self.data_dir)
            except contract.Refused as refused:
                pytest.fail(f"{self.where()}: {refused}", pytrace=False)
        return self._predictions

    def judge_pass_mark(self, labels, what: str) -> tuple[bool, str]:
        """The trusted test predictions against the labels and the pass marks; the figures are recorded."""
        from embedlab.grading import scoring

        predictions = self.test_predictions()
        if predictions.shape != labels.shape:
            pytest.fail(f"{self.where()}: {predictions.shape} predictions for {labels.shape[0]} test reviews",
                        pytrace=False)
        self.figures.update(accuracy=scoring.accuracy(predictions, labels), auc=scoring.roc_auc(predictions, labels))
        return scoring.judge_model(predictions, labels, self.exercise.thresholds, what)

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def errors(self) -> dict:
        return self.data.get("errors", {})

    def where(self) -> str:
        return f"{self.folder.name}/{self.exercise.module_file}"

    def need(self, key: str, *steps: str):
        """The value collected under `key`; fails the test, saying why, if it is missing."""
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        relevant = [step for step in (*steps, key) if step in self.errors] or list(self.errors)[:3]
        not_done = [step for step in relevant if self.errors[step].startswith("NotImplementedError")]
        if not_done:
            # The stub's own message is long; its location is what helps.
            where = self.errors[not_done[0]].partition(" (at ")[2].rstrip(")")
            pytest.fail(
                f"{self.where()}: not done yet ({where or not_done[0]} raises NotImplementedError). Start with "
                f"the module docstring ('What to build') and `embedlab hint {self.exercise.number}`.",
                pytrace=False)
        reason = "; ".join(f"{step}: {self.errors[step]}" for step in relevant) or "it did not run"
        advice = (f"Reread 'What to build' in the docstring of {self.where()}; "
                  f"`embedlab hint {self.exercise.number}` helps.")
        pytest.fail(f"{self.where()}: no result for '{key}' ({reason}). {advice}", pytrace=False)
