"""The one way to run the graded suite (``tests/grading``) in a child pytest.

`suite_command` builds the command line; `run_suite` runs it and reads the
results JSON the autograder's plugin writes. `embedlab check`, `embedlab
grade` (one process per submission) and the grader's own tests all go
through here, so they grade with the same options.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from embedlab import files, manifest
from embedlab.settings import Settings

KEYWORD_TARGETS = ("exercises", "solutions")


def _target(target: str | Path) -> str:
    """``exercises`` and ``solutions`` stay keywords (the repository's folders); anything else is a folder."""
    if isinstance(target, str) and target in KEYWORD_TARGETS:
        return target
    return str(Path(target).resolve())


def suite_command(target: str | Path, results_json: Path, *, isolated: bool = False,
                  output_dir: Path | None = None, settings: Settings | None = None,
                  exercises: Iterable[str] = (), extra: Iterable[str] = ()) -> list[str]:
    """The pytest command that grades `target` and writes its outcomes to `results_json`.

    `settings` (if given) travel as explicit options, so the child grades
    with this process's configuration whatever its environment says;
    `exercises` (ids or numbers) select with ``-k``; `extra` is appended.
    """
    # Every path-valued option as ONE token (--target=PATH): pytest's early argument scan takes a
    # separate value of an option it does not know yet for a test path, and loads the conftest.py
    # found there. --confcutdir keeps it from loading any conftest.py outside tests/grading, and
    # the plugin comes with -p since tests/conftest.py is outside that too.
    command = [sys.executable, "-m", "pytest", str(files.GRADING_TESTS), "-p", "embedlab.pytest_plugin",
               f"--confcutdir={files.GRADING_TESTS}", f"--rootdir={files.REPOSITORY}",
               f"--config-file={files.REPOSITORY / 'pyproject.toml'}", f"--target={_target(target)}",
               f"--results-json={Path(results_json).resolve()}"]
    if isolated:
        command.append("--isolated")
    if output_dir is not None:
        command.append(f"--output-dir={Path(output_dir).resolve()}")
    if settings is not None:
        command += [f"--seed={settings.seed}", f"--tfrecords={Path(settings.tfrecords_dir).resolve()}"]
        if settings.grading_data_dir is not None:
            command.append(f"--grading-data={Path(settings.grading_data_dir).resolve()}")
        command.append(f"--sandbox={settings.sandbox}")
        if settings.time_limit is not None:
            command.append(f"--time-limit={settings.time_limit}")
        if settings.questions_seed is not None:
            command.append(f"--questions-seed={settings.questions_seed}")
        if settings.deadline is not None:
            command.append(f"--deadline={settings.deadline}")
        if settings.progress is not None:
            command.append(f"--progress={Path(settings.progress).resolve()}")
    command += ["-p", "no:cacheprovider", "-q", "--no-header", "-rN"]
    selected = [manifest.get(exercise).id for exercise in exercises]
    if selected:
        command += ["-k", " or ".join(exercise_id[:4] for exercise_id in selected)]
    return command + list(extra)


@dataclasses.dataclass
class SuiteRun:
    returncode: int
    results: dict | None  # None: pytest stopped before it wrote the score table
    stdout: str | None = None
    stderr: str | None = None


def run_suite(target: str | Path, *, isolated: bool = False, output_dir: Path | None = None,
              settings: Settings | None = None, exercises: Iterable[str] = (), extra: Iterable[str] = (),
              **run_options) -> SuiteRun:
    """Run `suite_command(...)` from the repository; `run_options` go to `subprocess.run` (e.g. capture_output)."""
    with tempfile.TemporaryDirectory(prefix="embedlab-suite-") as scratch:
        results_json = Path(scratch) / "results.json"
        command = suite_command(target, results_json, isolated=isolated, output_dir=output_dir,
                                settings=settings, exercises=exercises, extra=extra)
        completed = subprocess.run(command, cwd=files.REPOSITORY, text=True, **run_options)
        try:
            results = json.loads(results_json.read_text())
        except (OSError, ValueError):
            results = None
    return SuiteRun(completed.returncode, results, completed.stdout, completed.stderr)
