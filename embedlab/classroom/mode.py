"""The isolation mode a class was graded in, and the instructor's warning when it has no network isolation.

`class_mode` resolves ``Settings.sandbox`` once (``auto`` -> ``bwrap``,
``uid`` or ``none``, `embedlab.isolation.modes`); every submission's pytest
process is then started with that mode explicitly, so its workers run in it
or refuse to run (never silently in a weaker one). Every result records it
under ``sandbox`` (the weakest mode any of its exercises reported, if the
plugin's per-exercise rows say otherwise), and every gradebook row shows it.

Only ``bwrap`` cuts the network (a network namespace of its own); ``uid``
(another user) and ``none`` (same user, development only) leave a
student's code free to reach the network: `warning` is the loud sentence
the instructor sees then.
"""

from __future__ import annotations

from embedlab.settings import Settings

STRENGTH = {"bwrap": 2, "uid": 1, "none": 0}   # an unknown mode counts as none
NETWORK_ISOLATED = ("bwrap",)


def class_mode(settings: Settings) -> str:
    """The mode this class's workers run in: ``settings.sandbox`` resolved (``auto`` decided once)."""
    from embedlab.isolation import modes

    return modes.resolve(settings.sandbox)


def weakest(found) -> str:
    """The least isolating of the modes in `found` (``none`` if there is none)."""
    found = [str(mode) for mode in found if mode]
    if not found:
        return "none"
    return min(found, key=lambda mode: STRENGTH.get(mode, -1))


def reported(payload: dict) -> set[str]:
    """The modes the plugin's per-exercise rows of one grading report under ``sandbox``."""
    return {str(row["sandbox"]) for row in (payload.get("exercises") or {}).values()
            if isinstance(row, dict) and row.get("sandbox")}


def network_isolated(mode: str) -> bool:
    return mode in NETWORK_ISOLATED


def warning(mode: str) -> str | None:
    """The instructor's warning for a mode without network isolation (None for bwrap)."""
    if network_isolated(mode):
        return None
    how = {"uid": "as another user, but WITHOUT network isolation",
           "in-process": "in the grader's own process, WITHOUT any isolation",
           "none": "as the grader's own user, WITHOUT any isolation (development only)"}
    return (f"WARNING: student code ran in sandbox mode {mode!r}: "
            f"{how.get(mode, 'in an unknown mode, WITHOUT network isolation')}. It could reach the network "
            f"(send data out, fetch answers). Grade with bubblewrap (`--sandbox bwrap`, apt-get install bubblewrap) "
            f"for grades you can trust.")
