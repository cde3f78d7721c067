"""Gradescope: its results.json format, and what its run_autograder does.

Gradescope's results format (the fields used here): top-level ``score``,
``execution_time``, ``output`` (+ ``output_format``), ``visibility``,
``stdout_visibility`` and ``tests``, a list of ``{"name", "number", "score",
"max_score", "status": "passed"|"failed", "output", "output_format",
"visibility"}``.

The student's first figure of each exercise that draws some (the manifest's
``figures``) travels with that exercise's feedback: a test whose output is
HTML (``"output_format": "html"``) with the PNG embedded as a
``data:image/png;base64`` URI, capped in size (Gradescope may sanitize or
drop inline images; the text feedback is complete without it).

What only the instructor may see travels in a test of ``"visibility":
"hidden"`` worth 0 points ("grading integrity"): the sandbox mode the
workers ran in (with the warning when it has no network isolation), the
implausible figures and any other flag; `run` prints the same to the
autograder's stdout, which Gradescope shows to the instructor only
(``stdout_visibility: hidden``).

`run` is what ``run_autograder`` calls (as ``embedlab gradescope-run``):
``settings.autograder_root`` (``AUTOGRADER_ROOT``, default /autograder) holds
``submission/``, ``results/`` and ``source/``. The autograder zip itself is
built by `embedlab.classroom.bundle`.
"""

from __future__ import annotations

import base64
import html
import shutil
import sys
import tempfile
import time
from pathlib import Path

from embedlab import files, manifest
from embedlab.classroom import grade, gradebook, mode
from embedlab.settings import Settings

MAX_INLINE_PNG = 400_000  # bytes of PNG embedded in one test's output


# ------------------------------------------------------------- results.json
def _png_html(path: Path) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) > MAX_INLINE_PNG:
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<p>Your trained 2-D embedding ({html.escape(Path(path).name)}):</p>'
            f'<img alt="embedding plot" style="max-width:100%" src="data:image/png;base64,{encoded}"/>')


def integrity_lines(result: dict) -> list[str]:
    """The instructor's lines about one grading: its sandbox mode, its warning and its flags."""
    sandbox = result.get("sandbox") or "unknown"
    lines = [f"sandbox: {sandbox}"]
    warning = mode.warning(sandbox)
    if warning:
        lines.append(warning)
    lines += [f"FLAG: {flag}" for flag in result.get("flags") or []]
    return lines


def to_gradescope(result: dict) -> dict:
    """A graded submission's result (`embedlab.classroom.grade`) → Gradescope's results.json (a dict)."""
    tests = []
    figures = Path(result.get("figures") or "")
    for exercise in manifest.load():
        row = result["exercises"].get(exercise.id)
        if not row:
            continue
        for index, test in enumerate(row.get("tests", []), start=1):
            points = test.get("points", 0)
            passed = bool(test.get("passed"))
            entry = {
                "name": f"{exercise.id}{' (bonus)' if exercise.bonus else ''}: {test.get('name')}",
                "number": f"{exercise.number}.{index}",
                "score": points if passed else 0,
                "max_score": points,
                "status": "passed" if passed else "failed",
                "output": test.get("message") or ("passed" if passed else "failed"),
                "visibility": "visible",
            }
            tests.append(entry)
        if not exercise.figures:
            continue
        plot = figures / exercise.id / exercise.figures[0]
        image = _png_html(plot) if plot.is_file() else ""
        if image:
            tests.append({"name": f"{exercise.id}: your embedding (not graded)",
                          "number": f"{exercise.number}.0", "score": 0, "max_score": 0, "status": "passed",
                          "output": image, "output_format": "html", "visibility": "visible"})
    tests.append({"name": "grading integrity (instructor only, not graded)", "number": "0.0", "score": 0,
                  "max_score": 0, "status": "passed" if not result.get("flags") else "failed",
                  "output": "\n".join(integrity_lines(result)), "visibility": "hidden"})
    summary = [f"Score: {result['score']} / {result['max_score']}"
               + (f" (+{result['bonus']} bonus)" if result.get("bonus") else "")]
    for exercise_id, row in result["exercises"].items():
        if row.get("max_score"):
            summary.append(f"{exercise_id}: {row['score']} / {row['max_score']}")
    if result.get("status") != "graded":
        summary.append(f"Grading problem: {result.get('reason')}")
    return {
        "score": result["score"] + result.get("bonus", 0),
        "execution_time": round(float(result.get("seconds") or 0)),
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_results(result: dict, path: Path) -> Path:
    return files.write_json_atomic(Path(path), to_gradescope(result))


# ----------------------------------------------------------- run_autograder
def collect_submission(submission_dir: Path, target: Path) -> list[str]:
    """Copy the exercise files of a Gradescope submission (top level, or the shallowest in a folder)."""
    wanted = {exercise.module_file for exercise in manifest.load()}
    found: dict[str, Path] = {}
    candidates = sorted(Path(submission_dir).rglob("*.py"), key=lambda path: (len(path.parts), str(path)))
    for path in candidates:
        if path.name in wanted and path.name not in found and path.is_file() and not path.is_symlink():
            found[path.name] = path
    target.mkdir(parents=True, exist_ok=True)
    for name, path in found.items():
        shutil.copyfile(path, target / name)
    return sorted(found)


def run(settings: Settings) -> int:
    """What run_autograder does: grade <root>/submission, write <root>/results/results.json."""
    root = Path(settings.autograder_root)
    results_path = root / "results" / "results.json"
    started = time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="embedlab-gradescope-") as scratch:
            folder = Path(scratch) / "submission"
            found = collect_submission(root / "submission", folder)
            result = grade.grade_many([folder], Path(scratch) / "out", settings, jobs=1, resume=False,
                                      progress=False)[0]
            payload = to_gradescope(result)
            if not found:
                payload["output"] += (f"\nNo exercise file found in the submission "
                                      f"(expected {manifest.load()[0].module_file} ...).")
            files.write_json_atomic(results_path, payload)
            print("\n".join(integrity_lines(result)))
            print(gradebook.format_report(result))
    except Exception as error:  # Gradescope needs a results file whatever happens
        files.write_json_atomic(results_path, {
            "score": 0, "execution_time": round(time.time() - started),
            "output": f"The autograder failed ({type(error).__name__}: {error}); please tell the course staff.",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []})
        print(f"autograder error: {error!r}", file=sys.stderr)
        return 1
    return 0
