"""The files a worker gets and the files it gives back, outside the worker.

* `server_folder`: a fresh private folder per forkserver (``sub/`` a
  read-only copy of the submission's ``.py`` files, never the submission
  folder itself; ``in/`` the questions, read-only; ``ex/`` the exercises'
  folders, made by the server one at a time, a sized tmpfs (bubblewrap's,
  or `mount_sized` on the host where the machine allows it); ``logs/`` the
  parent's);
* `public_data_dir`: uid mode only, a world-readable copy of the grading
  data's ``worker/`` folder (the grading data itself is made private);
* `bring_figures`: only the expected PNG files, copied out as bytes, never
  through a symlink, size-capped;
* `remove`: a cleanup that survives any tree a worker leaves (any depth,
  unreadable folders, mounts).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from embedlab import files
from embedlab.isolation import wire

SUBMISSION_FILE_BYTES = 1024 * 1024
FIGURE_BYTES = 8 * 1024 * 1024
FIGURES_TOTAL_BYTES = 24 * 1024 * 1024
WORKER_DATA_FILES = ("train.tfrecord",)  # never the test terms: the worker sees the training split only
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def server_folder(submission: Path | None) -> Path:
    """A new folder for one forkserver: ``sub/`` (the submission's copy) and ``in/`` read only for the
    children, ``ex/`` their folders (one at a time), ``home/``, ``tmp/`` and ``logs/`` the server's."""
    work = Path(tempfile.mkdtemp(prefix="embedlab-sandbox-"))
    os.chmod(work, 0o711)
    for name in ("sub", "in", "ex", "home", "tmp", "logs"):
        (work / name).mkdir()
    if submission is not None:
        copy_submission(submission, work / "sub")
    for path in (work / "sub").iterdir():
        os.chmod(path, 0o644)
    for name in ("sub", "in", "ex"):
        os.chmod(work / name, 0o755)
    for name in ("home", "tmp", "logs"):
        os.chmod(work / name, 0o700)
    return work


def mount_sized(folder: Path, size_mb: int, uid: int | None) -> bool:
    """Mount a tmpfs of `size_mb` on `folder` (owned by `uid`); False where this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(size_mb)}m,mode=0700,nosuid,nodev{owner}",
                               "tmpfs", str(folder)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def usage(folder: Path) -> int:
    """Bytes used under `folder` (du, which walks any depth); 0 if it cannot tell."""
    try:
        done = subprocess.run(["du", "-s", "-x", "-B1", str(folder)], capture_output=True, text=True, timeout=60)
        return int(done.stdout.split()[0])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return 0


def disk_check(folder: Path, limit_mb: int):
    """For a folder without a sized tmpfs: a check, the reason if more than `limit_mb` was written there."""
    def check() -> str | None:
        if usage(folder) > limit_mb * 2**20:
            return f"it wrote more than {limit_mb} MB of files and was stopped"
        return None

    return check


def probe_folder() -> Path:
    """A new work folder for the label probe (the folders a worker's sandbox mounts)."""
    work = Path(tempfile.mkdtemp(prefix="embedlab-probe-"))
    os.chmod(work, 0o711)
    for name in ("sub", "in", "out", "home", "tmp"):
        (work / name).mkdir()
    return work


def _mounts_under(folder: Path) -> list[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    prefix = str(folder) + "/"
    points = [line.split()[4] for line in lines if len(line.split()) > 4]
    return sorted((point for point in points if point.startswith(prefix)), key=len, reverse=True)


def remove(work: Path) -> None:
    """Remove a work folder whatever a worker left in it: any depth, modes, mounts (unmounted first)."""
    work = Path(work)
    for point in _mounts_under(work):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)
    if not work.exists():
        return
    # rm walks a tree of any depth without recursion limits or PATH_MAX (shutil.rmtree does not).
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(work)], capture_output=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        pass
    if work.exists():
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


def _plot_keys(result: dict) -> list[str]:
    """The items naming a plot a collector drew: ``<stage>_plot`` (e.g. trained_plot), by convention."""
    return [key for key in result if isinstance(key, str) and key.endswith("_plot")]


def expected_figures(exercise_id: str, result: dict) -> list[str]:
    """The plot files a worker may hand back: the manifest's ``figures``, the collector's ``FIGURES`` and
    the file its ``saved`` item names (bare ``.png`` names only)."""
    from embedlab import manifest
    from embedlab.grading import contract

    names = [*manifest.get(exercise_id).figures, *getattr(contract.collector(exercise_id), "FIGURES", ())]
    saved = result.get("saved")
    if isinstance(saved, dict) and type(saved.get("path")) is str:
        names.append(Path(saved["path"]).name)
    for key in _plot_keys(result):
        if type(result.get(key)) is str:
            names.append(Path(result[key]).name)
    return [name for name in dict.fromkeys(names) if name.endswith(".png") and "/" not in name and name[0] != "."]


def bring_figures(out: Path, target: Path, result: dict, names: list[str]) -> None:
    """Copy the expected PNG files from ``out/figures`` (bytes only, never decoded here, never through a
    symlink, at most `FIGURE_BYTES` each and `FIGURES_TOTAL_BYTES` in all) and fix their paths in `result`."""
    target.mkdir(parents=True, exist_ok=True)
    copied, total = {}, 0
    for name in names:
        try:
            data = wire.regular_file(out, f"figures/{name}", FIGURE_BYTES)
        except wire.Invalid:
            continue
        if total + len(data) > FIGURES_TOTAL_BYTES:
            break
        total += len(data)
        files.write_atomic(target / name, data)
        os.chmod(target / name, 0o644)
        copied[name] = target / name
    for key in _plot_keys(result):
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
