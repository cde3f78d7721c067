"""The class's gradebook and a submission's report.

`write_gradebook` writes ``gradebook.csv`` (one row per submission, one
column per exercise) and ``gradebook.json`` (the same rows, the grader's
version, each exercise's points and the class's ``warnings``);
`format_report` is the text report of one submission: its score per
exercise, the reason for every lost point, and its flags.

Besides the points, every row says how far it can be trusted:
``sandbox`` (the isolation mode its workers ran in), ``repeats`` (empty,
``same xN`` or ``DIFFERS xN: ...`` with ``embedlab grade --repeat N``) and
``implausible`` (figures above the calibrated maxima), see
`embedlab.classroom.grade`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from embedlab import files, manifest
from embedlab.classroom import mode, repeats
from embedlab.classroom.submissions import grader_version

TRUST_FIELDS = ("sandbox", "repeats", "implausible")


def gradebook_rows(results: list[dict]) -> list[dict]:
    rows = []
    for result in results:
        row = {"submission": result["submission"], "score": result["score"], "max_score": result["max_score"],
               "bonus": result.get("bonus", 0), "status": result["status"], "seconds": result.get("seconds")}
        for exercise in manifest.load():
            row[exercise.id] = result["exercises"].get(exercise.id, {}).get("score", 0)
        row["sandbox"] = result.get("sandbox") or "unknown"
        row["repeats"] = repeats.column(result)
        row["implausible"] = "; ".join(result.get("implausible") or [])
        row["folder"] = result["folder"]
        rows.append(row)
    return rows


def write_gradebook(out_dir: Path, results: list[dict], version: str | None = None) -> tuple[Path, Path]:
    """``gradebook.csv`` and ``.json`` of `results`; `version`: their grader's (default: this one)."""
    exercises = manifest.load()
    rows = gradebook_rows(sorted(results, key=lambda result: result["submission"]))
    fields = ["submission", "score", "max_score", "bonus", *[exercise.id for exercise in exercises], "status",
              *TRUST_FIELDS, "seconds", "folder"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    csv_path, json_path = Path(out_dir) / "gradebook.csv", Path(out_dir) / "gradebook.json"
    files.write_atomic(csv_path, buffer.getvalue())
    maxima = {exercise.id: exercise.points for exercise in exercises}
    files.write_json_atomic(json_path, {"grader_version": version or grader_version(), "max_points": maxima,
                                        "warnings": class_warnings(results), "submissions": rows})
    return csv_path, json_path


def class_warnings(results: list[dict]) -> list[str]:
    """What the instructor must read before trusting the gradebook: weak sandboxes, unstable or implausible grades."""
    warnings = []
    for sandbox in sorted({result.get("sandbox") or "unknown" for result in results}):
        text = mode.warning(sandbox)
        if text:
            warnings.append(text)
    flagged = sorted(result["submission"] for result in results
                     if (result.get("repeats") or {}).get("consistent") is False)
    if flagged:
        warnings.append(f"WARNING: the repeated gradings differ for {', '.join(flagged)} (column 'repeats')")
    implausible = sorted(result["submission"] for result in results if result.get("implausible"))
    if implausible:
        warnings.append(f"WARNING: figures above the calibrated maxima for {', '.join(implausible)} "
                        f"(column 'implausible'): look at these submissions")
    return warnings


def format_report(result: dict) -> str:
    """A submission's score per exercise, and the reason for every lost point."""
    lines = [f"{result['submission']}: {result['score']} / {result['max_score']}"
             + (f" (+{result['bonus']} bonus)" if result.get("bonus") else "")
             + ("" if result["status"] == "graded" else f"  [{result['status']}: {result.get('reason')}]")]
    for exercise_id, row in result["exercises"].items():
        if not row.get("max_score") and not row.get("tests"):
            continue
        lines.append(f"  {exercise_id:<26} {row['score']:>3} / {row['max_score']:<3}"
                     + ("  (bonus)" if row.get("bonus") else ""))
        for test in row["tests"]:
            if not test["passed"] and test.get("points"):
                message = " ".join(str(test.get("message", "")).split())
                lines.append(f"      -{test['points']}: {test.get('name')}: {message[:400]}")
    lines.append(f"  sandbox: {result.get('sandbox') or 'unknown'}"
                 + ("" if mode.network_isolated(result.get("sandbox") or "") else "  (NO network isolation)"))
    lines += [f"  FLAG: {flag}" for flag in result.get("flags") or []]
    return "\n".join(lines)
