"""How the grader trains and queries a model: the same way for every submission.

The grader owns the data pipeline, the seed and the budget; a submission only
provides a compiled model. Everything here runs where the student's code runs
(in the pytest process, or in an isolated worker) and imports TensorFlow
inside its functions; silencing TensorFlow's log is the edges' job
(`embedlab.quiet.quiet_tensorflow`). A fit reports its steps to the
process's progress (`embedlab.grading.progress`) when something shows it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from embedlab.data import records
from embedlab.grading import data as grading_data
from embedlab.grading import progress


def set_determinism(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_dataset(data_dir: Path, batch_size: int, seed: int, epochs: int | None = 1):
    return records.read_dataset(
        grading_data.train_file(data_dir), batch_size=batch_size, shuffle=True, seed=seed, num_epochs=epochs
    )


# Batches per call into TensorFlow while the grader trains. One call per batch
# (Keras' default) pays a round trip from Python on every batch: a quarter to a
# half of each reference model's training time (benchmarks/bench_fit.py). The
# weights are the same but for one thing: at one batch per call Keras counts
# one optimizer iteration more per epoch (its last call finds no batch), which
# Adam's bias correction sees from the second epoch on (exercise 8: AUC
# 0.96654112 before, 0.9665413184 now; accuracy the same).
STEPS_PER_EXECUTION = 100


def fit(model, data_dir: Path, epochs: int, batch_size: int, seed: int, steps: int | None = None):
    """Train `model` on the training split: `steps` batches, or `epochs` passes.

    Runs `STEPS_PER_EXECUTION` batches per call into TensorFlow
    (`several_steps_per_execution`); what the model compiled is left as it was.
    Reports its steps to `progress.current()` (a callback that changes no weight).
    """
    import warnings

    set_determinism(seed)

    def steps_per_epoch() -> int:
        return steps if steps is not None else progress.steps_per_epoch(
            records.check_framing(grading_data.train_file(data_dir)), batch_size)

    callbacks = progress.current().callbacks(steps_per_epoch, 1 if steps is not None else epochs)
    with warnings.catch_warnings(), several_steps_per_execution(model):
        # Keras warns about arguments the grader does not pass (shuffle=) and
        # about the end of a finite dataset: noise in a student's report.
        warnings.simplefilter("ignore", UserWarning)
        if steps is not None:
            dataset = train_dataset(data_dir, batch_size, seed, epochs=None).take(steps)
            return model.fit(dataset, epochs=1, verbose=0, callbacks=callbacks)
        return model.fit(train_dataset(data_dir, batch_size, seed, epochs=1), epochs=epochs, verbose=0,
                         callbacks=callbacks)


@contextlib.contextmanager
def several_steps_per_execution(model, steps: int | None = None):
    """While inside, a compiled Keras model's `fit` runs `steps` (default `STEPS_PER_EXECUTION`) batches per
    call into TensorFlow.

    Keras' public ``steps_per_execution`` (what ``compile(steps_per_execution=)``
    sets), raised for the grader's `fit` only: the optimizer, loss, metrics and
    the rest of the model's compilation stay as compiled, and the compiled value
    is back on the way out, with the train function Keras rebuilds from it
    (``predict`` one batch per call: many were slower there). A model that is
    not compiled (`fit` says so, as before), compiled to run eagerly (a loop of
    eager steps is twice as slow) or already running at least `steps` is left
    alone.
    """
    steps = STEPS_PER_EXECUTION if steps is None else steps
    compiled = getattr(model, "steps_per_execution", None)
    if (not getattr(model, "compiled", False) or getattr(model, "run_eagerly", False)
            or not isinstance(compiled, int) or compiled >= steps):
        yield
        return
    model.steps_per_execution = steps
    model.train_function = None  # Keras builds a new one for the new setting
    try:
        yield
    finally:
        model.steps_per_execution = compiled
        model.train_function = None


def predict_terms(model, reviews: list[list[str]]) -> np.ndarray:
    """Probabilities for a few hand-made reviews (lists of terms)."""
    return _flatten_predictions(np.asarray(model({records.TERMS: ragged_batch(reviews)}, training=False)))


def ragged_batch(reviews: list[list[str]]):
    import tensorflow as tf

    values = [term for review in reviews for term in review]
    return tf.RaggedTensor.from_row_lengths(
        tf.constant(values, dtype=tf.string, shape=[len(values)]),
        tf.constant([len(review) for review in reviews], dtype=tf.int64),
    )


def _flatten_predictions(predictions: np.ndarray) -> np.ndarray:
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    if predictions.ndim != 1:
        raise ValueError(f"the model's output has shape {predictions.shape}; expected (batch, 1)")
    return predictions.astype(np.float64)
