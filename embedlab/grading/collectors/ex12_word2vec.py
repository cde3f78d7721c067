"""Exercise 12's collector: the submission's pair generation, subsampling and negative sampling on inputs
drawn at grading time, then its word2vec model trained with the grader's own pipeline, its weights and
its answers exported for the trusted judge (`embedlab.grading.skipgram`).

The pipeline (worker side): the grader's `VOCABULARY_SIZE` most frequent training terms (a question,
computed in the trusted process), every training review read from the worker's TFRecord with the other
terms dropped, each occurrence kept with the submission's ``keep_probabilities(counts, THRESHOLD)``,
the submission's ``skipgram_pairs(review, WINDOW)`` for each review, at most `MAX_PAIRS` of the pairs
(shuffled), `NEGATIVES` negatives each from ``draw_negatives(contexts, negative_distribution(counts),
NEGATIVES, rng)``, then ``build_word2vec(VOCABULARY_SIZE, dimension=DIMENSION, negatives=NEGATIVES)``
trained for the manifest's budget (one epoch of batches of 2,048; every draw seeded with the grading
seed). The caps keep the whole collection near a minute and a half on 2 cores (docs/calibration.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import models, schema, skipgram, training
from embedlab.grading.contract import Collection

VOCABULARY_SIZE = skipgram.VOCABULARY_SIZE
WINDOW = 2
THRESHOLD = 1e-5
NEGATIVES = 4
DIMENSION = 50
MAX_PAIRS = 3_000_000
PLOT = "word2vec_neighbours.png"
PLOT_TERMS = ("funny", "horror", "actor", "father", "music", "war")
PLOT_AMONG = 2_000  # neighbours shown among the most frequent terms: a rare term's vector is mostly noise

VECTOR = schema.Array(ndim=1)
RETURNS = {
    "pairs": schema.ARRAY_LIST, "pairs_bad_window": schema.PLAIN, "keep": VECTOR, "distribution": VECTOR,
    "distribution_power": VECTOR, "negatives": schema.MATRIX, "model": schema.PLAIN,
    "weights_untrained": schema.ARRAY_LIST, "weights": schema.ARRAY_LIST, "answers": schema.MATRIX,
    "pipeline": schema.NUMBER_DICT, "neighbours_plot": schema.PLAIN,
}
SMALL_ANSWERS = ("pairs", "keep", "distribution", "distribution_power", "negatives")


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """Sequences and windows, counts, a negative-sampling draw and (target, contexts) rows for the model."""
    lengths = [1, int(rng.integers(2, 4)), *(int(n) for n in rng.integers(8, 30, size=4))]
    sequences = [rng.integers(0, int(rng.integers(3, 12)), size=n).tolist() for n in lengths]
    windows = [int(rng.integers(lengths[1], 5)) if i == 1 else int(rng.integers(1, 5)) for i in range(len(lengths))]
    negative_counts = rng.integers(1, 1000, size=12)
    return {
        "vocabulary": skipgram.vocabulary(grading_data.terms(data_dir, "train")),
        "sequences": sequences, "windows": windows,
        "counts": np.round(10 ** rng.uniform(0, 6, size=40)).astype(np.int64) + 1,
        "threshold": float(rng.choice([1e-2, 1e-3, 1e-4])),
        "negative_counts": negative_counts, "power": float(rng.choice([0.5, 1.0])),
        "negative_contexts": rng.choice(len(negative_counts), size=5000).astype(np.int64),
        "k": int(rng.integers(3, 7)), "draw_seed": int(rng.integers(2**31)),
        "pair_targets": rng.integers(0, VOCABULARY_SIZE, size=256).astype(np.int64),
        "pair_contexts": rng.integers(0, VOCABULARY_SIZE, size=(256, NEGATIVES + 1)).astype(np.int64),
    }


def as_array(value, dtype) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(value).__name__} of {array.dtype}, not numbers")
    return array.astype(dtype)


def ask(collection: Collection, functions: dict) -> None:
    """The small questions: each function on grading-time inputs (fresh copies)."""
    asked = collection.questions
    pairs = functions["skipgram_pairs"]
    got = [collection.step(f"skipgram_pairs({sequence}, window={window})", pairs, list(sequence), window)
           for sequence, window in zip(asked["sequences"], asked["windows"])]
    if all(value is not None for value in got):
        collection.result["pairs"] = collection.step("skipgram_pairs:array", lambda: [as_array(v, np.float64)
                                                                                       for v in got])
    collection.result["pairs_bad_window"] = collection.step("skipgram_pairs(window=0)", models.raised_by, pairs,
                                                            [1, 2, 3], 0)
    counts = np.asarray(asked["counts"])
    keep = collection.step("keep_probabilities", functions["keep_probabilities"], counts.copy(), asked["threshold"])
    negative_counts = np.asarray(asked["negative_counts"])
    distribution = collection.step("negative_distribution", functions["negative_distribution"],
                                   negative_counts.copy())
    other = collection.step(f"negative_distribution(power={asked['power']})", functions["negative_distribution"],
                            negative_counts.copy(), power=asked["power"])
    # The grader's own distribution: the draw is judged on its own, whatever negative_distribution gives.
    given = negative_counts.astype(np.float64) ** 0.75
    negatives = collection.step("draw_negatives", functions["draw_negatives"],
                                np.asarray(asked["negative_contexts"]).copy(), given / given.sum(), asked["k"],
                                np.random.default_rng(asked["draw_seed"]))
    for key, value in (("keep", keep), ("distribution", distribution), ("distribution_power", other),
                       ("negatives", negatives)):
        if value is not None:
            collection.result[key] = collection.step(f"{key}:array", as_array, value, np.float64)


def reviews(data_dir: Path, vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every training review as vocabulary ids (other terms dropped): (ids, row splits)."""
    import keras

    from embedlab.data import records

    lookup = keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=1)
    ids, lengths = [], []
    for features, _ in records.read_dataset(grading_data.train_file(data_dir), batch_size=1000):
        looked_up = lookup(features[records.TERMS])
        ids.append(looked_up.flat_values.numpy() - 1)
        lengths.append(looked_up.row_lengths().numpy())
    return np.concatenate(ids).astype(np.int64), np.concatenate([[0], np.cumsum(np.concatenate(lengths))])


