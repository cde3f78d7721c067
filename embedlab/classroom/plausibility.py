"""Plausibility: a figure far above what the reference solutions ever reached is shown to the instructor.

The pass-mark test records, per model exercise, the accuracy and AUC that
trusted code measured on the test reviews (``exercises[id]["figures"]``,
`embedlab.grading.feedback.Collected.judge_pass_mark`). The manifest's
``plausible`` of an exercise (`embedlab/exercises.toml`) is the highest
figure of the calibration runs (docs/calibration.md) plus a stated margin;
a result above it is not a lost point but a flag: the instructor looks at
that submission (a forged computation, leaked labels, or a real
breakthrough worth knowing about).
"""

from __future__ import annotations

import math

from embedlab import manifest

METRICS = ("accuracy", "auc")


def _as_dict(value) -> dict[str, float] | None:
    if value is None:
        return None
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    return {metric: float(value[metric]) for metric in METRICS if metric in value}


def limits() -> dict[str, dict[str, float]]:
    """Exercise id -> {"accuracy": ..., "auc": ...}: the plausible maxima of the manifest."""
    table = {}
    for exercise in manifest.load():
        value = _as_dict(getattr(exercise, "plausible", None))
        if value:
            table[exercise.id] = value
    return table


def flags(result: dict, maxima: dict[str, dict[str, float]] | None = None) -> list[str]:
    """One sentence per figure of `result` above its plausible maximum (none if all are plausible).

    A figure that is not a finite number is flagged too: trusted code
    measured it, so a NaN means something went wrong there.
    """
    maxima = limits() if maxima is None else maxima
    found = []
    for exercise_id, row in (result.get("exercises") or {}).items():
        figures = row.get("figures") if isinstance(row, dict) else None
        if not isinstance(figures, dict) or exercise_id not in maxima:
            continue
        for metric, limit in maxima[exercise_id].items():
            value = figures.get(metric)
            if value is None:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                found.append(f"{exercise_id} {metric} {value!r} is not a number")
                continue
            if not math.isfinite(value):
                found.append(f"{exercise_id} {metric} {value} is not a finite number")
            elif value > limit:
                found.append(f"{exercise_id} {metric} {value:.4f} > plausible {limit:.4f} "
                             f"(reference maximum + margin, docs/calibration.md)")
    return found
