"""Exercise 11's collector: the submission's co-occurrence counts, PPMI and truncated SVD on inputs drawn at
grading time, its 16- and 2-dimensional SVD term vectors of the training reviews, its side-by-side plot of
two grading-time matrices, and (for the picture) the SVD beside exercise 4's learned embedding.

The trusted judge (`calibrated_figures`) recounts the training split's co-occurrences itself, checks that
each exported SVD vector column is the matching left singular vector of their PPMI (numpy's SVD, up to
sign and scale), and only then fits the grader's logistic regression (`embedlab.grading.logistic`) on the
training reviews' mean SVD vectors and scores it on the test reviews, which the worker never sees.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import data as grading_data
from embedlab.grading import figures, linear_mean, logistic, models, schema, scoring, training
from embedlab.grading.contract import Collection, Refused, load_module
from embedlab.grading.models import VOCABULARY

EXERCISE = __name__.rpartition(".")[2]
VOCABULARY_SIZE = 2000  # the rows: the most frequent training terms (the 50 informative terms among them)
CONTEXT_SIZE = 500  # the columns: the most frequent of them
WINDOW = 5
DIMENSIONS = 16
AGREEMENT = 0.99  # the least |cosine| between an exported column and the matching singular vector
PLOT = "svd_vs_learned.png"
EMBEDDING_BUILDER = "build_embedding_model"  # of the required exercise (exercises.toml: requires)
LETTERS = list("bcdfghjklmnpqrstvwxz")
RETURNS = {  # the small questions' answers, the training reviews' SVD vectors, the picture's matrices
    "cooccurrence": schema.MATRIX, "ppmi": schema.ARRAY_LIST, "svd_u": schema.ARRAY_LIST,
    "svd_s": schema.ARRAY_LIST, "svd_vt": schema.ARRAY_LIST, "bad_k": schema.PLAIN,
    "embedding_small": schema.ARRAY_LIST, "figure": schema.PLAIN, "mismatch": schema.PLAIN,
    "vectors": schema.MATRIX, "vectors_2": schema.MATRIX, "learned_matrix": schema.MATRIX,
    "svd_vs_learned_plot": schema.PLAIN,
}


# ------------------------------------------------------------------ questions
def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """Small reviews, count matrices, matrices to decompose and two matrices to plot, all drawn now."""
    words = list(dict.fromkeys("".join(rng.choice(LETTERS, size=int(rng.integers(3, 7)))) for _ in range(12)))[:9]
    vocabulary, contexts = words[:6], words[2:8]  # overlapping; words[8:] are in neither
    reviews = [[str(rng.choice(words)) for _ in range(int(rng.integers(0, 15)))] for _ in range(6)]
    counts = []
    for rows, columns in ((7, 5), (4, 9), (8, 8)):
        matrix = rng.poisson(rng.uniform(0.3, 3.0), size=(rows, columns)).astype(np.float64)
        matrix[int(rng.integers(rows))] = 0.0  # an empty row and column: their PPMI is 0
        matrix[:, int(rng.integers(columns))] = 0.0
        counts.append(matrix)
    shapes = ((12, 7), (6, 15), (20, 20))
    decomposed = [rng.normal(size=shape) for shape in shapes]
    ranks = [int(rng.integers(1, min(shape) + 1)) for shape in shapes]
    number = int(rng.integers(10**5, 10**6))
    return {"reviews": reviews, "vocabulary": vocabulary, "contexts": contexts, "window": int(rng.integers(1, 4)),
            "counts": counts, "matrices": decomposed, "ranks": ranks,
            "svd_points": rng.normal(size=(len(VOCABULARY), 2)),
            "learned_points": rng.normal(size=(len(VOCABULARY), 2)),
            "title": f"two random {len(VOCABULARY)} x 2 matrices, not embeddings (grading question {number})"}


# ------------------------------------------------------------------ the submission's side
def frequent_terms(counts: Counter, size: int) -> list[str]:
    """The `size` most frequent terms, by descending count then the term itself."""
    return [term for term, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]]


def training_reviews(data_dir: Path) -> list[list[str]]:
    import tensorflow as tf

    from embedlab.data import records

    reviews = []
    for features, _ in records.read_dataset(grading_data.train_file(data_dir), batch_size=1000):
        terms = features[records.TERMS]
        distinct, positions = tf.unique(terms.flat_values)  # each distinct term decoded once per batch
        words = np.array([term.decode("utf-8", "replace") for term in distinct.numpy()], dtype=object)
        flat = words[positions.numpy()].tolist()
        ends = np.cumsum(terms.row_lengths().numpy()).tolist()
        reviews.extend(flat[start:end] for start, end in zip([0, *ends[:-1]], ends))
    return reviews


def arrays(values) -> list[np.ndarray]:
    return [np.asarray(value, dtype=np.float64) for value in values]


def panel_facts(figure) -> dict:
    """The figure's type, its Axes, and each Axes' texts ([text, x, y] at the point marked) and title."""
    facts = figures.figure_facts(figure)
    if facts.get("is_figure"):
        facts["panels"] = [{"texts": [[text.get_text(), *(float(v) for v in figures.anchor(text))]
                                      for text in ax.texts], "title": str(ax.get_title())}
                           for ax in figure.get_axes()]
    return facts


def ask(collection: Collection, asked: dict) -> None:
    """The grading-time questions, to fresh copies (nothing the submission changes comes back)."""
    count = collection.function("cooccurrence_matrix")
    if count is not None:
        value = collection.step("cooccurrence_matrix", count, [list(r) for r in asked["reviews"]],
                                list(asked["vocabulary"]), list(asked["contexts"]), window=asked["window"])
        if value is not None:
            collection.result["cooccurrence"] = collection.step("cooccurrence_matrix:array", np.asarray, value,
                                                                dtype=np.float64)
    for name, key, calls in (
            ("ppmi", "ppmi", [(np.array(matrix),) for matrix in asked["counts"]]),
            ("svd_embedding", "embedding_small",
             [(np.array(matrix), k) for matrix, k in zip(asked["matrices"], asked["ranks"])])):
        function = collection.function(name)
        if function is not None:
            values = [collection.step(f"{name}({i})", function, *args) for i, args in enumerate(calls)]
            if all(value is not None for value in values):
                collection.result[key] = collection.step(f"{name}:arrays", arrays, values)
    svd = collection.function("truncated_svd")
    if svd is not None:
        values = [collection.step(f"truncated_svd({i})", svd, np.array(matrix), k)
                  for i, (matrix, k) in enumerate(zip(asked["matrices"], asked["ranks"]))]
        if all(isinstance(value, (tuple, list)) and len(value) == 3 for value in values):
            for index, key in enumerate(("svd_u", "svd_s", "svd_vt")):
                collection.result[key] = collection.step(f"truncated_svd:{key}", arrays, [v[index] for v in values])
        matrix = np.array(asked["matrices"][0])
        collection.result["bad_k"] = collection.step("truncated_svd(bad k)", models.raised_by, svd, matrix,
                                                     min(matrix.shape) + 1)
    plot = collection.function("plot_side_by_side")
    if plot is not None:
        figure = collection.step("plot_side_by_side", plot, np.array(asked["svd_points"]),
                                 np.array(asked["learned_points"]), list(VOCABULARY), title=asked["title"])
        if figure is not None:
            collection.result["figure"] = collection.step("figure", panel_facts, figure)
        collection.result["mismatch"] = collection.step("plot_side_by_side(mismatch)", models.raised_by, plot,
                                                        np.array(asked["svd_points"])[:10],
                                                        np.array(asked["learned_points"]), list(VOCABULARY))
        close_figures()


def svd_vectors(collection: Collection) -> np.ndarray | None:
    """The submission's 16- and 2-dimensional SVD vectors of the training reviews' PPMI; the 2-D one."""
    functions = [collection.function(name) for name in ("cooccurrence_matrix", "ppmi", "svd_embedding")]
    if None in functions or "cooccurrence" not in collection.result:  # it answers the small question first
        return None
    count, positive, embed = functions
    reviews = collection.step("read the training reviews", training_reviews, collection.data_dir)
    if reviews is None:
        return None
    totals = Counter(term for review in reviews for term in review)
    vocabulary = frequent_terms(totals, VOCABULARY_SIZE)
    counts = collection.step("cooccurrence_matrix (training reviews)", count, reviews, list(vocabulary),
                             vocabulary[:CONTEXT_SIZE], window=WINDOW)
    matrix = None if counts is None else collection.step("ppmi (training counts)", positive, counts)
    if matrix is None:
        return None
    for key, k in (("vectors", DIMENSIONS), ("vectors_2", 2)):
        vectors = collection.step(f"svd_embedding (training PPMI, k={k})", embed, matrix, k)
        if vectors is not None:
            collection.result[key] = collection.step(f"{key}:array", np.asarray, vectors, dtype=np.float64)
    vectors = collection.result.get("vectors_2")
    if not isinstance(vectors, np.ndarray) or vectors.shape != (len(vocabulary), 2):
        return None
    index = {term: row for row, term in enumerate(vocabulary)}
    return vectors[[index[term] for term in VOCABULARY]]


def learned_embedding(collection: Collection) -> np.ndarray | None:
    """For the picture only: the required exercise's model, trained with the budget; its (50, 2) matrix."""
    required = manifest.get(collection.exercise.requires[0])
    sibling = collection.module_path.with_name(required.module_file)
    module = collection.step(f"import {required.id}", load_module, sibling) if sibling.is_file() else None
    build = getattr(module, EMBEDDING_BUILDER, None)
    if not callable(build):
        collection.result["errors"].setdefault(f"import {required.id}", f"{sibling.name}: no {EMBEDDING_BUILDER}()")
        return None
    model = models.build(collection, EMBEDDING_BUILDER, list(VOCABULARY), prefix="learned_", builder=build,
                         export=False)
    budget = collection.exercise.budget
    if model is None or collection.step("train (learned)", training.fit, model, collection.data_dir, budget.epochs,
                                        budget.batch_size, collection.seed) is None:
        return None
    for weight in models.exported_weights(model.trainable_weights):
        if weight.shape in ((len(VOCABULARY), 2), (len(VOCABULARY) + 1, 2)):
            return weight[-len(VOCABULARY):]
    collection.result["errors"]["learned matrix"] = "no trainable (50, 2) matrix among the model's weights"
    return None


