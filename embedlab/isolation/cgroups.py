"""A memory cgroup per worker, where the machine allows one.

Memory held in shared pages (a memfd, tmpfs files, SysV or POSIX shared
memory) is in no process's RSS, so watching the RSS of a worker's processes
is not enough. Where the grader may make cgroups (root, and a cgroup v2
hierarchy with the memory controller delegated, or a cgroup v1 memory
hierarchy), each worker runs in a cgroup of its own: the kernel stops it at
its memory limit (anonymous and shared memory alike; page cache is reclaimed
first), the supervisor reads what it holds, and stopping a worker kills
exactly the processes of its cgroup, wherever they moved (setsid,
daemonized), and nothing else. Where neither works, `Cgroup.create` returns
None and `embedlab.isolation.supervise` counts the memfd and shared-memory
files the worker's processes hold open on top of their RSS instead.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

PARENT = "embedlab"


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, file system type, super options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) > 4 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], tail[2]))
    return found


def _own_paths() -> dict[str, str]:
    """{controller list or "" (v2): this process's cgroup path} from /proc/self/cgroup."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            paths[controllers] = path
    except (OSError, ValueError):
        pass
    return paths


def _parents() -> list[tuple[Path, int]]:
    """Folders under which a worker's cgroup may be made: (folder, cgroup version), the best first."""
    own = _own_paths()
    found = []
    for mount, kind, options in _mounts():
        if kind == "cgroup2":
            base = Path(mount + own.get("", "/"))
            try:
                if "memory" not in (base / "cgroup.controllers").read_text().split():
                    continue
            except OSError:
                continue
            found.insert(0, (base, 2))
        elif "memory" in options.split(","):
            path = next((path for names, path in own.items() if "memory" in names.split(",")), "/")
            base = Path(mount + path)
            found.append((base if base.is_dir() else Path(mount), 1))
    return found


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


class Cgroup:
    """One worker's cgroup (v1 or v2): its limit, what it holds, its processes."""

    def __init__(self, path: Path, version: int):
        self.path, self.version = path, version

    @classmethod
    def create(cls, name: str, limit_bytes: int) -> Cgroup | None:
        """A new cgroup limited to `limit_bytes` of memory (no swap), or None where none can be made."""
        if os.geteuid() != 0:
            return None
        for base, version in _parents():
            try:
                parent = base / PARENT
                parent.mkdir(mode=0o755, exist_ok=True)
                if version == 2:
                    if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                        _write(base / "cgroup.subtree_control", "+memory")
                        _write(parent / "cgroup.subtree_control", "+memory")
                path = parent / name
                path.mkdir(mode=0o755)
            except OSError:
                continue
            group = cls(path, version)
            try:
                group._limit(int(limit_bytes))
            except OSError:
                group.remove()
                continue
            return group
        return None

    def _limit(self, limit: int) -> None:
        if self.version == 2:
            _write(self.path / "memory.max", str(limit))
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if (self.path / name).exists():
                    _write(self.path / name, value)
        else:
            _write(self.path / "memory.limit_in_bytes", str(limit))
            if (self.path / "memory.memsw.limit_in_bytes").exists():
                _write(self.path / "memory.memsw.limit_in_bytes", str(limit))

    def add(self, pid: int) -> None:
        """Move process `pid` into this cgroup (what it allocates from now on counts here)."""
        _write(self.path / "cgroup.procs", str(pid))

    def _stat(self) -> dict[str, int]:
        values = {}
        try:
            for line in (self.path / "memory.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                values[key] = int(value)
        except (OSError, ValueError):
            pass
        return values

    def memory(self) -> int:
        """Bytes of anonymous and shared memory the cgroup holds (page cache of files not counted)."""
        stat = self._stat()
        if self.version == 2:
            return stat.get("anon", 0) + stat.get("shmem", 0)
        return stat.get("total_rss", stat.get("rss", 0)) + stat.get("total_shmem", stat.get("shmem", 0))

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the cgroup at its memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        """SIGKILL every process of the cgroup (and only those), until none is left."""
        if self.version == 2 and (self.path / "cgroup.kill").exists():
            try:
                _write(self.path / "cgroup.kill", "1")
            except OSError:
                pass
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)
