"""Figures for the data pipeline on the real reviews.

    python benchmarks/bench_data.py --source ../shared/data/aclImdb_v1_labeled.tar.gz \
        [--baseline OLD] [--runs 3]

Prints:

* `embedlab prepare` from the archive as a user runs it (a fresh process:
  Python start, reading, tokenizing on two cores, writing; target <= 10 s on
  2 cores): wall and CPU seconds, the peak RSS of the largest process (what
  ``/usr/bin/time -v`` reports) and of the whole process tree (the workers
  included, sampled), ``--runs`` times each, interleaved, with one process and
  with the default two. ``--baseline OLD`` adds the same runs of another
  version of the code: a folder holding its ``embedlab/`` package (for
  instance ``git archive <commit> | tar -x -C OLD``), run with PYTHONPATH=OLD;
  its files must be byte-identical to this version's with ``--order
  review-number``, which the script checks (the file order before issue 10);
* the up-to-date re-run, the files' sizes and sha256;
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
import hashlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")
REPOSITORY = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="aclImdb_v1(.labeled).tar.gz or an aclImdb/ folder")
    parser.add_argument("--baseline", metavar="OLD", help="a folder holding another version's embedlab/ package")
    parser.add_argument("--runs", type=int, default=3, help="timed prepare runs per variant (default: 3)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per read figure (default: 5)")
    args = parser.parse_args(argv)
    source = Path(args.source).resolve()
    if not source.exists():
        parser.error(f"{source}: no such file or folder")
    baseline = None if args.baseline is None else Path(args.baseline).resolve()
    if baseline is not None and not (baseline / "embedlab" / "__init__.py").is_file():
        parser.error(f"{baseline}: holds no embedlab/ package")

    print(f"machine: {os.cpu_count()} cores, load average {_load()}")
    folder = Path(tempfile.mkdtemp(prefix="embedlab-bench-"))
    try:
        out = folder / "tfrecords"
        command = [sys.executable, "-m", "embedlab", "prepare", "--source", str(source), "--quiet"]
        variants = {"this version, 2 processes": (command, None),
                    "this version, 1 process": (command + ["--processes", "1"], None)}
        if baseline is not None:
            variants = {"baseline": (command, baseline), **variants}
        figures: dict[str, list[dict]] = {name: [] for name in variants}
        for _ in range(args.runs):  # interleaved: a change of load hits every variant alike
            for name, (variant, pythonpath) in variants.items():
                figures[name].append(_timed_run(variant + ["--out", str(folder / "run")], pythonpath))
                shutil.rmtree(folder / "run")
        print(f"prepare from {source.name}, {args.runs} runs each (median; all runs):")
        for name, runs in figures.items():
            print(f"  {name:<26} " + ", ".join(
                f"{label} {statistics.median(run[key] for run in runs):{spec}}{unit}"
                for label, key, spec, unit in (("wall", "wall", ".1f", " s"), ("CPU", "cpu", ".1f", " s"),
                                               ("peak RSS largest process", "rss", ",.0f", " MB"),
                                               ("tree", "tree_rss", ",.0f", " MB"))))
            print("  " + " " * 27 + "wall " + " ".join(f"{run['wall']:.1f}" for run in runs)
                  + " s; largest RSS " + " ".join(f"{run['rss']:.0f}" for run in runs) + " MB")
        print("  (target: <= 10 s wall on 2 cores)")

        _timed_run(command + ["--out", str(out)], None)
        again = _timed_run(command + ["--out", str(out)], None)
        print(f"prepare again, up to date: {again['wall']:.1f} s wall, {again['cpu']:.1f} s CPU")
        for name in ("train.tfrecord", "test.tfrecord", "manifest.json"):
            print(f"  {name}: {(out / name).stat().st_size:,} bytes, sha256 {_sha256(out / name)[:16]}...")
        if baseline is not None:
            _same_bytes_as_baseline(command, baseline, folder)

        _read_throughput(out / "train.tfrecord", args.repeats)
        _contents(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {_load()}")
    return 0


def _same_bytes_as_baseline(command: list[str], baseline: Path, folder: Path) -> None:
    """The baseline's files against this version's in the baseline's order (review numbers)."""
    ours, theirs = folder / "ours", folder / "theirs"
    _timed_run(command + ["--out", str(ours), "--order", "review-number"], None)
    _timed_run(command + ["--out", str(theirs)], baseline)
    for name in ("train.tfrecord", "test.tfrecord"):
        same = _sha256(ours / name) == _sha256(theirs / name)
        print(f"  {name} by review number: sha256 {_sha256(ours / name)[:16]}... "
              + ("identical to the baseline's" if same else f"DIFFERS from the baseline's {_sha256(theirs / name)}"))
        if not same:
            sys.exit(1)


def _timed_run(command: list[str], pythonpath: Path | None) -> dict:
    """Wall and CPU seconds, peak RSS of the largest process and of the process tree (MB), of one run.

    ``pythonpath``: the folder whose ``embedlab/`` runs (None: this repository's). The run's
    working folder is a neutral one: ``python -m`` would otherwise find the package there first.
    """
    import psutil

    env = {**os.environ, "PYTHONPATH": str(REPOSITORY if pythonpath is None else pythonpath)}
    timed = [str(GNU_TIME), "-v", *command] if GNU_TIME.is_file() else command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(timed, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               cwd=tempfile.gettempdir())
    tree_rss = 0.0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            members = watched.children(recursive=True)  # prepare and its workers, under /usr/bin/time
            if timed is command:  # no /usr/bin/time: the watched process is prepare itself
                members.append(watched)
            tree_rss = max(tree_rss, sum(map(_rss, members)))
        except psutil.Error:
            pass
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    # ru_maxrss (kilobytes on Linux) is the largest child so far, not this one: without GNU time, a bound.
    rss = int(found.group(1)) / 1024 if found else after.ru_maxrss / 1024
    return {"wall": seconds, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "rss": rss, "tree_rss": tree_rss}


def _rss(process) -> float:
    try:
        return process.memory_info().rss / 2**20
    except Exception:
        return 0.0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
