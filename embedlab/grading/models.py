"""What the collectors of the model exercises share: the questions put to a
model (drawn in the trusted process), then, where the student's code runs,
build the model, describe it, export its weights, train it with the grader's
budget and record its answers to the questions.

The test reviews are never predicted here: the grader computes their
probabilities itself from the exported weights (`embedlab.grading.transplant`).
TensorFlow and Keras are imported inside the functions.

>>> sorted(RETURNS)
['answers', 'frozen_weights', 'loss_probe', 'model', 'probes_untrained', 'weight_names', 'weights', \
'weights_untrained']
>>> raised_by(int, "seven")
'ValueError'
>>> raised_by(int, "7")
'nothing'
"""

from __future__ import annotations

from pathlib import Path

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
TRAINING_REVIEWS = 200  # question reviews sampled from the training split

# What `build` and `train` put in a result.
RETURNS = {
    "model": schema.PLAIN,
    "probes_untrained": schema.NUMBER_DICT,
    "weights_untrained": schema.ARRAY_LIST,   # model.trainable_weights before training
    "weights": schema.ARRAY_LIST,             # ... after the grader's training
    "weight_names": schema.STRINGS,
    "frozen_weights": schema.ARRAY_LIST,      # model.non_trainable_weights after training
    "answers": schema.PLAIN,                  # the trained model's output for each question review (NaN kept)
    "loss_probe": schema.PLAIN,               # model.compute_loss on the question's numbers
}


# ------------------------------------------------------------ trusted side
def questions(rng: np.random.Generator, data_dir: Path, batch_size: int, vocabulary=VOCABULARY) -> dict:
    """Reviews to ask a model about (training reviews, synthetic ones, the probes) and a loss probe.

    ``reviews``: lists of terms; ``probes``: {probe name: its index in reviews};
    ``loss_probe``: y_true in {0, 1} and y_pred in (0, 1) for one batch.
    """
    table = grading_data.terms(data_dir, "train")
    picked = rng.choice(len(table), size=min(TRAINING_REVIEWS, len(table)), replace=False)
    reviews = table.reviews(sorted(int(number) for number in picked))
    vocabulary = list(vocabulary)

    def oov_term() -> str:
        return "zq" + "".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), size=int(rng.integers(3, 7))))

    reviews += [[], [oov_term()], [oov_term(), oov_term()]]
    for _ in range(8):  # repeated terms
        term = str(rng.choice(vocabulary))
        reviews.append([term] * int(rng.integers(2, 5)) + ([oov_term()] if rng.random() < 0.5 else []))
    for _ in range(40):  # random multisets of terms, some with OOV terms among them
        size = int(rng.integers(1, 12))
        review = [str(term) for term in rng.choice(vocabulary, size=size)]
        review += [oov_term() for _ in range(int(rng.integers(0, 3)))]
        reviews.append([review[i] for i in rng.permutation(len(review))])
    probes = {}
    for name, review in PROBES.items():
        probes[name] = len(reviews)
        reviews.append(list(review))
    y_true = rng.integers(0, 2, size=batch_size).astype(float)
    y_pred = rng.uniform(0.05, 0.95, size=batch_size)
    return {"reviews": reviews, "probes": probes,
            "loss_probe": {"y_true": y_true.tolist(), "y_pred": y_pred.tolist()}}


# ------------------------------------------------------------- worker side
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


def exported_weights(weights) -> list[np.ndarray]:
    """Keras variables as float64 arrays, in order (nested models are flattened by Keras)."""
    return [np.asarray(weight, dtype=np.float64) for weight in weights]


def answers(model, reviews: list[list[str]]) -> np.ndarray:
    """The model's output for each review, float64 (NaN kept: the grader names it)."""
    return training.predict_terms(model, [list(review) for review in reviews])


def loss_of(model, probe: dict) -> float:
    """``model.compute_loss`` (public Keras 3 API) of the probe's labels and predictions."""
    y_true = np.asarray(probe["y_true"], dtype=np.float32).reshape(-1, 1)
    y_pred = np.asarray(probe["y_pred"], dtype=np.float32).reshape(-1, 1)
    return float(np.asarray(model.compute_loss(y=y_true, y_pred=y_pred)))


def build(collection: Collection, function_name: str, *args, prefix: str = "", builder=None, export: bool = True,
          **kwargs):
    """Call the submission's builder (seeded); record its facts, untrained probes and weights; the model or None.

    `prefix` names another model of the exercise (its steps and exports); `builder` is the function when it
    is not the exercise module's own; `export` False: no weights recorded.
    """
    builder = builder or collection.function(function_name)
    if builder is None:
        return None
    training.set_determinism(collection.seed)
    model = collection.step(f"build{suffix(prefix)}", builder, *args, **kwargs)
    if model is None:
        return None
    facts = collection.step(f"describe{suffix(prefix)}", describe_model, model)
    if not prefix:
        collection.result["model"] = facts
    if not facts or not facts.get("is_keras_model"):
        collection.result["errors"][f"build{suffix(prefix)}"] = (
            f"{function_name}() returned {type(model).__name__}, not a keras.Model")
        return None
    if not prefix:
        collection.result["probes_untrained"] = collection.step("probes_untrained", probe_outputs, model)
        if "loss_probe" in collection.questions:
            collection.result["loss_probe"] = collection.step("loss_probe", loss_of, model,
                                                              collection.questions["loss_probe"])
    if export:
        collection.result[f"{prefix}weights_untrained"] = collection.step(
            f"weights_untrained{suffix(prefix)}", exported_weights, model.trainable_weights)
    return model


def train(collection: Collection, model, prefix: str = "", steps: int | None = None) -> bool:
    """Train with the exercise's budget (or `steps` batches); export the weights and answer the questions."""
    budget = collection.exercise.budget
    fitted = collection.step(f"train{suffix(prefix)}", training.fit, model, collection.data_dir, budget.epochs,
                             budget.batch_size, collection.seed, steps)
    if fitted is None:
        return False
    collection.result[f"{prefix}weights"] = collection.step(f"weights{suffix(prefix)}", exported_weights,
                                                            model.trainable_weights)
    collection.result[f"{prefix}weight_names"] = [str(getattr(w, "path", w.name)) for w in model.trainable_weights]
    collection.result[f"{prefix}frozen_weights"] = collection.step(
        f"frozen_weights{suffix(prefix)}", exported_weights,
        [w for w in model.non_trainable_weights if np.issubdtype(np.dtype(w.dtype), np.floating)])
    reviews = collection.questions.get("reviews")
    if reviews is not None:
        collection.result[f"{prefix}answers"] = collection.step(f"answers{suffix(prefix)}", answers, model, reviews)
    return True


def suffix(prefix: str) -> str:
    """How a step's name shows which model it is about ("" for the exercise's own)."""
    return f" ({prefix.rstrip('_')})" if prefix else ""


def build_and_train(collection: Collection, function_name: str, *args) -> None:
    """The whole of a plain model exercise: import, build, train, answer."""
    if collection.load() and (model := build(collection, function_name, *args)) is not None:
        train(collection, model)



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
