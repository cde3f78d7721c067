"""The student's report (`embedlab check`, the notebook's check) from results files shaped as the plugin
writes them: every test with its points, each failure's message and its own hint, the figures against the
pass marks, and final messages that are true of the run. Fast: no training, no TensorFlow.

`EX02_SOLUTIONS` is the ex02 part of a real results file (`python -m pytest tests/grading --target
solutions -k ex02 --results-json FILE`); the cases fail some of its tests the way the grader words them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import types

import pytest

from embedlab import manifest
from embedlab.authoring import check
from embedlab.commands import report
from embedlab.grading import contract, outcomes

NODE = "tests/grading/test_models.py::test_{}[ex02]"
EX02_TESTS = [  # (test key, points, title) of every graded test of ex02, in the order the plugin records them
    ("builds_a_compiled_model_of_ragged_terms", 1,
     "returns a compiled keras.Model with one ragged string input 'terms' and a (batch, 1) output"),
    ("weights_in_the_exercises_architecture_give_the_models_answers", 1,
     "the model computes what the exercise specifies: its own weights, put into that computation, give its answers"),
    ("optimizer_is_adagrad_with_global_clipnorm", 1,
     "Adagrad, learning rate 0.1, gradients clipped by global norm 5.0, as in the course"),
    ("loss_is_summed_over_the_batch", 1,
     "the compiled loss is the binary cross-entropy summed over the batch, as the course's estimator did"),
    ("out_of_vocabulary_terms_are_ignored", 2, "a review's terms outside the vocabulary change nothing"),
    ("terms_are_counted_not_just_flagged", 2,
     "a term that occurs twice counts twice (the course's input was counts, not 0/1)"),
    ("trained_model_reaches_the_pass_mark", 7,
     "trained with the exercise's budget, the model reaches the calibrated accuracy and AUC"),
]
EX02_SOLUTIONS = {
    "target": "/work/main/solutions", "score": 15, "max_score": 15, "bonus": 0, "seconds": 12.6,
    "output_dir": "/work/main/figures/solutions", "written": {}, "tracebacks": {},
    "exercises": {"ex02_linear_model": {
        "title": "A linear model over the sparse terms (Task 1)", "bonus": False, "score": 15, "max_score": 15,
        "tests": [{"exercise": "ex02_linear_model", "points": points, "passed": True, "message": "", "name": name,
                   "test": key, "nodeid": NODE.format(key)} for key, points, name in EX02_TESTS],
        "figures": {"accuracy": 0.78544, "auc": 0.8708484608}, "sandbox": "in-process"}},
}
OOV_MESSAGE = ("exercises/ex02_linear_model.py: the trained model gives p([])=0.4102 but p(['zzqxv'])=0.3867, and "
               "p(['great'])=0.6420 but p(['zzqxv', 'great', 'qqxzv'])=0.5979; out-of-vocabulary terms must be "
               "ignored. StringLookup counts them in column 0: drop it (counts[:, 1:]).")
PASS_MARK_MESSAGE = ("exercises/ex02_linear_model.py: build_linear_model(INFORMATIVE_TERMS) after 1 epoch(s) of batch "
                     "25: test accuracy 0.7409 (pass mark 0.77), AUC 0.8511 (pass mark 0.86) on 25,000 test reviews; "
                     "below the pass mark.")
ASCII = ("PASS", "FAIL")


def failing(results: dict, failures: dict[str, str], figures: dict | None = None) -> dict:
    """`results` with the ex02 tests `failures` ({test key: message}) failed, the score and figures updated."""
    results = copy.deepcopy(results)
    row = results["exercises"]["ex02_linear_model"]
    for test in row["tests"]:
        if test["test"] in failures:
            test.update(passed=False, message=failures[test["test"]])
    row["score"] = sum(test["points"] for test in row["tests"] if test["passed"])
    results["score"] = row["score"]
    if figures is not None:
        row["figures"] = figures
    return results


def every_exercise(written: dict | None = None) -> dict:
    """A results file in which every exercise of the manifest was checked and passed (one test each)."""
    exercises = {}
    for exercise in manifest.load():
        tests = [{"exercise": exercise.id, "points": exercise.points, "passed": True, "message": "",
                  "name": f"all of {exercise.id}", "test": "all", "nodeid": f"t::{exercise.id}"}]
        exercises[exercise.id] = {"title": exercise.title, "bonus": exercise.bonus, "score": exercise.points,
                                  "max_score": exercise.points, "tests": tests, "figures": {}}
    return {"score": manifest.total_points(), "max_score": manifest.total_points(), "bonus": 10,
            "exercises": exercises, "written": written or {}, "tracebacks": {}}


def test_oov_column_kept_shows_both_failures_their_hints_and_the_figures():
    """The issue's case: the OOV failure AND the missed pass mark, each with its own hint, and the figures."""
    results = failing(EX02_SOLUTIONS, {"out_of_vocabulary_terms_are_ignored": OOV_MESSAGE,
                                       "trained_model_reaches_the_pass_mark": PASS_MARK_MESSAGE},
                      figures={"accuracy": 0.7409, "auc": 0.8511})
    text = report.render_text(results, symbols=ASCII)
    exercise = manifest.get("ex02")
    for key, points, name in EX02_TESTS:
        failed = key in ("out_of_vocabulary_terms_are_ignored", "trained_model_reaches_the_pass_mark")
        assert f"  {'FAIL' if failed else 'PASS'} {0 if failed else points}/{points}  {name}" in text, key
    flat = " ".join(text.split())  # messages and hints are wrapped
    assert OOV_MESSAGE in flat and PASS_MARK_MESSAGE in flat
    for key in ("out_of_vocabulary_terms_are_ignored", "trained_model_reaches_the_pass_mark"):
        assert f"Hint: {exercise.hint_for(key)}" in flat
    assert flat.count("Hint:") == 2  # passed tests carry none
    assert "test accuracy 0.7409 (below the pass mark 0.77; the course's model: 0.786)" in flat
    assert "AUC 0.8511 (below the pass mark 0.86; the course's model: 0.870)" in flat
    assert "score: 6 / 15" in text and "To do: ex02_linear_model (9 points left)." in flat
    assert "Every exercise" not in text and "figures/" not in text
    assert "Not checked: ex01_input_pipeline, ex03_dnn_counts" in flat


