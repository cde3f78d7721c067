"""One class graded by several machines: shares, class paths, the class's questions seed.

No coordinator: every machine is given the same list of submission folders
and ``--shard K/N``, and grades the submissions whose name falls in share K
(`in_shard`: a hash of the name, so a submission's share never changes when
others are added or removed). `class_paths` names each folder relative to
the class root (the deepest folder holding every submission folder), the
same on every machine whatever the path of its copy of the class, so
`embedlab.classroom.merge` can put the results of other machines back in
the place of this one's copy.

A class is graded with ONE questions seed (the grading-time questions,
`embedlab.grading.contract.make_questions`): it is kept in the output
folder's ``class.json`` (readable by its owner only), reused by every later
`embedlab grade` into that folder, and `class_questions_seed` refuses a
different one. A shard must be given it (``--questions-seed``) unless its
output folder already holds one: N machines drawing their own would grade
one class with N different sets of questions. Results record a fingerprint
of it (`fingerprint`), never the seed itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from embedlab import files
from embedlab.classroom.submissions import grader_version, submission_names
from embedlab.errors import EmbedlabError
from embedlab.settings import Settings

CLASS_FILE = "class.json"

Shard = tuple[int, int]  # (K, N): share K of N, 1 <= K <= N


def parse_shard(text: str) -> Shard:
    """``"K/N"`` -> (K, N); a one-line error for anything else."""
    try:
        k, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise EmbedlabError(f"--shard {text}: expected K/N with 1 <= K <= N (e.g. 1/2)")
    return k, n


def in_shard(name: str, shard: Shard | None) -> bool:
    """Whether the submission called `name` is in share K of N (always, without a shard)."""
    if shard is None:
        return True
    k, n = shard
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % n == k - 1


def class_paths(folders: list[Path]) -> list[str]:
    """Each folder's path relative to the class root: the deepest folder that holds all of them."""
    folders = [Path(folder).resolve() for folder in folders]
    if not folders:
        return []
    root = Path(os.path.commonpath([str(folder.parent) for folder in folders]))
    return [str(folder.relative_to(root)) for folder in folders]


def select(folders: list[Path], shard: Shard | None) -> tuple[list[Path], list[str], dict[str, str]]:
    """Share K of a class: (its folders, their names, name -> class path), named among ALL `folders`.

    Names (`submission_names`) and class paths are given among the whole
    class, so every machine given the same folders names a submission alike.
    """
    members = [(Path(folder), name, path) for folder, name, path
               in zip(folders, submission_names(folders), class_paths(folders)) if in_shard(name, shard)]
    return [folder for folder, _, _ in members], [name for _, name, _ in members], {
        name: path for _, name, path in members}


def fingerprint(questions_seed: int | None) -> str | None:
    """What results record of the questions seed: enough to tell two apart, useless to draw the questions."""
    if questions_seed is None:
        return None
    return hashlib.sha256(f"embedlab questions seed|{int(questions_seed)}".encode()).hexdigest()[:16]


def identity(settings: Settings, class_path: str) -> dict:
    """What a result records of where and how it was graded (results merge if all but the host agree)."""
    return {"class_path": class_path, "grader_version": grader_version(), "seed": settings.seed,
            "questions": fingerprint(settings.questions_seed), "time_limit": settings.time_limit,
            "host": socket.gethostname()}


def stored_questions_seed(out_dir: Path) -> int | None:
    """The questions seed kept in ``out_dir/class.json``, or None; a damaged file is an error."""
    path = Path(out_dir) / CLASS_FILE
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())["questions_seed"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise EmbedlabError(f"{path}: malformed (expected {{\"questions_seed\": <integer>}})") from None
    return value


def write_class_file(out_dir: Path, questions_seed: int) -> None:
    path = Path(out_dir) / CLASS_FILE
    text = json.dumps({"questions_seed": int(questions_seed), "questions": fingerprint(questions_seed)}, indent=2)
    files.write_atomic(path, text)
    path.chmod(0o600)  # the seed draws the questions: for the instructor only


def class_questions_seed(out_dir: Path, settings: Settings, resume: bool = True, sharded: bool = False) -> int:
    """The class's questions seed: the one given, else the output folder's, else (not sharded) a new one.

    Kept in ``out_dir/class.json``. A seed given explicitly that differs
    from the folder's is refused while resuming (the class would mix two
    sets of questions); with ``resume=False`` every submission is graded
    again, and the given seed replaces the stored one.
    """
    stored = stored_questions_seed(out_dir)
    given = settings.questions_seed
    if given is not None and stored is not None and given != stored and resume:
        raise EmbedlabError(f"{Path(out_dir) / CLASS_FILE}: this class was graded with another questions seed; "
                            "give the same --questions-seed, --no-resume to regrade it all, or another --out")
    if given is None and stored is None and sharded:
        raise EmbedlabError("--shard: every machine must grade with the class's questions seed; pass "
                            "--questions-seed N (the same on every machine), or an --out folder that holds it")
    seed = given if given is not None else stored if stored is not None else settings.questions_seed_or_new()
    if seed != stored:
        write_class_file(out_dir, seed)
    return seed
