"""Which files a worker must not read, and the check, run as a worker, that it cannot.

`labeled_paths` names them without any machine-specific path: the grading
data's labels and term tables (the test reviews), the prepared test split
(it has labels), the reference
solutions, the local source the TFRecords were prepared from (recorded in
their manifest.json: how the shared IMDB archive is covered) and
``Settings.labeled_files``. `check` runs ``label_probe.py`` the way a worker
runs (same sandbox, same kind of uid) and raises if it opened any of them:
tested by opening, not guessed with os.access.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from embedlab import files
from embedlab.grading import data as grading_data
from embedlab.isolation import bwrap, staging
from embedlab.isolation.errors import SandboxError
from embedlab.isolation.uids import UidSlot
from embedlab.settings import Settings

LABEL_PROBE = files.PACKAGE_DIR / "isolation" / "label_probe.py"
LOCAL_SOURCE_KINDS = ("archive", "folder")
PROBE_SECONDS = 60


def prepared_from(tfrecords_dir: Path) -> str | None:
    """The local archive or folder the TFRecords were prepared from (manifest.json ``source.path``), if any."""
    try:
        source = json.loads((Path(tfrecords_dir) / "manifest.json").read_text()).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    if type(source) is not dict or source.get("kind") not in LOCAL_SOURCE_KINDS:
        return None
    path = source.get("path")
    return path if type(path) is str and path else None


def labeled_paths(settings: Settings, data_dir: Path) -> list[str]:
    """Files and folders a worker must not be able to read."""
    paths = [str(Path(data_dir) / grading_data.LABELS_FILE), str(Path(settings.tfrecords_dir) / "test.tfrecord"),
             str(grading_data.terms_path(data_dir, "test").parent), str(files.SOLUTIONS)]
    source = prepared_from(settings.tfrecords_dir)
    if source is not None:
        paths.append(source)
    return paths + [str(path) for path in settings.labeled_files if path]


def hidden_paths(settings: Settings, data_dir: Path) -> list[str]:
    """uid mode: what gets chmod 0700 (bwrap mode mounts none of it anyway)."""
    return [str(Path(data_dir)), str(settings.tfrecords_dir), str(files.SOLUTIONS)]


def hide(settings: Settings, data_dir: Path) -> None:
    """uid mode: make the grading data, the TFRecords and the solutions private to root."""
    for path in hidden_paths(settings, data_dir):
        if os.path.exists(path):
            os.chmod(path, 0o700)


def check(mode: str, settings: Settings, data_dir: Path) -> None:
    """Raise `SandboxError` if a worker in `mode` could open one of the labeled paths."""
    paths = labeled_paths(settings, data_dir)
    work = staging.probe_folder()
    try:
        with UidSlot(settings.uid_base) as slot:
            prefix = bwrap.command_prefix(work, data_dir) if mode == "bwrap" else []
            done = subprocess.run(prefix + [sys.executable, "-I", str(LABEL_PROBE), str(slot.uid), *paths],
                                  capture_output=True, text=True, timeout=PROBE_SECONDS,
                                  cwd="/" if mode == "bwrap" else str(work))
    finally:
        staging.remove(work)
    if done.returncode != 0:
        raise SandboxError(f"the sandbox probe failed ({mode} mode): {done.stderr.strip()[-500:]}")
    readable = [line for line in done.stdout.splitlines() if line.strip()]
    if readable:
        raise SandboxError(f"a worker could read labeled files in {mode} mode: {', '.join(readable)} "
                           "(see docs/grading.md)")