def test_each_failing_test_gets_its_own_hint_not_the_first_tier():
    results = failing(EX02_SOLUTIONS, {"terms_are_counted_not_just_flagged": "uses multi_hot."})
    flat = " ".join(report.render_text(results, symbols=ASCII).split())
    exercise = manifest.get("ex02")
    assert f"Hint: {exercise.hint_for('terms_are_counted_not_just_flagged')}" in flat
    assert exercise.hints[0] not in flat


def test_a_passing_model_shows_its_figures_against_the_marks():
    text = " ".join(report.render_text(EX02_SOLUTIONS, symbols=ASCII).split())
    assert "test accuracy 0.7854 (reached the pass mark 0.77; the course's model: 0.786)" in text
    assert "AUC 0.8708 (reached the pass mark 0.86; the course's model: 0.870)" in text


def test_unscored_model_says_its_figures_were_not_measured():
    results = failing(EX02_SOLUTIONS, {key: "exercises/ex02_linear_model.py: no result" for key, _, _ in EX02_TESTS},
                      figures={})
    text = report.render_text(results, symbols=ASCII)
    assert "not measured" in text
    assert text.count("(the same reason as above)") == len(EX02_TESTS) - 1  # one message, said once
    assert text.count("Hint:") == 1  # advice that waits on that reason is not repeated either


def test_a_module_that_does_not_import_gets_its_error_and_no_hint():
    error = ("exercises/ex02_linear_model.py cannot be imported: SyntaxError: '(' was never closed (at "
             "ex02_linear_model.py line 105: x = f(1). Fix it and check again; nothing of exercise 2 can be graded "
             "until then.")
    results = failing(EX02_SOLUTIONS, {key: error for key, _, _ in EX02_TESTS}, figures={})
    text = report.render_text(results, symbols=ASCII)
    assert error in " ".join(text.split()) and "Hint:" not in text
    assert "To do: ex02_linear_model (15 points left)." in text


