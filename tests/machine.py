"""How busy this machine is, measured, so that time limits in tests scale with it.

A time limit that is not itself under test (a worker that must finish an
honest exercise within 25 s) fails for the wrong reason on a machine that
another CPU-heavy job shares: every timing stretches. `slowdown()` measures
that stretch directly. It runs one busy loop per core the suite uses (the
class grader runs two workers at once) for a short wall-clock time and reads
how much CPU time each loop got: on an idle machine each gets all of its
wall time (a share of 1.0); beside one other busy process on 2 cores each
gets about 2/3, beside two about 1/2. The slowdown is the inverse of the
worst share, never below 1, so a limit scaled by it is never shorter than
the one written in the test.

It needs no reference figure from another machine: contention is measured
relative to this machine's own cores. (A machine that is slower in itself
is not detected; the limits written in the tests were set with room on the
2-core machines CI runs on, see docs/calibration.md.)
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import time

WORKERS = 2          # how many processes the suite's busiest tests run at once (grade --jobs 2)
SAMPLE_SECONDS = 0.75


def _busy_share(seconds: float) -> float:
    """Spin for `seconds` of wall time; the fraction of it this process was on a CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        sum(range(2000))
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


@functools.lru_cache(maxsize=1)
def slowdown() -> float:
    """How many times longer a CPU-bound job takes now than on this machine idle (>= 1, measured once)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold TensorFlow's threads
    with context.Pool(WORKERS) as pool:
        shares = pool.map(_busy_share, [SAMPLE_SECONDS] * WORKERS)
    worst = max(min(shares), 0.05)
    # Rounded up to a tenth so that the same load gives the same limits from run to run.
    return max(1.0, math.ceil(10 / worst) / 10)


def scaled(seconds: float) -> float:
    """A time limit written for an idle machine, stretched by the measured `slowdown()`."""
    return round(seconds * slowdown(), 1)
