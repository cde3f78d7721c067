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
``submission/``, ``results/`` and ``source/``. It grades with the questions
seed `prepare_image` stored in the image, so the trusted reference runs made
there serve every container; and it always writes results.json before
``settings.deadline`` (``EMBEDLAB_DEADLINE_SECONDS``, which run_autograder
takes from the bundle's ``autograder.env``): the graded suite cuts each
worker's time limit to what is left (`embedlab.pytest_plugin`), and should
anything still run at the deadline, a watchdog writes results with the
reason and ends the run. The autograder zip itself is built by
`embedlab.classroom.bundle`.

`prepare_image` is what ``setup.sh`` runs once the data are prepared: the
grading data, the label check, the image's questions seed (drawn at random
there, kept in the grading data folder, which workers never see) and the
trusted reference runs for those questions.
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from embedlab import files, manifest
from embedlab.classroom import grade, gradebook, mode
from embedlab.settings import Settings

MAX_INLINE_PNG = 400_000  # bytes of PNG embedded in one test's output
IMAGE_FILE = "gradescope.json"  # in the grading data folder: the image's questions seed
DEADLINE_MARK = "overall time limit ran out"  # in the reason of an exercise the deadline cut (pytest_plugin)


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
            f'<img alt="your plot" style="max-width:100%" src="data:image/png;base64,{encoded}"/>')


def integrity_lines(result: dict) -> list[str]:
    """The instructor's lines about one grading: its sandbox mode, its warning and its flags."""
    sandbox = result.get("sandbox") or "unknown"
    lines = [f"sandbox: {sandbox}"]
    if result.get("sandbox_note"):
        lines.append(result["sandbox_note"])
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
            tests.append({"name": f"{exercise.id}: your plot, {exercise.figures[0]} (not graded)",
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
    if any(DEADLINE_MARK in test["output"] for test in tests):
        summary.append("The autograder's overall time limit ran out: the exercises that say so were not graded "
                       "(course staff: see the Gradescope section of docs/grading.md).")
    return {
        # The bonus on top: Gradescope takes a score above the assignment's points as extra credit.
        "score": result["score"] + result.get("bonus", 0),
        "execution_time": round(float(result.get("seconds") or 0)),
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {key: result.get(key) for key in ("sandbox", "network_isolated", "status", "grader_version")},
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


def sandbox_note(sandbox: str) -> str | None:
    """Why the workers ran without namespaces, when they did (uid mode)."""
    from embedlab.isolation import modes

    if sandbox != "uid":
        return None
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed here: workers ran as another uid only (uid mode)"
    if modes.bwrap_works():
        return "workers ran as another uid only (uid mode), as configured, although bubblewrap works here"
    return ("bubblewrap is installed but cannot create namespaces in this container (a default Docker "
            "container forbids them): workers ran as another uid only (uid mode)")


def fallback(reason: str, started: float) -> dict:
    """A results.json when no grading finished: zero, and the reason."""
    return {"score": 0, "execution_time": round(time.time() - started),
            "output": f"{reason}; please tell the course staff.", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


class _Results:
    """results.json written once: by the grading, or at the deadline by the watchdog (then the run ends)."""

    def __init__(self, path: Path, settings: Settings, started: float):
        self.path, self.started, self._lock, self._done = path, started, threading.Lock(), False
        left = settings.seconds_left()
        self._timer = None if left is None else threading.Timer(max(0.0, left), self._expire)
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()

    def write(self, payload: dict) -> bool:
        with self._lock:
            if self._done:
                return False
            files.write_json_atomic(self.path, payload)
            self._done = True
        if self._timer is not None:
            self._timer.cancel()
        return True

    def _expire(self) -> None:
        reason = ("The autograder's overall time limit ran out before grading finished (course staff: raise "
                  "Gradescope's timeout and EMBEDLAB_DEADLINE_SECONDS, see docs/grading.md)")
        if self.write(fallback(reason, self.started)):
            print(f"autograder: {reason}", file=sys.stderr, flush=True)
            import psutil

            for child in psutil.Process().children(recursive=True):  # the grading run and its workers
                try:
                    child.kill()
                except psutil.Error:
                    pass
            os._exit(2)


def run(settings: Settings) -> int:
    """What run_autograder does: grade <root>/submission, write <root>/results/results.json."""
    root = Path(settings.autograder_root)
    started = time.time()
    results = _Results(root / "results" / "results.json", settings, started)
    try:
        settings = settings.replace(questions_seed=image_questions_seed(settings))
        with tempfile.TemporaryDirectory(prefix="embedlab-gradescope-") as scratch:
            folder = Path(scratch) / "submission"
            found = collect_submission(root / "submission", folder)
            result = grade.grade_many([folder], Path(scratch) / "out", settings, jobs=1, resume=False,
                                      progress=False)[0]
            result["sandbox_note"] = sandbox_note(result.get("sandbox") or "")
            payload = to_gradescope(result)
            payload["execution_time"] = round(time.time() - started)
            if not found:
                payload["output"] += (f"\nNo exercise file found in the submission "
                                      f"(expected {manifest.load()[0].module_file} ...).")
            results.write(payload)
            print("\n".join(integrity_lines(result)))
            print(gradebook.format_report(result))
    except Exception as error:  # Gradescope needs a results file whatever happens
        results.write(fallback(f"The autograder failed ({type(error).__name__}: {error})", started))
        print(f"autograder error: {error!r}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------- setup.sh
def image_questions_seed(settings: Settings) -> int | None:
    """The questions seed `prepare_image` kept in the grading data folder (None if there is none)."""
    try:
        seed = json.loads((settings.grading_data() / IMAGE_FILE).read_text())["questions_seed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seed if type(seed) is int else None


def prepare_image(settings: Settings) -> dict:
    """setup.sh: grading data, label check, the image's questions seed and the trusted reference runs.

    Every container then grades with the same questions and finds their
    reference values cached. The seed is drawn here, once per image, and
    kept where no worker can read it (the grading data folder: bwrap mounts
    only its ``worker/``, uid mode makes it private to root).
    """
    from embedlab.grading import contract
    from embedlab.isolation.sandbox import Sandbox

    started = time.time()
    sandbox_mode = mode.class_mode(settings)
    settings = settings.replace(sandbox=sandbox_mode)
    data_dir = grade.prepare_grading_data(settings)
    settings = settings.replace(grading_data_dir=data_dir)
    seed = image_questions_seed(settings)
    if seed is None:
        seed = secrets.randbits(62)
        files.write_json_atomic(data_dir / IMAGE_FILE, {"questions_seed": seed})  # mode 0600, as every atomic write
    sandbox = Sandbox(settings.replace(questions_seed=seed))
    references = [exercise.id for exercise in manifest.load() if contract.has_trusted_reference(exercise.id)]
    for exercise_id in references:
        sandbox.reference(exercise_id, data_dir, contract.make_questions(exercise_id, data_dir, seed))
    summary = {"grading_data": str(data_dir), "sandbox": sandbox_mode, "references": references,
               "seconds": round(time.time() - started, 1)}
    for line in filter(None, [f"sandbox: {sandbox_mode}", sandbox_note(sandbox_mode), mode.warning(sandbox_mode)]):
        print(line)
    print(f"image prepared in {summary['seconds']} s: grading data {data_dir}, reference runs of "
          f"{', '.join(references) or 'no exercise'}")
    return summary