def test_one_point_left_is_singular():
    results = failing(EX02_SOLUTIONS, {"optimizer_is_adagrad_with_global_clipnorm": "clipnorm=5.0."})
    assert "To do: ex02_linear_model (1 point left)." in report.render_text(results)


def test_only_some_exercises_checked_says_which_remain():
    text = " ".join(report.render_text(EX02_SOLUTIONS).split())
    assert "Every exercise checked passes (ex02_linear_model)." in text
    assert "Every exercise passes" not in text
    others = [exercise.id for exercise in manifest.load() if exercise.id != "ex02_linear_model"]
    assert f"Not checked: {', '.join(others)}" in text
    assert "Plots" not in text and "figures/" not in text


@pytest.mark.parametrize("written", [{}, {"ex06_plot_embedding": ["/out/ex06_plot_embedding/embedding_trained.png",
                                                                  "/out/ex06_plot_embedding/embedding_short.png"]}])
def test_every_exercise_passes_only_when_all_were_checked_and_names_the_files_written(written):
    text = report.render_text(every_exercise(written))
    assert "Every exercise passes." in text and "Not checked" not in text
    paths = [path for paths in written.values() for path in paths]
    if paths:
        assert "Plots written:\n" + "\n".join(f"  {path}" for path in paths) in text
    else:
        assert "Plots" not in text and "figures/" not in text


def test_no_pytest_internals_reach_the_report():
    raw = ("AssertionError: build_vocabulary(train, 20000): 19000 terms for max_terms=20000\n"
           "assert not ['19000 terms']\n +  where None = <built-in method get of dict object at 0x7f3a2c1b9e40>"
           "('problems')\nUse -v to get more diff")
    results = failing(EX02_SOLUTIONS, {"loss_is_summed_over_the_batch": outcomes.clean_message(raw)})
    text = report.render_text(results)
    assert "19000 terms for max_terms=20000" in text
    for internal in ("0x", "where", "Use -v", "assert not", "AssertionError"):
        assert internal not in text, internal


@pytest.mark.parametrize("raw, expected", [
    ("Failed: exercises/ex02_linear_model.py: clipping: clipnorm=5.0.",
     "exercises/ex02_linear_model.py: clipping: clipnorm=5.0."),
    ("AssertionError: the vocabulary is short\nassert not ['x']\n +  where ['x'] = <function f at 0x7f00>()",
     "the vocabulary is short"),
    ("AssertionError: sizes differ\nassert [1, 2] == [1, 3]\n  At index 1 diff: 2 != 3\n  Use -v to get more diff",
     "sizes differ"),
    ("assert None\n +  where None = <built-in method get of dict object at 0x7f3a2c1b9e40>('model')",
     "the grader's check failed without a message (an error of the grader: tell your instructor)"),
    ("Skipped: no grading data: tfrecords/ missing", "no grading data: tfrecords/ missing"),
])
def test_clean_message_keeps_only_the_sentence(raw, expected):
    assert outcomes.clean_message(raw) == expected


def test_verbose_adds_the_students_traceback_only():
    trace = 'Traceback (your code only, most recent call last):\n  File "ex02.py", line 3, in build\nValueError: no'
    results = failing(EX02_SOLUTIONS, {"builds_a_compiled_model_of_ragged_terms": "exercises/ex02.py: no model."})
    results["tracebacks"] = {"ex02_linear_model": {"build": trace}}
    assert "Traceback" not in report.render_text(results)
    verbose = report.render_text(results, verbose=True)
    assert "your code raised in step 'build':" in verbose and '    File "ex02.py", line 3, in build' in verbose


def test_html_report_has_every_test_its_hint_and_escapes():
    results = failing(EX02_SOLUTIONS, {"out_of_vocabulary_terms_are_ignored": "p(['<b>'])=0.5 & more"})
    page = report.render_html(results)
    for _, points, name in EX02_TESTS:
        assert f"{points}/{points}</td><td>{name.replace(chr(39), '&#x27;')}" in page or "0/2" in page
    assert "p([&#x27;&lt;b&gt;&#x27;])=0.5 &amp; more" in page and "<b>Hint:</b>" in page
    assert "13 / 15" in page and "Not checked:" in page


