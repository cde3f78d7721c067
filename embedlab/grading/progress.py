"""Progress of long work on a terminal: which exercise is graded, how far its training is.

A run reports to a `Progress`: the exercise started, its training at step n
of N, the exercise finished with its points. Where it goes is the sink:

* in the process that shows it (`embedlab plot`), a renderer: one line on
  the terminal, rewritten in place (`embedlab.grading.progress_display`);
* in a child pytest (`embedlab check`, `embedlab grade`), a `JsonLines` file
  (``--progress=PATH``, `Settings.progress`), which the command that started
  it tails (`Tail`, in a thread, see `child_channel`) into its own renderer.

Each event is one JSON object a line, ``{"event": ..., ...}``::

    {"event": "exercise", "id": "<exercise id>", "number": 2, "of": 8}
    {"event": "training", "id": ..., "step": 400, "steps": 1000, "epoch": 1, "epochs": 1}
    {"event": "trained", "id": ...}
    {"event": "finished", "id": ..., "score": 15, "max_score": 15}
    {"event": "idle"}          nothing in progress (a terminal's line is cleared)

Training events are throttled (`Progress.interval`): a few a second, never
one per batch. The process's progress is `current()` (no sink, so it costs
nothing, until an edge `install`s one): the grader's `training.fit` asks it
for a Keras callback. Whether progress shows at all is
`Settings.shows_progress` (a terminal, not CI, not ``--quiet``). In a child
pytest, `embedlab.grading.suite_progress` says which exercise its tests are
grading, and their points.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

Sink = Callable[[dict], None]


class Progress:
    """Reports a run's progress to `sink` (None: nowhere); training events at most one per `interval` seconds."""

    def __init__(self, sink: Sink | None = None, interval: float = 0.25, clock: Callable[[], float] = time.monotonic):
        self.sink = sink
        self.interval = interval
        self.clock = clock
        self.exercise: str | None = None  # the exercise being graded, named in its training events
        self._last = -math.inf

    @property
    def active(self) -> bool:
        return self.sink is not None

    def emit(self, event: str, **fields) -> None:
        if self.sink is not None:
            self.sink({"event": event, **fields})

    def exercise_started(self, exercise_id: str, number: int | None = None, of: int | None = None) -> None:
        self.exercise = exercise_id
        self.emit("exercise", id=exercise_id, number=number, of=of)

    def exercise_finished(self, exercise_id: str, score: float, max_score: float) -> None:
        self.emit("finished", id=exercise_id, score=score, max_score=max_score)

    def training(self, step: int, steps: int | None, epoch: int = 1, epochs: int = 1) -> None:
        """Step `step` of `steps` (per epoch) in epoch `epoch` of `epochs`; dropped if the last was too recent."""
        now = self.clock()
        last_step = steps is not None and step >= steps and epoch >= epochs
        if now - self._last < self.interval and not last_step:
            return
        self._last = now
        self.emit("training", id=self.exercise, step=step, steps=steps, epoch=epoch, epochs=epochs)

    def trained(self) -> None:
        self.emit("trained", id=self.exercise)

    def idle(self) -> None:
        """Nothing is being done now: a terminal's progress line is cleared (output may follow)."""
        self.emit("idle")

    @contextlib.contextmanager
    def working_on(self, exercise_id: str, number: int | None = None, of: int | None = None):
        """The exercise started on the way in; idle on the way out."""
        self.exercise_started(exercise_id, number, of)
        try:
            yield self
        finally:
            self.idle()

    def callbacks(self, steps_per_epoch: Callable[[], int | None], epochs: int) -> list:
        """Keras callbacks that report a `fit`'s steps here: none when nothing listens.

        `steps_per_epoch` is called only then (counting the records takes a moment).
        """
        if not self.active:
            return []
        import keras

        progress, steps = self, steps_per_epoch()

        class Report(keras.callbacks.Callback):
            epoch = 1

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch + 1

            def on_train_batch_end(self, batch, logs=None):
                # With several steps per call into TensorFlow, `batch` is the call's last step (the epoch's
                # last call counts whole calls).
                progress.training(batch + 1 if steps is None else min(batch + 1, steps), steps, self.epoch, epochs)

            def on_train_end(self, logs=None):
                progress.trained()

        return [Report()]


_current = Progress()


def current() -> Progress:
    """This process's progress (reports nowhere unless an edge installed one)."""
    return _current


def install(progress: Progress) -> Progress:
    """Make `progress` this process's; returns the one it replaces."""
    global _current
    previous, _current = _current, progress
    return previous


# ------------------------------------------------------------------ the channel
class JsonLines:
    """A sink that appends each event to a file as one JSON line (opened per event: a few a second)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        with self.lock:
            try:
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(event) + "\n")
            except OSError:
                pass  # the command that showed it has gone: progress is never worth failing for


class Tail(threading.Thread):
    """Reads the events appended to `path` and hands each to `sink`, until `stop()` (which reads the rest)."""

    def __init__(self, path: Path, sink: Sink, poll: float = 0.1):
        super().__init__(daemon=True, name=f"progress tail {Path(path).name}")
        self.path, self.sink, self.poll = Path(path), sink, poll
        self._stop_event = threading.Event()
        self._offset = 0
        self._partial = b""

    def read_new(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # an event half-written so far
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours; progress is never worth failing for
            if isinstance(event, dict):
                self.sink(event)

    def run(self) -> None:
        while not self._stop_event.wait(self.poll):
            self.read_new()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join()
        self.read_new()


@contextlib.contextmanager
def child_channel(progress: Progress | None = None):
    """A file for a child process's events, tailed into `progress`'s sink (default: `current()`) while inside.

    Yields its path, or None when nothing shows progress (the child then reports nowhere).
    """
    progress = current() if progress is None else progress
    if not progress.active:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="embedlab-progress-") as scratch:
        path = Path(scratch) / "progress.jsonl"
        path.touch()
        tail = Tail(path, progress.sink)
        tail.start()
        try:
            yield path
        finally:
            tail.stop()
            progress.idle()


def steps_per_epoch(records: int, batch_size: int) -> int:
    return math.ceil(records / batch_size)
