"""Worker user ids: one free uid per concurrent worker, held with a lock in one fixed system folder.

A slot is held with an flock on ``/run/embedlab/uid-locks/<uid>.lock``
(``/var/lock/embedlab/...`` where there is no /run), a folder made 0700 by
root: every grading process on the machine uses the same locks whatever its
``TMPDIR``, so two workers never get the same uid (they could read or
signal each other). A uid under which some process still runs is never
handed out. Nothing here kills anything: stopping a worker kills only what
that worker started (`embedlab.isolation.supervise`), never every process
of a uid.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
from pathlib import Path

from embedlab.isolation.errors import SandboxError

UID_SLOTS = 256
LOCK_ROOTS = (Path("/run"), Path("/var/lock"))


def lock_dir() -> Path:
    """The machine's one folder of uid locks, made (0700, root's) if needed and checked."""
    for root in LOCK_ROOTS:
        if not root.is_dir():
            continue
        folder = root / "embedlab" / "uid-locks"
        try:
            for path in (folder.parent, folder):
                path.mkdir(mode=0o700, exist_ok=True)
                info = os.lstat(path)
                if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
                    raise SandboxError(f"{path}: not a private folder of this user; remove it")
        except OSError:
            continue
        return folder
    raise SandboxError("no folder for the worker uid locks (/run or /var/lock)")


def busy_uids() -> set[int]:
    """The uids some process runs as (a worker uid among them is a leftover: it is not handed out)."""
    import psutil

    found = set()
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        if uids is not None:
            found.update((uids.real, uids.effective, uids.saved))
    return found


class UidSlot:
    """A uid in ``[uid_base, uid_base + UID_SLOTS)`` no other worker (in any grading process) uses while we hold it."""

    def __init__(self, uid_base: int):
        self.uid: int | None = None
        self._handle = None
        folder = lock_dir()
        busy = busy_uids()
        # A random first slot: concurrent graders rarely contend for the same lock.
        start = secrets.randbelow(UID_SLOTS)
        for offset in range(UID_SLOTS):
            uid = uid_base + (start + offset) % UID_SLOTS
            handle = open(folder / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            if uid in busy:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise SandboxError("no free worker uid")

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> UidSlot:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
