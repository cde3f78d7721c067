"""Progress on long work, and TensorFlow's log noise.

The channel (JSON lines written by a run, tailed by the command that shows
it), the throttle, the terminal line on a pseudo-terminal and its silence
with --quiet, CI=true or no terminal; the grader's fit reporting its steps
without changing a weight; the filter of TensorFlow's import, and real
commands whose stderr holds none of TensorFlow's noise.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from embedlab import cli, files
from embedlab.data import records
from embedlab.grading import data as grading_data
from embedlab.grading import progress
from embedlab.quiet import TF_NOISE
from embedlab.settings import Settings

from data_fixtures import prepared_data  # noqa: F401 - a fixture

# What this machine printed before (TensorFlow 2.21 on a CPU-only 2-core machine), one line of each kind.
NOISE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796198285.798777    5929 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "E0000 00:00:1796198295.882047    5929 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-09-17 14:44:05.176998: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to "
    "register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered",
    "I0000 00:00:1796198285.921616    5929 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
]


def noise_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if TF_NOISE.match(line.strip("\r"))]


def child_env(**changes: str | None) -> dict[str, str]:
    """This environment without CI and TensorFlow's log level (the edges' defaults apply), with `changes`."""
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "TF_CPP_MIN_LOG_LEVEL")}
    env["COLUMNS"] = "200"  # no line cut to the terminal's width
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def on_pty(command: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run `command` with stdin, stdout and stderr on a pseudo-terminal; everything it wrote there."""
    leader, follower = os.openpty()
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env,
                               cwd=files.REPOSITORY, close_fds=True)
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
        process.wait()
    return b"".join(chunks).decode("utf-8", "replace")


# ------------------------------------------------------------------ the channel
def test_events_round_trip_through_the_file(tmp_path):
    """What a run writes to its progress file is what the command tailing it reads, event by event."""
    path = tmp_path / "progress.jsonl"
    path.touch()
    writer = progress.Progress(progress.JsonLines(path), interval=0)
    read: list[dict] = []
    tail = progress.Tail(path, read.append)
    writer.exercise_started("ex_a", 1, 2)
    writer.training(5, 10, 1, 2)
    tail.read_new()
    with open(path, "a") as handle:  # an event half-written when the tail looks is read once it is whole
        handle.write('{"event": "trained", ')
    tail.read_new()
    with open(path, "a") as handle:
        handle.write('"id": "ex_a"}\nnot json\n')
    writer.exercise_finished("ex_a", 7, 10)
    writer.idle()
    tail.stop()
    assert read == [
        {"event": "exercise", "id": "ex_a", "number": 1, "of": 2},
        {"event": "training", "id": "ex_a", "step": 5, "steps": 10, "epoch": 1, "epochs": 2},
        {"event": "trained", "id": "ex_a"},
        {"event": "finished", "id": "ex_a", "score": 7, "max_score": 10},
        {"event": "idle"},
    ]


def test_a_throttled_writer_does_not_write_per_step():
    """A thousand steps in one second are a handful of training events, the last step among them."""
    now = [0.0]
    events: list[dict] = []
    writer = progress.Progress(events.append, interval=0.25, clock=lambda: now[0])
    for step in range(1, 1001):
        now[0] = step / 1000
        writer.training(step, 1000)
    steps = [event["step"] for event in events]
    assert 3 <= len(steps) <= 6, steps
    assert steps[0] == 1 and steps[-1] == 1000


def test_nothing_listens_by_default():
    """Without an installed progress, a fit gets no callback and nothing counts the records."""
    def never():
        raise AssertionError("counted the records though nothing shows progress")

    assert not progress.current().active
    assert progress.current().callbacks(never, 1) == []


