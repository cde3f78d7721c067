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
from embedlab.grading.outcomes import NOT_IMPORTABLE

NO_FILE = ("no such file", "no such file in the submission")  # how the contract and the sandbox say it


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
        self._calibrated: dict | None = None

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
            self._predictions = self._judged("test_predictions")
        return self._predictions

    def _judged(self, judge: str):
        """What the trusted judge `judge` of `embedlab.grading.contract` computes from the collected data;
        fails the test with the reason when it refuses the exports."""
        from embedlab.grading import contract

        reason = None
        try:
            return getattr(contract, judge)(self.exercise.id, self.data, self.questions, self.data_dir)
        except contract.Refused as refused:
            reason = str(refused)
        pytest.fail(f"{self.where()}: {reason}", pytrace=False)  # outside the except: no chained traceback

    def judge_pass_mark(self, labels, what: str) -> tuple[bool, str]:
        """The trusted test predictions against the labels and the pass marks; the figures are recorded."""
        from embedlab.grading import scoring

        predictions = self.test_predictions()
        if predictions.shape != labels.shape:
            pytest.fail(f"{self.where()}: {predictions.shape} predictions for {labels.shape[0]} test reviews",
                        pytrace=False)
        self.figures.update(accuracy=scoring.accuracy(predictions, labels), auc=scoring.roc_auc(predictions, labels))
        return scoring.judge_model(predictions, labels, self.exercise.thresholds, what)

    def calibrated_figure(self, name: str) -> float:
        """The calibrated figure `name`, computed by the grader from what the submission exported (all the
        exercise's figures at once, cached, recorded for the report); fails the test with the reason when the
        grader refuses the exports."""
        if self._calibrated is None:
            self._calibrated = self._judged("calibrated_figures")
        if name not in self._calibrated:
            pytest.fail(f"{self.where()}: the grader computed no {name!r} (an error of the grader, not of your "
                        "code: tell your instructor)", pytrace=False)
        self.figures[name] = self._calibrated[name]
        return self._calibrated[name]

    def judge_mark(self, name: str, what: str, advice: str = "") -> None:
        """Fail unless the calibrated figure `name` reaches its pass mark; the message gives both."""
        value, mark = self.calibrated_figure(name), self.exercise.mark(name)
        self.check(value >= mark, f"{what}: {value:.4f}, below the pass mark {mark:.4f} (the reference's lowest "
                                  f"over calibration runs minus a margin, docs/calibration.md). {advice}".rstrip())

    def __getitem__(self, key):
        """The value collected under `key`; a missing one fails the test as `need` does (never a KeyError)."""
        return self.need(key)

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def errors(self) -> dict:
        errors = self.data.get("errors")
        return errors if isinstance(errors, dict) else {}

    def where(self) -> str:
        return f"{self.folder.name}/{self.exercise.module_file}"

    def advice(self) -> str:
        return (f"Reread 'What to build' in the docstring of {self.where()}; "
                f"`embedlab hint {self.exercise.number}` helps.")

    def check(self, ok, message: str) -> None:
        """Fail the test with `message` (the shortest true sentence: no traceback, no assertion repr) unless `ok`."""
        if not ok:
            pytest.fail(f"{self.where()}: {message}", pytrace=False)

    def _recorded(self, names: tuple[str, ...]) -> list[str]:
        """The recorded errors of the steps `names` (a step `f` also covers `f(...)` and `f:...`)."""
        def of(step: str) -> bool:
            return any(step == name or step.startswith((f"{name}(", f"{name}:")) for name in names)

        return [step for step in self.errors if of(step)]

    def need(self, key: str, *steps: str, kind: type | None = None):
        """The value collected under `key`; fails the test, saying why, if it is missing (or not a `kind`)."""
        value = self.data.get(key)
        if value is not None and (kind is None or isinstance(value, kind)):
            return value
        if value is not None:
            pytest.fail(f"{self.where()}: the result for '{key}' is a {type(value).__name__}, not a "
                        f"{kind.__name__} (not what the grader's collector writes)", pytrace=False)
        relevant = self._recorded((*steps, key)) or list(self.errors)[:3]
        not_done = [step for step in relevant if str(self.errors[step]).startswith("NotImplementedError")]
        if not_done:
            # The stub's own message is long; its location is what helps.
            where = str(self.errors[not_done[0]]).partition(" (at ")[2].rstrip(")")
            pytest.fail(
                f"{self.where()}: not done yet ({where or not_done[0]} raises NotImplementedError). Start with "
                f"the module docstring ('What to build') and `embedlab hint {self.exercise.number}`.",
                pytrace=False)
        imported = str(self.errors.get("import", ""))
        if imported and not imported.endswith(NO_FILE):
            # Nothing of the exercise ran: the one thing to say is why the module does not import.
            pytest.fail(f"{self.where()} {NOT_IMPORTABLE} {imported}. Fix it and check again; nothing of "
                        f"exercise {self.exercise.number} can be graded until then.", pytrace=False)
        reason = "; ".join(f"{step}: {self.errors[step]}" for step in relevant) or "it did not run"
        missing = any(str(self.errors[step]).endswith(NO_FILE) for step in relevant)
        if "overall time limit ran out" in reason:  # the grader's deadline, not the student's code
            pytest.fail(f"{self.where()}: not graded: {reason}", pytrace=False)
        advice = self.missing_file_advice() if missing else self.advice()
        if not relevant:
            pytest.fail(f"{self.where()}: no result for '{key}' ({reason}). {advice}", pytrace=False)
        if "(at " in reason:  # the student's code raised: its traceback is where to look
            advice += " `embedlab check --verbose` shows the traceback of your code."
        # Said the same way for every test the failed steps leave without data: one reason, told once.
        pytest.fail(f"{self.where()}: no result for this test ({reason}). {advice}", pytrace=False)

    def missing_file_advice(self) -> str:
        """For a submission without the exercise's file: its name, and a file that looks like a misnamed copy."""
        topic = Path(self.exercise.module_file).stem.partition("_")[2]
        try:
            lookalikes = sorted(path.name for path in self.folder.glob(f"*{topic}*.py"))
        except OSError:
            lookalikes = []
        found = f" ({', '.join(lookalikes[:3])} is there: rename it?)" if lookalikes else ""
        return f"Exercise {self.exercise.number} is graded from a file named {self.exercise.module_file}{found}."

    def reference(self, key: str):
        """The grader's own expected value `key`; fails the test, saying it is the grader's fault, if missing."""
        value = self.references.get(key)
        if value is not None:
            return value
        why = [f"{step}: {self.errors[step]}" for step in ("reference", "questions", "worker") if step in self.errors]
        pytest.fail(f"{self.where()}: the grader has no expected value for '{key}'"
                    f"{' (' + '; '.join(why) + ')' if why else ''}; an error of the grader, not of your code: "
                    "tell your instructor.", pytrace=False)
