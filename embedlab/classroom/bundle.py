"""The Gradescope autograder zip: the package, the graded suite, the pinned versions and Gradescope's two scripts.

``setup.sh`` (run once when Gradescope builds the image) and
``run_autograder`` (run for every submission; it calls ``embedlab
gradescope-run``) are real files in ``templates/``, copied into the zip's
top level as executables. ``constraints.txt`` (the repository's, the one
``.ci/run`` installs with too) pins every package the image installs, so
the image grades with exactly the versions CI tested. ``autograder.env``
carries what the course chose for this bundle: the overall deadline, cut
from the Gradescope timeout it will set. A reviews archive may travel in
``data/`` for an image built without tensorflow-datasets' download
(``setup.sh`` deletes it once the data are prepared). Prepared data, the
adversarial fixtures and the reference solutions stay out.

`installed_mismatches` compares the installed versions with the
constraints (``setup.sh`` refuses an image that does not match; a test
does the same for CI's environment).
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from embedlab import files
from embedlab.errors import EmbedlabError

TEMPLATES = Path(__file__).resolve().with_name("templates")
SCRIPTS = ("setup.sh", "run_autograder")
CONSTRAINTS = "constraints.txt"
ENV_FILE = "autograder.env"
DATA_DIR = "data"
EXCLUDE_DIRS = {"__pycache__", ".pytest_cache", "adversarial"}
SCRIPT_MODE = 0o100755  # a regular file, rwxr-xr-x: Gradescope executes both scripts
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # generated entries do not change with the checkout's clock
TIMEOUT_MINUTES = 10     # Gradescope's own default; docs/grading.md says which to choose
RESERVE_SECONDS = 30     # between our deadline and Gradescope's kill: start-up, the fallback results
MEMORY_MB = 2048         # the memory docs/grading.md recommends setting on Gradescope
GRADER_MB = 512          # what the grading process beside the workers holds (its peak, measured)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;(.*))?$")


def bundle_files() -> list[tuple[Path, str]]:
    """(source path, name in the zip) of everything the autograder needs besides its generated entries."""
    entries = []
    for folder in ("embedlab", "tests"):
        for path in sorted((files.REPOSITORY / folder).rglob("*")):
            relative = path.relative_to(files.REPOSITORY)
            if path.is_dir() or set(relative.parts) & EXCLUDE_DIRS or path.suffix == ".pyc":
                continue
            if folder == "tests" and relative.parts[1:2] not in (("grading",), ("conftest.py",)):
                continue
            entries.append((path, str(relative)))
    for name in ("pyproject.toml", CONSTRAINTS, "README.md", "LICENSE"):
        if (files.REPOSITORY / name).is_file():
            entries.append((files.REPOSITORY / name, name))
    return entries


def deadline_seconds(timeout_minutes: float) -> int:
    """The grader's overall deadline for a Gradescope timeout: the timeout minus the reserve."""
    seconds = int(float(timeout_minutes) * 60) - RESERVE_SECONDS
    if seconds < 60:
        raise EmbedlabError(f"timeout {timeout_minutes:g} min: too short to grade anything (at least "
                            f"{(60 + RESERVE_SECONDS) / 60:g} min; Gradescope's default is {TIMEOUT_MINUTES})")
    return seconds


def memory_cap_mb(memory_mb: float) -> int:
    """The workers' memory cap for a Gradescope memory setting: the grading process keeps its share."""
    cap = int(float(memory_mb)) - GRADER_MB
    if cap < 1024:
        raise EmbedlabError(f"memory {memory_mb:g} MB: too little to grade (at least {1024 + GRADER_MB} MB)")
    return cap


def build_bundle(out: Path, timeout_minutes: float = TIMEOUT_MINUTES, reviews: Path | None = None,
                 memory_mb: float = MEMORY_MB) -> Path:
    """Write the autograder zip to `out` (whole or not at all) and return its path.

    `timeout_minutes` is the timeout the course sets on Gradescope's
    autograder settings page; `reviews`, a copy of the reviews archive to
    prepare the data from instead of downloading them.
    """
    env = (f"# Written by `embedlab gradescope-bundle`: Gradescope's timeout is {timeout_minutes:g} min.\n"
           f"EMBEDLAB_DEADLINE_SECONDS={deadline_seconds(timeout_minutes)}\n"
           f"# Its memory is {memory_mb:g} MB: no worker may use more than that less the grader's own.\n"
           f"EMBEDLAB_MEMORY_CAP_MB={memory_cap_mb(memory_mb)}\n")
    if reviews is not None and not Path(reviews).is_file():
        raise EmbedlabError(f"{reviews}: no such reviews archive")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source, name in bundle_files():
            archive.write(source, name)
        for name in SCRIPTS:
            _add(archive, name, (TEMPLATES / name).read_bytes(), SCRIPT_MODE)
        _add(archive, ENV_FILE, env.encode(), 0o100644)
        if reviews is not None:  # already compressed: stored as is
            archive.write(reviews, f"{DATA_DIR}/{Path(reviews).name}", compress_type=zipfile.ZIP_STORED)
    return files.write_atomic(Path(out), buffer.getvalue())


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


# ------------------------------------------------------------ pinned versions
def read_constraints(path: Path | None = None) -> dict[str, str]:
    """{normalized name: version} of the pins in `path` that apply to this Python (their markers)."""
    from packaging.markers import Marker

    path = Path(path) if path is not None else files.REPOSITORY / CONSTRAINTS
    pins = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise EmbedlabError(f"{path}:{number}: {line!r}: expected name==version [; marker]")
        name, version, marker = match.groups()
        if marker is None or Marker(marker.strip()).evaluate():
            pins[normalize(name)] = version
    return pins


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_mismatches(path: Path | None = None) -> list[str]:
    """One line per pinned package whose installed version differs from its pin (or that is missing)."""
    problems = []
    for name, version in sorted(read_constraints(path).items()):
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: pinned {version}, not installed")
            continue
        if found != version:
            problems.append(f"{name}: pinned {version}, installed {found}")
    return problems


def check_installed(path: Path | None = None) -> None:
    """setup.sh: stop the image build, naming every package whose version differs from the constraints."""
    problems = installed_mismatches(path)
    if problems:
        sys.exit("the installed versions differ from constraints.txt:\n  " + "\n  ".join(problems))
    print(f"constraints: {len(read_constraints(path))} pinned packages installed at their versions")