# ------------------------------------------------------------------ the terminal
# A command that shows a child's progress, as `embedlab check` does, with a child that reports as a graded
# run's would (one exercise, a training of 1000 steps) and then the command's report.
FAKE_COMMAND = textwrap.dedent("""
    import subprocess, sys
    from embedlab.grading.progress import child_channel
    from embedlab.grading.progress_display import shown
    from embedlab.settings import Settings

    settings = Settings.from_environment(quiet="--quiet" in sys.argv or None)
    child = '''
    import sys, time
    from embedlab.grading import progress
    run = progress.Progress(progress.JsonLines(sys.argv[1]), interval=0.05)
    run.exercise_started("ex02_linear_model", 1, 1)
    for step in range(100, 1001, 100):
        time.sleep(0.03)
        run.training(step, 1000)
    run.trained()
    time.sleep(0.3)
    '''
    with shown(settings.shows_progress()), child_channel() as channel:
        if channel is not None:
            subprocess.run([sys.executable, "-c", child, str(channel)], check=True)
    print("the report")
""")


@pytest.mark.parametrize("case, flags, env", [
    ("terminal", [], {}),
    ("--quiet", ["--quiet"], {}),
    ("CI=true", [], {"CI": "true"}),
])
def test_progress_shows_on_a_terminal_only_when_wanted(case, flags, env):
    """On a terminal the line names the exercise and its steps; --quiet and CI=true leave only the report."""
    output = on_pty([sys.executable, "-c", FAKE_COMMAND, *flags], child_env(**env), timeout=60)
    assert "the report" in output
    if case == "terminal":
        assert "ex02_linear_model (1 of 1): training 1 epoch, 1000/1000 steps" in output
        assert "checking the trained model" in output
        assert "\r\x1b[Kthe report" in output  # the line is cleared before the report
    else:
        assert "ex02_linear_model" not in output and "\r" not in output.replace("\r\n", "\n")


def test_progress_stays_off_without_a_terminal():
    """Piped output (a log file, CI) has no progress line, only the report."""
    completed = subprocess.run([sys.executable, "-c", FAKE_COMMAND], env=child_env(), cwd=files.REPOSITORY,
                               capture_output=True, text=True, timeout=60)
    assert (completed.stdout, completed.stderr) == ("the report\n", "")


@pytest.mark.parametrize("command", ["check", "plot", "prepare", "grade"])
def test_every_long_command_takes_quiet(command, tmp_path):
    """check, plot, prepare and grade take --quiet, which turns their progress off."""
    argv = [command, str(tmp_path)] if command == "grade" else [command]
    args = cli.build_parser().parse_args([*argv, "--quiet"])
    settings = cli.settings_from(args)
    assert settings.quiet and not settings.shows_progress(_Terminal())


class _Terminal:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("environ, quiet, shows", [
    ({}, None, True), ({"CI": "true"}, None, False), ({}, True, False), ({"CI": "false"}, None, True)])
def test_shows_progress(environ, quiet, shows):
    """Progress shows on a terminal, unless CI=true or quiet; never where there is no terminal."""
    settings = Settings.from_environment(environ, quiet=quiet)
    assert settings.shows_progress(_Terminal()) is shows
    assert settings.shows_progress(open(os.devnull, "w")) is False


# ------------------------------------------------------------------ the grader's fit
def test_the_fit_reports_its_steps_and_changes_no_weight(tmp_path):
    """A fit with progress shown reports each epoch's steps out of the batches in the data; its weights are
    those of the same fit with nothing listening."""
    keras = pytest.importorskip("keras")
    from embedlab.grading import training

    data_dir = tmp_path / "data"
    grading_data.train_file(data_dir).parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    reviews = [(list(rng.choice(["good", "bad", "film"], size=3)), float(index % 2)) for index in range(47)]
    records.write_records(grading_data.train_file(data_dir), [records.serialize(t, y) for t, y in reviews])

    def model():
        keras.utils.set_random_seed(0)
        terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
        counts = keras.layers.StringLookup(vocabulary=["good", "bad"], output_mode="count")(terms)
        built = keras.Model({"terms": terms}, keras.layers.Dense(1, activation="sigmoid")(counts))
        built.compile(optimizer=keras.optimizers.Adagrad(0.1), loss="binary_crossentropy")
        return built

    quiet, shown = model(), model()
    training.fit(quiet, data_dir, epochs=2, batch_size=5, seed=1)
    events: list[dict] = []
    previous = progress.install(progress.Progress(events.append, interval=0))
    try:
        progress.current().exercise = "ex_fit"
        training.fit(shown, data_dir, epochs=2, batch_size=5, seed=1)
    finally:
        progress.install(previous)
    trained = [(event["step"], event["steps"], event["epoch"], event["epochs"])
               for event in events if event["event"] == "training"]
    assert trained[-1] == (10, 10, 2, 2)  # 47 reviews in batches of 5: 10 steps an epoch
    assert {event["id"] for event in events} == {"ex_fit"} and events[-1]["event"] == "trained"
    for left, right in zip(quiet.get_weights(), shown.get_weights()):
        np.testing.assert_array_equal(left, right)


