"""Run one exercise of an untrusted submission in an isolated worker process.

`run_exercise(exercise_id, submission_folder, data_dir, seed, out_dir)` returns
the same structure as `embedlab.grading.contract.collect` (plain data, numpy arrays
of numbers), but the submission's code runs in a separate process:

* ``python -I -m embedlab.isolation.worker`` (no user site, no PYTHON* variables, no
  script folder on sys.path), in a fresh temporary folder holding a copy of
  the submission's ``.py`` files, never the submission folder itself;
* inside bubblewrap when we are root and it works (``EMBEDLAB_SANDBOX=bwrap``):
  a new mount, pid, network and IPC namespace whose file system holds only
  the system folders, the Python installation, the embedlab package (read
  only), the grading data's ``worker/`` folder (read only: training split
  and unlabeled test terms) and the temporary folder. The test labels, the
  prepared ``tfrecords/`` (its test.tfrecord has labels), the shared IMDB
  archive, /tmp, /root, the reference solutions and other submissions are not
  there at all;
* as an unprivileged user id of its own (a different uid per concurrent
  worker, so workers cannot read or signal each other);
* with limits: wall clock (parent-side), memory (parent-side RSS of the whole
  process tree, plus an RLIMIT_AS backstop with headroom for TensorFlow's
  address-space reservations), processes (parent-side count and
  RLIMIT_NPROC), file size (RLIMIT_FSIZE) and output (stdout/stderr go to
  files whose size the parent watches); when one is hit, the process group,
  every descendant and every process of the worker's uid are killed.

Only plain data comes back: ``result.json`` and ``.npy`` files, loaded with
``allow_pickle=False`` and validated item by item (`load_result`). Values the
grader computes itself before it calls the student (the references of
exercises 5-7) are recomputed in a trusted worker that runs no student code,
and override whatever the student's worker reported.

Modes (``EMBEDLAB_SANDBOX``): ``auto`` (default: bwrap if root and usable,
else uid if root, else none), ``bwrap``, ``uid`` (another uid, no
namespaces: the labeled files are made private with chmod, and the shared
archive stays readable, see docs/grading.md), ``none`` (same user: for
development only; recorded in every result under ``sandbox``).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from embedlab import manifest
from embedlab.errors import EmbedlabError

from embedlab.files import PACKAGE_DIR, REPOSITORY
SANDBOX_DATA = "/embedlab/data"
SANDBOX_WORK = "/embedlab/work"
UID_BASE = int(os.environ.get("EMBEDLAB_UID_BASE", "61000"))
UID_SLOTS = 256
ADDRESS_SPACE_HEADROOM_MB = 6144  # TensorFlow reserves ~2.8 GB of address space beyond its RSS
FILE_SIZE_MB = 64                 # RLIMIT_FSIZE: no single file bigger
OUTPUT_LIMIT_BYTES = 8 * 1024 * 1024  # stdout + stderr of one worker
MAX_PROCESSES = 16                # processes in a worker's tree (the worker itself is one)
NPROC_PER_WORKER = 256            # RLIMIT_NPROC (threads count): TF uses ~21 on 2 cores
POLL_SECONDS = 0.2
MAX_RESULT_BYTES = 128 * 1024 * 1024
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_STRING = 100_000
MAX_LIST = 2_000_000
DEFAULT_LABELED_FILES = ("/work/shared/data/aclImdb_v1_labeled.tar.gz",)

# Exercises whose collector computes reference values before it imports the
# submission (exercise 5's Keras lookups, 6's random matrix, 7's counts at the
# cut). Whatever a run WITHOUT a submission module returns is the grader's
# own reference: recomputed without student code (see `reference`), it
# overrides the student's worker's copy.
REFERENCE_KEYS = {"ex05_inside_embedding": (), "ex06_plot_embedding": (), "ex07_bigger_vocabulary": ()}
NOT_REFERENCE = {"exercise", "errors", "seconds", "sandbox"}
# Arrays with a fixed number of dimensions; "predictions" is checked on its own.
MATRIX_KEYS = {"matrix": 2, "trained_matrix": 2, "short_matrix": 2}


class SandboxError(EmbedlabError):
    """The sandbox cannot run safely here (e.g. the labels would be readable)."""


# ------------------------------------------------------------------ the mode
@functools.lru_cache(maxsize=None)
def mode() -> str:
    wanted = os.environ.get("EMBEDLAB_SANDBOX", "auto").strip().lower()
    if wanted not in ("auto", "bwrap", "uid", "none"):
        raise SandboxError(f"EMBEDLAB_SANDBOX={wanted}: expected auto, bwrap, uid or none")
    is_root = os.geteuid() == 0
    if wanted == "auto":
        if is_root and _bwrap_works():
            return "bwrap"
        return "uid" if is_root else "none"
    if wanted in ("bwrap", "uid") and not is_root:
        raise SandboxError(f"EMBEDLAB_SANDBOX={wanted} needs root (it switches to another user)")
    if wanted == "bwrap" and not _bwrap_works():
        raise SandboxError("EMBEDLAB_SANDBOX=bwrap but bubblewrap is missing or cannot make namespaces here "
                           "(apt-get install -y bubblewrap)")
    return wanted


def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--proc", "/proc",
                               "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


# ------------------------------------------------------------- uid allocation
class _UidSlot:
    """A uid no other worker (in any grading process) uses while we hold it."""

    def __init__(self):
        self.uid = None
        self._handle = None
        lock_dir = Path(tempfile.gettempdir()) / "embedlab-uid-locks"
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        start = secrets.randbelow(UID_SLOTS)
        for offset in range(UID_SLOTS):
            uid = UID_BASE + (start + offset) % UID_SLOTS
            handle = open(lock_dir / f"{uid}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise SandboxError("no free worker uid")

    def release(self):
        if self._handle is not None:
            _kill_uid(self.uid)
            self._handle.close()
            self._handle = None


def _kill_uid(uid: int) -> int:
    """SIGKILL every process whose real or effective uid is `uid`."""
    import psutil

    killed = 0
    for _ in range(3):
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


# ------------------------------------------------------------ worker data
@functools.lru_cache(maxsize=None)
def _public_data_dir(data_dir: str) -> str:
    """uid mode: a world-readable copy (hard links if possible) of data_dir/worker."""
    source = Path(data_dir) / "worker"
    key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    meta = (Path(data_dir) / "meta.json").read_text() if (Path(data_dir) / "meta.json").is_file() else ""
    public = Path(tempfile.gettempdir()) / f"embedlab-worker-data-{key}"
    stamp = public / "meta.json"
    if stamp.is_file() and stamp.read_text() == meta:
        return str(public)
    staging = Path(tempfile.mkdtemp(prefix="embedlab-worker-data-"))
    (staging / "worker").mkdir()
    for name in ("train.tfrecord", "test_terms.tfrecord"):
        try:
            os.link(source / name, staging / "worker" / name)
        except OSError:
            shutil.copyfile(source / name, staging / "worker" / name)
        os.chmod(staging / "worker" / name, 0o644)
    stamp_file = staging / "meta.json"
    stamp_file.write_text(meta)
    os.chmod(staging, 0o755)
    os.chmod(staging / "worker", 0o755)
    shutil.rmtree(public, ignore_errors=True)
    os.replace(staging, public)
    return str(public)


def labeled_paths(data_dir: Path) -> list[str]:
    """Files and folders a worker must not be able to read."""
    from embedlab.grading import data as grading_data

    tfrecords = grading_data.default_tfrecords_dir()
    paths = [str(Path(data_dir) / "test_labels.npy"), str(Path(data_dir) / "reference.json"),
             str(tfrecords / "test.tfrecord"), str(REPOSITORY / "solutions")]
    paths += [path for path in DEFAULT_LABELED_FILES if os.path.exists(path)]
    paths += [path for path in os.environ.get("EMBEDLAB_LABELED_FILES", "").split(os.pathsep) if path]
    return paths


def hidden_paths(data_dir: Path) -> list[str]:
    """uid mode: what gets chmod 0700 (bwrap mode mounts none of it anyway)."""
    from embedlab.grading import data as grading_data

    return [str(Path(data_dir)), str(grading_data.default_tfrecords_dir()), str(REPOSITORY / "solutions")]


# --------------------------------------------------------------- the command
def _python_roots() -> list[str]:
    roots = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}:
        real = os.path.realpath(prefix)
        if not real.startswith("/usr") and real not in roots:
            roots.append(real)
    return roots


def _bwrap_prefix(work: Path, data_dir: Path) -> list[str]:
    command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox", "--tmpfs", "/"]
    for name in ("usr", "etc", "opt"):
        if os.path.isdir(f"/{name}"):
            command += ["--ro-bind", f"/{name}", f"/{name}"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
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
            if text in ("/", "/usr", "/etc", "/opt") or text in made:
                continue
            made.add(text)
            extra += ["--perms", "0755", "--dir", text]
        return extra

    # /tmp first: the Python installation or this package may live under
    # /tmp (a clone there), and a later mount on /tmp would hide them.
    command += ["--bind", str(work / "tmp"), "/tmp"]
    for root in _python_roots():
        command += parents(root) + ["--ro-bind", root, root]
    command += parents(str(PACKAGE_DIR)) + parents(f"{SANDBOX_DATA}/worker") + parents(SANDBOX_WORK)
    command += ["--ro-bind", str(PACKAGE_DIR), str(PACKAGE_DIR),
                "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", str(Path(data_dir) / "worker"), f"{SANDBOX_DATA}/worker",
                "--bind", str(work), SANDBOX_WORK,
                "--chdir", f"{SANDBOX_WORK}/sub", "--clearenv"]
    for key, value in _worker_env(SANDBOX_WORK).items():
        command += ["--setenv", key, value]
    return command


def _worker_env(work: str) -> dict:
    return {
        "HOME": f"{work}/home", "TMPDIR": "/tmp" if mode() == "bwrap" else f"{work}/tmp",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{work}/home/.matplotlib",
        "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "KERAS_HOME": f"{work}/home/.keras",
    }


# --------------------------------------------------------------- monitoring
class Outcome:
    def __init__(self):
        self.returncode = None
        self.reason = None
        self.peak_rss_mb = 0.0
        self.peak_processes = 0
        self.seconds = 0.0


def _tree(process) -> list:
    import psutil

    try:
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def _kill_tree(popen, known: list, uid: int | None) -> None:
    import psutil

    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        known = known + _tree(psutil.Process(popen.pid))
    except psutil.Error:
        pass
    for process in known:
        try:
            process.kill()
        except psutil.Error:
            pass
    if uid is not None:
        _kill_uid(uid)


def _supervise(popen, logs: list[Path], time_limit: float, memory_limit_mb: float, uid: int | None) -> Outcome:
    import psutil

    outcome = Outcome()
    started = time.monotonic()
    try:
        root = psutil.Process(popen.pid)
    except psutil.Error:
        root = None
    known: dict[int, Any] = {}
    while True:
        if popen.poll() is not None:
            break
        elapsed = time.monotonic() - started
        tree = _tree(root) if root is not None else []
        rss = 0
        for process in tree:
            known[process.pid] = process
            try:
                rss += process.memory_info().rss
            except psutil.Error:
                pass
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, rss / 2**20)
        # bwrap itself and its pid-namespace init are two processes of the tree.
        workers = len(tree) - (2 if mode() == "bwrap" else 0)
        outcome.peak_processes = max(outcome.peak_processes, workers)
        output = sum(path.stat().st_size for path in logs if path.exists())
        if elapsed > time_limit:
            outcome.reason = f"it ran longer than the time limit of {time_limit:g} s and was stopped (an endless loop?)"
        elif workers > MAX_PROCESSES:
            outcome.reason = f"it started more than {MAX_PROCESSES} processes and was stopped (fork bomb?)"
        elif rss > memory_limit_mb * 2**20:
            outcome.reason = (f"it used {rss / 2**20:,.0f} MB of memory, over the limit of {memory_limit_mb:,.0f} MB, "
                              "and was stopped")
        elif output > OUTPUT_LIMIT_BYTES:
            outcome.reason = (f"it printed more than {OUTPUT_LIMIT_BYTES // 2**20} MB of output and was stopped; "
                              "print less")
        if outcome.reason:
            _kill_tree(popen, list(known.values()), uid)
            break
        time.sleep(POLL_SECONDS)
    try:
        popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _kill_tree(popen, list(known.values()), uid)
        popen.wait(timeout=30)
    # Children the worker left behind (daemonized, setsid) die with it.
    for process in known.values():
        try:
            process.kill()
        except psutil.Error:
            pass
    if uid is not None:
        _kill_uid(uid)
    outcome.returncode = popen.returncode
    outcome.seconds = time.monotonic() - started
    return outcome


def _exit_reason(returncode: int, stderr_tail: str) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else -returncode
        why = {"SIGXFSZ": " (a file grew past the size limit)", "SIGKILL": " (out of memory?)",
               "SIGSEGV": " (crashed)"}.get(str(name), "")
        text = f"the worker was killed by {name}{why} before writing its results"
    elif returncode == 0:
        text = "the worker exited with status 0 before writing its results (sys.exit or os._exit in the submission?)"
    else:
        text = f"the worker exited with status {returncode} before writing its results"
    last = [line for line in stderr_tail.splitlines() if line.strip()][-1:]
    if last and returncode != 0:
        text += f"; last line of its error output: {last[0][:300]}"
    return text


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# --------------------------------------------------------------- validation
class _Invalid(Exception):
    pass


def _restore(value, arrays: Path, where: str, errors: dict, depth: int = 0):
    """JSON value → plain Python, arrays loaded; invalid items become None with an error."""
    import numpy as np

    if depth > 40:
        raise _Invalid("nested too deeply")
    if value is None or type(value) in (bool, int):
        return value
    if type(value) is float:
        return value
    if type(value) is str:
        if len(value) > MAX_STRING:
            raise _Invalid(f"a string of {len(value):,} characters")
        return value
    if type(value) is list:
        if len(value) > MAX_LIST:
            raise _Invalid(f"a list of {len(value):,} items")
        return [_restore_item(item, arrays, f"{where}[{i}]", errors, depth + 1) for i, item in enumerate(value)]
    if type(value) is dict:
        if set(value) == {"__ndarray__"}:
            name = value["__ndarray__"]
            if type(name) is not str or not re.fullmatch(r"a\d{1,7}\.npy", name):
                raise _Invalid("a bad array reference")
            path = arrays / name
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_ARRAY_BYTES:
                raise _Invalid("a missing or too large array file")
            array = np.load(path, allow_pickle=False)
            if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
                raise _Invalid(f"an array of dtype {getattr(array, 'dtype', '?')}")
            return array.astype(np.float64) if array.dtype.kind == "f" else array
        return {key: _restore_item(item, arrays, f"{where}.{key}", errors, depth + 1)
                for key, item in value.items() if type(key) is str}
    raise _Invalid(f"a {type(value).__name__}")


def _restore_item(value, arrays, where, errors, depth):
    try:
        return _restore(value, arrays, where, errors, depth)
    except (_Invalid, ValueError, OSError) as error:
        errors[f"boundary {where}"] = f"dropped: {error}"
        return None


def _finite_float_array(value, ndim: int | None = None, shape: tuple | None = None):
    import numpy as np

    if not isinstance(value, np.ndarray):
        raise _Invalid(f"expected an array of numbers, got {type(value).__name__}")
    array = value.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        raise _Invalid(f"expected {ndim} dimensions, got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise _Invalid(f"expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise _Invalid(f"{int((~np.isfinite(array)).sum())} values are NaN or infinite")
    return array


def validate(exercise_id: str, result: dict, test_records: int | None) -> dict:
    """Check the known items of a worker's result for type and shape; drop bad ones."""
    errors = result.get("errors")
    errors = {key: value for key, value in errors.items() if type(value) is str} if type(errors) is dict else {}
    seconds = result.get("seconds")
    seconds = ({key: value for key, value in seconds.items() if type(value) in (int, float)}
               if type(seconds) is dict else {})
    clean = {key: value for key, value in result.items() if key not in ("errors", "seconds")}
    clean["exercise"] = exercise_id

    def check(key, function):
        if key in clean and clean[key] is not None:
            try:
                clean[key] = function(clean[key])
            except _Invalid as error:
                errors[key] = f"the worker's '{key}' was refused: {error}"
                del clean[key]

    shape = (test_records,) if test_records else None
    check("predictions", lambda value: _finite_float_array(value, 1, shape))
    for key, ndim in MATRIX_KEYS.items():
        check(key, lambda value, ndim=ndim: _finite_float_array(value, ndim))

    def strings(value):
        if type(value) is not list or not all(type(item) is str for item in value):
            raise _Invalid("expected a list of strings")
        return value

    def numbers(value):
        if type(value) is not list or not all(type(item) in (int, float) for item in value):
            raise _Invalid("expected a list of numbers")
        return value

    def probes(value):
        if type(value) is not dict or not all(type(item) in (int, float) for item in value.values()):
            raise _Invalid("expected a dict of numbers")
        return value

    check("vocabulary", strings)
    check("vocabulary_counts", numbers)
    check("probes", probes)
    check("probes_untrained", probes)
    if "got" in clean and type(clean["got"]) is dict:
        import numpy as np

        for key in list(clean["got"]):
            value = clean["got"][key]
            try:
                clean["got"][key] = _finite_float_array(value) if isinstance(value, np.ndarray) else None
                if clean["got"][key] is None:
                    raise _Invalid(f"a {type(value).__name__}, not an array")
            except _Invalid as error:
                errors[f"got.{key}"] = f"refused: {error}"
                del clean["got"][key]
    clean["errors"] = errors
    clean["seconds"] = seconds
    return clean


