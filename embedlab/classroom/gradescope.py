"""Gradescope: results.json in its format, the autograder zip, and its run_autograder logic.

Gradescope's results format (the fields used here): top-level ``score``,
``execution_time``, ``output`` (+ ``output_format``), ``visibility``,
``stdout_visibility`` and ``tests``, a list of ``{"name", "number", "score",
"max_score", "status": "passed"|"failed", "output", "output_format",
"visibility"}``.

The student's embedding plot travels with the feedback of exercise 6: its
test output is HTML (``"output_format": "html"``) with the PNG embedded as a
``data:image/png;base64`` URI, capped in size (Gradescope may sanitize or
drop inline images; the text feedback is complete without it).

Paths of ``run_autograder`` are configurable for local tests:
``AUTOGRADER_ROOT`` (default /autograder) holds ``submission/``,
``results/`` and ``source/``.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from embedlab import manifest

from embedlab.files import REPOSITORY
MAX_INLINE_PNG = 400_000  # bytes of PNG embedded in one test's output

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built (it has internet).
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -m venv /opt/embedlab-venv
/opt/embedlab-venv/bin/pip install --upgrade pip
/opt/embedlab-venv/bin/pip install -e '/autograder/source[dev]' psutil
cd /autograder/source
# The IMDB reviews through tensorflow-datasets, then the grader's own copy (labels kept private).
/opt/embedlab-venv/bin/embedlab prepare --out /autograder/source/tfrecords --quiet
EMBEDLAB_TFRECORDS=/autograder/source/tfrecords /opt/embedlab-venv/bin/python -c \
    "from embedlab import grading_data; print(grading_data.ensure())"
chmod 0700 /autograder/source/tfrecords
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission; it must always leave results/results.json.
export AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
export EMBEDLAB_TFRECORDS="${EMBEDLAB_TFRECORDS:-$AUTOGRADER_ROOT/source/tfrecords}"
PYTHON="${EMBEDLAB_PYTHON:-/opt/embedlab-venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
cd "$AUTOGRADER_ROOT/source" || true
"$PYTHON" -m embedlab.classroom.gradescope run || "$PYTHON" - <<'EOF'
import json, os
root = os.environ.get("AUTOGRADER_ROOT", "/autograder")
os.makedirs(os.path.join(root, "results"), exist_ok=True)
path = os.path.join(root, "results", "results.json")
if not os.path.exists(path):
    json.dump({"score": 0, "output": "The autograder itself failed; please tell the course staff.",
               "visibility": "visible", "stdout_visibility": "hidden", "tests": []}, open(path, "w"))
EOF
"""


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


def to_gradescope(result: dict) -> dict:
    """A classgrade result → Gradescope's results.json (a dict)."""
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
        plot = figures / "ex06_plot_embedding" / "embedding_trained.png"
        if exercise.id == "ex06_plot_embedding" and plot.is_file():
            image = _png_html(plot)
            if image:
                tests.append({"name": "ex06_plot_embedding: your embedding (not graded)",
                              "number": f"{exercise.number}.0", "score": 0, "max_score": 0, "status": "passed",
                              "output": image, "output_format": "html", "visibility": "visible"})
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
    from embedlab.classroom.classgrade import write_json_atomic

    write_json_atomic(Path(path), to_gradescope(result))
    return Path(path)


# ----------------------------------------------------------- run_autograder
def autograder_root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))


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


def run(root: Path | None = None) -> int:
    """What run_autograder does: grade /autograder/submission, write /autograder/results/results.json."""
    from embedlab.classroom import classgrade

    root = Path(root or autograder_root())
    results_path = root / "results" / "results.json"
    started = time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="embedlab-gradescope-") as scratch:
            folder = Path(scratch) / "submission"
            files = collect_submission(root / "submission", folder)
            out = Path(scratch) / "out"
            data_dir = classgrade.prepare_grading_data(
                Path(os.environ["EMBEDLAB_GRADING_DATA"]) if os.environ.get("EMBEDLAB_GRADING_DATA") else None)
            results = classgrade.grade_many([folder], out, jobs=1, data_dir=data_dir, resume=False, progress=False)
            result = results[0]
            payload = to_gradescope(result)
            if not files:
                payload["output"] += "\nNo exercise file found in the submission (expected ex01_input_pipeline.py ...)."
            from embedlab.classroom.classgrade import write_json_atomic

            write_json_atomic(results_path, payload)
            print(classgrade.format_report(result))
    except Exception as error:  # noqa: BLE001 - Gradescope needs a results file whatever happens
        from embedlab.classroom.classgrade import write_json_atomic

        write_json_atomic(results_path, {
            "score": 0, "execution_time": round(time.time() - started),
            "output": f"The autograder failed ({type(error).__name__}: {error}); please tell the course staff.",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []})
        print(f"autograder error: {error!r}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------ bundle
BUNDLE_EXCLUDE_DIRS = {"__pycache__", ".pytest_cache", "adversarial"}


def bundle_files() -> list[tuple[Path, str]]:
    """(source path, name in the zip) of everything the autograder needs."""
    entries = []
    for folder in ("embedlab", "tests"):
        for path in sorted((REPOSITORY / folder).rglob("*")):
            relative = path.relative_to(REPOSITORY)
            if path.is_dir() or set(relative.parts) & BUNDLE_EXCLUDE_DIRS or path.suffix == ".pyc":
                continue
            if folder == "tests" and relative.parts[1:2] not in (("grading",), ("conftest.py",)):
                continue
            entries.append((path, str(relative)))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPOSITORY / name).is_file():
            entries.append((REPOSITORY / name, name))
    return entries


def build_bundle(out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source, name in bundle_files():
            archive.write(source, name)
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    os.replace(partial, out)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run()
    if argv[:1] == ["bundle"]:
        print(build_bundle(Path(argv[1] if len(argv) > 1 else "autograder.zip")))
        return 0
    print("usage: python -m embedlab.classroom.gradescope run | bundle [OUT.zip]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
