"""The package's shape: stages import only downward, no cycles, small modules, configuration at the edge,
each exercise declared once.

Read from the source with `ast` (nothing is imported), so a violation names the file and line.
docs/architecture.md describes the same floors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from embedlab import files, manifest
from embedlab.authoring import check

PACKAGE = files.PACKAGE_DIR
MAX_LINES = 300

# Floors, low to high: a module may import its own floor and the floors below.
FLOORS = {
    "embedlab": 0, "embedlab.errors": 0, "embedlab.files": 0, "embedlab.manifest": 0, "embedlab.settings": 0,
    "embedlab.vocabulary": 0, "embedlab.quiet": 0,
    "embedlab.data": 1,
    "embedlab.authoring": 2,
    "embedlab.grading": 3,
    "embedlab.isolation": 4,
    "embedlab.pytest_plugin": 5,
    "embedlab.classroom": 6,
    "embedlab.commands": 7,
    "embedlab.cli": 8, "embedlab.__main__": 8, "embedlab.notebook": 8,
}
# Where configuration is read: the command line, the pytest plugin, the settings object itself.
# The forkserver is a process's entry point too: it sets each forked child's environment.
# The notebook API is the student's entry point in a kernel: it finds the notebook's path there.
# embedlab.quiet sets TensorFlow's log level in the environment of the process whose edge calls it.
EDGES = {"embedlab.settings", "embedlab.quiet", "embedlab.cli", "embedlab.__main__", "embedlab.pytest_plugin",
         "embedlab.isolation.forkserver", "embedlab.notebook"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(files.REPOSITORY).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def floor(name: str) -> int:
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return FLOORS[prefix]
    raise AssertionError(f"{name}: not on any floor; add it to FLOORS in tests/test_layout.py")


def imports_of(name: str) -> list[tuple[str, int]]:
    """The embedlab modules `name` imports (at any depth in the file), with line numbers."""
    tree = ast.parse(MODULES[name].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("embedlab")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("embedlab"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.append((candidate if candidate in MODULES else node.module, node.lineno))
    return [(target, line) for target, line in found if target in MODULES and target != name]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]}: {lines} lines; split it by job (at most {MAX_LINES})"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_only_downward(name):
    upward = [f"line {line}: {target} (floor {floor(target)})" for target, line in imports_of(name)
              if floor(target) > floor(name)]
    assert not upward, f"{MODULES[name]} (floor {floor(name)}) imports upward: {'; '.join(upward)}"


def test_no_import_cycles():
    graph = {name: sorted({target for target, _ in imports_of(name)}) for name in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = 1
        for target in graph[name]:
            if state.get(target) == 1:
                return [*path[path.index(target):], target] if target in path else [*path, target]
            if state.get(target) is None and (cycle := visit(target, [*path, target])):
                return cycle
        state[name] = 2
        return None

    for name in graph:
        if state.get(name) is None and (cycle := visit(name, [name])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize("name", sorted(set(MODULES) - EDGES))
def test_configuration_is_read_only_at_the_edge(name):
    source = MODULES[name].read_text()
    reads = [number for number, line in enumerate(source.splitlines(), 1)
             if re.search(r"os\.environ\b(?!\s*=)|os\.getenv\(", line) and not line.lstrip().startswith("#")]
    assert not reads, (f"{MODULES[name]} reads the environment at lines {reads}; read it once at an edge into "
                       "embedlab.settings.Settings and pass it down")


def test_exercise_ids_appear_only_in_the_manifest():
    """No list of exercises in the code: tools ask embedlab.manifest (file names are found by id)."""
    ids = [exercise.id for exercise in manifest.load()]
    pattern = re.compile("|".join(re.escape(exercise_id) for exercise_id in ids))
    sources = [*PACKAGE.rglob("*.py"), *(files.REPOSITORY / "benchmarks").glob("*.py"),
               *files.GRADING_TESTS.glob("*.py"), *(PACKAGE / "classroom" / "templates").glob("*")]
    named = []
    for path in sources:
        own = path.stem.removeprefix("test_")
        for number, line in enumerate(path.read_text().splitlines(), 1):
            named += [f"{path.relative_to(files.REPOSITORY)}:{number}: {found}"
                      for found in pattern.findall(line) if found != own]
    assert not named, "exercise ids written outside exercises.toml:\n" + "\n".join(named)


def test_the_course_checks_out():
    """Every exercise has its solution, a fresh stub, a collector, and tests whose points add up."""
    assert check.problems() == []
