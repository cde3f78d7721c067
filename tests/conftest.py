from __future__ import annotations

pytest_plugins = ["embedlab.pytest_plugin"]

# The README's test command (`python -m pytest --target solutions`) on an idle 2-core machine, from a fresh
# clone in CI (.ci/run): 34 min 23 s of tests at 32b48fb, 13 exercises (27 min 11 s at 5f3240f with 8; the
# weak variants, one child grading each, and the notebooks take most of it).
# Said before the run starts, with the machine's measured load.
USUAL_MINUTES = 34
WHOLE_SUITE_ITEMS = 500  # a run that selects fewer tests than this is not the whole suite: no estimate


def pytest_collection_finish(session):
    if session.config.getoption("--target") != "solutions" or len(session.items) < WHOLE_SUITE_ITEMS:
        return
    from tests.machine import slowdown

    factor = slowdown()
    busy = (f"this machine is busy now (CPU-bound work measured {factor:.1f}x slower): expect about "
            f"{round(USUAL_MINUTES * factor)} minutes; the tests' time limits are stretched by the same factor"
            if factor > 1.2 else "this machine is idle now")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"embedlab: the whole suite usually takes about {USUAL_MINUTES} minutes on an idle "
                            f"2-core machine; {busy}.")

