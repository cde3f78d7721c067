"""Run one exercise of an untrusted submission in an isolated worker process: the public API.

``Sandbox(settings).run_exercise(exercise_id, submission_folder, data_dir)``
returns the same structure as `embedlab.grading.contract.collect` (plain
data, numpy arrays of numbers), but the submission's code runs in another
process:

* a child forked for this exercise by the submission's forkserver
  (`embedlab.isolation.server`, `embedlab.isolation.forkserver`): one
  ``python -I`` process per submission that imports TensorFlow once and
  runs no operation, so an exercise pays no import; it holds a copy of the
  submission's ``.py`` files, never the submission folder itself
  (`embedlab.isolation.staging`);
* inside bubblewrap when we are root and it works (`embedlab.isolation.bwrap`):
  only the system folders, the Python installation, this package, the
  grading data's ``worker/`` folder and the work folder are there. The
  labeled files (`embedlab.isolation.probe`) are not;
* as an unprivileged uid of its own, one per exercise being graded
  (`embedlab.isolation.uids`), in a folder of its own, after the previous
  exercise and everything it started are gone;
* with limits: wall clock, memory (the forkserver's share counted once),
  processes and output watched by the parent
  (`embedlab.isolation.supervise`), a memory cgroup where the machine has
  one, plus RLIMIT_AS (with headroom for TensorFlow's address-space
  reservations), RLIMIT_NPROC and RLIMIT_FSIZE set by the child on itself.

The questions chosen at grading time go in through a read-only input folder
(`embedlab.isolation.inputs`). The worker holds no secret: only plain data
comes back, validated against the collector's declaration and judged, not
authenticated (`embedlab.isolation.wire`). The grader's own expected values
come from a trusted worker that runs no student code, given the same
questions, and replace whatever the student's worker reported under
``references`` (`embedlab.isolation.references`). Nothing the submission
does makes `Sandbox.run_exercise` raise: every failure is a reason.

Modes (``Settings.sandbox``, `embedlab.isolation.modes`): ``auto`` (bwrap if
root and usable, else uid if root, else none), ``bwrap``, ``uid`` (another
uid, no namespaces: the labeled files are made private with chmod, and the
shared archive stays readable, see docs/grading.md), ``none`` (same user:
for development only). Every result records the mode under ``sandbox``; in
a mode without network isolation (uid, none) it also carries a ``warning``,
printed once to stderr for the instructor.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import weakref
from pathlib import Path

from embedlab import files, manifest
from embedlab.grading import contract
from embedlab.grading import data as grading_data
from embedlab.isolation import bwrap, inputs, modes, probe, references, staging, wire
from embedlab.isolation.cgroups import Cgroup
from embedlab.isolation.errors import SandboxError
from embedlab.isolation.server import EXERCISES_MB, ForkServer
from embedlab.isolation.supervise import Outcome, exit_reason, supervise
from embedlab.isolation.uids import UidSlot
from embedlab.settings import Settings

__all__ = ["Sandbox", "SandboxError"]


@atexit.register
def _close_all() -> None:
    for sandbox in list(_OPEN):
        sandbox.close()

ADDRESS_SPACE_HEADROOM_MB = 6144  # TensorFlow reserves ~2.8 GB of address space beyond its RSS
FILE_SIZE_MB = 64                 # RLIMIT_FSIZE: no single file bigger
NPROC_PER_WORKER = 256            # RLIMIT_NPROC (threads count): TF uses ~21 on 2 cores
CGROUP_FLOOR = 64 * 2**20         # a child's own cgroup limit is never below this
NO_NETWORK_ISOLATION = ("uid", "none")
_NAMES = itertools.count()
_OPEN: weakref.WeakSet = weakref.WeakSet()  # closed at exit: no forkserver outlives the grader


def warning_for(mode: str) -> str | None:
    """The instructor's warning for a mode without network isolation (None for bwrap)."""
    if mode not in NO_NETWORK_ISOLATION:
        return None
    return (f"embedlab: WARNING: workers run in '{mode}' mode: no network isolation (student code can reach "
            "the network), no pid or mount namespace; install bubblewrap for grading (see docs/grading.md)")


