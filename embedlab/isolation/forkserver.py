"""The forkserver: TensorFlow imported once per submission, one forked child per exercise.

Started by `embedlab.isolation.server.ForkServer` (the parent's side) as
``python -I -m embedlab.isolation.forkserver`` inside the sandbox, as root
there (bubblewrap, or uid mode), or as the grader's user (none mode). It
imports TensorFlow, Keras, matplotlib and the grader's modules and **runs no
TensorFlow operation** (its eager context is never made, so no thread pool
or device exists to be broken by a fork: `ready` says whether that held),
then serves requests, one JSON object a line on its stdin, answering on its
stdout:

* ``{"op": "run", "job": ..., "dir": D, "env": ..., "cwd": C}``: make the
  exercise's folder D (``out/``, ``home/``, ``tmp/`` for the job's uid,
  ``logs/`` for nobody but root), fork, answer ``{"forked": pid}``; the child
  waits. ``{"op": "go"}`` lets it run `embedlab.isolation.worker.run` (which
  lowers its limits and drops root before any student code is imported);
  ``{"exited": status}`` follows when it ends. Between fork and go the parent
  puts the child into its cgroup and starts its clock.
* ``{"op": "clean", "dir": D}``: remove D (the parent has read it), reap
  what is left and, in bubblewrap, empty ``/tmp``.

This process is trusted code: the child closes the request pipes before
anything else, becomes a session of its own and never comes back; the
server is a child subreaper, so whatever a child leaves behind stays in the
server's process tree, where the parent kills it (`embedlab.isolation.server`).
The server reads nothing a student wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from embedlab.isolation.worker import die_with_parent, prctl
from embedlab.quiet import quiet_tensorflow

PR_SET_CHILD_SUBREAPER = 36
ENTRIES = ("out", "home", "tmp")


def _preload() -> bool:
    """Import what every exercise imports; True if TensorFlow's eager context is still unmade."""
    import matplotlib

    matplotlib.use("Agg")
    import keras  # noqa: F401
    import matplotlib.pyplot  # its font cache is built here, once
    import tensorflow  # noqa: F401
    from tensorflow.python.eager import context

    from embedlab import manifest
    from embedlab.grading import contract, scoring, training  # noqa: F401

    for exercise in manifest.load():
        try:
            contract.collector(exercise.id)
        except Exception:  # a collector that cannot import is reported by the exercise's worker
            pass
    return context.context_safe() is None or getattr(context.context(), "_context_handle", None) is None


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _make_folder(folder: str, uid: int | None) -> None:
    os.makedirs(folder, mode=0o711)
    os.chmod(folder, 0o711)
    for name in ENTRIES:
        os.mkdir(os.path.join(folder, name), 0o700)
        if uid is not None:
            os.chown(os.path.join(folder, name), uid, uid)
    os.mkdir(os.path.join(folder, "logs"), 0o700)


def _child(request: dict, protocol: tuple[int, int], go: int) -> None:
    """In the forked child: own session, own output files, wait for go, run the exercise. Never returns."""
    try:
        os.setsid()
        die_with_parent()
        for fd in protocol:
            os.close(fd)
        folder = request["dir"]
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
            handle = os.open(os.path.join(folder, "logs", name), flags, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        if os.read(go, 1) != b"g":
            os._exit(3)
        os.close(go)
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None  # TMPDIR is this exercise's now
        os.chdir(request["cwd"])
        from embedlab.isolation import worker

        worker.run(request["job"])
    except BaseException as error:  # a child must never return into the server's loop
        try:
            os.write(2, f"forkserver child: {type(error).__name__}: {error}\n".encode())
        finally:
            os._exit(4)
    os._exit(5)


def serve(requests, answers, protocol: tuple[int, int], wipe_tmp: bool) -> None:
    def answer(**message) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    for line in requests:
        try:
            request = json.loads(line)
        except ValueError:
            answer(error="not a JSON request")
            continue
        if request.get("op") == "clean":
            _reap()
            shutil.rmtree(request["dir"], ignore_errors=True)
            if wipe_tmp:
                for name in os.listdir("/tmp"):
                    path = os.path.join("/tmp", name)
                    shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)
            answer(cleaned=True)
            continue
        if request.get("op") != "run":
            answer(error=f"unknown request {request.get('op')!r}")
            continue
        _reap()
        try:
            _make_folder(request["dir"], request["job"].get("uid"))
        except OSError as error:
            answer(error=f"cannot make {request['dir']}: {error}")
            continue
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            _child(request, protocol, go_read)
        os.close(go_read)
        answer(forked=pid)
        command = json.loads(requests.readline() or "{}")
        if command.get("op") == "go":
            os.write(go_write, b"g")
        os.close(go_write)
        _, status = os.waitpid(pid, 0)
        answer(exited=os.waitstatus_to_exitcode(status))


def main() -> int:
    wipe_tmp = "--wipe-tmp" in sys.argv[1:]
    # The requests and answers keep their own descriptors; 0 and 1 become /dev/null and stderr,
    # so nothing an import prints can corrupt the protocol.
    protocol_in, protocol_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    die_with_parent()
    # TensorFlow reads its log level once, when imported here: below 3 it lets "failed call to cuInit"
    # (an error on every machine without a GPU) into each worker's stderr, whatever the parent set.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    quiet_tensorflow()
    unmade = _preload()
    import gc

    gc.freeze()  # the imports' objects: no collection in a child writes to (and so copies) their pages
    requests = os.fdopen(protocol_in, "r", buffering=1)
    answers = os.fdopen(protocol_out, "w", buffering=1)
    answers.write(json.dumps({"ready": True, "pid": os.getpid(), "no_tensorflow_op": unmade}) + "\n")
    answers.flush()
    serve(requests, answers, (protocol_in, protocol_out), wipe_tmp)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
