"""The parent's side of a forkserver: one per submission (or for the trusted reference runs).

`ForkServer.start` runs ``embedlab.isolation.forkserver`` in the sandbox of
its mode (bubblewrap: the submission's copy, the questions and the worker's
data, ``/tmp`` and the exercises' folder sized tmpfs mounts inside; uid and
none: a work folder on the host) and waits until it has imported
TensorFlow. `ForkServer.run` grades one exercise in a child forked for it:

1. the questions go into ``in/<n>/`` (read only for the child);
2. the server makes ``ex/<n>/`` and forks; before the child runs anything,
   it goes into its own memory cgroup and its clock starts;
3. `embedlab.isolation.supervise` watches it: wall clock, memory, processes,
   output. Memory is the server's resident set (TensorFlow's import,
   counted once, whatever the child shares of it) plus the pages only the
   child's processes hold (their USS: a short-lived fork's copied pages are
   not counted twice); where the child has a memory cgroup, what that holds
   (every page the child's processes added) is counted if it is more;
4. afterwards every process below the server dies (the server is a child
   subreaper: nothing the child started escapes its tree), the output is
   read from ``ex/<n>/out`` and the folder is removed.

Each child has its own uid (`embedlab.isolation.uids`), limits, folder and
cgroup, and runs after the previous one and all it started are gone.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from embedlab.isolation import bwrap, staging
from embedlab.isolation.cgroups import Cgroup
from embedlab.isolation.errors import SandboxError

READY_SECONDS = 300  # importing TensorFlow: ~5 s quiet, several times that under load
ANSWER_SECONDS = 60
EXERCISES_MB = 1024
PRECISE_SECONDS = 1.0  # the tmpfs holding one exercise's out/, home/ and tmp/ at a time


class ForkedChild:
    """What `supervise` watches: one forked child, its exit status arriving from the server."""

    def __init__(self, server: ForkServer, pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            answer = self.server.answer(0)
            if answer is not None:
                self.returncode = int(answer.get("exited", -1))
        return self.returncode

    def wait(self, timeout: float) -> int:
        if self.returncode is None:
            answer = self.server.answer(timeout)
            if answer is None:
                raise subprocess.TimeoutExpired("forked child", timeout)
            self.returncode = int(answer.get("exited", -1))
        return self.returncode


class ForkServer:
    """A running forkserver for one submission folder (None: the trusted reference runs)."""

    def __init__(self, mode: str, submission: Path | None, data_dir: Path, worker_data: str):
        self.mode, self.submission, self.data_dir, self.worker_data = mode, submission, data_dir, worker_data
        self.popen: subprocess.Popen | None = None
        self.work: Path | None = None
        self.pid: int | None = None  # the server's host pid
        self.baseline = 0  # bytes the server holds after its imports
        self.no_tensorflow_op = False
        self.runs = 0
        self.unsized = False
        self._buffer = b""
        self._precise: tuple | None = None  # (when, USS, RSS, pids) of the last precise reading

    # ------------------------------------------------------------ life
    def start(self) -> None:
        self.work = staging.server_folder(self.submission)
        inside = bwrap.SANDBOX_WORK if self.mode == "bwrap" else str(self.work)
        command = [sys.executable, "-I", "-m", "embedlab.isolation.forkserver"]
        env = None
        if self.mode == "bwrap":
            command = bwrap.command_prefix(self.work, self.data_dir, exercises_mb=EXERCISES_MB) + command
            command.append("--wipe-tmp")
        else:
            # No namespaces: the exercises' folder is sized on the host where it can be (else `du` watches it).
            self.unsized = not staging.mount_sized(self.work / "ex", EXERCISES_MB, None)
            os.chmod(self.work / "ex", 0o755)  # the children's uids walk through it to their own folders
            env = bwrap.worker_env(inside, self.mode)
        with open(self.work / "logs" / "server.txt", "wb") as log:
            self.popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                          cwd="/" if self.mode == "bwrap" else str(self.work), env=env,
                                          start_new_session=True, close_fds=True)
        os.set_blocking(self.popen.stdout.fileno(), False)
        ready = self.answer(READY_SECONDS)
        if not ready or not ready.get("ready"):
            tail = (self.work / "logs" / "server.txt").read_text(errors="replace").strip().splitlines()[-1:]
            self.close()
            raise SandboxError(f"the grader's forkserver did not start{': ' + tail[0][:300] if tail else ''}")
        self.no_tensorflow_op = bool(ready.get("no_tensorflow_op"))
        self.pid = self._host_pid(int(ready["pid"]))
        self.baseline = _resident(self.pid)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def close(self) -> None:
        if self.popen is not None:
            self.kill_children()
            try:
                self.popen.stdin.close()
                self.popen.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.popen.kill()
                self.popen.wait(timeout=30)
            self.popen = None
        if self.work is not None:
            staging.remove(self.work)
            self.work = None

    # ------------------------------------------------------------ protocol
    def request(self, **message) -> None:
        self.popen.stdin.write((json.dumps(message) + "\n").encode())
        self.popen.stdin.flush()

    def answer(self, timeout: float) -> dict | None:
        """The server's next answer, waiting at most `timeout` seconds (None: none yet)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.popen.stdout], [], [], max(0.0, left))
            if not ready:
                return None
            chunk = self.popen.stdout.read(65536)
            if not chunk:  # the server is gone
                raise SandboxError("the grader's forkserver ended unexpectedly")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _host_pid(self, inner: int) -> int:
        """The host pid of the process the server knows as `inner` (the same outside bubblewrap)."""
        import psutil

        if self.mode != "bwrap":
            return inner
        for process in psutil.Process(self.popen.pid).children(recursive=True):
            if _namespace_pid(process.pid) == inner:
                return process.pid
        raise SandboxError(f"the grader's forkserver process {inner} is not in its sandbox")

    def inside(self, path: str) -> Path:
        """The host path of a path as the server sees it."""
        return Path(f"/proc/{self.pid}/root{path}") if self.mode == "bwrap" else Path(path)

    # ------------------------------------------------------------ one exercise
    def fork(self, job: dict, cgroup: Cgroup | None) -> tuple[ForkedChild, str]:
        """Fork a child for `job` (stopped before it runs anything), in `cgroup`; (the child, its folder)."""
        self.runs += 1
        base = bwrap.SANDBOX_WORK if self.mode == "bwrap" else str(self.work)
        folder = f"{base}/ex/{self.runs}"
        env = bwrap.worker_env(folder, "uid")
        job = {**job, "out": f"{folder}/out", "questions": f"{base}/in/{self.runs}", "data": self.worker_data,
               "own": [f"{folder}/{name}" for name in ("out", "home", "tmp")] if job.get("uid") is not None else []}
        self.request(op="run", job=job, dir=folder, env=env, cwd=f"{base}/sub")
        answer = self.answer(ANSWER_SECONDS)
        if not answer or "forked" not in answer:
            raise SandboxError(f"the grader's forkserver did not fork ({(answer or {}).get('error', 'no answer')})")
        pid = self._child_pid(int(answer["forked"]))
        if cgroup is not None:
            cgroup.add(pid)
        self.request(op="go")
        return ForkedChild(self, pid), folder

    def questions_folder(self) -> Path:
        """Where the next run's questions go (on the host)."""
        return self.work / "in" / str(self.runs + 1)

    def _child_pid(self, inner: int) -> int:
        import psutil

        for process in psutil.Process(self.pid).children():
            if (_namespace_pid(process.pid) if self.mode == "bwrap" else process.pid) == inner:
                return process.pid
        raise SandboxError("the grader's forkserver child vanished before it started")

    def memory(self, tree_pids) -> int:
        """Bytes an exercise holds: the server's resident set and what only `tree_pids` hold (USS).

        Reading USS walks the page tables (tens of ms for a TensorFlow
        process): it is read every `PRECISE_SECONDS`; in between, what the
        tree's RSS grew by since is added in full.
        """
        pids = list(tree_pids)
        resident = sum(_resident(pid) for pid in pids)
        now = time.monotonic()
        if self._precise is None or now - self._precise[0] >= PRECISE_SECONDS or set(pids) != self._precise[3]:
            self._precise = (now, sum(_private(pid) for pid in pids), resident, set(pids))
        _, private, resident_then, _ = self._precise
        return self.baseline + private + max(0, resident - resident_then)

    def kill_children(self) -> None:
        """SIGKILL every process below the server (what a child left behind)."""
        import psutil

        if self.pid is None:
            return
        for _ in range(50):
            try:
                below = psutil.Process(self.pid).children(recursive=True)
            except psutil.Error:
                return
            if not below:
                return
            for process in below:
                try:
                    process.kill()
                except psutil.Error:
                    pass
            time.sleep(0.02)

    def clean(self, folder: str) -> None:
        self.kill_children()
        self.request(op="clean", dir=folder)
        answer = self.answer(ANSWER_SECONDS)
        if not answer or not answer.get("cleaned"):
            raise SandboxError("the grader's forkserver did not clean up after an exercise")


def _namespace_pid(pid: int) -> int | None:
    """The innermost pid of a host process (the last field of NSpid)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def _resident(pid: int) -> int:
    import psutil

    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


def _private(pid: int) -> int:
    """Bytes of pages only this process maps (its USS; RSS where smaps cannot be read)."""
    import psutil

    try:
        return psutil.Process(pid).memory_full_info().uss
    except (psutil.Error, AttributeError):
        return _resident(pid)
