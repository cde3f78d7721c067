"""Progress on the terminal: one line rewritten in place, and `embedlab grade`'s bar.

`shown(show)` makes this process's `embedlab.grading.progress.current()`
render on stderr (a `Renderer`), and events a child process writes to a
`progress.child_channel` file render there too. `ClassBar` is the bar of a
class's grading: submissions graded, and which exercise of which submission
is being graded. Whether anything shows is the caller's `show`
(`Settings.shows_progress`: a terminal, not CI, not ``--quiet``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from embedlab.grading import progress as progress_events
from embedlab.settings import Settings


class Renderer:
    """A sink that shows the latest event as one line on a terminal, rewritten in place."""

    def __init__(self, stream, clock: Callable[[], float] = time.monotonic):
        self.stream, self.clock = stream, clock
        self.lock = threading.Lock()
        self.started = clock()
        self.exercise: dict = {}
        self.shown = False
        self.last: dict | None = None  # the event on show and what it said, redrawn by `tick`
        self.what = ""

    def describe(self, event: dict) -> str | None:
        """What the event says is being done, in a few words (None: nothing to show)."""
        kind = event.get("event")
        if kind == "exercise":
            self.exercise = event
            self.started = self.clock()
            return "running the exercise's code"
        if kind == "training":
            steps = f"{event.get('step')}/{event['steps']}" if event.get("steps") else str(event.get("step"))
            epochs = int(event.get("epochs") or 1)
            what = f"epoch {event.get('epoch')}/{epochs}" if epochs > 1 else "1 epoch"
            return f"training {what}, {steps} steps"
        if kind == "trained":
            return "checking the trained model"
        if kind == "finished":
            return f"{event.get('score', 0):g}/{event.get('max_score', 0):g} points"
        if kind == "status":
            return str(event.get("text"))
        return None

    def tick(self) -> None:
        """Redraw the line on show with the seconds elapsed now (an exercise finished stays as it ended)."""
        with self.lock:
            if self.shown and self.last is not None and self.last.get("event") != "finished":
                self._draw(self.last, self.what)

    def __call__(self, event: dict) -> None:
        if event.get("event") == "idle":
            self.close()
            return
        with self.lock:
            what = self.describe(event)
            if what is not None:
                self.last, self.what = event, what
                self._draw(event, what)

    def _draw(self, event: dict, what: str) -> None:
        name = event.get("id") or self.exercise.get("id")
        place = (f" ({self.exercise['number']} of {self.exercise['of']})"
                 if self.exercise.get("number") and self.exercise.get("id") == name else "")
        line = f"{name}{place}: {what}" if name else what
        line += f", {self.clock() - self.started:.0f} s"
        width = shutil.get_terminal_size((100, 24)).columns - 1  # a wrapped line could not be rewritten
        self._write(f"\r{line[:width]}\x1b[K")  # \x1b[K: erase what a longer line left
        self.shown = True

    def close(self) -> None:
        with self.lock:
            if self.shown:
                self._write("\r\x1b[K")
                self.shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a terminal gone away must not stop the grading


@contextlib.contextmanager
def shown(show: bool, stream=None):
    """While inside, this process's progress renders on `stream` (default: stderr) if `show`; yields it.

    The renderer writes to its own copy of the stream's file descriptor: stderr
    held back meanwhile (`embedlab.quiet.filtered_stderr`, while TensorFlow
    is imported) does not hold the progress back too.
    """
    if not show:
        yield progress_events.current()
        return
    stream = sys.stderr if stream is None else stream
    try:
        own = os.fdopen(os.dup(stream.fileno()), "w", encoding=getattr(stream, "encoding", None) or "utf-8")
    except (OSError, ValueError, AttributeError):
        own = None  # no descriptor (a notebook's stream): write to the stream itself
    renderer = Renderer(own or stream)
    previous = progress_events.install(progress_events.Progress(renderer))
    stop = threading.Event()

    def tick() -> None:  # the seconds go on while nothing reports (building a model, a long epoch)
        while not stop.wait(1.0):
            renderer.tick()

    ticker = threading.Thread(target=tick, daemon=True, name="progress ticker")
    ticker.start()
    try:
        yield progress_events.current()
    finally:
        stop.set()
        ticker.join()
        progress_events.install(previous)
        renderer.close()
        if own is not None:
            own.close()


class ClassBar:
    """`embedlab grade`'s bar: submissions graded of all, and which exercise of which one is graded now.

    `settings_for` gives a submission's grading a progress file of its own
    (tailed into the bar); `done` counts the submission. Shows nothing unless `show`.
    """

    def __init__(self, total: int, initial: int, show: bool, stream=None):
        self.bar = None
        self.tails: dict[str, progress_events.Tail] = {}
        if not show:
            return
        from tqdm import tqdm

        self.scratch = tempfile.TemporaryDirectory(prefix="embedlab-progress-")
        self.bar = tqdm(total=total, initial=initial, unit="submission", desc="grading",
                        file=sys.stderr if stream is None else stream, dynamic_ncols=True)

    def settings_for(self, settings: Settings, name: str) -> Settings:
        if self.bar is None:
            return settings
        path = Path(self.scratch.name) / f"{len(self.tails)}.jsonl"
        path.touch()

        def show(event: dict) -> None:
            if event.get("event") == "exercise":
                self.bar.set_postfix_str(f"{name}: {event.get('id')}")

        self.tails[name] = progress_events.Tail(path, show)
        self.tails[name].start()
        return settings.replace(progress=path)

    def done(self, name: str, result: dict) -> None:
        tail = self.tails.pop(name, None)
        if tail is not None:
            tail.stop()
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name}: {result['score']}/{result['max_score']}")
            self.bar.update(1)

    def close(self) -> None:
        for tail in self.tails.values():
            tail.stop()
        if self.bar is not None:
            self.bar.close()
            self.scratch.cleanup()
