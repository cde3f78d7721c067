"""The Gradescope bundle for real: pinned versions, and setup.sh + run_autograder in an emulated container.

The emulation (`Container`): bubblewrap gives the scripts a root of their own
in which ``/autograder`` is a temporary folder holding the unpacked bundle,
``submission/`` and ``results/``; ``/opt`` holds the image's virtual
environment; ``/tmp`` and ``/root`` are private; the checkout (``/work``) is
not there at all, so the bundle must be complete. It runs with the
capabilities Docker grants a container's root by default (no CAP_SYS_ADMIN)
and a read-only ``/sys``, as Gradescope's containers do: bubblewrap cannot
make namespaces there, and the grader must fall back to uid mode and say so.

setup.sh runs for real except apt-get (``EMBEDLAB_SKIP_APT=1``: this
machine's packages are there already) and the download: its virtual
environment is made with ``--system-site-packages`` from this Python, so pip
resolves every pinned package from the versions installed here (nothing is
downloaded but the build backend of the project itself) and the constraints
check then runs inside the image's environment; the reviews come from the
local archive (``EMBEDLAB_SOURCE``), mounted where workers cannot read it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from embedlab import files, manifest
from embedlab.classroom import bundle
from embedlab.grading.deadline import DEADLINE_BEFORE, DEADLINE_DURING, MIN_WORKER_SECONDS, RESERVE_SECONDS

ARCHIVE = files.REPOSITORY.parent / "shared" / "data" / "aclImdb_v1_labeled.tar.gz"
# The capabilities Docker leaves a container's root by default: no CAP_SYS_ADMIN, so no namespaces.
DOCKER_CAPS = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
               "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")

# Gradescope's results.json, as its specification documents it (autograder "Output format").
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
       "test_output_format": str, "test_name_format": str, "visibility": str, "stdout_visibility": str,
       "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str, "extra_data": dict}


def gradescope_problems(payload) -> list[str]:
    """What in `payload` Gradescope's documented results.json format does not allow."""
    problems = []

    def fields(where: str, item: dict, allowed: dict) -> None:
        for key, value in item.items():
            if key not in allowed:
                problems.append(f"{where}: unknown field {key!r}")
            elif not isinstance(value, allowed[key]) or isinstance(value, bool):
                problems.append(f"{where}.{key}: {type(value).__name__}")
        for key in ("visibility", "stdout_visibility"):
            if key in item and item[key] not in VISIBILITY:
                problems.append(f"{where}.{key}: {item[key]!r}")
        for key in ("output_format", "test_output_format", "test_name_format", "name_format"):
            if key in item and item[key] not in FORMATS:
                problems.append(f"{where}.{key}: {item[key]!r}")

    if not isinstance(payload, dict):
        return ["not an object"]
    fields("results", payload, TOP)
    for number, test in enumerate(payload.get("tests") or []):
        if not isinstance(test, dict):
            problems.append(f"tests[{number}]: not an object")
            continue
        fields(f"tests[{number}]", test, TEST)
        if test.get("status", "passed") not in ("passed", "failed"):
            problems.append(f"tests[{number}].status: {test['status']!r}")
        if "score" not in payload and "score" not in test:
            problems.append(f"tests[{number}]: no score, and no top-level score")
        if not all(isinstance(tag, str) for tag in test.get("tags", [])):
            problems.append(f"tests[{number}].tags: not strings")
    for number, entry in enumerate(payload.get("leaderboard") or []):
        if not isinstance(entry, dict) or not {"name", "value"} <= set(entry) or entry.get("order", "desc") not in (
                "asc", "desc"):
            problems.append(f"leaderboard[{number}]: {entry!r}")
    return problems


