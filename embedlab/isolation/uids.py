"""Worker user ids: one free uid per concurrent worker, and killing everything a uid runs.

A slot is held with an flock on ``$TMPDIR/embedlab-uid-locks/<uid>.lock``, so
concurrent grading processes never give two workers the same uid (they could
read or signal each other). Releasing a slot first kills every process left
running under its uid, so nothing a submission started outlives its worker.
"""

from __future__ import annotations

import fcntl
import secrets
import tempfile
import time
from pathlib import Path

from embedlab.isolation.errors import SandboxError

UID_SLOTS = 256


class UidSlot:
    """A uid in ``[uid_base, uid_base + UID_SLOTS)`` no other worker (in any grading process) uses while we hold it."""

    def __init__(self, uid_base: int):
        self.uid: int | None = None
        self._handle = None
        lock_dir = Path(tempfile.gettempdir()) / "embedlab-uid-locks"
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        # A random first slot: concurrent graders rarely contend for the same lock.
        start = secrets.randbelow(UID_SLOTS)
        for offset in range(UID_SLOTS):
            uid = uid_base + (start + offset) % UID_SLOTS
            handle = open(lock_dir / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise SandboxError("no free worker uid")

    def release(self) -> None:
        if self._handle is not None:
            kill_uid(self.uid)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> UidSlot:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real or effective uid is `uid`; return how many were found."""
    import psutil

    killed = 0
    for _ in range(3):  # a process may fork while we iterate: look again
        found = 0
        for process in psutil.process_iter(["uids"]):
            uids = process.info.get("uids")
            if uids is not None and uid in (uids.real, uids.effective):
                found += 1
                try:
                    process.kill()
                except psutil.Error:
                    pass
        killed += found
        if not found:
            break
        time.sleep(0.05)
    return killed
