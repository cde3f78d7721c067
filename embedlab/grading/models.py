"""What the collectors of the model exercises share: build a submission's
model, describe it, probe it, train it with the grader's budget and predict
the test reviews.

Everything here runs where the student's code runs and returns plain data
only (see `embedlab.grading.contract`). TensorFlow and Keras are imported
inside the functions.

>>> sorted(RETURNS)
['model', 'predictions', 'probes', 'probes_untrained']
>>> raised_by(int, "seven")
'ValueError'
>>> raised_by(int, "7")
'nothing'
"""

from __future__ import annotations

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import schema, training
from embedlab.grading.contract import Collection
from embedlab.vocabulary import INFORMATIVE_TERMS

VOCABULARY = list(INFORMATIVE_TERMS)
OOV = "zzqxv"  # not a term of any vocabulary here

# Hand-made reviews whose outputs reveal how a model treats its input.
PROBES = {
    "empty": [],
    "oov_only": [OOV],
    "great": ["great"],
    "great_with_oov": [OOV, "great", "qqxzv"],
    "great_twice": ["great", "great"],
    "bad": ["bad"],
}

# What `build` and `train_and_predict` put in a result.
RETURNS = {
    "model": schema.PLAIN,
    "probes_untrained": schema.NUMBER_DICT,
    "probes": schema.NUMBER_DICT,
    "predictions": schema.PREDICTIONS,
}


def describe_model(model) -> dict:
    """Facts about a built model: its type, input, output, optimizer, loss, layers."""
    import keras

    facts: dict = {"type": type(model).__name__, "is_keras_model": isinstance(model, keras.Model)}
    if not facts["is_keras_model"]:
        return facts
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    facts["inputs"] = [
        {"name": getattr(tensor, "name", "?"), "dtype": str(getattr(tensor, "dtype", "?")),
         "ragged": bool(getattr(tensor, "ragged", False)), "shape": shape_of(getattr(tensor, "shape", None))}
        for tensor in inputs
    ]
    facts["input_structure"] = input_structure(model)
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    facts["outputs"] = [shape_of(getattr(tensor, "shape", None)) for tensor in outputs]
    optimizer = getattr(model, "optimizer", None)
    facts["compiled"] = bool(getattr(model, "compiled", False)) and optimizer is not None
    if optimizer is not None:
        facts["optimizer"] = {
            "class": type(optimizer).__name__,
            "learning_rate": float_or_none(getattr(optimizer, "learning_rate", None)),
            "global_clipnorm": float_or_none(getattr(optimizer, "global_clipnorm", None)),
            "clipnorm": float_or_none(getattr(optimizer, "clipnorm", None)),
            "clipvalue": float_or_none(getattr(optimizer, "clipvalue", None)),
        }
    loss = getattr(model, "loss", None)
    facts["loss"] = {
        "class": type(loss).__name__ if not isinstance(loss, str) else loss,
        "reduction": str(getattr(loss, "reduction", "")),
        "from_logits": bool(getattr(loss, "from_logits", False)) if hasattr(loss, "get_config") else None,
    }
    facts["dense_layers"] = [
        {"name": layer.name, "units": int(layer.units),
         "activation": getattr(layer.activation, "__name__", str(layer.activation))}
        for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ]
    facts["layer_types"] = [type(layer).__name__ for layer in model.layers]
    facts["trainable_parameters"] = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    return facts


def input_structure(model) -> str:
    """How a model takes its inputs: "dict", "list", "KerasTensor"... or "?" if it cannot say.

    A functional model's public ``input`` is the structure it was built with
    (a dict when built with ``inputs={"terms": ...}``); a model without
    symbolic inputs (subclassed, never called) raises instead.
    """
    try:
        return type(model.input).__name__
    except Exception:  # whatever it raises, it has no input structure to show
        return "?"


def shape_of(shape) -> list | None:
    return None if shape is None else [None if dimension is None else int(dimension) for dimension in shape]


def float_or_none(value) -> float | None:
    if value is None:
        return None
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


def probe_outputs(model) -> dict:
    """The model's output for each of the hand-made `PROBES` reviews."""
    names = list(PROBES)
    predictions = training.predict_terms(model, [PROBES[name] for name in names])
    return {name: float(value) for name, value in zip(names, predictions)}


def build(collection: Collection, function_name: str, *args, **kwargs):
    """Call the submission's builder (seeded); record its facts and untrained probes; the model or None."""
    builder = collection.function(function_name)
    if builder is None:
        return None
    training.set_determinism(collection.seed)
    model = collection.step("build", builder, *args, **kwargs)
    if model is None:
        return None
    facts = collection.step("describe", describe_model, model)
    collection.result["model"] = facts
    if not facts or not facts.get("is_keras_model"):
        collection.result["errors"]["build"] = f"{function_name}() returned {type(model).__name__}, not a keras.Model"
        return None
    collection.result["probes_untrained"] = collection.step("probes_untrained", probe_outputs, model)
    return model


def train_and_predict(collection: Collection, model) -> None:
    """Train with the exercise's budget, then record the probes and the test predictions."""
    budget = collection.exercise.budget
    fitted = collection.step("train", training.fit, model, collection.data_dir, budget.epochs,
                             budget.batch_size, collection.seed)
    if fitted is None:
        return
    collection.result["probes"] = collection.step("probes", probe_outputs, model)
    predictions = collection.step("predict", training.predict_reviews, model,
                                  grading_data.test_terms_file(collection.data_dir))
    if predictions is not None:
        collection.result["predictions"] = predictions


def build_train_predict(collection: Collection, function_name: str, *args) -> None:
    """The whole of a plain model exercise: import, build, train, predict."""
    if collection.load() and (model := build(collection, function_name, *args)) is not None:
        train_and_predict(collection, model)


def raised_by(function, *args, **kwargs) -> str:
    """The name of the exception `function` raises for bad arguments ("nothing" if none).

    NotImplementedError propagates: an unwritten stub is "not done yet", not a
    wrong exception.
    """
    try:
        function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # which exception is the answer
        return type(error).__name__
    return "nothing"


def embedding_matrix_of(model) -> np.ndarray:
    """The weights of the model's 'terms_embedding' layer, as float64."""
    layer = model.get_layer("terms_embedding")
    return np.asarray(layer.get_weights()[0], dtype=np.float64)
