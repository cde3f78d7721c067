"""The load measurement that stretches the tests' time limits (tests/machine.py)."""

from __future__ import annotations

import multiprocessing
import os
import time

from tests import machine


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_two_busy_processes_beside_the_measurement_are_measured_as_a_slowdown():
    context = multiprocessing.get_context("spawn")
    load = [context.Process(target=_spin, args=(6.0,)) for _ in range(2 * (os.cpu_count() or 1))]
    for process in load:
        process.start()
    try:
        time.sleep(1.0)  # both spinning before the measurement starts
        busy = machine.slowdown.__wrapped__()
    finally:
        for process in load:
            process.terminate()
            process.join()
    # Twice as many busy processes as cores, and two more: each gets under half a core.
    assert busy >= 1.5, busy


def test_a_scaled_limit_is_never_shorter_than_the_written_one():
    assert machine.slowdown() >= 1.0
    assert machine.scaled(25) >= 25