def strict_json(path: Path):
    def refuse(constant):
        raise ValueError(f"{path}: not JSON: {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


# ------------------------------------------------------------ pinned versions
def _direct_requirements() -> list:
    """pyproject.toml's dependencies and dev extras, as packaging Requirements."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((files.REPOSITORY / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _pins_for(python_version: str) -> dict[str, str]:
    from packaging.markers import Marker

    pins = {}
    for line in (files.REPOSITORY / bundle.CONSTRAINTS).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement, _, marker = line.partition(";")
            name, _, version = requirement.strip().partition("==")
            if not marker.strip() or Marker(marker).evaluate({"python_version": python_version}):
                assert bundle.normalize(name) not in pins, f"{name} pinned twice for Python {python_version}"
                pins[bundle.normalize(name)] = version
    return pins


def test_the_installed_versions_are_the_pinned_ones():
    """CI runs exactly what the Gradescope image installs: every pin of this Python is what is installed."""
    assert bundle.installed_mismatches() == []
    assert len(bundle.read_constraints()) > 40  # the whole tree, not only the direct dependencies


def test_every_dependency_is_pinned_for_every_supported_python():
    for python_version in ("3.10", "3.11", "3.12"):
        pins = _pins_for(python_version)
        for requirement in _direct_requirements():
            if requirement.marker is None or requirement.marker.evaluate({"python_version": python_version}):
                name = bundle.normalize(requirement.name)
                assert name in pins, f"{requirement.name} (pyproject.toml) is not pinned for Python {python_version}"
                assert requirement.specifier.contains(pins[name], prereleases=True), (
                    f"{requirement.name}=={pins[name]} does not satisfy pyproject.toml's {requirement}")


def test_the_whole_installed_tree_of_the_project_is_pinned():
    """Every package the project's dependencies pull in (on this Python) has a pin, whatever its depth."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pins, seen = bundle.read_constraints(), set()
    todo = [(requirement, ()) for requirement in _direct_requirements()]
    while todo:
        requirement, extras = todo.pop()
        if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in ("", *extras)):
            continue
        name = bundle.normalize(requirement.name)
        if name in seen or name in ("setuptools", "wheel", "pip"):
            continue
        seen.add(name)
        assert name in pins, f"{requirement.name} (needed by the project's tree) is not in constraints.txt"
        todo += [(Requirement(text), tuple(requirement.extras)) for text in metadata.requires(name) or []]


def test_a_pin_that_differs_is_named(tmp_path):
    from importlib import metadata

    (tmp_path / "c.txt").write_text(f"pytest=={metadata.version('pytest')}\nnumpy==0.0.1\n"
                                    "no-such-package-here==1.0\nold-only==1.0; python_version < '3.0'\n")
    assert bundle.installed_mismatches(tmp_path / "c.txt") == [
        "no-such-package-here: pinned 1.0, not installed",
        f"numpy: pinned 0.0.1, installed {metadata.version('numpy')}"]
    (tmp_path / "bad.txt").write_text("numpy>=1\n")
    with pytest.raises(Exception, match=r"bad.txt:1: 'numpy>=1': expected name==version"):
        bundle.read_constraints(tmp_path / "bad.txt")