def checked(value, shape: tuple, name: str, low: float | None = None, high: float | None = None) -> np.ndarray:
    """`value` as an array of `shape` (None: any length) with values in [low, high], or ValueError."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        raise ValueError(f"{name} returned shape {array.shape}; expected {shape}")
    if not np.all(np.isfinite(array)) or (low is not None and array.min(initial=low) < low) or (
            high is not None and array.max(initial=high) > high):
        raise ValueError(f"{name} returned values outside [{low}, {high}] (or NaN)")
    return array


def checked_ids(value, shape: tuple, name: str, size: int) -> np.ndarray:
    """`value` as int32 term ids of `shape` (None: any length), each in [0, size), or ValueError. Int32 from
    the start: millions of pairs and negatives must fit the worker's memory cap (1.5 GB on Gradescope)."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(array.shape, shape)):
        raise ValueError(f"{name} returned shape {array.shape} of {array.dtype}; expected {shape} of integers")
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(f"{name} returned ids outside [0, {size - 1}]")
    ids = array.astype(np.int32)
    if array.dtype.kind == "f" and not np.array_equal(ids, array):
        raise ValueError(f"{name} returned numbers that are not whole term ids (or NaN)")
    return ids


def examples(collection: Collection, functions: dict, ids, splits) -> tuple[np.ndarray, np.ndarray]:
    """The training examples with the submission's functions: (targets, contexts: real one, then negatives)."""
    size = VOCABULARY_SIZE
    rng = np.random.default_rng([collection.seed, collection.exercise.number])
    known = ids >= 0
    counts = np.bincount(ids[known], minlength=size)
    keep = checked(functions["keep_probabilities"](counts.copy(), THRESHOLD), (size,), "keep_probabilities", 0, 1)
    kept = known & (rng.random(len(ids)) < keep[np.maximum(ids, 0)])
    owner = np.repeat(np.arange(len(splits) - 1), np.diff(splits))
    kept_ids, kept_owner = ids[kept], owner[kept]
    bounds = np.searchsorted(kept_owner, np.arange(len(splits)))
    pairs = np.concatenate([checked_ids(functions["skipgram_pairs"](kept_ids[start:end].copy(), WINDOW), (None, 2),
                                        "skipgram_pairs", size) for start, end in zip(bounds[:-1], bounds[1:])])
    pairs = pairs[rng.permutation(len(pairs))[:MAX_PAIRS]]
    distribution = checked(functions["negative_distribution"](counts.copy()), (size,), "negative_distribution", 0, 1)
    negatives = checked_ids(functions["draw_negatives"](pairs[:, 1].astype(np.int64), distribution, NEGATIVES, rng),
                            (len(pairs), NEGATIVES), "draw_negatives", size)
    collection.result["pipeline"] = {"reviews": len(splits) - 1, "terms": int(known.sum()),
                                     "kept_terms": int(kept.sum()), "pairs": len(pairs)}
    return np.ascontiguousarray(pairs[:, 0]), np.concatenate([pairs[:, 1:], negatives], axis=1)


