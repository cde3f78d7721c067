"""Watching a running worker, stopping it at a limit, and saying why it ended.

The parent polls the worker's whole process tree every `POLL_SECONDS`:
wall clock, memory, number of processes and the size of its stdout/stderr
files. Memory is counted by the caller's function (a forked worker: its
forkserver's resident set once plus the pages only the worker's processes
hold), or the RSS of the tree; where the worker has a cgroup, what that
holds (anonymous and shared pages, `embedlab.isolation.cgroups`; the
kernel also stops it at the limit) if it is more, else plus the memfd and
shared-memory files its processes hold open. When one is over its limit,
what the worker started is killed, and only that: its cgroup, its process
group, every descendant seen so far (and bubblewrap's pid namespace dies
with bubblewrap). `Outcome.reason` says which limit it was, in words a
student understands.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedlab.isolation.cgroups import Cgroup

OUTPUT_LIMIT_BYTES = 8 * 1024 * 1024  # stdout + stderr of one worker
MAX_PROCESSES = 16                    # processes in a worker's tree (the worker itself is one)
POLL_SECONDS = 0.2
DISK_POLLS = 10                       # the size of unsized writable folders: every 2 s
SIGNAL_HINTS = {"SIGXFSZ": " (a file grew past the size limit)", "SIGKILL": " (out of memory?)",
                "SIGSEGV": " (crashed)"}


@dataclasses.dataclass
class Outcome:
    """How a worker ended: its exit status, why it was stopped (None if it was not) and what it used."""

    returncode: int | None = None
    reason: str | None = None
    peak_rss_mb: float = 0.0
    peak_processes: int = 0
    seconds: float = 0.0
    shared_mb: float = 0.0  # of the peak, what the worker shares with its forkserver (TensorFlow's import)
    forkserver: dict = dataclasses.field(default_factory=dict)  # which one forked it: pid, runs, no_tensorflow_op


def _tree(process) -> list:
    import psutil

    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def _kill_tree(popen, known: list, cgroup: Cgroup | None) -> None:
    import psutil

    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        known = known + _tree(psutil.Process(popen.pid))
    except psutil.Error:
        pass
    _kill_all(known, cgroup)


def _kill_all(processes, cgroup: Cgroup | None) -> None:
    """SIGKILL every process seen in the worker's tree, and every process of its cgroup."""
    import psutil

    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass
    if cgroup is not None:
        cgroup.kill()


SHARED_PREFIXES = ("/memfd:", "/dev/shm/", "/SYSV", "/run/shm/")


def shared_memory(pids) -> int:
    """Bytes of memfd and shared-memory files the processes hold open (no cgroup: not in any RSS)."""
    seen, total = set(), 0
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
                if not target.startswith(SHARED_PREFIXES):
                    continue
                info = os.stat(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


def _memory(tree, count: Callable[[list[int]], int] | None) -> int:
    import psutil

    if count is not None:
        return count([process.pid for process in tree])
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def _over_limit(elapsed: float, workers: int, rss: int, output: int, time_limit: float,
                memory_limit_mb: float) -> str | None:
    if elapsed > time_limit:
        return f"it ran longer than the time limit of {time_limit:g} s and was stopped (an endless loop?)"
    if workers > MAX_PROCESSES:
        return f"it started more than {MAX_PROCESSES} processes and was stopped (fork bomb?)"
    if rss > memory_limit_mb * 2**20:
        return memory_reason(rss, memory_limit_mb)
    if output > OUTPUT_LIMIT_BYTES:
        return f"it printed more than {OUTPUT_LIMIT_BYTES // 2**20} MB of output and was stopped; print less"
    return None


def memory_reason(used: int | None, memory_limit_mb: float) -> str:
    amount = f"{used / 2**20:,.0f} MB of memory" if used else "more memory than allowed"
    return (f"it used {amount}, over the limit of {memory_limit_mb:,.0f} MB (shared memory counts too), "
            "and was stopped")


def supervise(popen, logs: list[Path], time_limit: float, memory_limit_mb: float,
              cgroup: Cgroup | None, memory: Callable[[list[int]], int] | None = None, baseline: int = 0,
              disk_check: Callable[[], str | None] | None = None) -> Outcome:
    """Wait for `popen` (a Popen, or anything with its ``pid``, ``poll``, ``wait`` and ``returncode``),
    enforcing the limits; afterwards nothing the worker started runs any more.

    `memory`, if given, counts the bytes of the worker's tree (pids) instead
    of the sum of their RSS; `baseline` is what the cgroup does not see
    (memory the worker shares with the process it was forked from).
    `disk_check`, if given, is called every `DISK_POLLS` polls: the reason if
    the worker wrote too much.
    """
    import psutil

    outcome = Outcome()
    started = time.monotonic()
    try:
        root = psutil.Process(popen.pid)
    except psutil.Error:
        root = None
    known: dict[int, Any] = {}
    polls = 0
    while popen.poll() is None:
        elapsed = time.monotonic() - started
        tree = _tree(root) if root is not None else []
        known.update((process.pid, process) for process in tree)
        rss = _memory(tree, memory)
        if cgroup is not None:
            rss = max(rss, cgroup.memory() + baseline)
        else:
            rss += shared_memory(process.pid for process in tree)
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, rss / 2**20)
        workers = len(tree)
        outcome.peak_processes = max(outcome.peak_processes, workers)
        output = sum(path.stat().st_size for path in logs if path.exists())
        outcome.reason = _over_limit(elapsed, workers, rss, output, time_limit, memory_limit_mb)
        polls += 1
        if outcome.reason is None and disk_check is not None and polls % DISK_POLLS == 0:
            outcome.reason = disk_check()
        if outcome.reason:
            _kill_tree(popen, list(known.values()), cgroup)
            break
        time.sleep(POLL_SECONDS)
    try:
        popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _kill_tree(popen, list(known.values()), cgroup)
        popen.wait(timeout=30)
    # Children the worker left behind (daemonized, setsid) die with it.
    _kill_all(known.values(), cgroup)
    if outcome.reason is None:
        # A flood can fill a log to the file-size limit between two polls and end the worker with an
        # OSError: the flood is still the reason, whatever the timing.
        output = sum(path.stat().st_size for path in logs if path.exists())
        if output > OUTPUT_LIMIT_BYTES:
            outcome.reason = _over_limit(0.0, 0, 0, output, float("inf"), float("inf"))
    if outcome.reason is None and cgroup is not None and cgroup.oom_killed():
        outcome.reason = memory_reason(None, memory_limit_mb)
    outcome.returncode = popen.returncode
    outcome.seconds = time.monotonic() - started
    return outcome


def exit_reason(returncode: int | None, last_error_line: str) -> str:
    """Why a worker that was not stopped left no result, with the last line of its error output."""
    if returncode is not None and returncode < 0:
        try:
            name: str | int = signal.Signals(-returncode).name
        except ValueError:
            name = -returncode
        text = f"the worker was killed by {name}{SIGNAL_HINTS.get(str(name), '')} before writing its results"
    elif returncode == 0:
        text = "the worker exited with status 0 before writing its results (sys.exit or os._exit in the submission?)"
    else:
        text = f"the worker exited with status {returncode} before writing its results"
    if last_error_line.strip() and returncode != 0:
        text += f"; last line of its error output: {last_error_line[:300]}"
    return text
