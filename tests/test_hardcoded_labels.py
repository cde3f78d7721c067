"""The hard-coded-labels attack earns no model points.

The test split is public, so a submission can carry a table of its labels keyed by a hash of each test
review's terms and let its model answer from the table: its own forward pass over the test reviews then
scores 1.0. The table here is built at test time from the prepared test file, into a temporary folder
(nothing derived from the data is committed), over a weak honest model (a linear model on the 50 informative
terms, inside an exercise 7 file whose build_vocabulary is the reference's). The grader never lets the
worker see the test reviews and computes their predictions itself from the exported weights, so the table
is worth nothing and the model, which is no fastText, loses the model points.
"""

from __future__ import annotations

import pytest

from embedlab import files
from embedlab.grading.suite import run_suite
from embedlab.vocabulary import INFORMATIVE_TERMS

from data_fixtures import prepared_data  # noqa: F401 - a fixture

pytestmark = [pytest.mark.instructor, pytest.mark.slow, pytest.mark.realdata]

EXERCISE = "ex07_bigger_vocabulary"

ATTACK = '''

# ---- the attack: the test labels, keyed by a hash of each test review's terms
_KEYS = {keys!r}
_LABELS = {labels!r}
_TERMS = {terms!r}


class _Override(keras.layers.Layer):
    """Answer from the table when the review is a test review, from the weak model otherwise."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(_KEYS, tf.int64), tf.constant(_LABELS, tf.float32)),
            default_value=-1.0)

    def call(self, inputs):
        terms, probability = inputs
        keys = tf.strings.to_hash_bucket_fast(tf.strings.reduce_join(terms, axis=1, separator=" "), 2**62)
        label = tf.expand_dims(self.table.lookup(keys), 1)
        return tf.where(label >= 0.0, label, probability)


def build_bigger_model(vocabulary, dimension=16):
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    counts = keras.layers.StringLookup(vocabulary=_TERMS, output_mode="count", name="counts")(terms)[:, 1:]
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(counts)
    output = _Override(name="override")([terms, probability])
    model = keras.Model(inputs={{"terms": terms}}, outputs=output, name="hard_coded_labels")
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
                  loss=keras.losses.BinaryCrossentropy(reduction="sum"))
    return model
'''


def hashed_test_labels(test_file) -> tuple[list[int], list[float]]:
    """The attacker's table: a hash of each test review's terms -> its label."""
    import numpy as np
    import tensorflow as tf

    from embedlab.data import records

    keys, labels = [], []
    for features, batch_labels in records.read_dataset(test_file, batch_size=1000):
        joined = tf.strings.reduce_join(features[records.TERMS], axis=1, separator=" ")
        keys.extend(tf.strings.to_hash_bucket_fast(joined, 2**62).numpy().tolist())
        labels.extend(np.asarray(batch_labels).reshape(-1).astype(float).tolist())
    return keys, labels


def write_attack(folder, test_file):
    keys, labels = hashed_test_labels(test_file)
    source = (files.SOLUTIONS / f"{EXERCISE}.py").read_text()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{EXERCISE}.py"
    path.write_text(source + ATTACK.format(keys=keys, labels=labels, terms=list(INFORMATIVE_TERMS)))
    return path, labels


def test_hard_coded_test_labels_earn_no_model_points(prepared_data, tmp_path):  # noqa: F811
    """A table of the public test labels inside an exercise 7 file, over a weak linear model, earns nothing."""
    import numpy as np

    from embedlab.grading import contract, scoring

    attack, labels = write_attack(tmp_path / "attack", prepared_data / "test.tfrecord")
    # The attack works where a model's own forward pass over the test reviews is trusted.
    model = contract.load_module(attack).build_bigger_model(["unused"])
    from embedlab.data import records

    forward = np.asarray(model.predict(records.read_dataset(prepared_data / "test.tfrecord", batch_size=1000),
                                       verbose=0)).reshape(-1)
    assert scoring.accuracy(forward, np.asarray(labels)) > 0.99, "the attack's table does not answer the test reviews"

    run = run_suite(attack.parent, output_dir=tmp_path / "figures", exercises=[EXERCISE], capture_output=True)
    assert run.returncode in (0, 1) and run.results is not None, (
        f"the grader itself failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    row = run.results["exercises"][EXERCISE]
    verdicts = {test["name"]: test for test in row["tests"]}
    pass_mark = next(test for test in row["tests"] if "test_trained_model_reaches_the_pass_mark" in test["nodeid"])
    assert not pass_mark["passed"], f"the hard-coded labels earned the pass mark: {pass_mark['message']}"
    assert "not a mean of term vectors" in pass_mark["message"], pass_mark["message"]
    # What it keeps: the reference's build_vocabulary (3 points) and a compiled model (1 point).
    assert row["score"] <= 4, f"{row['score']} points for the attack: {verdicts}"
    assert "figures" not in row or not row["figures"].get("accuracy"), row.get("figures")


WRAPPER = '''

# ---- the attack: the same table in front of the exercise's honest model
_honest_{builder} = {builder}


def {builder}(*args, **kwargs):
    inner = _honest_{builder}(*args, **kwargs)
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    output = _Override(name="override")([terms, inner({{"terms": terms}})])
    model = keras.Model(inputs={{"terms": terms}}, outputs=output, name="hard_coded_labels")
    model.compile(optimizer=inner.optimizer, loss=inner.loss)
    return model
'''


@pytest.mark.parametrize("exercise_id, builder", [
    ("ex02_linear_model", "build_linear_model"), ("ex04_embedding_dnn", "build_embedding_model")])
def test_a_table_in_front_of_an_honest_model_scores_what_the_model_scores(prepared_data, tmp_path, exercise_id,  # noqa: F811
                                                                           builder):
    """The table in front of the reference model: graded as the model alone (or refused), never near 1.0."""
    from embedlab import manifest

    keys, labels = hashed_test_labels(prepared_data / "test.tfrecord")
    override = ATTACK[:ATTACK.index("def build_bigger_model")]
    source = (files.SOLUTIONS / f"{exercise_id}.py").read_text()
    folder = tmp_path / "attack"
    folder.mkdir()
    (folder / f"{exercise_id}.py").write_text(
        source + "\nimport tensorflow as tf\n" + override.format(keys=keys, labels=labels, terms=[])
        + WRAPPER.format(builder=builder))
    run = run_suite(folder, output_dir=tmp_path / "figures", exercises=[exercise_id], capture_output=True)
    assert run.returncode in (0, 1) and run.results is not None, (
        f"the grader itself failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    row = run.results["exercises"][exercise_id]
    lost = {test["name"]: test["message"] for test in row["tests"] if not test["passed"]}
    figures, plausible = row["figures"], manifest.get(exercise_id).plausible
    if not figures:
        # A question review that is also a test review (the splits share a few) caught the table: refused.
        assert any("does not compute" in message for message in lost.values()), lost
        return
    assert figures["accuracy"] < plausible.accuracy and figures["auc"] < plausible.auc, (
        f"the table raised the grader's figures to {figures}; lost: {lost}")
