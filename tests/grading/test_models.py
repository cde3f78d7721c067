"""Checks every model exercise shares: how the model is built, what it computes, how well it does.

The grader trains each model itself (the exercise's budget in
exercises.toml, the grader's pipeline and seed); the model exports its
weights and answers reviews chosen at grading time. The grader puts the
weights into the computation the exercise specifies, checks that it gives the
model's answers (embedlab/grading/transplant.py), and computes the 25,000 test
reviews' probabilities itself. Which exercise has which check, for how many
points, and how its builder is called are declared in exercises.toml
(``checks``, ``builder``).
"""

import math

import pytest

from embedlab.grading import contract, transplant

from cases import cases, verdict


def probes(collected) -> dict:
    """The trained model's answers to the hand-made probe reviews (among the grading-time questions)."""
    reviews, indices = collected.questions.get("reviews") or [], collected.questions.get("probes") or {}
    answers = transplant.answers_of(collected.need("answers", "build", "train", "answers"), len(reviews))
    if answers is None or not indices:
        pytest.fail(f"{collected.where()}: the model did not answer the {len(reviews)} question reviews (one "
                    "output per review)", pytrace=False)
    return {name: float(answers[index]) for name, index in indices.items()}


@pytest.mark.parametrize("exercise_id", cases("compiled_model"))
def test_builds_a_compiled_model_of_ragged_terms(collected, exercise_id):
    """returns a compiled keras.Model with one ragged string input 'terms' and a (batch, 1) output"""
    built = collected.exercise.builder
    model = collected.need("model", "build")
    inputs = model.get("inputs", [])
    collected.check(len(inputs) == 1 and inputs[0]["dtype"] == "string" and inputs[0]["ragged"], (
        f"{built} has inputs {inputs}; expected one keras.Input(shape=(None,), dtype='string', ragged=True, "
        f"name='terms'). See 'Shapes' in {collected.where()}."))
    collected.check(model.get("input_structure") == "dict", (
        f"{built}: pass the input as a dict, keras.Model(inputs={{'terms': terms}}, ...), so the grader's "
        "batches ({'terms': ...}, labels) reach it by name."))
    collected.check(model.get("outputs") == [[None, 1]],
                    f"{built}: output shape {model.get('outputs')}; expected [None, 1].")
    collected.check(model.get("compiled"),
                    f"{built} returned a model that is not compiled: call model.compile(...) in it.")
    untrained = collected.need("probes_untrained", "probes_untrained")
    # NaN is judged where it arises (a review without known terms), not blamed on the output layer here.
    collected.check(all(0.0 <= value <= 1.0 for value in untrained.values() if not math.isnan(value)), (
        f"{built}: outputs {untrained} are not probabilities in [0, 1]; end with Dense(1, activation='sigmoid')."))


@pytest.mark.parametrize("exercise_id", cases("architecture"))
def test_weights_in_the_exercises_architecture_give_the_models_answers(collected, exercise_id):
    """the model computes what the exercise specifies: its own weights, put into that computation, give its answers"""
    found = verdict(collected)
    architecture = contract.collector(exercise_id).ARCHITECTURE
    collected.check(found.exact, (
        f"{collected.exercise.builder}: {found.cause()}. The exercise asks for {architecture.describe()} "
        f"(checked on {len(collected.questions['reviews'])} reviews). See 'What to build' in {collected.where()}."))


@pytest.mark.parametrize("exercise_id", cases("adagrad"))
def test_optimizer_is_adagrad_with_global_clipnorm(collected, exercise_id):
    """Adagrad, learning rate 0.1, gradients clipped by global norm 5.0, as in the course"""
    optimizer = collected.need("model", "build").get("optimizer") or {}
    adagrad = optimizer.get("class") == "Adagrad" and math.isclose(optimizer.get("learning_rate") or 0, 0.1,
                                                                   rel_tol=1e-5)
    collected.check(adagrad, (
        f"{collected.exercise.builder} compiled with {optimizer.get('class')} at learning rate "
        f"{optimizer.get('learning_rate')}; the course used keras.optimizers.Adagrad(learning_rate=0.1, ...)."))
    collected.check(optimizer.get("global_clipnorm") == 5.0 and optimizer.get("clipnorm") is None, (
        f"clipping: global_clipnorm={optimizer.get('global_clipnorm')}, clipnorm={optimizer.get('clipnorm')}; "
        "the course clipped all gradients together by their global norm: global_clipnorm=5.0 (not clipnorm, "
        "which clips each variable on its own)."))


