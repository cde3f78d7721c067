"""Figures for the data pipeline on the real reviews.

    python benchmarks/bench_data.py --source ../shared/data/aclImdb_v1_labeled.tar.gz

Prints:

* `embedlab prepare` wall time for both splits from the archive, as a user
  runs it (a fresh process: Python start, reading, tokenizing, importing
  TensorFlow, writing; target <= 20 s), the up-to-date re-run, and the files'
  sizes;
* read throughput of `records.read_dataset` (parse + ragged batch of the
  25,000 training records) once the file is in the page cache, at batch
  sizes 25 and 1000 (target >= 100,000 examples/s at 25). "in graph" is how
  Keras' fit consumes a dataset; "python loop" adds the cost of handing every
  batch to Python as a RaggedTensor;
* counts, label balance and how many of the 50 informative terms occur.

Everything is written into a temporary folder that is removed at the end.
The machine's load average is printed too: on a shared machine, figures
taken under load are low.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="aclImdb_v1(.labeled).tar.gz or an aclImdb/ folder")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per read figure (default: 5)")
    args = parser.parse_args(argv)
    source = Path(args.source).resolve()
    if not source.exists():
        parser.error(f"{source}: no such file or folder")

    print(f"machine: {os.cpu_count()} cores, load average {_load()}")
    folder = Path(tempfile.mkdtemp(prefix="embedlab-bench-"))
    try:
        out = folder / "tfrecords"
        command = [sys.executable, "-m", "embedlab", "prepare", "--source", str(source), "--out", str(out), "--quiet"]
        seconds, cpu = _timed_run(command)
        print(f"prepare from {source.name}: {seconds:.1f} s wall, {cpu:.1f} s CPU (target <= 20 s)")
        seconds, cpu = _timed_run(command)
        print(f"prepare again, up to date: {seconds:.1f} s wall, {cpu:.1f} s CPU")
        for name in ("train.tfrecord", "test.tfrecord", "manifest.json"):
            print(f"  {name}: {(out / name).stat().st_size:,} bytes")

        _read_throughput(out / "train.tfrecord", args.repeats)
        _contents(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {_load()}")
    return 0


def _timed_run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a child process (CPU tells how loaded the machine was)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _read_throughput(path: Path, repeats: int) -> None:
    import tensorflow as tf

    from embedlab.data import records

    def in_graph(dataset) -> int:
        return int(dataset.reduce(tf.constant(0, tf.int64),
                                  lambda n, batch: n + tf.shape(batch[1], out_type=tf.int64)[0]))

    def python_loop(dataset) -> int:
        return sum(int(labels.shape[0]) for _, labels in dataset)

    print(f"read_dataset over {path.name}, file cached (a warm-up pass first), {repeats} passes:")
    for batch_size in (25, 1000):
        for name, consume in (("in graph", in_graph), ("python loop", python_loop)):
            dataset = records.read_dataset(path, batch_size=batch_size)
            count = consume(dataset)  # warm-up: page cache, tracing, autotuning
            rates = []
            for _ in range(repeats):
                start = time.perf_counter()
                assert consume(dataset) == count
                rates.append(count / (time.perf_counter() - start))
            print(f"  batch {batch_size:>4}, {name:<11}: median {statistics.median(rates):>9,.0f} examples/s "
                  f"(best {max(rates):,.0f}; {count:,} examples)")


def _contents(out: Path) -> None:
    from embedlab.data.inspect import summarize

    for split in ("train", "test"):
        summary = summarize(str(out / f"{split}.tfrecord"))
        print(f"{split}: {summary['records']:,} records, {summary['positive']:,} positive / "
              f"{summary['negative']:,} negative, {summary['tokens_per_review']['mean']:.1f} tokens per review, "
              f"{summary['informative_terms_present']} of 50 informative terms present")


def _load() -> str:
    try:
        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