# ------------------------------------------------------------------ TensorFlow's noise
def test_the_import_filter_drops_the_noise_and_keeps_the_rest(tmp_path):
    """While `tensorflow` is imported, its libraries' noise is dropped from stderr; any other line, and the
    exception of an import that fails, still show."""
    package = tmp_path / "tensorflow"
    package.mkdir()
    noise = "".join(line + "\n" for line in NOISE_LINES)
    (package / "__init__.py").write_text(
        f"import os\nos.write(2, {noise!r}.encode())\nos.write(2, b'a line of its own\\n')\n"
        "raise RuntimeError('a broken install')\n")
    script = ("import sys\nfrom embedlab.quiet import quiet_tensorflow\nquiet_tensorflow()\n"
              "print('before', file=sys.stderr, flush=True)\nimport tensorflow\n")
    completed = subprocess.run([sys.executable, "-c", script], env=child_env(PYTHONPATH=str(tmp_path)),
                               capture_output=True, text=True, timeout=60)
    assert noise_in(completed.stderr) == []
    assert "before\na line of its own\n" in completed.stderr
    assert completed.stderr.rstrip().endswith("RuntimeError: a broken install")
    # The same library without the filter: every line of its noise is what TF_NOISE names.
    unfiltered = subprocess.run([sys.executable, "-c", "import tensorflow"], env=child_env(PYTHONPATH=str(tmp_path)),
                                capture_output=True, text=True, timeout=60)
    assert noise_in(unfiltered.stderr) == NOISE_LINES


@pytest.mark.realdata
def test_a_command_that_runs_tensorflow_prints_no_noise(prepared_data):  # noqa: F811
    """`embedlab inspect` imports TensorFlow and runs it in its own process: its stderr is empty."""
    completed = subprocess.run([sys.executable, "-m", "embedlab", "inspect", str(prepared_data / "test.tfrecord")],
                               env=child_env(), cwd=files.REPOSITORY, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


@pytest.mark.realdata
@pytest.mark.slow
def test_check_on_a_terminal_shows_the_exercise_and_no_noise(prepared_data, tmp_path):  # noqa: F811
    """`embedlab check 1 --target solutions` on a terminal: the exercise being graded, then the report,
    and not one line of TensorFlow's noise; its graded run reports the exercise's start and its points."""
    output = on_pty([sys.executable, "-m", "embedlab", "check", "1", "--target", "solutions"],
                    child_env(EMBEDLAB_TFRECORDS=str(prepared_data)))
    assert "ex01_input_pipeline (1 of 1): running the exercise's code" in output, output
    assert "score: 10 / 10" in output, output
    assert noise_in(output) == []
    from embedlab.grading.suite import run_suite

    channel = tmp_path / "progress.jsonl"
    settings = Settings.from_environment({}, tfrecords_dir=prepared_data, progress=channel)
    run = run_suite("solutions", settings=settings, exercises=["1"], stdout=subprocess.DEVNULL)
    assert run.results is not None and run.results["score"] == 10
    events = [json.loads(line) for line in channel.read_text().splitlines()]
    assert events[0] == {"event": "exercise", "id": "ex01_input_pipeline", "number": 1, "of": 1}
    assert events[-1] == {"event": "finished", "id": "ex01_input_pipeline", "score": 10, "max_score": 10}


def test_ci_sets_the_quiet_level():
    """CI runs with TensorFlow's errors hidden too (level 3): "failed call to cuInit" is an error."""
    assert "TF_CPP_MIN_LOG_LEVEL=3" in (files.REPOSITORY / ".ci" / "run").read_text()
    environ: dict[str, str] = {}
    from embedlab.quiet import quiet_tensorflow

    quiet_tensorflow(environ)
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "3"}
