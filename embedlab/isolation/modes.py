"""Which isolation mode a worker runs in: ``bwrap``, ``uid`` or ``none``.

``auto`` (the default) picks bubblewrap if we are root and it can make
namespaces here, else another uid if we are root, else the same user
(development only). ``bwrap`` and ``uid`` are refused when they cannot work,
rather than silently running workers with less isolation.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from embedlab.isolation.errors import SandboxError

MODES = ("auto", "bwrap", "uid", "none")


def resolve(wanted: str) -> str:
    """The mode workers actually run in for the configured `wanted` one."""
    wanted = str(wanted).strip().lower()
    if wanted not in MODES:
        raise SandboxError(f"EMBEDLAB_SANDBOX={wanted}: expected auto, bwrap, uid or none")
    is_root = os.geteuid() == 0
    if wanted == "auto":
        if is_root and bwrap_works():
            return "bwrap"
        return "uid" if is_root else "none"
    if wanted in ("bwrap", "uid") and not is_root:
        raise SandboxError(f"EMBEDLAB_SANDBOX={wanted} needs root (it switches to another user)")
    if wanted == "bwrap" and not bwrap_works():
        raise SandboxError("EMBEDLAB_SANDBOX=bwrap but bubblewrap is missing or cannot make namespaces here "
                           "(apt-get install -y bubblewrap)")
    return wanted


def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can make pid and network namespaces (some containers forbid it)."""
    if shutil.which("bwrap") is None:
        return False
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--proc", "/proc",
                               "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
