"""TensorFlow without its log noise: `quiet_tensorflow()`, called at an edge before TensorFlow is imported.

The edges (the `embedlab` command, the autograder's plugin, the forkserver,
a notebook's first cell) call it once; it sets the process's
TF_CPP_MIN_LOG_LEVEL, the one environment variable TensorFlow reads for this,
and filters what TensorFlow's libraries print while they load.
"""

from __future__ import annotations

import os
import re
import sys

# What TensorFlow prints on a machine without a GPU, none of it about the student's work. Most of it
# TF_CPP_MIN_LOG_LEVEL=3 hides ("failed call to cuInit: INTERNAL: CUDA error" is an E-level line);
# what its C++ libraries log while they load, before TensorFlow reads that variable (absl's
# "WARNING: All log messages before absl::InitializeLog()", "Could not find cuda drivers"), no
# variable hides: `quiet_tensorflow` filters it out of the import.
TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] "               # absl's format: I0000 00:00:17.9 123 x.cc:31]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] "  # TensorFlow's own format
    r"|To enable the following instructions: .* rebuild TensorFlow)")


def quiet_tensorflow(environ: dict | None = None) -> None:
    """Silence TensorFlow's log noise: call at an edge, before TensorFlow is imported.

    With `environ` (a child process's environment): sets TF_CPP_MIN_LOG_LEVEL=3
    there, unless it is set. Without: the same in ``os.environ``, and in this
    process TensorFlow's import is filtered (its C++ libraries' early log lines,
    `TF_NOISE`, are dropped from stderr; anything else it prints, and any
    exception, still shows) and its Python loggers (tensorflow, absl) are set
    to errors only. Calling it again does nothing more.
    """
    if environ is not None:
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(hook, _QuietImport) for hook in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport:
    """A one-shot import hook: the import of ``tensorflow`` runs with stderr filtered (`TF_NOISE`)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the real one, for whoever asks later
        with filtered_stderr(TF_NOISE):
            self.loader.exec_module(module)
        import logging

        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        try:
            from absl import logging as absl_logging
        except ImportError:
            return
        absl_logging.set_verbosity(absl_logging.ERROR)


class filtered_stderr:
    """While inside, what is written to file descriptor 2 (C++ libraries too) is held back; on the way
    out it is written there, but for the lines that match `noise`."""

    def __init__(self, noise: re.Pattern):
        self.noise = noise

    def __enter__(self):
        import tempfile

        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            self.saved = None  # no stderr to filter (a closed descriptor, a GUI): nothing held back
            return self
        self.held = tempfile.TemporaryFile()
        os.dup2(self.held.fileno(), 2)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.held.seek(0)
        kept = [line for line in self.held.read().splitlines(keepends=True)
                if not self.noise.match(line.decode("utf-8", "replace"))]
        self.held.close()
        if kept:
            os.write(2, b"".join(kept))
