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

    def __init__(self, exercise_id: str, data: dict, folder: Path):
        self.exercise = manifest.get(exercise_id)
        self.data = data
        self.folder = folder

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
