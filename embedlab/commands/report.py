"""The student's report of a graded run (`embedlab check`, and the notebook's check), as text or HTML.

Both read the results file the autograder's plugin writes (``--results-json``): per exercise checked, every
graded test with its points, passed or failed; under each failed test its message and the hint for that
test (``test_hints`` in exercises.toml); the accuracy and AUC the model reached against the pass marks and
the course's own figures. Then what is true of the whole run: which exercises pass, which were not
checked, the files the run wrote. With ``verbose``, the student's own traceback of each step that raised.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import sys
import textwrap
from pathlib import Path

from embedlab import manifest
from embedlab.grading.outcomes import NOT_IMPORTABLE

WIDTH = 100


@dataclasses.dataclass
class Line:
    """One graded test as the student sees it."""

    passed: bool
    points: int
    max_points: int
    title: str
    message: str = ""
    hint: str | None = None
    same_as_above: bool = False


@dataclasses.dataclass
class Section:
    """One exercise checked: its score, its tests, its figures against the marks."""

    exercise: manifest.Exercise
    score: int
    max_score: int
    lines: list[Line]
    figures: str | None
    tracebacks: dict[str, str]

    @property
    def passed(self) -> bool:
        return self.score == self.max_score  # a failed test of 0 points (not graded) is shown, not owed


def _figures(exercise: manifest.Exercise, figures: dict) -> str | None:
    """The figures measured, against their pass marks: test accuracy and AUC (with the course's own figures)
    for a model, each calibrated figure of `marks`, and an informative test's comparison (``compared``)."""
    parts = [_model_figures(exercise, figures)] if exercise.is_model else []
    for name, mark in exercise.marks:
        value = figures.get(name)
        if isinstance(value, (int, float)):
            parts.append(f"{name.replace('_', ' ')} {value:.4f} ({'reached' if value >= mark else 'below'} the pass "
                         f"mark {mark:.2f})")
    if isinstance(figures.get("compared"), str):
        parts.append(figures["compared"])
    return "; ".join(parts) or None


def _model_figures(exercise: manifest.Exercise, figures: dict) -> str:
    if not figures.get("accuracy") and not figures.get("auc"):
        return "test accuracy and AUC: not measured (the grader could not score this model's predictions)"
    parts = []
    for name, label in (("accuracy", "test accuracy"), ("auc", "AUC")):
        value, mark = figures.get(name), getattr(exercise.thresholds, name)
        course = getattr(exercise.course_results, name) if exercise.course_results else None
        if value is None:
            parts.append(f"{label}: not measured")
            continue
        verdict = "reached" if value >= mark else "below"
        parts.append(f"{label} {value:.4f} ({verdict} the pass mark {mark:.2f}"
                     + (f"; the course's model: {course:.3f})" if course else ")"))
    return ", ".join(parts)


def sections(report: dict) -> list[Section]:
    """The exercises of a results file, in the manifest's order, each with its tests and hints."""
    found = []
    for exercise_id, row in report.get("exercises", {}).items():
        exercise = manifest.get(exercise_id)
        lines, seen = [], set()
        for test in row.get("tests", []):
            passed = bool(test.get("passed"))
            message = str(test.get("message") or "")
            line = Line(passed, test["points"] if passed else 0, test["points"], test.get("name", "?"), message)
            if not passed:
                # A reason already given is not repeated, and neither is advice that waits on it.
                line.same_as_above = bool(message) and message in seen
                seen.add(message)
                if not line.same_as_above and NOT_IMPORTABLE not in message:
                    line.hint = exercise.hint_for(test.get("test") or _key(test.get("nodeid", "")))
            lines.append(line)
        tracebacks = (report.get("tracebacks") or {}).get(exercise_id) or {}
        found.append(Section(exercise, row.get("score", 0), row.get("max_score", 0), lines,
                             _figures(exercise, row.get("figures") or {}), dict(tracebacks)))
    return found


def _key(nodeid: str) -> str:
    """A test's hint key from its node id, for results files written before entries named their test."""
    return nodeid.rpartition("::")[2].partition("[")[0].removeprefix("test_")


def unchecked(report: dict) -> list[manifest.Exercise]:
    return [exercise for exercise in manifest.load() if exercise.id not in report.get("exercises", {})]


def written(report: dict) -> list[str]:
    """The files the run wrote (plots), as the results file lists them."""
    return [path for paths in (report.get("written") or {}).values() for path in paths]


def conclusion(report: dict) -> list[str]:
    """What is true of the whole run: what passes, what is left, what was not checked, the files written."""
    parts = sections(report)
    failing = [section for section in parts if not section.passed]
    missing = unchecked(report)
    lines = []
    if not parts:
        lines.append("No exercise was checked.")
    elif failing:
        left = ", ".join(f"{s.exercise.id} ({_points(s.max_score - s.score)} left)" for s in failing)
        lines.append(f"To do: {left}.")
        first = failing[0].exercise
        lines.append(f"More hints: `embedlab hint {first.number}` (then `embedlab hint {first.number} 2`).")
    elif missing:
        lines.append(f"Every exercise checked passes ({', '.join(s.exercise.id for s in parts)}).")
    else:
        lines.append("Every exercise passes.")
    if missing:
        numbers = " ".join(str(exercise.number) for exercise in missing)
        lines.append(f"Not checked: {', '.join(exercise.id for exercise in missing)} "
                     f"(`embedlab check {numbers}`, or `embedlab check` for all).")
    files_written = written(report)
    if files_written:
        lines += ["Plots written:", *(f"  {path}" for path in files_written)]
    return lines


def _points(count: int) -> str:
    return f"{count} point{'' if count == 1 else 's'}"


def _symbols(stream=None) -> tuple[str, str]:
    """✓ and ✗ where the terminal can print them, PASS and FAIL elsewhere."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return "PASS", "FAIL"
    return "✓", "✗"


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def render_text(report: dict, verbose: bool = False, symbols: tuple[str, str] | None = None) -> str:
    """The report as the terminal shows it; `verbose` adds the student's tracebacks."""
    ok, failed = symbols or _symbols()
    out = []
    for section in sections(report):
        exercise = section.exercise
        bonus = " (bonus)" if exercise.bonus else ""
        out.append(f"{exercise.id}{bonus}: {section.score} / {section.max_score}  {exercise.title}")
        for line in section.lines:
            mark = ok if line.passed else failed
            graded = "" if line.max_points or "not graded" in line.title else " (not graded)"
            out.append(f"  {mark} {line.points}/{line.max_points}  {line.title}{graded}")
            if line.passed:
                continue
            indent = " " * (len(mark) + 4)
            if line.same_as_above:
                out.append(f"{indent}(the same reason as above)")
            elif line.message:
                out.append(_wrap(line.message, indent))
            if line.hint:
                out.append(_wrap(f"Hint: {line.hint}", indent))
        if section.figures:
            out.append(_wrap(section.figures, "  "))
        if verbose:
            for step, text in section.tracebacks.items():
                out.append(f"  your code raised in step '{step}':")
                out += [f"    {row}" for row in text.splitlines()]
        out.append("")
    bonus = f" (+{report['bonus']} bonus)" if report.get("bonus") else ""
    out.append(f"score: {report.get('score', 0)} / {report.get('max_score', 0)}{bonus}")
    out += [line if line.startswith("  ") else _wrap(line, "") for line in conclusion(report)]  # paths unwrapped
    return "\n".join(out)


summarize = render_text  # the name `embedlab check` used first


def _image(path: str) -> str:
    try:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError:
        return ""
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path)}" style="max-width:48%">'