def load_result(out: Path, token: str, exercise_id: str, test_records: int | None) -> tuple[dict | None, str | None]:
    """The worker's result, validated; or (None, why) if there is no complete, genuine one."""
    path = out / "result.json"
    if path.is_symlink() or not path.is_file():
        return None, None
    if path.stat().st_size > MAX_RESULT_BYTES:
        return None, f"its result file is larger than {MAX_RESULT_BYTES // 2**20} MB"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        return None, f"its result file is not valid JSON ({error})"
    if type(payload) is not dict or payload.get("complete") is not True or type(payload.get("result")) is not dict:
        return None, "its result file is incomplete"
    if payload.get("token") != token or payload.get("exercise") != exercise_id:
        return None, "its result file was not written by the grader's worker (forged?)"
    tampered = payload.get("tampered")
    if type(tampered) is list and tampered:
        names = ", ".join(str(name) for name in tampered[:5])
        return None, f"the submission replaced parts of the grader or of the libraries it relies on ({names})"
    errors: dict = {}
    result = _restore_item(payload["result"], out / "arrays", "result", errors, 0)
    if type(result) is not dict:
        return None, "its result is not a dict"
    result = validate(exercise_id, result, test_records)
    result["errors"].update(errors)
    peak = payload.get("peak_rss_mb")
    result["worker_peak_rss_mb"] = peak if type(peak) in (int, float) else None
    return result, None


