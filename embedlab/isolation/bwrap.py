"""The bubblewrap command line a worker runs under, and the environment every worker gets.

Inside bwrap the file system holds only the system folders (read only), the
Python installation and this package (read only, at their real paths so
imports work unchanged), the grading data's ``worker/`` folder (read only, at
`SANDBOX_DATA`: ``train.tfrecord`` only) and the work folder (at
`SANDBOX_WORK`: the submission's copy and the questions read only; ``out/``
the one folder the parent reads afterwards, sized on the host where it can
be). ``/tmp`` and the home folder are tmpfs mounts of `SCRATCH_MB` each,
gone with the sandbox. Labeled files, the prepared TFRecords, the test
reviews, /root, the solutions and other submissions are not there at all;
the network, pids, IPC and hostname are private.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from embedlab.files import PACKAGE_DIR

SANDBOX_DATA = "/embedlab/data"
SANDBOX_WORK = "/embedlab/work"
SCRATCH_MB = 512  # each of /tmp and the home folder
# Folders bound as a whole before anything else is mounted.
SYSTEM_FOLDERS = ("usr", "etc", "opt")
# Often symlinks into /usr on merged-/usr systems: recreated as such.
SYSTEM_LINKS = ("bin", "sbin", "lib", "lib64", "lib32")


def python_roots() -> list[str]:
    """The Python installation's folders outside /usr (a venv, a pyenv or conda prefix)."""
    roots = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}:
        real = os.path.realpath(prefix)
        if not real.startswith("/usr") and real not in roots:
            roots.append(real)
    return roots


def command_prefix(work: Path, data_dir: Path, exercises_mb: int | None = None) -> list[str]:
    """``bwrap ... --`` options that run the rest of the command in the sandbox, in ``SANDBOX_WORK/sub``.

    `exercises_mb`: a forkserver's sandbox, with a tmpfs of that size on
    ``SANDBOX_WORK/ex`` for the exercises' folders (the parent reads them
    through ``/proc/PID/root``).
    """
    command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox", "--tmpfs", "/"]
    for name in SYSTEM_FOLDERS:
        if os.path.isdir(f"/{name}"):
            command += ["--ro-bind", f"/{name}", f"/{name}"]
    for name in SYSTEM_LINKS:
        path = f"/{name}"
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            command += ["--ro-bind", path, path]
    made: set = set()

    def parents(path: str) -> list[str]:
        # bwrap makes missing parent folders 0700: make them 0755 first.
        extra = []
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text in ("/", *(f"/{name}" for name in SYSTEM_FOLDERS)) or text in made:
                continue
            made.add(text)
            extra += ["--perms", "0755", "--dir", text]
        return extra

    # /tmp first: the Python installation or this package may live under
    # /tmp (a clone there), and a later mount on /tmp would hide them.
    command += ["--perms", "01777", "--size", str(SCRATCH_MB * 2**20), "--tmpfs", "/tmp"]
    for root in python_roots():
        command += parents(root) + ["--ro-bind", root, root]
    command += parents(str(PACKAGE_DIR)) + parents(f"{SANDBOX_DATA}/worker") + parents(SANDBOX_WORK)
    command += ["--ro-bind", str(PACKAGE_DIR), str(PACKAGE_DIR),
                "--proc", "/proc", "--dev", "/dev",
                *_data_files(data_dir),
                "--bind", str(work), SANDBOX_WORK,
                "--ro-bind", str(work / "sub"), f"{SANDBOX_WORK}/sub",
                "--ro-bind", str(work / "in"), f"{SANDBOX_WORK}/in",
                "--perms", "0700", "--size", str(SCRATCH_MB * 2**20), "--tmpfs", f"{SANDBOX_WORK}/home"]
    if exercises_mb is not None:
        command += ["--perms", "0755", "--size", str(exercises_mb * 2**20), "--tmpfs", f"{SANDBOX_WORK}/ex"]
    command += ["--chdir", f"{SANDBOX_WORK}/sub", "--clearenv"]
    for key, value in worker_env(SANDBOX_WORK, "bwrap").items():
        command += ["--setenv", key, value]
    return command


def _data_files(data_dir: Path) -> list[str]:
    """The worker's data, file by file (``train.tfrecord`` only: never whatever else a data folder holds)."""
    from embedlab.isolation.staging import WORKER_DATA_FILES

    binds = ["--perms", "0755", "--dir", f"{SANDBOX_DATA}/worker"]
    for name in WORKER_DATA_FILES:
        binds += ["--ro-bind", str(Path(data_dir) / "worker" / name), f"{SANDBOX_DATA}/worker/{name}"]
    return binds


def worker_env(work: str, mode: str) -> dict[str, str]:
    """The whole environment of a worker whose work folder is `work` (as the worker sees it)."""
    return {
        "HOME": f"{work}/home", "TMPDIR": "/tmp" if mode == "bwrap" else f"{work}/tmp",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{work}/home/.matplotlib",
        "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "KERAS_HOME": f"{work}/home/.keras",
    }
