"""Reviews to records, on up to two cores: the tokenizing half of `prepare`.

`encode_reviews` reads `sources.Review`s in the calling process (reading an
archive is one stream) and hands them, in chunks, to worker processes that
tokenize each review (`tokenizer.tokenize_utf8`) and encode its record
(`wire.encode_example`). Results come back in the order the reviews were
read, whatever the number of processes, so the output never depends on it.

A worker is a fresh interpreter running `serve` (``python -c``), fed pickled
chunks on its stdin and answering on its stdout, one chunk at a time. Not
`multiprocessing`: its ``spawn`` re-runs the caller's main script in every
worker (an unguarded script then fails), and ``fork`` copies a caller that
has threads or has imported TensorFlow (tensorflow-datasets does), which can
hang. Input too small for a second chunk is encoded in the calling process,
which saves starting the workers for a handful of reviews.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from embedlab.data import tokenizer, wire
from embedlab.data.sources import Review
from embedlab.errors import EmbedlabError

DEFAULT_PROCESSES = 2
CHUNK = 500  # reviews per task: big enough that handing them over is cheap, small enough to keep both cores busy
_IN_FLIGHT = 3  # chunks queued per worker: memory stays flat while the reader runs ahead
_HEADER = struct.Struct("<Q")  # a message's length, then its pickle
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding embedlab/, for the workers
_SERVE = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from embedlab.data.encoding import serve; serve()"


@dataclasses.dataclass(frozen=True)
class Encoded:
    review: Review
    record: bytes  # the serialized tf.train.Example
    terms: int  # how many terms it holds


def default_processes() -> int:
    """`DEFAULT_PROCESSES`, or fewer if this process may use fewer cores."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        usable = os.cpu_count() or 1
    return max(1, min(DEFAULT_PROCESSES, usable))


def encode(text: str, label: float) -> tuple[bytes, int]:
    """One review's record and its number of terms."""
    terms = tokenizer.tokenize_utf8(text)
    return wire.encode_example(terms, label), len(terms)


def encode_chunk(chunk: list[tuple[str, float]]) -> list[tuple[bytes, int]]:
    """`encode` for each ``(text, label)``: what a worker does with one message."""
    return [encode(text, label) for text, label in chunk]


def encode_reviews(reviews: Iterable[Review], processes: int | None = None) -> Iterator[Encoded]:
    """Each review's record, in the order of ``reviews``.

    ``processes``: worker processes (None: `default_processes`); 1 encodes in
    the calling process. Errors raised while reading ``reviews`` propagate
    as they are, after the workers are stopped.
    """
    processes = default_processes() if processes is None else processes
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    chunks = _chunked(reviews)
    if processes == 1 or not sys.executable:  # no interpreter to start (an embedded Python)
        for chunk in chunks:
            yield from _joined(chunk, encode_chunk(_texts(chunk)))
        return
    first, second = next(chunks, None), next(chunks, None)
    if second is None:
        if first:
            yield from _joined(first, encode_chunk(_texts(first)))
        return
    yield from _in_workers(_prepend((first, second), chunks), processes)


def _in_workers(chunks: Iterator[list[Review]], processes: int) -> Iterator[Encoded]:
    from concurrent.futures import ThreadPoolExecutor

    workers = _Workers(processes)
    # One thread per worker sends a chunk and waits for its answer: the
    # blocking pipe I/O happens outside this thread, which goes on reading.
    threads = ThreadPoolExecutor(processes, thread_name_prefix="embedlab-encode")
    pending: deque = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, threads.submit(workers.call, _texts(chunk))))
            while len(pending) > _IN_FLIGHT * processes:
                chunk, future = pending.popleft()
                yield from _joined(chunk, future.result())
        while pending:
            chunk, future = pending.popleft()
            yield from _joined(chunk, future.result())
    finally:
        # On an error (or a consumer that stopped early) the queued chunks are dropped, not encoded.
        threads.shutdown(wait=True, cancel_futures=True)
        workers.close()


class _Workers:
    """Worker processes, each answering one chunk at a time; any idle one takes the next call."""

    def __init__(self, processes: int):
        import queue

        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._all: list[subprocess.Popen] = []
        try:
            for _ in range(processes):
                worker = subprocess.Popen([sys.executable, "-c", _SERVE], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE)
                self._all.append(worker)
                self._idle.put(worker)
        except OSError as error:
            self.close()
            raise EmbedlabError(f"{sys.executable}: cannot start a tokenizing process ({error.strerror or error})"
                                "; `embedlab prepare --processes 1` uses none") from None

    def call(self, chunk: list[tuple[str, float]]) -> list[tuple[bytes, int]]:
        worker = self._idle.get()
        try:
            _send(worker.stdin, chunk)
            answer = _receive(worker.stdout)
        except OSError:  # a broken pipe: the worker is gone
            answer = None
        finally:
            self._idle.put(worker)
        if answer is None:
            code = worker.wait()
            raise EmbedlabError(f"a tokenizing process stopped (exit status {code}); out of memory? "
                                "`embedlab prepare --processes 1` tokenizes in one process")
        return answer

    def close(self) -> None:
        for worker in self._all:
            try:
                worker.stdin.close()  # end of input: `serve` returns
            except OSError:
                pass
        for worker in self._all:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            worker.stdout.close()


def serve(stdin=None, stdout=None) -> None:
    """A worker's loop: a pickled chunk in, its `encode_chunk` out, until the input ends."""
    import signal

    # Ctrl-C is the parent's to handle (it stops the workers), not one traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    while (chunk := _receive(stdin)) is not None:
        _send(stdout, encode_chunk(chunk))


def _send(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    """The next message, or None at the end of the stream (or if it was cut short)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    data = stream.read(length)
    return pickle.loads(data) if len(data) == length else None


def _joined(chunk: list[Review], encoded: list[tuple[bytes, int]]) -> Iterator[Encoded]:
    for review, (record, terms) in zip(chunk, encoded):
        yield Encoded(review, record, terms)


def _texts(chunk: list[Review]) -> list[tuple[str, float]]:
    return [(review.text, review.label) for review in chunk]


def _chunked(reviews: Iterable[Review]) -> Iterator[list[Review]]:
    chunk: list[Review] = []
    for review in reviews:
        chunk.append(review)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prepend(head: tuple, rest: Iterator) -> Iterator:
    yield from head
    yield from rest
