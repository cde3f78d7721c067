"""The grader's own `fit` (embedlab.grading.training): several batches per call into TensorFlow, the model's
compilation untouched, the same weights as Keras' one batch per call."""

import numpy as np
import pytest

from embedlab.data import records
from embedlab.grading import data as grading_data
from embedlab.grading import training

SEED = 7
REVIEWS = [(["great", "film", "!"], 1.0), (["bad", "plot"], 0.0), (["loved", "it"], 1.0),
           (["awful", "waste", "."], 0.0), (["excellent"], 1.0), (["worst", "boring"], 0.0), (["fun"], 1.0)]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grading")
    grading_data.worker_dir(folder).mkdir()
    records.write_records(grading_data.train_file(folder), [records.serialize(terms, label) for terms, label in
                                                            REVIEWS])
    return folder


def model(**compile_args):
    import keras

    training.set_determinism(SEED)
    terms = keras.Input(shape=(None,), dtype="string", ragged=True, name="terms")
    counts = keras.layers.StringLookup(vocabulary=["great", "bad", "loved", "awful"], output_mode="count")(terms)
    built = keras.Model({"terms": terms}, keras.layers.Dense(1, activation="sigmoid")(counts))
    if compile_args.pop("compile", True):
        built.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1, global_clipnorm=5.0),
                      loss="binary_crossentropy", metrics=["accuracy"], **compile_args)
    return built


def plain_fit(built, data_dir, steps=None, epochs=1):
    """Keras' own fit of the grader's data, one batch per call: what `training.fit` did before."""
    training.set_determinism(SEED)
    if steps:
        return built.fit(training.train_dataset(data_dir, 2, SEED, epochs=None).take(steps), epochs=1, verbose=0)
    return built.fit(training.train_dataset(data_dir, 2, SEED, epochs=1), epochs=epochs, verbose=0)


@pytest.mark.parametrize("steps", [10, None])
def test_same_weights_as_one_batch_per_call(data_dir, steps):
    """`steps` batches (exercise 6's short training), or the budget's epochs, give Keras' weights bit for bit"""
    ours, theirs = model(), model()
    training.fit(ours, data_dir, epochs=2, batch_size=2, seed=SEED, steps=steps)
    plain_fit(theirs, data_dir, steps=steps, epochs=2)
    for mine, keras_own in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(keras_own))
    if steps is not None:
        assert int(ours.optimizer.iterations.numpy()) == steps


def test_the_compilation_is_left_as_compiled(data_dir):
    """inside, fit runs several batches per call; afterwards the model's compile settings are what it compiled"""
    built = model()
    config = built.get_compile_config()
    with training.several_steps_per_execution(built, steps=3):
        assert built.steps_per_execution == 3
    training.fit(built, data_dir, epochs=1, batch_size=2, seed=SEED)
    assert built.steps_per_execution == 1 and built.train_function is None
    assert built.get_compile_config() == config
    assert [metric.name for metric in built.metrics][:1] == ["loss"]


@pytest.mark.parametrize("compile_args", [{"compile": False}, {"run_eagerly": True},
                                          {"steps_per_execution": 500}])
def test_models_left_alone(compile_args):
    """a model not compiled, compiled eagerly or already running many batches per call is not changed"""
    built = model(**compile_args)
    before = built.steps_per_execution
    with training.several_steps_per_execution(built):
        assert built.steps_per_execution == before


def test_a_model_not_compiled_fails_as_before(data_dir):
    with pytest.raises(ValueError, match="compile"):
        training.fit(model(compile=False), data_dir, epochs=1, batch_size=2, seed=SEED)