# ------------------------------------------------------------ running
def _copy_submission(folder: Path, target: Path) -> list[str]:
    """Copy the submission's regular .py files (no symlinks, no folders, size-capped)."""
    copied = []
    if not folder.is_dir():
        return copied
    for entry in sorted(folder.iterdir()):
        if entry.suffix != ".py" or entry.is_symlink() or not entry.is_file():
            continue
        if entry.stat().st_size > 1024 * 1024:
            continue
        shutil.copyfile(entry, target / entry.name)
        copied.append(entry.name)
    return copied


def _test_records(data_dir: Path) -> int | None:
    try:
        return int(json.loads((Path(data_dir) / "reference.json").read_text())["test_records"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _run_worker(exercise_id: str, folder: Path | None, data_dir: Path, seed: int, time_limit: float,
                memory_limit_mb: float, figures_out: Path | None) -> tuple[dict | None, str | None, Outcome]:
    """One worker run; returns (validated result or None, failure reason, outcome)."""
    current = mode()
    exercise = manifest.get(exercise_id)
    slot = _UidSlot() if current in ("bwrap", "uid") else None
    uid = slot.uid if slot else None
    work = Path(tempfile.mkdtemp(prefix="embedlab-sandbox-"))
    try:
        os.chmod(work, 0o711)
        for name in ("sub", "out", "home", "tmp", "logs"):
            (work / name).mkdir()
        if folder is not None:
            _copy_submission(folder, work / "sub")
        if uid is not None:
            for name in ("sub", "out", "home", "tmp"):
                for path in [work / name, *(work / name).rglob("*")]:
                    os.chown(path, uid, uid)
                os.chmod(work / name, 0o700)
        os.chmod(work / "logs", 0o700)
        if current == "bwrap":
            base, data, prefix = SANDBOX_WORK, SANDBOX_DATA, _bwrap_prefix(work, data_dir)
        elif current == "uid":
            base, data, prefix = str(work), _public_data_dir(str(Path(data_dir).resolve())), []
        else:
            base, data, prefix = str(work), str(Path(data_dir).resolve()), []
        command = prefix + [sys.executable, "-I", "-m", "embedlab.isolation.worker",
                            "--exercise", exercise.id, "--module", f"{base}/sub/{exercise.module_file}",
                            "--data", data, "--out", f"{base}/out", "--seed", str(seed),
                            "--address-space-mb", str(int(memory_limit_mb + ADDRESS_SPACE_HEADROOM_MB)),
                            "--file-size-mb", str(FILE_SIZE_MB)]
        if uid is not None:
            command += ["--uid", str(uid), "--gid", str(uid), "--nproc", str(NPROC_PER_WORKER)]
        env = None
        if current != "bwrap":
            env = _worker_env(base)
            env["PYTHONPATH"] = ""  # ignored under -I anyway
        token = secrets.token_hex(16)
        stdout_path, stderr_path = work / "logs" / "stdout.txt", work / "logs" / "stderr.txt"
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
                                     cwd=str(work / "sub") if current != "bwrap" else "/", env=env,
                                     start_new_session=True, close_fds=True)
            try:
                popen.stdin.write((token + "\n").encode())
                popen.stdin.close()
            except OSError:
                pass
            outcome = _supervise(popen, [stdout_path, stderr_path], time_limit, memory_limit_mb, uid)
        result, invalid = (None, None)
        if outcome.reason is None:
            result, invalid = load_result(work / "out", token, exercise.id, _test_records(data_dir))
        if result is None:
            reason = outcome.reason or invalid or _exit_reason(outcome.returncode, _tail(stderr_path))
            return None, reason, outcome
        if figures_out is not None:
            _bring_figures(work / "out" / "figures", figures_out, result)
        return result, None, outcome
    finally:
        if slot is not None:
            slot.release()
        shutil.rmtree(work, ignore_errors=True)


def _bring_figures(source: Path, target: Path, result: dict) -> None:
    """Copy the PNG files the worker made (bytes only, never decoded here) and fix their paths."""
    target.mkdir(parents=True, exist_ok=True)
    copied = {}
    if source.is_dir():
        for entry in source.iterdir():
            if entry.suffix != ".png" or entry.is_symlink() or not entry.is_file():
                continue
            if entry.stat().st_size > 16 * 1024 * 1024:
                continue
            shutil.copyfile(entry, target / entry.name)
            copied[entry.name] = target / entry.name
    for key in ("trained_plot", "short_plot"):
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
                           "is_png": data[:8] == b"\x89PNG\r\n\x1a\n", "path": str(path or "")}