@pytest.mark.parametrize("exercise_id", cases("summed_loss"))
def test_loss_is_summed_over_the_batch(collected, exercise_id):
    """the compiled loss is the binary cross-entropy summed over the batch, as the course's estimator did"""
    reported = collected.need("loss_probe", "build", "loss_probe")
    probe = collected.questions["loss_probe"]
    per_example = transplant.binary_cross_entropy(probe["y_true"], probe["y_pred"])
    summed, mean = float(per_example.sum()), float(per_example.mean())
    if not isinstance(reported, (int, float)) or not math.isfinite(reported):
        pytest.fail(f"{collected.where()}: model.compute_loss gave {reported!r} for a batch of "
                    f"{len(per_example)}; expected a number", pytrace=False)
    if math.isclose(reported, summed, rel_tol=1e-4):
        return
    told = (f"for {len(per_example)} labels and predictions, model.compute_loss gives {reported:.4f}; the summed "
            f"binary cross-entropy is {summed:.4f}")
    if math.isclose(reported, mean, rel_tol=1e-4):
        pytest.fail(f"{collected.where()}: {told}, and {reported:.4f} is its mean: the loss is averaged over the "
                    "batch (Keras' default), which makes every gradient 25 times smaller. Compile with "
                    "keras.losses.BinaryCrossentropy(reduction='sum').", pytrace=False)
    pytest.fail(f"{collected.where()}: {told} (its mean {mean:.4f}): compile with "
                "keras.losses.BinaryCrossentropy(reduction='sum') on probabilities (from_logits=False).",
                pytrace=False)


def same(a: float, b: float) -> bool:
    """Equal outputs (two NaN are the same output: a NaN is judged by its own check)."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, abs_tol=1e-6)


@pytest.mark.parametrize("exercise_id", cases("oov_ignored"))
def test_out_of_vocabulary_terms_are_ignored(collected, exercise_id):
    """a review's terms outside the vocabulary change nothing"""
    p = probes(collected)
    ignored = same(p["empty"], p["oov_only"]) and same(p["great"], p["great_with_oov"])
    collected.check(ignored, (
        f"the trained model gives p([])={p['empty']:.4f} but p(['zzqxv'])={p['oov_only']:.4f}, and "
        f"p(['great'])={p['great']:.4f} but p(['zzqxv', 'great', 'qqxzv'])={p['great_with_oov']:.4f}; "
        "out-of-vocabulary terms must be ignored. StringLookup counts them in column 0: drop it (counts[:, 1:])."))


@pytest.mark.parametrize("exercise_id", cases("counted"))
def test_terms_are_counted_not_just_flagged(collected, exercise_id):
    """a term that occurs twice counts twice (the course's input was counts, not 0/1)"""
    p = probes(collected)
    collected.check(abs(p["great_twice"] - p["great"]) > 1e-4, (
        f"the trained model gives the same output for ['great'] ({p['great']:.4f}) and ['great', 'great'] "
        f"({p['great_twice']:.4f}): it sees whether a term occurs, not how often. Use "
        "StringLookup(output_mode='count'), not 'multi_hot'."))


@pytest.mark.parametrize("exercise_id", cases("pass_mark"))
def test_trained_model_reaches_the_pass_mark(collected, test_labels, exercise_id):
    """trained with the exercise's budget, the model reaches the calibrated accuracy and AUC"""
    collected.need("weights", "build", "train", "weights")
    budget = collected.exercise.budget
    passed, message = collected.judge_pass_mark(
        test_labels, f"{collected.exercise.builder} after {budget.epochs} epoch(s) of batch {budget.batch_size}")
    collected.check(passed, message + f" See the docstring of {collected.where()}.")
