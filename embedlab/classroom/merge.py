"""One gradebook from the output folders of several machines (`embedlab gradebook merge`).

`merge(sources, out_dir)` reads every ``results/<name>.json`` of the
source folders and of `out_dir` itself (so a late shard can be merged in
afterwards), checks them all before it writes anything, and refuses, with
one line naming the files:

* a malformed result file, or one of another result format;
* results of different grader versions, grading seeds, questions seeds (a
  ``class.json`` whose seed is not its results' too) or time limits: one
  class is graded by one grader, with one set of questions, alike;
* two different results for one submission (the same name graded twice
  with other files, another class path, or another outcome). The same
  result twice (a folder merged again) is kept once.

Then it copies each result with its figures and logs into `out_dir`, the
class's questions seed into its ``class.json``, and writes the gradebook
(`embedlab.classroom.gradebook`). A result keeps the folder it was graded
in (another machine's path); with ``class_dir`` (this machine's copy of the
class) its folder becomes ``class_dir/<class_path>``, the old one kept as
``graded_folder``, so that `embedlab grade` into `out_dir` resumes it here
(`embedlab.classroom.resume`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath

from embedlab import files
from embedlab.classroom import shards
from embedlab.classroom.gradebook import write_gradebook
from embedlab.classroom.resume import RESULT_FORMAT
from embedlab.errors import EmbedlabError

AGREE = (("grader_version", "grader versions"), ("seed", "grading seeds"), ("questions", "questions seeds"),
         ("time_limit", "time limits (--time-limit)"))
# What may differ between two gradings of one submission that are the same result.
CIRCUMSTANCES = ("seconds", "log", "figures", "resumed", "folder", "graded_folder", "host")


def _problem(result) -> str | None:
    """What makes `result` unusable for a gradebook, or None."""
    if not isinstance(result, dict):
        return "not a JSON object"
    if result.get("format") != RESULT_FORMAT:
        return f"result format {result.get('format')!r}, this grader merges format {RESULT_FORMAT} (regrade it)"
    kinds = {"submission": str, "folder": str, "class_path": str, "grader_version": str, "status": str,
             "seed": int, "score": (int, float), "max_score": (int, float), "exercises": dict,
             "hash": (str, type(None)), "questions": (str, type(None)), "time_limit": (int, float, type(None))}
    for key, kind in kinds.items():
        if not isinstance(result.get(key), kind) or isinstance(result.get(key), bool):
            return f"{key!r} missing or not a {getattr(kind, '__name__', 'value of the right kind')}"
    path = PurePosixPath(result["class_path"])
    if path.is_absolute() or ".." in path.parts:
        return f"class_path {result['class_path']!r} is not a path inside the class"
    for exercise_id, row in result["exercises"].items():
        if not (isinstance(row, dict) and isinstance(row.get("tests"), list)
                and all(isinstance(row.get(key), (int, float)) for key in ("score", "max_score"))):
            return f"exercise {exercise_id!r} has no score, max_score and tests"
    return None


def read_results(source: Path) -> dict[str, tuple[dict, Path]]:
    """name -> (result, its file) of one output folder; a one-line error for anything unusable."""
    folder = Path(source) / "results"
    if not folder.is_dir():
        raise EmbedlabError(f"{source}: not a grading output folder (no results/ in it)")
    found = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):  # a partial file of an interrupted write
            continue
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise EmbedlabError(f"{path}: malformed result file ({error})") from None
        problem = _problem(result) or (None if result["submission"] == path.stem
                                       else f"it is the result of {result['submission']!r}")
        if problem:
            raise EmbedlabError(f"{path}: malformed result file: {problem}")
        found[path.stem] = (result, path)
    return found


def _essence(result: dict) -> dict:
    return {key: value for key, value in result.items() if key not in CIRCUMSTANCES}


def _difference(first: dict, other: dict) -> str:
    if first["hash"] != other["hash"]:
        return "graded from other files, seed or grader"
    if first["class_path"] != other["class_path"]:
        return f"folders {first['class_path']!r} and {other['class_path']!r}"
    if first["score"] != other["score"]:
        return f"scores {first['score']} and {other['score']}"
    return "other outcomes"


def collect(sources: list[Path], out_dir: Path) -> tuple[dict[str, tuple[dict, Path]], int | None]:
    """Every result of `sources` and `out_dir`, checked to belong to one grading; and the questions seed."""
    folders = []
    for source in ([out_dir] if (Path(out_dir) / "results").is_dir() else []) + list(sources):
        if Path(source).resolve() not in [folder.resolve() for folder in folders]:
            folders.append(Path(source))
    merged: dict[str, tuple[dict, Path]] = {}
    seeds: dict[int, Path] = {}
    for folder in folders:
        results = read_results(folder)
        seed = shards.stored_questions_seed(folder)
        if seed is not None:
            seeds.setdefault(seed, folder / shards.CLASS_FILE)
            wrong = [path for result, path in results.values() if result["questions"] != shards.fingerprint(seed)]
            if wrong:
                raise EmbedlabError(f"{wrong[0]}: graded with another questions seed than {folder / shards.CLASS_FILE}")
        for name, (result, path) in results.items():
            if name in merged and _essence(merged[name][0]) != _essence(result):
                raise EmbedlabError(f"two different results for {name}: {merged[name][1]} and {path} "
                                    f"({_difference(merged[name][0], result)})")
            merged.setdefault(name, (result, path))
    if not merged:
        raise EmbedlabError(f"nothing to merge: no results/<name>.json in {', '.join(map(str, folders))}")
    if len(seeds) > 1:
        raise EmbedlabError("different questions seeds: " + " and ".join(map(str, seeds.values())))
    for key, label in AGREE:
        seen: dict = {}
        for result, path in merged.values():
            seen.setdefault(result.get(key), path)
        if len(seen) > 1:
            (one, first), (two, second) = list(seen.items())[:2]
            raise EmbedlabError(f"results of different {label}: {one} ({first}) and {two} ({second}); "
                                "a gradebook holds one grading of one class")
    return merged, next(iter(seeds), None)


def _copy_outputs(result: dict, source: Path, out_dir: Path) -> None:
    """The submission's figures and logs from its output folder into `out_dir`; paths in `result` follow."""
    name = result["submission"]
    figures, target = source / "figures" / name, out_dir / "figures" / name
    if source.resolve() != out_dir.resolve():
        if figures.is_dir():
            staging = out_dir / "figures" / f".{name}.merging"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(figures, staging, symlinks=True)
            files.replace_folder(staging, target)
        else:
            shutil.rmtree(target, ignore_errors=True)
        count = (result.get("repeats") or {}).get("count") or 1
        for log in [f"{name}.log", *(f"{name}.repeat{number}.log" for number in range(2, int(count) + 1))]:
            if (source / "logs" / log).is_file():
                files.write_atomic(out_dir / "logs" / log, (source / "logs" / log).read_bytes())
    result["figures"], result["log"] = str(target), str(out_dir / "logs" / f"{name}.log")


def merge(sources: list[Path], out_dir: Path, class_dir: Path | None = None) -> list[dict]:
    """Merge the results of `sources` (and of `out_dir`) into `out_dir`: results, figures, logs, gradebook."""
    out_dir = Path(out_dir)
    if class_dir is not None and not Path(class_dir).is_dir():
        raise EmbedlabError(f"--class {class_dir}: not a folder")
    merged, questions_seed = collect(sources, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in sorted(merged):
        result, path = merged[name]
        result.pop("resumed", None)
        _copy_outputs(result, path.parent.parent, out_dir)
        if class_dir is not None:
            result.setdefault("graded_folder", result["folder"])
            result["folder"] = str((Path(class_dir) / result["class_path"]).resolve())
        files.write_json_atomic(out_dir / "results" / f"{name}.json", result)
        results.append(result)
    if questions_seed is not None:
        shards.write_class_file(out_dir, questions_seed)
    write_gradebook(out_dir, results, version=results[0]["grader_version"])
    return results
