"""Variants of the reference solutions, one change each (tests/variants/*.toml).

A weak variant has one deliberate flaw and names the graded tests it must
fail (``fails``): the grader's own tests prove it loses those points, and the
calibration script shows where weak models score. A style variant
(``full = true``) writes the same computation another correct way (a nested
model, a separate activation layer, Keras' ``adapt``) and must get full
marks. Each file holds ``[[variant]]`` tables::

    name = "oov_counted"                 # unique across the files
    graded = "<exercise id>"             # the exercise it is graded on
    files = ["<exercise id>"]            # the solutions to copy (default: graded)
    replace = [["<exercise id>", "old text", "new text"]]
    fails = ["test_out_of_vocabulary_terms_are_ignored"]   # or: full = true
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

VARIANTS_DIR = REPOSITORY / "tests" / "variants"
SOLUTIONS = REPOSITORY / "solutions"


def load(folder: Path = VARIANTS_DIR) -> list[dict]:
    """Every variant of every ``*.toml`` file in `folder`, in file then table order."""
    found: list[dict] = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            with open(path, "rb") as handle:
                tables = tomllib.load(handle).get("variant", [])
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise EmbedlabError(f"{path}: cannot read the variants ({error})") from None
        for variant in tables:
            if "name" not in variant or "graded" not in variant or not ("fails" in variant or variant.get("full")):
                raise EmbedlabError(f"{path}: variant {variant.get('name', '?')} needs name, graded, "
                                    "and fails or full = true")
            found.append({**variant, "fails": variant.get("fails", []), "source": path.name})
    names = [variant["name"] for variant in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise EmbedlabError(f"{folder}: variant names used twice: {', '.join(duplicates)}")
    return found


def is_style(variant: dict) -> bool:
    """A correct variant written in another style: it must get full marks."""
    return bool(variant.get("full"))


def materialize(variant: dict, folder: Path) -> Path:
    """Copy the solutions a variant needs into `folder` and apply its flaw; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in variant.get("files") or [variant["graded"]]:
        shutil.copy(SOLUTIONS / f"{name}.py", folder / f"{name}.py")
    for name, old, new in variant["replace"]:
        path = folder / f"{name}.py"
        text = path.read_text()
        if old not in text:
            raise EmbedlabError(f"variant {variant['name']}: {old!r} no longer occurs in solutions/{name}.py")
        path.write_text(text.replace(old, new))
    return folder


def must_score_below(variant: dict) -> bool:
    """Whether the variant must fall below the exercise's accuracy/AUC pass marks."""
    return "test_trained_model_reaches_the_pass_mark" in variant["fails"]