# -------------------------------------------------------------- references
_reference_lock = threading.Lock()


def reference(exercise_id: str, data_dir: Path, seed: int) -> dict:
    """The grader's own reference values of an exercise, from a worker that runs no student code."""
    if exercise_id not in REFERENCE_KEYS:
        return {}
    cache_dir = Path(data_dir) / "sandbox-cache"
    meta = (Path(data_dir) / "meta.json").read_text() if (Path(data_dir) / "meta.json").is_file() else ""
    digest = hashlib.sha256(f"{exercise_id}|{seed}|{meta}|{_code_version()}".encode()).hexdigest()[:16]
    path = cache_dir / f"{exercise_id}-{seed}-{digest}.json"
    with _reference_lock:
        if path.is_file():
            try:
                return _decode_trusted(json.loads(path.read_text()))
            except (ValueError, OSError):
                pass
        exercise = manifest.get(exercise_id)
        result, reason, _ = _run_worker(exercise_id, None, Path(data_dir), seed, exercise.time_limit,
                                        exercise.memory_limit_mb, None)
        if result is None:
            raise SandboxError(f"the grader's reference run of {exercise_id} failed: {reason}")
        values = {key: value for key, value in result.items()
                  if key not in NOT_REFERENCE and not key.startswith("worker_")}
        cache_dir.mkdir(mode=0o700, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.partial")
        partial.write_text(json.dumps(_encode_trusted(values)))
        os.replace(partial, path)
        return values


@functools.lru_cache(maxsize=None)
def _code_version() -> str:
    from embedlab import files

    return files.code_version()


def _encode_trusted(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return {"__trusted_array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {key: _encode_trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode_trusted(item) for item in value]
    return value


def _decode_trusted(value):
    import numpy as np

    if isinstance(value, dict):
        if "__trusted_array__" in value:
            return np.asarray(value["__trusted_array__"], dtype=value["dtype"])
        return {key: _decode_trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_trusted(item) for item in value]
    return value


# ------------------------------------------------------------ label check
_checked: set = set()


def check_labels_hidden(data_dir: Path) -> None:
    """Refuse to grade if a worker could open a labeled file (tested as a worker, not with os.access)."""
    current = mode()
    key = (current, str(Path(data_dir).resolve()))
    if key in _checked or current == "none":
        return
    paths = labeled_paths(data_dir)
    if current == "uid":
        for path in hidden_paths(data_dir):
            if os.path.exists(path):
                os.chmod(path, 0o700)
        _public_data_dir(str(Path(data_dir).resolve()))
    probe = ("import os, sys\n"
             "uid = int(sys.argv[1])\n"
             "if os.geteuid() == 0:\n"
             "    os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)\n"
             "bad = []\n"
             "for path in sys.argv[2:]:\n"
             "    try:\n"
             "        if os.path.isdir(path): os.listdir(path); bad.append(path)\n"
             "        else: open(path, 'rb').read(1); bad.append(path)\n"
             "    except OSError: pass\n"
             "print('\\n'.join(bad))\n")
    slot = _UidSlot()
    work = Path(tempfile.mkdtemp(prefix="embedlab-probe-"))
    try:
        os.chmod(work, 0o711)
        (work / "sub").mkdir()
        (work / "tmp").mkdir()
        prefix = _bwrap_prefix(work, data_dir) if current == "bwrap" else []
        done = subprocess.run(prefix + [sys.executable, "-I", "-c", probe, str(slot.uid), *paths],
                              capture_output=True, text=True, timeout=60,
                              cwd="/" if current == "bwrap" else str(work))
    finally:
        slot.release()
        shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise SandboxError(f"the sandbox probe failed ({current} mode): {done.stderr.strip()[-500:]}")
    readable = [line for line in done.stdout.splitlines() if line.strip()]
    if readable:
        raise SandboxError(f"a worker could read labeled files in {current} mode: {', '.join(readable)} "
                           "(see docs/grading.md)")
    _checked.add(key)


# --------------------------------------------------------------- the API
def run_exercise(exercise_id: str, submission_folder, data_dir, seed: int | None = None, out_dir=None,
                 time_limit: float | None = None, memory_limit_mb: float | None = None) -> dict:
    """Run one exercise of a submission in a worker; return its validated plain data.

    Never raises for anything the submission does: a failure becomes
    ``result["errors"]["worker"]`` (first in the errors) and the tests of the
    exercise fail with that reason.
    """
    exercise = manifest.get(exercise_id)
    seed = manifest.grading_seed() if seed is None else int(seed)
    folder = Path(submission_folder).resolve()
    data_dir = Path(data_dir).resolve()
    time_limit = float(os.environ.get("EMBEDLAB_TIME_LIMIT") or time_limit or exercise.time_limit)
    memory_limit_mb = float(memory_limit_mb or exercise.memory_limit_mb)
    module = folder / exercise.module_file
    base = {"exercise": exercise.id, "errors": {}, "seconds": {}, "sandbox": mode()}
    if module.is_symlink() or not module.is_file():
        base["errors"]["import"] = f"{exercise.module_file}: no such file in the submission"
        return base
    check_labels_hidden(data_dir)
    result, reason, outcome = _run_worker(exercise.id, folder, data_dir, seed, time_limit, memory_limit_mb,
                                          None if out_dir is None else Path(out_dir))
    measures = {"sandbox": mode(), "worker_seconds": round(outcome.seconds, 2),
                "worker_peak_tree_rss_mb": round(outcome.peak_rss_mb, 1),
                "worker_peak_processes": outcome.peak_processes, "worker_returncode": outcome.returncode}
    if result is None:
        base["errors"]["worker"] = reason
        base.update(measures)
        return base
    if exercise.id in REFERENCE_KEYS:
        try:
            result.update(reference(exercise.id, data_dir, seed))
        except SandboxError as error:
            result["errors"]["reference"] = str(error)
    result.update(measures)
    return result
