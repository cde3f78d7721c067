"""The label probe: can a worker open any of these paths? (Run by `embedlab.isolation.probe`.)

``python -I label_probe.py UID PATH...``, inside the same sandbox as a worker.
As root it first becomes UID (no supplementary groups), as a worker does; then
it tries to open each path (list it, for a folder) and prints, one a line,
those it could. It imports nothing but the standard library, and nothing of
embedlab: it must run wherever the worker runs.
"""

import os
import sys


def readable(path: str) -> bool:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as handle:
                handle.read(1)
    except OSError:
        return False
    return True


def main(argv: list[str]) -> int:
    uid = int(argv[0])
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    print("\n".join(path for path in argv[1:] if readable(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
