"""Run one exercise of an untrusted submission in an isolated worker process: the public API.

``Sandbox(settings).run_exercise(exercise_id, submission_folder, data_dir)``
returns the same structure as `embedlab.grading.contract.collect` (plain
data, numpy arrays of numbers), but the submission's code runs in a separate
process:

* ``python -I -m embedlab.isolation.worker`` (no user site, no PYTHON*
  variables, no script folder on sys.path), in a fresh work folder holding a
  copy of the submission's ``.py`` files, never the submission folder itself
  (`embedlab.isolation.staging`);
* inside bubblewrap when we are root and it works (`embedlab.isolation.bwrap`):
  only the system folders, the Python installation, this package, the
  grading data's ``worker/`` folder and the work folder are there. The
  labeled files (`embedlab.isolation.probe`) are not;
* as an unprivileged uid of its own, one per concurrent worker
  (`embedlab.isolation.uids`);
* with limits: wall clock, memory of the whole process tree, processes and
  output watched by the parent (`embedlab.isolation.supervise`), plus
  RLIMIT_AS (with headroom for TensorFlow's address-space reservations),
  RLIMIT_NPROC and RLIMIT_FSIZE set by the worker on itself.

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

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

from embedlab import files, manifest
from embedlab.grading import contract
from embedlab.grading import data as grading_data
from embedlab.isolation import bwrap, inputs, modes, probe, references, staging, wire
from embedlab.isolation.cgroups import Cgroup
from embedlab.isolation.errors import SandboxError
from embedlab.isolation.supervise import Outcome, exit_reason, supervise
from embedlab.isolation.uids import UidSlot
from embedlab.settings import Settings

__all__ = ["Sandbox", "SandboxError"]

ADDRESS_SPACE_HEADROOM_MB = 6144  # TensorFlow reserves ~2.8 GB of address space beyond its RSS
FILE_SIZE_MB = 64                 # RLIMIT_FSIZE: no single file bigger
NPROC_PER_WORKER = 256            # RLIMIT_NPROC (threads count): TF uses ~21 on 2 cores
BWRAP_PROCESSES = 2               # bwrap itself and its pid-namespace init, in a worker's tree
OUT_MB = 256                      # the out/ folder the parent reads afterwards
NO_NETWORK_ISOLATION = ("uid", "none")
_NAMES = itertools.count()


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
        self._warned = False

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
        memory_limit_mb = float(memory_limit_mb or exercise.memory_limit_mb)
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
                    "worker_peak_tree_rss_mb": round(outcome.peak_rss_mb, 1),
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
                                                 exercise.memory_limit_mb, None, questions)
            return result, reason

        with self._reference_lock:
            return references.load_or_run(exercise.id, Path(data_dir).resolve(), self.settings.seed, run,
                                          inputs.digest(questions))

    def _command(self, exercise: manifest.Exercise, work: Path, data_dir: Path, uid: int | None,
                 memory_limit_mb: float, reference: bool) -> tuple[list[str], dict | None, str]:
        """(the worker's command line, its environment or None if bwrap sets it, its cwd)."""
        current = self.mode
        if current == "bwrap":
            base, data, prefix = bwrap.SANDBOX_WORK, bwrap.SANDBOX_DATA, bwrap.command_prefix(work, data_dir)
        elif current == "uid":
            base, data, prefix = str(work), str(self._public_data_dir(data_dir)), []
        else:
            base, data, prefix = str(work), str(data_dir), []
        command = prefix + [sys.executable, "-I", "-m", "embedlab.isolation.worker",
                            "--exercise", exercise.id, "--data", data, "--out", f"{base}/out",
                            "--questions", f"{base}/in", "--seed", str(self.settings.seed),
                            "--address-space-mb", str(int(memory_limit_mb + ADDRESS_SPACE_HEADROOM_MB)),
                            "--file-size-mb", str(FILE_SIZE_MB)]
        command += ["--reference"] if reference else ["--module", f"{base}/sub/{exercise.module_file}"]
        if uid is not None:
            command += ["--uid", str(uid), "--gid", str(uid), "--nproc", str(NPROC_PER_WORKER)]
        if current == "bwrap":
            return command + (["--own", f"{base}/home"] if uid is not None else []), None, "/"
        env = bwrap.worker_env(base, current)
        env["PYTHONPATH"] = ""  # ignored under -I anyway
        return command, env, str(work / "sub")

    def _writable_space(self, work: Path, uid: int | None):
        """Size the worker's writable folders on the host; a check for those that could not be (None: none)."""
        names = ("out",) if self.mode == "bwrap" else ("out", "home", "tmp")
        sizes = {"out": OUT_MB, "home": bwrap.SCRATCH_MB, "tmp": bwrap.SCRATCH_MB}
        unsized = [name for name in names if self.mode == "none" or not staging.mount_sized(work / name, sizes[name],
                                                                                              uid)]
        if not unsized:
            return None
        limit = sum(sizes[name] for name in unsized) * 2**20

        def check() -> str | None:
            used = sum(staging.usage(work / name) for name in unsized)
            if used > limit:
                return f"it wrote more than {limit // 2**20} MB of files and was stopped"
            return None

        return check

    def _run_worker(self, exercise_id: str, folder: Path | None, data_dir: Path, time_limit: float,
                    memory_limit_mb: float, figures_out: Path | None,
                    questions: dict | None) -> tuple[dict | None, str | None, Outcome]:
        """One worker run (`folder` None: the trusted reference run); (validated result or None, why, outcome)."""
        exercise = manifest.get(exercise_id)
        slot = UidSlot(self.settings.uid_base) if self.mode in ("bwrap", "uid") else None
        uid = slot.uid if slot else None
        work = cgroup = None
        try:
            work = staging.work_folder(folder, uid)
            inputs.write_questions(work / "in", questions)
            disk_check = self._writable_space(work, uid)
            command, env, cwd = self._command(exercise, work, data_dir, uid, memory_limit_mb, folder is None)
            cgroup = Cgroup.create(f"w{os.getpid()}-{next(_NAMES)}", int(memory_limit_mb * 2**20))
            if cgroup is not None:
                command = cgroup.command(command)
            stdout_path, stderr_path = work / "logs" / "stdout.txt", work / "logs" / "stderr.txt"
            with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
                popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd,
                                         env=env, start_new_session=True, close_fds=True)
                outcome = supervise(popen, [stdout_path, stderr_path], time_limit, memory_limit_mb, cgroup,
                                    BWRAP_PROCESSES if self.mode == "bwrap" else 0, disk_check)
            try:
                result, reason = self._read_output(work, exercise.id, data_dir, outcome, stderr_path, figures_out)
            except Exception as error:  # nothing a worker leaves may crash the grader
                result, reason = None, f"its output could not be read ({type(error).__name__}: {error})"[:500]
            return result, reason, outcome
        finally:
            if cgroup is not None:
                cgroup.remove()
            if slot is not None:
                slot.release()
            if work is not None:
                staging.remove(work)

    def _read_output(self, work: Path, exercise_id: str, data_dir: Path, outcome: Outcome, stderr_path: Path,
                     figures_out: Path | None) -> tuple[dict | None, str | None]:
        result, invalid = None, None
        if outcome.reason is None:
            result, invalid = wire.load_result(work / "out", exercise_id, grading_data.test_records(data_dir))
        if result is None:
            return None, outcome.reason or invalid or exit_reason(outcome.returncode, files.tail(stderr_path, 1))
        if figures_out is not None:
            staging.bring_figures(work / "out", figures_out, result, staging.expected_figures(exercise_id, result))
        return result, None