def test_outcome_entries_name_their_test():
    """The plugin's hooks record the test's key (function name without test_, no parameters) for its hint."""
    item = types.SimpleNamespace(originalname="test_loss_is_summed_over_the_batch",
                                 name="test_loss_is_summed_over_the_batch[ex02]",
                                 function=types.SimpleNamespace(__doc__="the loss is summed\n\nmore"),
                                 config=types.SimpleNamespace(_embedlab_outcomes={}),
                                 get_closest_marker=lambda name: types.SimpleNamespace(
                                     args=[1] if name == "points" else ["ex02_linear_model"]))
    crash = types.SimpleNamespace(message="Failed: exercises/ex02.py: the loss is averaged.")
    fake = types.SimpleNamespace(nodeid="n", failed=True, skipped=False, when="call",
                                 longrepr=types.SimpleNamespace(reprcrash=crash))
    outcomes.annotate(item, fake)
    outcomes.record(fake)
    entry = item.config._embedlab_outcomes["n"]
    assert (entry["test"], entry["name"], entry["passed"]) == ("loss_is_summed_over_the_batch", "the loss is summed",
                                                               False)
    assert entry["message"] == "exercises/ex02.py: the loss is averaged."
    json.dumps(entry)


def test_student_traceback_holds_only_the_students_frames(tmp_path):
    module = tmp_path / "ex02_linear_model.py"
    module.write_text("def build(vocabulary):\n    return vocabulary[5]\n")
    collection = contract.Collection("ex02_linear_model", module, tmp_path, seed=1, out_dir=None)
    collection.load()
    collection.step("build", collection.module.build, [])
    trace = collection.tracebacks["build"]
    assert f'File "{module}", line 2, in build' in trace and trace.endswith("IndexError: list index out of range")
    assert "contract.py" not in trace and "embedlab" not in trace


def test_syntax_error_is_named_with_its_line(tmp_path):
    module = tmp_path / "ex02_linear_model.py"
    module.write_text("def build(vocabulary:\n    return 1\n")
    collection = contract.Collection("ex02_linear_model", module, tmp_path, seed=1, out_dir=None)
    assert not collection.load()
    error = collection.result["errors"]["import"]
    assert error.startswith("SyntaxError: ") and "(at ex02_linear_model.py line 1: def build(vocabulary:)" in error


def test_course_check_wants_a_hint_for_every_graded_test_and_no_stray_key():
    exercise = manifest.get("ex02")
    assert check.hint_problems(exercise) == []
    hints = dict(exercise.test_hints)
    del hints["terms_are_counted_not_just_flagged"]
    hints["no_such_test"] = "a hint"
    broken = dataclasses.replace(exercise, test_hints=tuple(hints.items()))
    assert check.hint_problems(broken) == [
        "ex02_linear_model: graded test test_terms_are_counted_not_just_flagged has no hint in [exercise.test_hints]",
        "ex02_linear_model: test_hints key 'no_such_test' names no graded test of the exercise"]


def test_calibrated_figures_and_a_comparison_are_shown_beside_the_marks():
    """A figure of `marks` is printed against its mark, passed or not; an informative comparison after it."""
    exercise = manifest.get("ex10_similarity")
    (name, mark), = exercise.marks
    tests = [{"exercise": exercise.id, "points": exercise.points, "passed": True, "message": "", "name": "all"}]
    results = {**EX02_SOLUTIONS, "exercises": {exercise.id: {
        "score": exercise.points, "max_score": exercise.points, "tests": tests,
        "figures": {name: mark + 0.05, "compared": "a comparison for the student"}}}}
    flat = " ".join(report.render_text(results, symbols=ASCII).split())
    assert f"{name.replace('_', ' ')} {mark + 0.05:.4f} (reached the pass mark {mark:.2f})" in flat
    assert "a comparison for the student" in flat
    results["exercises"][exercise.id]["figures"][name] = mark - 0.05
    flat = " ".join(report.render_text(results, symbols=ASCII).split())
    assert f"{mark - 0.05:.4f} (below the pass mark {mark:.2f})" in flat
