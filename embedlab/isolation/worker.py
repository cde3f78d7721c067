"""The isolated worker: runs ONE exercise of ONE submission and writes plain data.

`run(job)` runs in a child that `embedlab.isolation.forkserver` forked for
this exercise inside the sandbox (bubblewrap, or at least another user id),
from a process that has imported TensorFlow but run no operation. Before any
student code is imported it

1. reads the questions the parent wrote into its read-only input folder
   (`embedlab.isolation.inputs`),
2. lowers its resource limits (address space, file size, processes, core dumps),
3. drops root: no supplementary groups, the given gid and uid,

then calls `embedlab.grading.contract.collect` in its role (a student
worker runs the submission and computes no reference; ``reference``: the
trusted run, no submission, references only) and writes, at the very end and
atomically, its result as plain data (`embedlab.isolation.wire.write_result`:
``OUT/result.json`` and ``OUT/arrays/aN.npy``), with the list of the grader's
functions the submission replaced in memory. A worker that ends before that
(os._exit, a crash, a kill) leaves no result.json: the parent turns that into
a failed exercise with the reason.

This module is trusted code running next to untrusted code: it holds no
secret (no token: whatever it knows, the student's code can read), and
nothing it writes is trusted by the parent, which validates every item and
judges the answers (see `embedlab.isolation.wire.load_result`).
"""

from __future__ import annotations

import argparse
import os
import sys

from embedlab.isolation.inputs import read_questions
from embedlab.isolation.wire import write_result

PR_SET_PDEATHSIG = 1


def _apply_limits(args) -> None:
    import resource

    def lower(which, value):
        if value is None or value <= 0:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    lower(resource.RLIMIT_AS, args.address_space_mb * 1024 * 1024 if args.address_space_mb else None)
    lower(resource.RLIMIT_FSIZE, args.file_size_mb * 1024 * 1024 if args.file_size_mb else None)
    lower(resource.RLIMIT_NPROC, args.nproc)


def _drop_privileges(uid: int | None, gid: int | None, own: list[str]) -> None:
    if uid is None:
        return
    if os.geteuid() != 0:
        if os.getuid() != uid:
            raise SystemExit(f"worker: cannot switch to uid {uid} without root")
        return
    for folder in own:  # bubblewrap's sized tmpfs mounts belong to root: hand them to the worker's uid
        os.chown(folder, uid, gid)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise SystemExit("worker: failed to drop privileges")
    die_with_parent()  # changing uid cleared it
    try:  # root must not come back
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise SystemExit("worker: could regain root")


def prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent() -> None:
    """SIGKILL this process when its parent ends (outside bubblewrap, nothing else would)."""
    import signal

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


GUARDED_MODULES = ("builtins", "json", "os", "numpy", "math")


def _snapshot() -> dict:
    """The functions and classes of the grader's modules (and a few it relies on), by identity."""
    names = [name for name in list(sys.modules) if name == "embedlab" or name.startswith("embedlab.")]
    values = {}
    for module_name in [*names, *GUARDED_MODULES]:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if callable(value):
                values[f"{module_name}.{attribute}"] = value
    return values


def run(job: dict) -> None:
    """Run one exercise as `job` says, in this (forked) process, and end it with ``os._exit``.

    `job` (plain data from `embedlab.isolation.forkserver`): ``exercise``,
    ``data``, ``out``, ``seed``, ``module`` (None: the trusted reference run),
    ``questions`` (a folder), ``uid``/``gid``/``nproc`` (None: stay who we
    are), ``address_space_mb``, ``file_size_mb``, ``own`` (folders to hand to
    the uid first).
    """
    args = argparse.Namespace(**{**JOB_DEFAULTS, **job})
    questions = read_questions(args.questions) if args.questions else {}
    module = None if args.reference else args.module
    _apply_limits(args)
    _drop_privileges(args.uid, args.gid, args.own)
    figures = os.path.join(args.out, "figures")
    os.makedirs(figures, exist_ok=True)

    from embedlab.grading import contract as harness
    from embedlab.grading import scoring, training  # noqa: F401 - imported to be in the snapshot

    try:  # imported now so that the snapshot covers the exercise's collector too
        harness.collector(args.exercise)
    except Exception:  # collect() below reports it
        pass
    before = _snapshot()
    try:
        result = harness.collect(args.exercise, module, args.data, seed=args.seed, out_dir=figures,
                                 questions=questions, runs_submission=not args.reference,
                                 computes_references=args.reference)
    except BaseException as error:  # a collector step the student broke: report it
        result = {"exercise": args.exercise, "seconds": {},
                  "errors": {"collect": harness.describe_error(error, module or args.exercise)}}
    after = _snapshot()
    changed = [name for name, value in before.items() if after.get(name) is not value]
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        write_result(args.out, args.exercise, result,
                     {"peak_rss_mb": round(peak_kb / 1024, 1), "tampered": changed[:20]})
    except Exception as error:  # e.g. a student object that cannot be encoded
        write_result(args.out, args.exercise,
                     {"exercise": args.exercise, "errors": {"boundary": f"{type(error).__name__}: {error}"}},
                     {"peak_rss_mb": round(peak_kb / 1024, 1), "tampered": changed[:20]})
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: TensorFlow's can hang or crash, and nothing
    # after the result file matters.
    os._exit(0)


JOB_DEFAULTS = {"module": None, "reference": False, "questions": None, "uid": None, "gid": None,
                "address_space_mb": None, "file_size_mb": None, "nproc": None, "own": []}