# ------------------------------------------------------------ the container
class Container:
    """An emulated Gradescope container over one temporary folder (see the module's docstring)."""

    def __init__(self, base: Path):
        self.base = base
        self.autograder, self.venv, self.tmp = base / "autograder", base / "venv", base / "tmp"
        for folder in (self.autograder / "source", self.autograder / "submission", self.autograder / "results",
                       self.venv, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        for folder in (base, self.autograder, self.venv):
            folder.chmod(0o755)
        self.tmp.chmod(0o1777)

    def command(self, script: str) -> list[str]:
        args = ["bwrap", "--die-with-parent", "--unshare-pid", "--tmpfs", "/"]
        for name in ("usr", "etc", "var"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if Path(f"/{name}").is_symlink():
                args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
            elif Path(f"/{name}").is_dir():
                args += ["--ro-bind", f"/{name}", f"/{name}"]
        args += ["--bind", "/run", "/run",  # the worker uids' locks are the machine's
                 "--ro-bind", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev",
                 "--bind", str(self.tmp), "/tmp", "--bind", str(self.autograder), "/autograder",
                 "--tmpfs", "/opt"]
        for entry in sorted(Path("/opt").iterdir()):
            args += ["--ro-bind", str(entry), str(entry)]
        # The base Python, world-readable as /usr/bin/python3 would be, behind a /root workers may only cross.
        base = Path(sys.base_prefix)
        args += ["--bind", str(self.venv), "/opt/embedlab-venv", "--perms", "0711", "--tmpfs", "/root"]
        for parent in reversed(base.parents):
            if parent.is_relative_to("/root") and parent != Path("/root"):
                args += ["--perms", "0755", "--dir", str(parent)]  # bwrap would make them 0700
        args += ["--ro-bind", str(base), str(base),
                 "--perms", "0700", "--dir", "/root/private",
                 "--ro-bind", str(ARCHIVE), f"/root/private/{ARCHIVE.name}",
                 "--cap-drop", "ALL"]
        for capability in DOCKER_CAPS:
            args += ["--cap-add", f"CAP_{capability}"]
        return args + ["--chdir", "/autograder", "bash", script]

    def environment(self, **extra: str) -> dict:
        keep = {key: value for key, value in os.environ.items()
                if not key.startswith(("EMBEDLAB_", "AUTOGRADER_", "VIRTUAL_ENV", "PYTHON", "PYENV", "TFDS_"))}
        return {**keep, "HOME": "/root", "CI": "", **extra}

    def run(self, script: str, timeout: float, **env: str) -> Measured:
        return measure(self.command(script), self.environment(**env), timeout)


class Measured:
    def __init__(self, done: subprocess.CompletedProcess, seconds: float, peak_mb: float | None,
                 peak_rss_mb: float | None):
        self.returncode, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        self.seconds, self.peak_mb, self.peak_rss_mb = seconds, peak_mb, peak_rss_mb

    def __str__(self) -> str:
        if self.peak_mb is None:
            return f"{self.seconds:.1f} s (no memory cgroup here: memory not measured)"
        return (f"{self.seconds:.1f} s, peak memory {self.peak_mb:.0f} MB with page cache, "
                f"{self.peak_rss_mb:.0f} MB resident (sampled every 0.2 s), the whole container")


def _memory_cgroup() -> Path | None:
    """A v1 memory cgroup of our own under this process's (None where there is none to make)."""
    try:
        own = next(line.split(":", 2)[2] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.split(":", 2)[1] == "memory")
        group = Path("/sys/fs/cgroup/memory" + own.rstrip("/")) / f"embedlab-gradescope-test-{os.getpid()}"
        group.mkdir()
        return group
    except (OSError, StopIteration, IndexError):
        return None


def _resident_mb(group: Path) -> float:
    """Anonymous and shared memory of the cgroup's processes now (its page cache left out)."""
    stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
    return (int(stat.get("total_rss", 0)) + int(stat.get("total_shmem", 0))) / 2**20


def measure(command: list[str], env: dict, timeout: float) -> Measured:
    """Run `command` in a memory cgroup of its own: its wall time and the cgroup's peak memory."""
    group = _memory_cgroup()
    if group is not None:
        command = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *command]
    peak_rss, done_event = [0.0], threading.Event()

    def sample() -> None:
        while not done_event.wait(0.2):
            try:
                peak_rss[0] = max(peak_rss[0], _resident_mb(group))
            except (OSError, ValueError):
                pass

    sampler = threading.Thread(target=sample, daemon=True) if group is not None else None
    if sampler is not None:
        sampler.start()
    started = time.time()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        seconds = time.time() - started
        done_event.set()
        peak = None
        if group is not None:
            sampler.join()
            peak = int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
            for _ in range(50):  # the emulated container's last processes leave with bwrap
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
    return Measured(done, seconds, peak, peak_rss[0] if group is not None else None)


def _unpack(zip_path: Path, target: Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, target)
            mode = info.external_attr >> 16
            if mode:
                (target / info.filename).chmod(mode & 0o777)


def _gradescope_ready() -> str | None:
    """Why the emulation cannot run here (None if it can)."""
    if os.geteuid() != 0:
        return "needs root (it emulates a container)"
    if shutil.which("bwrap") is None:
        return "needs bubblewrap"
    if not ARCHIVE.is_file():
        return f"needs the reviews archive {ARCHIVE}"
    if sys.prefix != sys.base_prefix:
        return "run it from the base Python, not a virtual environment (the image's venv is made from it)"
    return None


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The bundle built, unpacked into /autograder/source, setup.sh run: the built image."""
    why = _gradescope_ready()
    if why:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes", "on"):
            pytest.fail(f"the emulated Gradescope run {why} (CI=true: it must run)")
        pytest.skip(why)
    container = Container(tmp_path_factory.mktemp("gradescope"))
    zip_path = bundle.build_bundle(container.base / "autograder.zip", timeout_minutes=40)
    _unpack(zip_path, container.autograder / "source")
    shutil.copy(container.autograder / "source" / "setup.sh", container.autograder / "setup.sh")
    shutil.copy(container.autograder / "source" / "run_autograder", container.autograder / "run_autograder")
    setup = container.run("/autograder/setup.sh", timeout=900, EMBEDLAB_SKIP_APT="1",
                          EMBEDLAB_BASE_PYTHON=os.path.realpath(sys.executable),
                          EMBEDLAB_VENV_OPTIONS="--system-site-packages",
                          EMBEDLAB_SOURCE=f"/root/private/{ARCHIVE.name}")
    print(f"\nsetup.sh: {setup}\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    container.setup = setup
    return container


def _grade(container: Container, folder: Path, **env: str) -> tuple[dict, Measured]:
    submission, results = container.autograder / "submission", container.autograder / "results"
    for old in (submission, results):
        shutil.rmtree(old)
        old.mkdir()
    for path in folder.glob("ex*.py"):
        shutil.copy(path, submission / path.name)
    run = container.run("/autograder/run_autograder", timeout=1500, **env)
    assert (results / "results.json").is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    payload = strict_json(results / "results.json")
    assert gradescope_problems(payload) == []
    return payload, run


def _cache(container: Container) -> dict[str, int]:
    cache = container.autograder / "source" / "tfrecords" / ".grading" / "sandbox-cache"
    return {path.name: path.stat().st_mtime_ns for path in cache.glob("*")}


def _graded(payload: dict) -> list[dict]:
    return [test for test in payload["tests"] if test["max_score"] > 0]


def _integrity(payload: dict) -> dict:
    (integrity,) = [test for test in payload["tests"] if test["name"].startswith("grading integrity")]
    return integrity


@pytest.mark.slow
@pytest.mark.realdata
def test_setup_builds_the_image_in_uid_mode_with_the_pinned_versions(image):
    out = image.setup.stdout
    assert "constraints: " in out and "pinned packages installed at their versions" in out
    assert "sandbox: uid" in out and "cannot create namespaces" in out and "WITHOUT network isolation" in out
    references = [exercise.id for exercise in manifest.load() if exercise.id in out.split("reference runs of")[-1]]
    assert references, out[-2000:]
    assert len(_cache(image)) >= len(references)  # cached at build time, for the image's questions
    seed_file = image.autograder / "source" / "tfrecords" / ".grading" / "gradescope.json"
    assert seed_file.stat().st_mode & 0o077 == 0 and type(json.loads(seed_file.read_text())["questions_seed"]) is int
    assert not (image.autograder / "source" / "data").exists()
    # The container's mount points were made inside its own root, not on this machine.
    assert not Path("/autograder").exists() and not Path("/opt/embedlab-venv").exists()


@pytest.mark.slow
@pytest.mark.realdata
def test_the_reference_solutions_score_full_points_and_the_bonus(image):
    cached = _cache(image)
    payload, run = _grade(image, files.SOLUTIONS)
    print(f"\nrun_autograder (reference): {run}")
    assert run.returncode == 0, run.stderr[-3000:]
    maximum = sum(exercise.points for exercise in manifest.load() if not exercise.bonus)
    bonus = sum(exercise.points for exercise in manifest.load() if exercise.bonus)
    failed = [f"{test['name']}: {test['output'][:200]}" for test in _graded(payload) if test["status"] != "passed"]
    assert not failed and payload["score"] == maximum + bonus, failed
    assert sum(test["score"] for test in _graded(payload)) == maximum + bonus
    assert all(test["score"] == test["max_score"] for test in _graded(payload))
    integrity = _integrity(payload)
    assert integrity["visibility"] == "hidden" and integrity["output"].startswith("sandbox: uid")
    assert "cannot create namespaces" in integrity["output"] and "WITHOUT network isolation" in integrity["output"]
    assert "sandbox: uid" in run.stdout and "WITHOUT network isolation" in run.stdout
    assert payload["extra_data"]["sandbox"] == "uid" and payload["execution_time"] > 0
    assert _cache(image) == cached, "run_autograder repeated a trusted reference run the image should hold"
    image.full_seconds = run.seconds


@pytest.mark.slow
@pytest.mark.realdata
def test_the_stubs_score_zero_with_reasons(image):
    payload, run = _grade(image, files.EXERCISES)
    print(f"\nrun_autograder (stubs): {run}")
    assert run.returncode == 0 and payload["score"] == 0
    assert _graded(payload) and all(test["score"] == 0 and test["status"] == "failed" for test in _graded(payload))
    assert all(len(test["output"]) > 10 for test in _graded(payload))
    assert any("NotImplementedError" in test["output"] or "not implemented" in test["output"].lower()
               for test in _graded(payload))


@pytest.mark.slow
@pytest.mark.realdata
def test_a_tiny_deadline_leaves_partial_scores_and_ends_on_time(image):
    # A quarter of what the first whole grading took, after the reserve: the first exercises fit, the
    # last (part 2's, the longest) cannot. Not half: the first grading in a fresh image pays one-time
    # costs, and a second one ran in about half its time (CI: 86 s, then 46 s within a 63 s deadline,
    # which cut nothing). At least enough for exercise 1 to start (MIN_WORKER_SECONDS) and finish.
    deadline = round(RESERVE_SECONDS + max(MIN_WORKER_SECONDS + 5.0, getattr(image, "full_seconds", 60.0) / 4))
    payload, run = _grade(image, files.SOLUTIONS, EMBEDLAB_DEADLINE_SECONDS=str(deadline))
    print(f"\nrun_autograder (deadline {deadline} s): {run}")
    assert run.returncode == 0 and run.seconds < deadline + 5, run.stderr[-2000:]
    by_exercise: dict[str, list[dict]] = {}
    for test in _graded(payload):
        by_exercise.setdefault(test["name"].split(":")[0].split(" ")[0], []).append(test)
    graded = [name for name, tests in by_exercise.items() if all(test["status"] == "passed" for test in tests)]
    cut = [name for name, tests in by_exercise.items()
           if all("overall time limit ran out" in test["output"] for test in tests)]
    assert graded and cut, {name: [test["output"][:80] for test in tests] for name, tests in by_exercise.items()}
    assert set(graded) | set(cut) == set(by_exercise)  # nothing else failed
    assert 0 < payload["score"] < manifest.total_points(include_bonus=True)  # some points, not all
    reason = next(test["output"] for test in _graded(payload) if test["name"].startswith(cut[-1]))
    assert (DEADLINE_BEFORE[:60] in reason or DEADLINE_DURING[:60] in reason), reason
    assert "EMBEDLAB_DEADLINE_SECONDS" in reason and "overall time limit ran out" in payload["output"]