def fit(model, targets, contexts, budget, seed: int):
    """One pass in the examples' order; each batch's labels (1 for the real context, then 0s) are made on
    the fly rather than held as millions of rows (the worker's memory cap)."""
    import warnings

    import tensorflow as tf

    def labelled(inputs):
        rows = tf.shape(inputs["context"])[0]
        return inputs, tf.concat([tf.ones((rows, 1)), tf.zeros((rows, NEGATIVES))], axis=1)

    training.set_determinism(seed)
    batches = (tf.data.Dataset.from_tensor_slices({"target": targets, "context": contexts})
               .batch(budget.batch_size).map(labelled, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
               .prefetch(tf.data.AUTOTUNE))
    with warnings.catch_warnings(), training.several_steps_per_execution(model):
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(batches, epochs=budget.epochs, verbose=0)


def answers(model, questions: dict) -> np.ndarray:
    inputs = {"target": np.asarray(questions["pair_targets"], dtype=np.int32),
              "context": np.asarray(questions["pair_contexts"], dtype=np.int32)}
    return np.asarray(model.predict(inputs, batch_size=256, verbose=0), dtype=np.float64)


def train(collection: Collection, functions: dict) -> None:
    ids, splits = collection.step("read the training reviews", reviews, collection.data_dir,
                                  list(collection.questions["vocabulary"]))
    if ids is None:
        return
    made = collection.step("training examples", examples, collection, functions, ids, splits)
    if made is None:
        return
    training.set_determinism(collection.seed)
    model = collection.step("build_word2vec", functions["build_word2vec"], VOCABULARY_SIZE, dimension=DIMENSION,
                            negatives=NEGATIVES)
    if model is None:
        return
    collection.result["model"] = collection.step("describe", models.describe_model, model)
    collection.result["weights_untrained"] = models.exported_weights(model.trainable_weights)
    started = time.perf_counter()
    if collection.step("train", fit, model, *made, collection.exercise.budget, collection.seed) is None:
        return
    collection.result["pipeline"]["train_seconds"] = round(time.perf_counter() - started, 1)
    collection.result["weights"] = collection.step("weights", models.exported_weights, model.trainable_weights)
    collection.result["answers"] = collection.step("answers", answers, model, collection.questions)


def plot(result: dict, questions: dict, path: Path) -> str:
    """Probe terms and their nearest neighbours on the trained vectors' first two principal axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    terms = list(questions["vocabulary"])
    matrix = skipgram.target_embedding(result, questions)
    index = {term: i for i, term in enumerate(terms)}
    common = matrix[:PLOT_AMONG]  # the vocabulary is ordered by frequency
    groups = [[index[term], *skipgram.nearest(common, matrix[index[term]], 5, exclude=[index[term]])]
              for term in PLOT_TERMS]
    rows = [row for group in groups for row in group]
    points = skipgram.projection(skipgram.unit(matrix[rows]))
    figure = Figure(figsize=(8, 6.5))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for number, group in enumerate(groups):
        at = points[number * len(group):(number + 1) * len(group)]
        ax.scatter(at[:, 0], at[:, 1], color=f"C{number}", s=[60] + [20] * (len(group) - 1))
        for (x, y), row in zip(at, group):
            ax.annotate(terms[row], (x, y), xytext=(3, 3), textcoords="offset points", color=f"C{number}",
                        fontweight="bold" if row == group[0] else "normal", fontsize=9)
    ax.set_title(f"word2vec: six terms and their 5 nearest among the {PLOT_AMONG:,} most frequent (cosine)")
    ax.set_xlabel("principal axis 1")
    ax.set_ylabel("principal axis 2")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", bbox_inches="tight", dpi=100)
    return str(path)


def collect(collection: Collection) -> None:
    if not collection.load():
        return
    names = ("skipgram_pairs", "keep_probabilities", "negative_distribution", "draw_negatives", "build_word2vec")
    functions = {name: collection.function(name) for name in names}
    if any(function is None for function in functions.values()):
        return
    ask(collection, functions)
    if all(collection.result.get(key) is not None for key in SMALL_ANSWERS):
        train(collection, functions)
    else:
        collection.result["errors"]["training"] = ("not trained: the grader's pipeline needs skipgram_pairs, "
                                                   "keep_probabilities, negative_distribution and draw_negatives")
    if collection.result.get("answers") is not None:
        target = (collection.out_dir or Path.cwd()) / PLOT
        collection.result["neighbours_plot"] = collection.step("plot", plot, collection.result,
                                                               collection.questions, target)


def calibrated_figures(result: dict, questions: dict, data_dir: Path) -> dict[str, float]:
    return skipgram.figures(result, questions)


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray] | None:
    """The 10,000 terms and their trained target vectors, as the judge verified them (`embedlab projector`)."""
    return list(questions["vocabulary"]), skipgram.target_embedding(result, questions)


def figure_descriptions(result: dict) -> list[tuple[str, str]]:
    if not isinstance(result.get("neighbours_plot"), str):
        return []
    return [(result["neighbours_plot"], f"{', '.join(PLOT_TERMS)} and the 5 nearest terms of each (cosine) in "
                                        "your trained word2vec vectors, on their first two principal axes")]