class Sandbox:
    """Runs workers for one configuration; safe to share between threads.

    It holds what used to be process-wide: the resolved mode, the grading-data
    folders whose labels were checked hidden, and the lock that makes
    concurrent reference runs of one exercise happen once.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._mode: str | None = None
        self._lock = threading.Lock()
        self._checked: set[tuple[str, str]] = set()
        self._public: dict[str, Path] = {}
        self._reference_lock = threading.Lock()
        self._servers: dict[tuple, tuple[ForkServer, threading.Lock]] = {}
        self._warned = False
        _OPEN.add(self)

    @property
    def mode(self) -> str:
        """``bwrap``, ``uid`` or ``none``: resolved from ``settings.sandbox`` on first use."""
        with self._lock:
            if self._mode is None:
                self._mode = modes.resolve(self.settings.sandbox)
            return self._mode

    def warning(self) -> str | None:
        """The mode's warning (printed to stderr once per Sandbox), or None."""
        text = warning_for(self.mode)
        with self._lock:
            if text and not self._warned:
                self._warned = True
                print(text, file=sys.stderr, flush=True)
        return text

    # ------------------------------------------------------------ labels
    def check_labels_hidden(self, data_dir: Path) -> None:
        """Refuse to grade if a worker could open a labeled file (tested as a worker, not with os.access)."""
        current = self.mode
        data_dir = Path(data_dir).resolve()
        key = (current, str(data_dir))
        if current == "none":
            return
        with self._lock:
            if key in self._checked:
                return
        if current == "uid":
            probe.hide(self.settings, data_dir)
            self._public_data_dir(data_dir)
        probe.check(current, self.settings, data_dir)
        with self._lock:
            self._checked.add(key)

    def _public_data_dir(self, data_dir: Path) -> Path:
        with self._lock:
            if str(data_dir) not in self._public:
                self._public[str(data_dir)] = staging.public_data_dir(data_dir)
            return self._public[str(data_dir)]

    # ------------------------------------------------------------ running
    def run_exercise(self, exercise_id: str, submission_folder: Path, data_dir: Path, out_dir: Path | None = None,
                     time_limit: float | None = None, memory_limit_mb: float | None = None,
                     questions: dict | None = None) -> dict:
        """Run one exercise of a submission in a worker, asked `questions`; return its validated plain data.

        Never raises for anything the submission does: a failure becomes
        ``result["errors"]["worker"]`` (first in the errors) and the tests of
        the exercise fail with that reason. ``result["references"]`` is the
        trusted run's, whatever the worker said.
        """
        exercise = manifest.get(exercise_id)
        folder = Path(submission_folder).resolve()
        data_dir = Path(data_dir).resolve()
        time_limit = float(time_limit) if time_limit is not None else self.settings.time_limit_for(exercise)
        memory_limit_mb = float(memory_limit_mb or self.settings.memory_limit_for(exercise))
        module = folder / exercise.module_file
        base = {"exercise": exercise.id, "errors": {}, "seconds": {}, "sandbox": self.mode}
        warning = self.warning()
        if warning:
            base["warning"] = warning
        if module.is_symlink() or not module.is_file():
            base["errors"]["import"] = f"{exercise.module_file}: no such file in the submission"
            return base
        self.check_labels_hidden(data_dir)
        result, reason, outcome = self._run_worker(exercise.id, folder, data_dir, time_limit, memory_limit_mb,
                                                   None if out_dir is None else Path(out_dir), questions)
        measures = {"sandbox": self.mode, "worker_seconds": round(outcome.seconds, 2),
                    "worker_peak_memory_mb": round(outcome.peak_rss_mb, 1),
                    "worker_shared_mb": round(outcome.shared_mb, 1), "worker_forkserver": outcome.forkserver,
                    "worker_peak_processes": outcome.peak_processes, "worker_returncode": outcome.returncode}
        if warning:
            measures["warning"] = warning
        if result is None:
            base["errors"]["worker"] = reason
            base.update(measures)
            return base
        result["references"] = {}  # never the student's worker's
        if contract.has_trusted_reference(exercise.id):
            try:
                trusted = self.reference(exercise.id, data_dir, questions)
            except SandboxError as error:
                result["errors"]["reference"] = str(error)
            else:
                # The trusted run's top-level values too, until the collectors keep them under references.
                result.update(trusted)
                result["references"] = trusted.get("references") or {}
        result.update(measures)
        return result

    def reference(self, exercise_id: str, data_dir: Path, questions: dict | None = None) -> dict:
        """The grader's own values of an exercise for `questions` ({} if it has none), from a worker
        without student code; cached per questions."""
        if not contract.has_trusted_reference(exercise_id):
            return {}
        exercise = manifest.get(exercise_id)

        def run(exercise_id: str, data_dir: Path):
            # The exercise's own limit, not a class-wide one meant for student code.
            result, reason, _ = self._run_worker(exercise_id, None, data_dir, exercise.time_limit,
                                                 self.settings.memory_limit_for(exercise), None, questions)
            return result, reason

        with self._reference_lock:
            return references.load_or_run(exercise.id, Path(data_dir).resolve(), self.settings.seed, run,
                                          inputs.digest(questions))

    def _server(self, folder: Path | None, data_dir: Path) -> tuple[ForkServer, threading.Lock]:
        """The forkserver of a submission folder (None: the reference runs') and its lock."""
        key = (None if folder is None else str(folder), str(data_dir))
        mode = self.mode
        worker_data = {"bwrap": bwrap.SANDBOX_DATA, "none": str(data_dir)}.get(mode)
        if worker_data is None:
            worker_data = str(self._public_data_dir(data_dir))
        with self._lock:
            if key not in self._servers:
                self._servers[key] = (ForkServer(mode, folder, data_dir, worker_data), threading.Lock())
            return self._servers[key]

    def close(self, folder: Path | None = None) -> None:
        """Stop the forkservers (of one submission folder, or all): their TensorFlow leaves memory."""
        with self._lock:
            keys = [key for key in self._servers if folder is None or key[0] == str(Path(folder).resolve())]
            entries = [self._servers.pop(key) for key in keys]
        for server, lock in entries:
            with lock:
                server.close()

    def _run_worker(self, exercise_id: str, folder: Path | None, data_dir: Path, time_limit: float,
                    memory_limit_mb: float, figures_out: Path | None,
                    questions: dict | None) -> tuple[dict | None, str | None, Outcome]:
        """One exercise in a child of the folder's forkserver (`folder` None: the trusted reference run);
        (validated result or None, why, outcome)."""
        exercise = manifest.get(exercise_id)
        server, lock = self._server(folder, data_dir)
        with lock:
            slot = cgroup = child_folder = None
            try:
                if not server.alive():
                    server.start()
                slot = UidSlot(self.settings.uid_base) if self.mode in ("bwrap", "uid") else None
                uid = slot.uid if slot else None
                inputs.write_questions(server.questions_folder(), questions)
                cgroup = Cgroup.create(f"w{os.getpid()}-{next(_NAMES)}",
                                       max(int(memory_limit_mb * 2**20) - server.baseline, CGROUP_FLOOR))
                base = bwrap.SANDBOX_WORK if self.mode == "bwrap" else str(server.work)
                job = {"exercise": exercise.id, "seed": self.settings.seed, "reference": folder is None,
                       "module": None if folder is None else f"{base}/sub/{exercise.module_file}",
                       "address_space_mb": int(memory_limit_mb + ADDRESS_SPACE_HEADROOM_MB),
                       "file_size_mb": FILE_SIZE_MB, "uid": uid, "gid": uid,
                       "nproc": NPROC_PER_WORKER if uid is not None else None}
                child, child_folder = server.fork(job, cgroup)
                logs = [server.inside(f"{child_folder}/logs/{name}") for name in ("stdout.txt", "stderr.txt")]
                outcome = supervise(child, logs, time_limit, memory_limit_mb, cgroup, memory=server.memory,
                                    baseline=server.baseline,
                                    disk_check=staging.disk_check(server.inside(child_folder), EXERCISES_MB)
                                    if server.unsized else None)
                server.kill_children()
                try:
                    result, reason = self._read_output(server.inside(child_folder), exercise.id, data_dir, outcome,
                                                       logs[1], figures_out)
                except Exception as error:  # nothing a worker leaves may crash the grader
                    result, reason = None, f"its output could not be read ({type(error).__name__}: {error})"[:500]
                outcome.shared_mb, outcome.forkserver = server.baseline / 2**20, {
                    "pid": server.pid, "runs": server.runs, "uid": uid, "no_tensorflow_op": server.no_tensorflow_op}
                return result, reason, outcome
            except SandboxError as error:
                server.close()  # a fresh one next time
                return None, str(error), Outcome(reason=str(error))
            finally:
                if child_folder is not None and server.alive():
                    try:
                        server.clean(child_folder)
                    except SandboxError:
                        server.close()
                if cgroup is not None:
                    cgroup.remove()
                if slot is not None:
                    slot.release()

    def _read_output(self, work: Path, exercise_id: str, data_dir: Path, outcome: Outcome, stderr_path: Path,
                     figures_out: Path | None) -> tuple[dict | None, str | None]:
        result, invalid, out = None, None, Path(work) / "out"
        if outcome.reason is None:
            result, invalid = wire.load_result(out, exercise_id, grading_data.test_records(data_dir))
        if result is None:
            return None, outcome.reason or invalid or exit_reason(outcome.returncode, files.tail(stderr_path, 1))
        if figures_out is not None:
            staging.bring_figures(out, figures_out, result, staging.expected_figures(exercise_id, result))
        return result, None
