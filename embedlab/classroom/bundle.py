"""The Gradescope autograder zip: the package, the graded suite and Gradescope's two scripts.

``setup.sh`` (run once when Gradescope builds the image) and
``run_autograder`` (run for every submission; it calls ``embedlab
gradescope-run``) are real files in ``templates/``, copied into the zip's
top level as executables. Prepared data, the adversarial fixtures and the
reference solutions stay out.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from embedlab import files

TEMPLATES = Path(__file__).resolve().with_name("templates")
SCRIPTS = ("setup.sh", "run_autograder")
EXCLUDE_DIRS = {"__pycache__", ".pytest_cache", "adversarial"}
SCRIPT_MODE = 0o100755  # a regular file, rwxr-xr-x: Gradescope executes both scripts
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # the scripts' entries do not change with the checkout's clock


def bundle_files() -> list[tuple[Path, str]]:
    """(source path, name in the zip) of everything the autograder needs besides its scripts."""
    entries = []
    for folder in ("embedlab", "tests"):
        for path in sorted((files.REPOSITORY / folder).rglob("*")):
            relative = path.relative_to(files.REPOSITORY)
            if path.is_dir() or set(relative.parts) & EXCLUDE_DIRS or path.suffix == ".pyc":
                continue
            if folder == "tests" and relative.parts[1:2] not in (("grading",), ("conftest.py",)):
                continue
            entries.append((path, str(relative)))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (files.REPOSITORY / name).is_file():
            entries.append((files.REPOSITORY / name, name))
    return entries


def build_bundle(out: Path) -> Path:
    """Write the autograder zip to `out` (whole or not at all) and return its path."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source, name in bundle_files():
            archive.write(source, name)
        for name in SCRIPTS:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = SCRIPT_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (TEMPLATES / name).read_bytes())
    return files.write_atomic(Path(out), buffer.getvalue())