def render_html(report: dict, images: bool = False) -> str:
    """The report as an HTML table per exercise (a notebook's check shows it); `images` inlines the PNGs."""
    escape = html.escape
    out = ['<div class="embedlab-report">']
    for section in sections(report):
        exercise = section.exercise
        colour = "#2e7d32" if section.passed else "#c62828"
        out.append(f'<h4 style="margin-bottom:0.2em">{escape(exercise.id)}: '
                   f'<span style="color:{colour}">{section.score} / {section.max_score}</span> '
                   f"{escape(exercise.title)}</h4>")
        out.append('<table style="border-collapse:collapse;text-align:left">')
        out.append("<tr><th></th><th>points</th><th>test</th></tr>")
        for line in section.lines:
            mark = '<span style="color:#2e7d32">✓</span>' if line.passed else '<span style="color:#c62828">✗</span>'
            detail = ""
            if not line.passed:
                reason = "(the same reason as above)" if line.same_as_above else line.message
                detail = (f'<div style="color:#c62828">{escape(reason)}</div>' if reason else "")
                if line.hint:
                    detail += f"<div><b>Hint:</b> {escape(line.hint)}</div>"
            graded = "" if line.max_points else " (not graded)"
            out.append(f"<tr><td>{mark}</td><td>{line.points}/{line.max_points}</td>"
                       f"<td>{escape(line.title)}{graded}{detail}</td></tr>")
        out.append("</table>")
        if section.figures:
            out.append(f"<p>{escape(section.figures)}</p>")
    bonus = f" (+{report['bonus']} bonus)" if report.get("bonus") else ""
    out.append(f"<p><b>score: {report.get('score', 0)} / {report.get('max_score', 0)}{bonus}</b></p>")
    out += [f"<p>{escape(line)}</p>" for line in conclusion(report)]
    if images:
        out += [_image(path) for path in written(report) if path.endswith(".png")]
    out.append("</div>")
    return "\n".join(out)