def close_figures() -> None:
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")


def collect(collection: Collection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # imported before the submission, with the Agg backend

    if missing := [key for key in ("reviews", "counts", "matrices", "svd_points") if key not in collection.questions]:
        collection.result["errors"]["questions"] = f"the grader's questions ({', '.join(missing)}) did not arrive"
        return
    if not collection.load():
        return
    ask(collection, collection.questions)
    svd = svd_vectors(collection)
    learned = learned_embedding(collection) if svd is not None else None
    plot = getattr(collection.module, "plot_side_by_side", None)
    if learned is None or plot is None:
        return
    collection.result["learned_matrix"] = learned
    target = (collection.out_dir or Path.cwd()) / PLOT
    figure = collection.step("plot_side_by_side (svd vs learned)", plot, svd.copy(), learned.copy(), list(VOCABULARY),
                             title="the 50 informative terms: unsupervised SVD (left) and learned from labels (right)")
    target.unlink(missing_ok=True)
    if figure is not None:
        collection.step("save (svd vs learned)", figure.savefig, target, format="png", bbox_inches="tight", dpi=80)
        if target.is_file():
            collection.result["svd_vs_learned_plot"] = str(target)
    close_figures()


# ------------------------------------------------------------------ trusted side
def training_cooccurrences(table, vocabulary: list[str], contexts: list[str], window: int) -> np.ndarray:
    """The grader's own count of the training split's co-occurrences, from its term table."""
    index = table.index()
    rows = np.full(len(table.terms), -1, dtype=np.int64)
    columns = np.full(len(table.terms), -1, dtype=np.int64)
    rows[[index[term] for term in vocabulary]] = np.arange(len(vocabulary))
    columns[[index[term] for term in contexts]] = np.arange(len(contexts))
    rows, columns, owners = rows[table.ids], columns[table.ids], table.owners()
    cells = np.zeros(len(vocabulary) * len(contexts))
    for offset in range(1, window + 1):
        same = owners[:-offset] == owners[offset:]
        for row, column in ((rows[:-offset], columns[offset:]), (rows[offset:], columns[:-offset])):
            kept = same & (row >= 0) & (column >= 0)
            cells += np.bincount(row[kept] * len(contexts) + column[kept], minlength=len(cells))
    return cells.reshape(len(vocabulary), len(contexts))


def ppmi_by_definition(counts: np.ndarray) -> np.ndarray:
    """max(0, log(p(i, j) / (p(i) p(j)))), 0 where a count is 0: the definition, for the grader's checks."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts * total / (counts.sum(axis=1, keepdims=True) * counts.sum(axis=0, keepdims=True)))
    return np.where(counts > 0, np.maximum(np.nan_to_num(pmi, nan=0.0, neginf=0.0), 0.0), 0.0)


def top_singular_vectors(matrix: np.ndarray, k: int) -> np.ndarray:
    """The `k` first left singular vectors of a tall matrix, from numpy's eigh of its small Gram matrix
    (P^T P = V S^2 V^T, so U = P V / S): the same vectors as numpy's SVD, in a fraction of its time."""
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    order = np.argsort(values)[::-1][:k]
    left = matrix @ vectors[:, order]
    return left / np.linalg.norm(left, axis=0)


def verified_vectors(result: dict, data_dir: Path) -> tuple[list[str], np.ndarray]:
    """The exported 16-d vectors, once each column is the matching singular vector of the training PPMI."""
    vectors = result.get("vectors")
    if not isinstance(vectors, np.ndarray) and any(str(error).startswith("NotImplementedError")
                                                   for error in result.get("errors", {}).values()):
        raise linear_mean.nothing_to_judge(result, "the SVD vectors of the training reviews", "vectors")
    if not isinstance(vectors, np.ndarray):
        raise Refused("svd_embedding(ppmi(cooccurrence_matrix(training reviews, ...)), 16) gave no vectors to "
                      f"judge ({'; '.join(f'{k}: {v}' for k, v in list(result.get('errors', {}).items())[:2])})")
    table = grading_data.terms(data_dir, "train")
    vocabulary = frequent_terms(Counter(dict(zip(table.terms, table.totals().tolist()))), VOCABULARY_SIZE)
    if vectors.shape != (len(vocabulary), DIMENSIONS):
        raise Refused(f"svd_embedding(..., {DIMENSIONS}) gave shape {vectors.shape}; expected "
                      f"({len(vocabulary)}, {DIMENSIONS}), one row per vocabulary term")
    singular = top_singular_vectors(ppmi_by_definition(training_cooccurrences(
        table, vocabulary, vocabulary[:CONTEXT_SIZE], WINDOW)), DIMENSIONS)
    norms = np.linalg.norm(vectors, axis=0)
    cosines = np.abs(np.sum(singular[:, :DIMENSIONS] * vectors, axis=0)) / np.maximum(norms, 1e-300)
    worst = int(np.argmin(cosines))
    if not cosines[worst] >= AGREEMENT:
        raise Refused(f"column {worst + 1} of your 16-d SVD vectors of the training reviews is not the matching "
                      f"singular vector of their PPMI (|cosine| {cosines[worst]:.3f}, expected at least {AGREEMENT}): "
                      "the tests of cooccurrence_matrix, ppmi and truncated_svd say which step differs")
    return vocabulary, vectors


def calibrated_figures(result: dict, questions: dict, data_dir: Path) -> dict[str, float]:
    """svd_accuracy: a logistic regression on each review's mean 16-d SVD vector, fitted on the training
    reviews, its accuracy on the 25,000 test reviews."""
    vocabulary, vectors = verified_vectors(result, data_dir)
    features = {split: np.column_stack([grading_data.terms(data_dir, split).mean_of(vocabulary, column, empty=0.0)
                                        for column in vectors.T]) for split in ("train", "test")}
    model = logistic.fit(features["train"], grading_data.load_train_labels(data_dir))
    return {"svd_accuracy": scoring.accuracy(logistic.predict(model, features["test"]),
                                             grading_data.load_test_labels(data_dir))}


def figure_descriptions(result: dict) -> list[tuple[str, str]]:
    return [(result["svd_vs_learned_plot"], "the 50 informative terms in the 2-D truncated SVD of the training PPMI "
             "(no labels) beside exercise 4's embedding learned from the labels")] * isinstance(
        result.get("svd_vs_learned_plot"), str)
