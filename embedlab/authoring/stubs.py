"""Student stubs, generated from the reference solutions.

A solution marks each part a student writes::

    def build_linear_model(vocabulary):
        \"\"\"...\"\"\"
        # BEGIN SOLUTION
        ...reference code...
        # END SOLUTION

`make_stub` keeps everything outside the markers and replaces each marked
region by a ``raise NotImplementedError(...)`` at the region's indentation,
naming the function and where to read. Markers must stand alone on their
line, pair up, not nest, and open and close at the same indentation; any
other use is an error, so a typo cannot leak a solution into a stub.

>>> print(make_stub('''def f(x):
...     \"\"\"Double x.\"\"\"
...     # BEGIN SOLUTION
...     return 2 * x
...     # END SOLUTION
... ''', "ex00_demo.py"), end="")
def f(x):
    \"\"\"Double x.\"\"\"
    raise NotImplementedError("f() in ex00_demo.py is yours to write: read the module docstring ('What to build'), then `embedlab hint 0`")
"""  # noqa: E501 - the generated line is long, as it is in a stub

from __future__ import annotations

import re
from pathlib import Path

from embedlab.errors import EmbedlabError
from embedlab.files import REPOSITORY

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)")


def make_stub(source: str, name: str) -> str:
    """The stub of one solution module's source; `name` is its file name."""
    number = re.match(r"ex(\d+)", name)
    hint = f"embedlab hint {int(number.group(1))}" if number else "embedlab hint"
    output: list[str] = []
    open_at: tuple[int, str] | None = None  # (line number, indentation)
    for number_, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        is_begin, is_end = stripped == BEGIN, stripped == END
        if not (is_begin or is_end) and ("BEGIN SOLUTION" in stripped or "END SOLUTION" in stripped):
            raise EmbedlabError(f"{name} line {number_}: malformed solution marker {stripped!r} "
                                f"(write exactly '{BEGIN}' or '{END}' on a line of its own)")
        if is_begin:
            if open_at is not None:
                raise EmbedlabError(f"{name} line {number_}: '{BEGIN}' inside the region opened at line {open_at[0]}")
            open_at = (number_, indent)
            function = _enclosing_function(output, indent)
            output.append(
                f'{indent}raise NotImplementedError("{function} in {name} is yours to write: '
                f"read the module docstring ('What to build'), then `{hint}`\")\n")
        elif is_end:
            if open_at is None:
                raise EmbedlabError(f"{name} line {number_}: '{END}' without a '{BEGIN}' before it")
            if indent != open_at[1]:
                raise EmbedlabError(f"{name} line {number_}: '{END}' is not indented like its '{BEGIN}' "
                                    f"at line {open_at[0]}")
            open_at = None
        elif open_at is None:
            output.append(line)
    if open_at is not None:
        raise EmbedlabError(f"{name} line {open_at[0]}: '{BEGIN}' is never closed")
    return "".join(output)


def _enclosing_function(lines: list[str], indent: str) -> str:
    for line in reversed(lines):
        found = _DEF.match(line)
        if found and len(found.group(1)) < len(indent):
            return f"{found.group(2)}()"
    return "this part"


def stale_stubs(solutions: Path = REPOSITORY / "solutions", exercises: Path = REPOSITORY / "exercises") -> list[str]:
    """Exercise files that differ from what their solutions generate."""
    from embedlab import manifest

    stale = []
    for exercise in manifest.load():
        stub = exercises / exercise.module_file
        expected = make_stub(_read_solution(solutions, exercise.module_file), exercise.module_file)
        if not stub.is_file() or stub.read_text() != expected:
            stale.append(str(stub))
    return stale


def write_stubs(solutions: Path = REPOSITORY / "solutions", exercises: Path = REPOSITORY / "exercises") -> list[Path]:
    from embedlab import manifest

    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for exercise in manifest.load():
        text = make_stub(_read_solution(solutions, exercise.module_file), exercise.module_file)
        target = exercises / exercise.module_file
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
    return written


def _read_solution(solutions: Path, name: str) -> str:
    try:
        return (solutions / name).read_text()
    except OSError as error:
        raise EmbedlabError(f"{solutions / name}: cannot read the solution ({error.strerror})") from None
