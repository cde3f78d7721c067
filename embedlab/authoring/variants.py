"""Deliberately weak variants of the reference solutions (tests/weak_variants.toml).

Used by the grader's own tests, to prove a weak model loses its points, and
by the calibration script, to show where weak models score.
"""

from __future__ import annotations

import shutil
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from embedlab.errors import EmbedlabError
from embedlab.files import REPOSITORY

VARIANTS_FILE = REPOSITORY / "tests" / "weak_variants.toml"
SOLUTIONS = REPOSITORY / "solutions"


def load(path: Path = VARIANTS_FILE) -> list[dict]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)["variant"]


def materialize(variant: dict, folder: Path) -> Path:
    """Copy the solutions a variant needs into `folder` and apply its flaw; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in variant.get("files") or [variant["graded"]]:
        shutil.copy(SOLUTIONS / f"{name}.py", folder / f"{name}.py")
    for name, old, new in variant["replace"]:
        path = folder / f"{name}.py"
        text = path.read_text()
        if old not in text:
            raise EmbedlabError(f"weak variant {variant['name']}: {old!r} no longer occurs in solutions/{name}.py")
        path.write_text(text.replace(old, new))
    return folder


def must_score_below(variant: dict) -> bool:
    """Whether the variant must fall below the exercise's accuracy/AUC pass marks."""
    return "test_trained_model_reaches_the_pass_mark" in variant["fails"]
