"""The files a worker gets and the files it gives back, outside the worker.

* `work_folder`: a fresh private folder per worker (``sub/`` a copy of the
  submission's ``.py`` files, never the submission folder itself; ``out/``,
  ``home/``, ``tmp/`` owned by the worker's uid; ``logs/`` the parent's);
* `public_data_dir`: uid mode only, a world-readable copy of the grading
  data's ``worker/`` folder (the grading data itself is made private);
* `bring_figures`: the PNG files a worker made, copied out as bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from embedlab import files

SUBMISSION_FILE_BYTES = 1024 * 1024
FIGURE_BYTES = 16 * 1024 * 1024
WORKER_DATA_FILES = ("train.tfrecord",)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def work_folder(submission: Path | None, uid: int | None) -> Path:
    """A new work folder for one worker; the caller removes it (`remove`)."""
    work = Path(tempfile.mkdtemp(prefix="embedlab-sandbox-"))
    os.chmod(work, 0o711)
    for name in ("sub", "out", "home", "tmp", "logs"):
        (work / name).mkdir()
    if submission is not None:
        copy_submission(submission, work / "sub")
    if uid is not None:
        for name in ("sub", "out", "home", "tmp"):
            for path in [work / name, *(work / name).rglob("*")]:
                os.chown(path, uid, uid)
            os.chmod(work / name, 0o700)
    os.chmod(work / "logs", 0o700)
    return work


def probe_folder() -> Path:
    """A new work folder for the label probe (it needs the ``sub/`` and ``tmp/`` a worker has)."""
    work = Path(tempfile.mkdtemp(prefix="embedlab-probe-"))
    os.chmod(work, 0o711)
    (work / "sub").mkdir()
    (work / "tmp").mkdir()
    return work


def remove(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)


def copy_submission(folder: Path, target: Path) -> list[str]:
    """Copy the submission's regular .py files (no symlinks, no folders, size-capped)."""
    copied = []
    if not folder.is_dir():
        return copied
    for entry in sorted(folder.iterdir()):
        if entry.suffix != ".py" or entry.is_symlink() or not entry.is_file():
            continue
        if entry.stat().st_size > SUBMISSION_FILE_BYTES:
            continue
        shutil.copyfile(entry, target / entry.name)
        copied.append(entry.name)
    return copied


def public_data_dir(data_dir: Path) -> Path:
    """uid mode: a world-readable copy (hard links if possible) of data_dir/worker, rebuilt when meta.json changes."""
    data_dir = Path(data_dir).resolve()
    source = data_dir / "worker"
    key = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    meta = (data_dir / "meta.json").read_text() if (data_dir / "meta.json").is_file() else ""
    public = Path(tempfile.gettempdir()) / f"embedlab-worker-data-{key}"
    stamp = public / "meta.json"
    if stamp.is_file() and stamp.read_text() == meta:
        return public
    staging = Path(tempfile.mkdtemp(prefix="embedlab-worker-data-"))
    (staging / "worker").mkdir()
    for name in WORKER_DATA_FILES:
        try:
            os.link(source / name, staging / "worker" / name)
        except OSError:
            shutil.copyfile(source / name, staging / "worker" / name)
        os.chmod(staging / "worker" / name, 0o644)
    (staging / "meta.json").write_text(meta)
    os.chmod(staging, 0o755)
    os.chmod(staging / "worker", 0o755)
    return files.replace_folder(staging, public)


def bring_figures(source: Path, target: Path, result: dict) -> None:
    """Copy the PNG files the worker made (bytes only, never decoded here) and fix their paths in `result`."""
    target.mkdir(parents=True, exist_ok=True)
    copied = {}
    if source.is_dir():
        for entry in source.iterdir():
            if entry.suffix != ".png" or entry.is_symlink() or not entry.is_file():
                continue
            if entry.stat().st_size > FIGURE_BYTES:
                continue
            shutil.copyfile(entry, target / entry.name)
            copied[entry.name] = target / entry.name
    for key in ("trained_plot", "short_plot"):
        if key in result:
            name = Path(str(result[key])).name
            if name in copied:
                result[key] = str(copied[name])
            else:
                del result[key]
    if isinstance(result.get("saved"), dict):
        name = Path(str(result["saved"].get("path", ""))).name
        path = copied.get(name)
        data = path.read_bytes() if path else b""
        # Recomputed here from the copied file, not taken from the worker.
        result["saved"] = {"exists": path is not None, "bytes": len(data),
                           "is_png": data[:8] == PNG_MAGIC, "path": str(path or "")}

