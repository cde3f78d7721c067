"""Checks every model exercise shares: how the model is built, what it ignores, how well it does.

The grader trains each model itself (the exercise's budget in
exercises.toml, the grader's pipeline and seed) and scores its predictions on
the 25,000 test reviews; see embedlab/grading/collectors/ for what is
gathered. Which exercise has which check, for how many points, and how its
builder is called are declared in exercises.toml (``checks``, ``builder``).
"""

import math

import pytest

from embedlab.grading import scoring

from cases import cases


@pytest.mark.parametrize("exercise_id", cases("compiled_model"))
def test_builds_a_compiled_model_of_ragged_terms(collected, exercise_id):
    """returns a compiled keras.Model with one ragged string input 'terms' and a (batch, 1) output"""
    built = collected.exercise.builder
    model = collected.need("model", "build")
    inputs = model.get("inputs", [])
    assert len(inputs) == 1 and inputs[0]["dtype"] == "string" and inputs[0]["ragged"], (
        f"{built} has inputs {inputs}; expected one keras.Input(shape=(None,), dtype='string', ragged=True, "
        f"name='terms'). See 'Shapes' in {collected.where()}.")
    assert model.get("input_structure") == "dict", (
        f"{built}: pass the input as a dict, keras.Model(inputs={{'terms': terms}}, ...), so the grader's "
        "batches ({'terms': ...}, labels) reach it by name.")
    assert model.get("outputs") == [[None, 1]], f"{built}: output shape {model.get('outputs')}; expected [None, 1]."
    assert model.get("compiled"), f"{built} returned a model that is not compiled: call model.compile(...) in it."
    probes = collected.need("probes_untrained", "probes_untrained")
    assert all(0.0 <= value <= 1.0 for value in probes.values()), (
        f"{built}: outputs {probes} are not probabilities in [0, 1]; end with Dense(1, activation='sigmoid').")


@pytest.mark.parametrize("exercise_id", cases("adagrad"))
def test_optimizer_is_adagrad_with_global_clipnorm(collected, exercise_id):
    """Adagrad, learning rate 0.1, gradients clipped by global norm 5.0, as in the course"""
    optimizer = collected.need("model", "build").get("optimizer") or {}
    assert optimizer.get("class") == "Adagrad" and math.isclose(
            optimizer.get("learning_rate") or 0, 0.1, rel_tol=1e-5), (
        f"{collected.exercise.builder} compiled with {optimizer.get('class')} at learning rate "
        f"{optimizer.get('learning_rate')}; the course used keras.optimizers.Adagrad(learning_rate=0.1, ...).")
    assert optimizer.get("global_clipnorm") == 5.0 and optimizer.get("clipnorm") is None, (
        f"clipping: global_clipnorm={optimizer.get('global_clipnorm')}, clipnorm={optimizer.get('clipnorm')}; "
        "the course clipped all gradients together by their global norm: global_clipnorm=5.0 (not clipnorm, "
        "which clips each variable on its own).")


@pytest.mark.parametrize("exercise_id", cases("oov_ignored"))
def test_out_of_vocabulary_terms_are_ignored(collected, exercise_id):
    """a review's terms outside the vocabulary change nothing"""
    probes = collected.need("probes", "train", "probes")
    assert math.isclose(probes["empty"], probes["oov_only"], abs_tol=1e-6) and math.isclose(
        probes["great"], probes["great_with_oov"], abs_tol=1e-6), (
        f"the trained model gives p([])={probes['empty']:.4f} but p(['zzqxv'])={probes['oov_only']:.4f}, and "
        f"p(['great'])={probes['great']:.4f} but p(['zzqxv', 'great', 'qqxzv'])={probes['great_with_oov']:.4f}; "
        "out-of-vocabulary terms must be ignored. StringLookup counts them in column 0: drop it (counts[:, 1:]).")


@pytest.mark.parametrize("exercise_id", cases("counted"))
def test_terms_are_counted_not_just_flagged(collected, exercise_id):
    """a term that occurs twice counts twice (the course's input was counts, not 0/1)"""
    probes = collected.need("probes", "train", "probes")
    assert abs(probes["great_twice"] - probes["great"]) > 1e-4, (
        f"the trained model gives the same output for ['great'] ({probes['great']:.4f}) and ['great', 'great'] "
        f"({probes['great_twice']:.4f}): it sees whether a term occurs, not how often. Use "
        "StringLookup(output_mode='count'), not 'multi_hot'.")


@pytest.mark.parametrize("exercise_id", cases("pass_mark"))
def test_trained_model_reaches_the_pass_mark(collected, test_labels, exercise_id):
    """trained with the exercise's budget, the model reaches the calibrated accuracy and AUC"""
    predictions = collected.need("predictions", "train", "predict")
    assert predictions.shape == test_labels.shape, (
        f"the model made {predictions.shape} predictions for {test_labels.shape[0]} test reviews")
    budget = collected.exercise.budget
    passed, message = scoring.judge_model(
        predictions, test_labels, collected.exercise.thresholds,
        f"{collected.exercise.builder} after {budget.epochs} epoch(s) of batch {budget.batch_size}")
    assert passed, message + f" See the docstring of {collected.where()}."
