"""One collector per exercise: call the submission, gather plain data.

A collector runs where the student's code runs. It is trusted code in an
untrusted place, so it computes every reference value (from Keras built-ins)
*before* it imports the submission, and returns only plain data for the
tests to judge. See `embedlab.grading.contract` for the contract.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import training
from embedlab.grading.contract import Collection, load_module
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


# --------------------------------------------------------------------- helpers
def describe_model(model) -> dict:
    """Facts about a built model: its type, input, output, optimizer, loss, layers."""
    import keras

    facts: dict = {"type": type(model).__name__, "is_keras_model": isinstance(model, keras.Model)}
    if not facts["is_keras_model"]:
        return facts
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    facts["inputs"] = [
        {"name": getattr(tensor, "name", "?"), "dtype": str(getattr(tensor, "dtype", "?")),
         "ragged": bool(getattr(tensor, "ragged", False)), "shape": _shape(getattr(tensor, "shape", None))}
        for tensor in inputs
    ]
    facts["input_structure"] = type(model._inputs_struct).__name__ if hasattr(model, "_inputs_struct") else "?"
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    facts["outputs"] = [_shape(getattr(tensor, "shape", None)) for tensor in outputs]
    optimizer = getattr(model, "optimizer", None)
    facts["compiled"] = bool(getattr(model, "compiled", False)) and optimizer is not None
    if optimizer is not None:
        facts["optimizer"] = {
            "class": type(optimizer).__name__,
            "learning_rate": _float(getattr(optimizer, "learning_rate", None)),
            "global_clipnorm": _float(getattr(optimizer, "global_clipnorm", None)),
            "clipnorm": _float(getattr(optimizer, "clipnorm", None)),
            "clipvalue": _float(getattr(optimizer, "clipvalue", None)),
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
    facts["trainable_parameters"] = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return facts


def _shape(shape) -> list | None:
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _float(value) -> float | None:
    if value is None:
        return None
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None


def probe_outputs(model) -> dict:
    names = list(PROBES)
    predictions = training.predict_terms(model, [PROBES[name] for name in names])
    return {name: float(value) for name, value in zip(names, predictions)}


def _train_and_predict(c: Collection, model, budget: dict | None = None) -> None:
    budget = budget or c.exercise.budget
    if c.step("train", training.fit, model, c.data_dir, budget.epochs, budget.batch_size, c.seed) is None:
        return
    c.result["probes"] = c.step("probes", probe_outputs, model)
    predictions = c.step("predict", training.predict_reviews, model, grading_data.test_terms_file(c.data_dir))
    if predictions is not None:
        c.result["predictions"] = predictions


def _build(c: Collection, function_name: str, *args, **kwargs):
    build = c.function(function_name)
    if build is None:
        return None
    training.set_determinism(c.seed)
    model = c.step("build", build, *args, **kwargs)
    if model is None:
        return None
    facts = c.step("describe", describe_model, model)
    c.result["model"] = facts
    if not facts or not facts.get("is_keras_model"):
        c.result["errors"]["build"] = f"{function_name}() returned {type(model).__name__}, not a keras.Model"
        return None
    c.result["probes_untrained"] = c.step("probes_untrained", probe_outputs, model)
    return model


def raised_by(function, *args, **kwargs) -> str:
    """The name of the exception `function` raises for bad arguments ("nothing" if none).

    NotImplementedError propagates: an unwritten stub is "not done yet", not a
    wrong exception.
    """
    try:
        function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - which exception is the answer
        return type(error).__name__
    return "nothing"


def _sibling(c: Collection, exercise_id: str) -> Path:
    return c.module_path.with_name(f"{exercise_id}.py")


def _embedding_matrix_of(model) -> np.ndarray:
    layer = model.get_layer("terms_embedding")
    return np.asarray(layer.get_weights()[0], dtype=np.float64)


# ------------------------------------------------------------------ exercises
def collect_input_pipeline(c: Collection) -> None:
    import tensorflow as tf

    train = str(grading_data.train_file(c.data_dir))
    if not c.load():
        return
    make_dataset = c.function("make_dataset")
    if make_dataset is None:
        return

    def describe(dataset) -> dict:
        facts = {"type": type(dataset).__name__, "is_dataset": isinstance(dataset, tf.data.Dataset)}
        if not facts["is_dataset"]:
            return facts
        spec = dataset.element_spec
        facts["structure"] = type(spec).__name__
        if isinstance(spec, tuple) and len(spec) == 2:
            features, labels = spec
            facts["feature_keys"] = sorted(features) if isinstance(features, dict) else None
            terms = features.get("terms") if isinstance(features, dict) else None
            facts["terms_spec"] = None if terms is None else {
                "class": type(terms).__name__, "dtype": terms.dtype.name,
                "shape": _shape(terms.shape),
                "row_splits_dtype": getattr(getattr(terms, "row_splits_dtype", None), "name", None),
            }
            facts["labels_spec"] = {"class": type(labels).__name__, "dtype": getattr(labels.dtype, "name", "?"),
                                    "shape": _shape(labels.shape)}
        return facts

    def first_batches(dataset, count: int) -> list:
        batches = []
        for features, labels in dataset.take(count):
            terms = features["terms"]
            rows = terms.to_list() if isinstance(terms, tf.RaggedTensor) else [
                [t for t in row if t] for row in terms.numpy().tolist()]
            batches.append({"terms": [[t.decode("utf-8") for t in row] for row in rows],
                             "labels": np.asarray(labels).reshape(-1).tolist(),
                             "labels_shape": list(np.asarray(labels).shape)})
        return batches

    def epoch_summary(dataset) -> dict:
        sizes, positives = [], 0.0
        for _, labels in dataset:
            labels = np.asarray(labels).reshape(-1)
            sizes.append(int(labels.shape[0]))
            positives += float(labels.sum())
        return {"batches": len(sizes), "examples": int(sum(sizes)), "positives": positives,
                "batch_sizes": sorted(set(sizes))}

    plain = c.step("make_dataset", make_dataset, train, batch_size=25, shuffle=False)
    if plain is None:
        return
    c.result["dataset"] = c.step("describe", describe, plain)
    c.result["first_batches"] = c.step("first_batches", first_batches, plain, 3)
    c.result["epoch"] = c.step("epoch", epoch_summary, plain)

    seven = c.step("batch_size_7", make_dataset, train, batch_size=7, shuffle=False)
    if seven is not None:
        c.result["batch_size_7"] = c.step("batch_size_7_take", first_batches, seven, 1)

    shuffled = c.step("shuffled", make_dataset, train, batch_size=25, shuffle=True, seed=c.seed)
    again = c.step("shuffled_again", make_dataset, train, batch_size=25, shuffle=True, seed=c.seed)
    if shuffled is not None and again is not None:
        c.result["shuffled_first"] = c.step("shuffled_first", first_batches, shuffled, 1)
        c.result["shuffled_again_first"] = c.step("shuffled_again_first", first_batches, again, 1)
        c.result["shuffled_epoch"] = c.step("shuffled_epoch", epoch_summary, shuffled)

    repeated = c.step("repeat", make_dataset, train, batch_size=25, shuffle=False, num_epochs=None)
    if repeated is not None:
        c.result["repeat_batches_1001"] = c.step(
            "repeat_take", lambda: sum(1 for _ in repeated.take(1001)))

    c.result["batch_size_0"] = c.step("batch_size_0", raised_by, make_dataset, train, batch_size=0)


def collect_linear(c: Collection) -> None:
    if c.load() and (model := _build(c, "build_linear_model", list(VOCABULARY))) is not None:
        _train_and_predict(c, model)


def collect_dnn(c: Collection) -> None:
    if c.load() and (model := _build(c, "build_dnn_model", list(VOCABULARY))) is not None:
        _train_and_predict(c, model)


def embedding_layer_facts(model) -> dict:
    """The 'terms_embedding' layer's matrix and outputs, with Keras' own lookup to compare."""
    import keras

    layer = model.get_layer("terms_embedding")
    matrix = _embedding_matrix_of(model)
    facts = {"matrix_shape": list(matrix.shape)}
    if matrix.ndim != 2 or matrix.shape[0] != len(VOCABULARY):
        return facts
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    inner = keras.Model(inputs=model.input if isinstance(model.input, dict) else inputs, outputs=layer.output)
    review = ["great", "great", "bad", OOV, "."]
    outputs = np.asarray(inner({"terms": training.ragged_batch([[], [OOV], review])}, training=False))
    # Keras' own lookup by index, averaged over the in-vocabulary terms.
    lookup = keras.layers.Embedding(len(VOCABULARY), matrix.shape[1])
    lookup.build((None,))
    lookup.set_weights([matrix])
    ids = [VOCABULARY.index(term) for term in review if term in VOCABULARY]
    facts.update({
        "empty_output": outputs[0].tolist(),
        "oov_only_output": outputs[1].tolist(),
        "review": review,
        "review_output": outputs[2].tolist(),
        "review_expected": np.asarray(lookup(np.array(ids))).mean(axis=0).tolist(),
    })
    return facts


def collect_embedding(c: Collection) -> None:
    if not c.load():
        return
    model = _build(c, "build_embedding_model", list(VOCABULARY))
    if model is None:
        return
    c.result["embedding"] = c.step("embedding_layer", embedding_layer_facts, model)
    _train_and_predict(c, model)
    c.result["embedding_trained"] = c.step("embedding_layer_trained", embedding_layer_facts, model)


def collect_inside_embedding(c: Collection) -> None:
    import keras

    rng = np.random.default_rng(c.seed)
    matrices = {2: rng.normal(size=(50, 2)).astype(np.float32), 3: rng.normal(size=(50, 3)).astype(np.float32)}
    terms = ["great", "family", "?", "bad", OOV]
    reviews = [["great", "movie", "!", "great", OOV], [OOV, "qqxzv"], [], ["bad", "worst", ".", "bad"]]

    # References from Keras built-ins, before the submission is imported.
    one_hot_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="one_hot")
    count_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="count")
    index_layer = keras.layers.StringLookup(vocabulary=VOCABULARY)
    expected = {
        "one_hot": np.asarray(one_hot_layer(np.array(terms)))[:, 1:],
        "counts": np.stack([np.asarray(count_layer(np.array(review, dtype=object).astype(str)))[1:]
                            if review else np.zeros(len(VOCABULARY), np.float32) for review in reviews]),
    }
    for dim, matrix in matrices.items():
        table = keras.layers.Embedding(len(VOCABULARY) + 1, dim)  # row 0: out of vocabulary, zeros
        table.build((None,))
        table.set_weights([np.concatenate([np.zeros((1, dim), np.float32), matrix])])
        expected[f"lookup_{dim}"] = np.asarray(table(np.asarray(index_layer(np.array(terms)))))
        vectors = []
        for review in reviews:
            ids = np.asarray(index_layer(np.array(review, dtype=str))) if review else np.zeros(0, np.int64)
            rows = np.asarray(table(ids)) if len(ids) else np.zeros((0, dim), np.float32)
            in_vocabulary = ids > 0
            vectors.append(rows[in_vocabulary].mean(axis=0) if in_vocabulary.any() else np.zeros(dim, np.float32))
        expected[f"review_{dim}"] = np.stack(vectors)
    inputs = keras.Input(shape=(None,), dtype="int32")
    layer = keras.layers.Embedding(len(VOCABULARY), 2, name="terms_embedding")
    probe_model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(layer(inputs))))
    layer.set_weights([matrices[2]])
    c.result["expected"] = {name: value.astype(np.float64) for name, value in expected.items()}
    c.result["expected"]["matrix"] = matrices[2].astype(np.float64)
    c.result["terms"], c.result["reviews"] = terms, reviews

    if not c.load():
        return
    got: dict = {}

    def each(function_name: str, calls: list) -> None:
        function = c.function(function_name)
        if function is None:
            return
        values = [c.step(f"{function_name}({label})", function, *args) for label, args in calls]
        if all(value is not None for value in values):
            got[function_name] = c.step(f"{function_name}:array", lambda: np.stack(
                [np.asarray(value, dtype=np.float64).reshape(-1) for value in values]))

    each("one_hot", [(term, (term, list(VOCABULARY))) for term in terms])
    each("counts_vector", [(str(i), (review, list(VOCABULARY))) for i, review in enumerate(reviews)])
    for dim, matrix in matrices.items():
        for name in ("lookup", "lookup_by_matmul"):
            function = c.function(name)
            if function is None:
                continue
            values = [c.step(f"{name}({term}, dim {dim})", function, term, matrix.copy(), list(VOCABULARY))
                      for term in terms]
            if all(value is not None for value in values):
                got[f"{name}_{dim}"] = c.step(f"{name}:array (dim {dim})", lambda values=values: np.stack(
                    [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]))
        function = c.function("review_vector")
        if function is not None:
            values = [c.step(f"review_vector(review {i}, dim {dim})", function, review, matrix.copy(), list(VOCABULARY))
                      for i, review in enumerate(reviews)]
            if all(value is not None for value in values):
                got[f"review_vector_{dim}"] = c.step(f"review_vector:array (dim {dim})", lambda values=values: np.stack(
                    [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]))
    function = c.function("embedding_matrix")
    if function is not None:
        value = c.step("embedding_matrix", function, probe_model)
        if value is not None:
            got["embedding_matrix"] = c.step("embedding_matrix:array", np.asarray, value, dtype=np.float64)
    c.result["got"] = {name: value for name, value in got.items() if value is not None}


def figure_facts(figure) -> dict:
    from matplotlib.figure import Figure

    facts = {"type": type(figure).__name__, "is_figure": isinstance(figure, Figure)}
    if not facts["is_figure"]:
        return facts
    axes = figure.get_axes()
    facts["axes"] = len(axes)
    if axes:
        ax = axes[0]
        facts["texts"] = [[text.get_text(), float(text.get_position()[0]), float(text.get_position()[1])]
                          for text in ax.texts]
        facts["xlim"] = [float(v) for v in ax.get_xlim()]
        facts["ylim"] = [float(v) for v in ax.get_ylim()]
    return facts


def _png_facts(path) -> dict:
    path = Path(path)
    data = path.read_bytes() if path.is_file() else b""
    return {"exists": path.is_file(), "bytes": len(data), "is_png": data[:8] == b"\x89PNG\r\n\x1a\n",
            "path": str(path)}


def collect_plot(c: Collection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(c.seed)
    matrix = rng.normal(size=(50, 2)).astype(np.float32)
    c.result["matrix"] = matrix.astype(np.float64)
    out_dir = c.out_dir or Path.cwd()
    if not c.load():
        return
    plot = c.function("plot_embedding")
    if plot is not None:
        figure = c.step("plot_embedding", plot, matrix.copy(), list(VOCABULARY))
        if figure is not None:
            c.result["figure"] = c.step("figure", figure_facts, figure)
            plt.close("all")

        c.result["mismatch"] = c.step("plot_embedding(mismatch)", raised_by, plot, matrix[:10].copy(),
                                      list(VOCABULARY))
        plt.close("all")
    save = c.function("save_embedding_plot")
    if save is not None:
        target = out_dir / "random_embedding.png"
        target.unlink(missing_ok=True)
        if c.step("save_embedding_plot", save, matrix.copy(), list(VOCABULARY), target) is not None or target.exists():
            c.result["saved"] = c.step("saved", _png_facts, target)
        plt.close("all")

    # The geometry of the student's own trained embedding (exercise 4's model).
    sibling = _sibling(c, "ex04_embedding_dnn")
    embedding_module = c.step("import ex04_embedding_dnn", load_module, sibling) if sibling.is_file() else None
    if embedding_module is None:
        c.result["errors"].setdefault("import ex04_embedding_dnn", f"{sibling.name}: not found or not importable")
        return
    build = getattr(embedding_module, "build_embedding_model", None)
    if not callable(build):
        c.result["errors"]["build_embedding_model"] = "ex04_embedding_dnn.py defines no build_embedding_model()"
        return
    budget = c.exercise.budget
    for name, steps in (("trained", None), ("short", budget.short_steps)):
        training.set_determinism(c.seed)
        model = c.step(f"build ({name})", build, list(VOCABULARY))
        if model is None:
            return
        fitted = c.step(f"train ({name})", training.fit, model, c.data_dir, budget.epochs,
                        budget.batch_size, c.seed, steps)
        if fitted is None:
            return
        learned = c.step(f"matrix ({name})", _embedding_matrix_of, model)
        if learned is None:
            return
        c.result[f"{name}_matrix"] = learned
        if save is not None:
            target = out_dir / f"embedding_{name}.png"
            c.step(f"save_embedding_plot ({name})", save, learned.copy(), list(VOCABULARY), target)
            plt.close("all")
            if target.is_file():
                c.result[f"{name}_plot"] = str(target)


def collect_bigger(c: Collection) -> None:
    from embedlab.data import records

    train = grading_data.train_file(c.data_dir)
    max_terms = 20_000
    # Measure every term's count first: the grader's figure to compare with.
    counts: dict[str, int] = {}
    for features, _ in records.read_dataset(train, batch_size=1000):
        words, numbers = np.unique(features["terms"].flat_values.numpy(), return_counts=True)
        for word, number in zip(words.tolist(), numbers.tolist()):
            counts[word] = counts.get(word, 0) + number
    ranked = sorted(counts.values(), reverse=True)
    cut = ranked[min(max_terms, len(ranked)) - 1]
    c.result["cut"] = {"max_terms": max_terms, "count_at_cut": cut,
                       "terms_above_cut": sum(1 for value in ranked if value > cut), "distinct_terms": len(ranked)}

    if not c.load():
        return
    build_vocabulary = c.function("build_vocabulary")
    vocabulary = None if build_vocabulary is None else c.step("build_vocabulary", build_vocabulary, str(train), max_terms)
    if vocabulary is None:
        return
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(term, str) for term in vocabulary):
        c.result["errors"]["build_vocabulary"] = (
            f"build_vocabulary() returned {type(vocabulary).__name__}; expected a list of str")
        return
    vocabulary = [str(term) for term in vocabulary]
    c.result["vocabulary"] = vocabulary
    c.result["vocabulary_counts"] = [counts.get(term.encode("utf-8"), 0) for term in vocabulary]
    model = _build(c, "build_bigger_model", list(vocabulary))
    if model is not None:
        _train_and_predict(c, model)


def collect_bigrams(c: Collection) -> None:
    train = str(grading_data.train_file(c.data_dir))
    if c.load() and (model := _build(c, "build_bigram_model", train)) is not None:
        _train_and_predict(c, model)


COLLECTORS = {
    "ex01_input_pipeline": collect_input_pipeline,
    "ex02_linear_model": collect_linear,
    "ex03_dnn_counts": collect_dnn,
    "ex04_embedding_dnn": collect_embedding,
    "ex05_inside_embedding": collect_inside_embedding,
    "ex06_plot_embedding": collect_plot,
    "ex07_bigger_vocabulary": collect_bigger,
    "ex08_bigrams": collect_bigrams,
}
