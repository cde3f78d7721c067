"""Exercise 10's collector: the submission's similarity functions on inputs drawn at grading time, then the
nearest neighbours of polar terms in its own trained exercise-7 embedding.

Questions (`questions`, drawn in the trusted process): exercise 7's question reviews (for its trained model's
answers), pairs of term lists (overlapping, identical, disjoint, empty), pairs of vectors (random, scaled
copies, orthogonal, zero, integer), a random matrix over random terms (rows of very different lengths, so
that a Euclidean neighbour is not a cosine one) with reviews and neighbour queries, and training reviews
with their (public) labels and pairs of them for the picture. The graded tests compute the expected values
with numpy on the trusted copy of these questions; the worker holds none.

The required exercise (exercise 7) is built and trained as its own grading does (its vocabulary, its
model, the same budget) and exports its weights and answers: the trusted side (`calibrated_figures`)
verifies them with exercise 7's judge (`linear_mean.verified_embedding`) and measures, in the embedding the
model really uses, how often the nearest terms of the training split's most polar terms share their
polarity (`neighbours.neighbour_agreement`). The picture (Jaccard against cosine of review pairs, from the
submission's own functions on the trained embedding) is drawn here and graded by nobody.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab import manifest
from embedlab.grading import data as grading_data
from embedlab.grading import linear_mean, models, neighbours, schema
from embedlab.grading.contract import Collection, Refused, load_module

EXERCISE = __name__.rpartition(".")[2]
MAX_TERMS, DIMENSION = 20_000, 16  # exercise 7's vocabulary size and its builder's default dimension
PAIR_REVIEWS, PAIRS = 300, 2_000
PLOT = "similarity_pairs.png"
RETURNS = {**linear_mean.RETURNS, "vocabulary": schema.STRINGS, "jaccard": schema.NUMBERS, "cosine": schema.NUMBERS,
           "review_vector": schema.MATRIX, "nearest_terms": schema.PLAIN, "unknown_term": schema.PLAIN,
           "pair_jaccard": schema.NUMBERS, "pair_cosine": schema.NUMBERS, "pairs_plot": schema.PLAIN}
FUNCTIONS = ("jaccard", "cosine", "review_vector", "nearest_terms")
LETTERS = list("bcdfghjklmnpqrstvwxz")
UNKNOWN = "zzqxv"


# ------------------------------------------------------------------ questions (trusted)
def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(LETTERS, size=int(rng.integers(3, 8))))


def term_pairs(rng: np.random.Generator) -> list[list[list[str]]]:
    pool = sorted({_word(rng) for _ in range(40)})

    def some(size: int) -> list[str]:
        return [str(term) for term in rng.choice(pool, size=size)]  # with repeats: a set counts each once

    pairs = [[some(int(rng.integers(2, 12))), some(int(rng.integers(2, 12)))] for _ in range(6)]
    same = some(6)
    pairs += [[same, list(rng.permutation(same + same[:2]))], [some(5), []], [[], []]]
    pairs.append([pool[:5], pool[5:12]])            # disjoint
    pairs.append([pool[:4], pool[:9]])              # a subset
    order = rng.permutation(len(pairs))
    return [[[str(term) for term in pairs[i][0]], [str(term) for term in pairs[i][1]]] for i in order]


def vector_pairs(rng: np.random.Generator) -> list[list[np.ndarray]]:
    pairs = []
    for dimension in (3, 16, 50):
        u = rng.normal(size=dimension)
        pairs.append([u, rng.normal(size=dimension)])
        pairs.append([u, u * float(rng.uniform(0.1, 10))])         # the same direction: 1.0
        pairs.append([u * float(rng.uniform(0.1, 10)), -u])        # opposite: -1.0
    u, v = rng.normal(size=8), rng.normal(size=8)
    pairs.append([u, v - (u @ v) / (u @ u) * u])                   # orthogonal: 0.0
    pairs += [[u, np.zeros(8)], [np.zeros(16), rng.normal(size=16)], [np.zeros(4), np.zeros(4)]]
    pairs.append([rng.integers(0, 5, size=10), rng.integers(1, 5, size=10)])  # counts: integers
    return [pairs[int(i)] for i in rng.permutation(len(pairs))]


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """Exercise 7's question reviews, then this exercise's inputs (plain data)."""
    asked = linear_mean.questions(rng, data_dir)
    vocabulary = sorted({_word(rng) for _ in range(60)})[:40]
    vocabulary = [str(term) for term in rng.permutation(vocabulary)]
    # Rows of lengths from about 0.1 to 10: the nearest by distance are the short rows, not the same direction.
    matrix = rng.normal(size=(len(vocabulary), 6)) * np.exp(rng.normal(size=(len(vocabulary), 1)) * 1.2)
    asked_terms = [str(term) for term in rng.choice(vocabulary, size=6, replace=False)]
    queries = [[term, k] for term, k in zip(asked_terms, (None, None, 1, 3, 7, len(vocabulary) - 1))]
    known = [str(term) for term in rng.choice(vocabulary, size=5)]
    reviews = [known + [known[0], UNKNOWN], [known[1]] * 3 + [known[2]], [UNKNOWN, _word(rng)], []]
    table = grading_data.terms(data_dir, "train")
    picked = sorted(int(i) for i in rng.choice(len(table), size=PAIR_REVIEWS, replace=False))
    labels = grading_data.load_train_labels(data_dir)[picked]
    pairs = rng.integers(0, PAIR_REVIEWS, size=(PAIRS * 2, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]][:PAIRS]
    return {**asked, "term_pairs": term_pairs(rng), "vector_pairs": vector_pairs(rng), "matrix": matrix,
            "vocabulary": vocabulary, "queries": queries, "vector_reviews": reviews,
            "pair_reviews": table.reviews(picked), "pair_labels": labels.astype(np.float64), "pairs": pairs}


# ------------------------------------------------------------------ worker side
def gather(collection: Collection, key: str, function, calls: list, convert) -> None:
    """Each (step name, arguments) of `calls` through `function`; all answers, converted, under `key`."""
    values = [collection.step(name, function, *args) for name, args in calls]
    if all(value is not None for value in values):
        collection.result[key] = collection.step(f"{key}:values", convert, values)


def numbers(values) -> list[float]:
    return [float(value) for value in values]


def term_lists(values) -> list[list[str]]:
    return [[str(term) for term in value] for value in values]


def ask(collection: Collection, functions: dict, questions: dict) -> None:
    """The grading-time inputs put to the functions (fresh copies: nothing the submission changes comes back)."""
    matrix, vocabulary = np.array(questions["matrix"], dtype=np.float64), list(questions["vocabulary"])
    if "jaccard" in functions:
        gather(collection, "jaccard", functions["jaccard"], [(f"jaccard({a!r}, {b!r})", (list(a), list(b)))
                                                             for a, b in questions["term_pairs"]], numbers)
    if "cosine" in functions:
        gather(collection, "cosine", functions["cosine"], [(f"cosine(u, v) of {len(u)} numbers", (u.copy(), v.copy()))
                                                           for u, v in questions["vector_pairs"]], numbers)
    if "review_vector" in functions:
        gather(collection, "review_vector", functions["review_vector"],
               [(f"review_vector({review!r})", (list(review), matrix.copy(), list(vocabulary)))
                for review in questions["vector_reviews"]], stacked_rows)
    nearest = functions.get("nearest_terms")
    if nearest is not None:
        calls = [(f"nearest_terms({term!r}{'' if k is None else f', k={k}'})",
                  (term, matrix.copy(), list(vocabulary)) + (() if k is None else (k,)))
                 for term, k in questions["queries"]]
        gather(collection, "nearest_terms", nearest, calls, term_lists)
        collection.result["unknown_term"] = collection.step("nearest_terms(unknown)", models.raised_by, nearest,
                                                            UNKNOWN, matrix.copy(), list(vocabulary))


def stacked_rows(values) -> np.ndarray:
    return np.stack([np.asarray(value, dtype=np.float64).reshape(-1) for value in values])


def required_module(collection: Collection):
    """The required exercise's module (the submission's sibling file), or None (recorded)."""
    required = manifest.get(collection.exercise.requires[0])
    sibling = collection.module_path.with_name(required.module_file)
    step = f"import {required.id}"
    module = collection.step(step, load_module, sibling) if sibling.is_file() else None
    if module is None:
        collection.result["errors"].setdefault(step, f"{sibling.name}: not found or not importable")
    return module


def train_required(collection: Collection) -> list[str] | None:
    """Exercise 7's vocabulary and model, trained and exported as exercise 7's grading does; its vocabulary."""
    module, required = required_module(collection), collection.exercise.requires[0]
    build_vocabulary = getattr(module, "build_vocabulary", None)
    builder = getattr(module, "build_bigger_model", None)
    if module is None or not callable(build_vocabulary) or not callable(builder):
        if module is not None:
            collection.result["errors"][required] = "no build_vocabulary() or build_bigger_model()"
        return None
    train = str(grading_data.train_file(collection.data_dir))
    step = f"{required}.build_vocabulary"  # exercise 7's function: the message names its file
    vocabulary = collection.step(step, build_vocabulary, train, MAX_TERMS)
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(term, str) for term in vocabulary):
        collection.result["errors"].setdefault(step, "build_vocabulary() returned no list of str")
        return None
    vocabulary = [str(term) for term in vocabulary]
    collection.result["vocabulary"] = vocabulary
    model = models.build(collection, "build_bigger_model", list(vocabulary), builder=builder)
    if model is None:
        return None
    linear_mean.train_and_export(collection, model)
    return vocabulary


def plotted_embedding(result: dict, vocabulary: list[str]) -> tuple[list[str], np.ndarray] | None:
    """For the picture only: the first trained (V + 0..2, d) weight, without its special rows."""
    for weight in result.get("weights") or []:
        if weight.ndim == 2 and 0 <= weight.shape[0] - len(vocabulary) <= 2 and weight.shape[1] > 1:
            return vocabulary, weight[weight.shape[0] - len(vocabulary):]
    return None


def ask_pairs(collection: Collection, functions: dict, terms: list[str], matrix: np.ndarray) -> None:
    """The submission's Jaccard and cosine of the question pairs of training reviews, in its trained embedding."""
    reviews, pairs = collection.questions["pair_reviews"], np.asarray(collection.questions["pairs"])
    vectors = []
    for review in reviews:  # the first failure ends it: the same function would fail again
        vectors.append(collection.step("review_vector (pairs)", functions["review_vector"], list(review), matrix,
                                       terms))
        if vectors[-1] is None:
            return
    jaccard = [collection.step("jaccard (pairs)", functions["jaccard"], list(reviews[a]), list(reviews[b]))
               for a, b in pairs]
    cosine = [collection.step("cosine (pairs)", functions["cosine"], vectors[a], vectors[b]) for a, b in pairs]
    if all(value is not None for value in jaccard + cosine):
        collection.result["pair_jaccard"] = collection.step("pair_jaccard", numbers, jaccard)
        collection.result["pair_cosine"] = collection.step("pair_cosine", numbers, cosine)


def collect(collection: Collection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    if not collection.load():
        return
    functions = {name: function for name in FUNCTIONS if (function := collection.function(name)) is not None}
    ask(collection, functions, collection.questions)
    vocabulary = train_required(collection)
    found = plotted_embedding(collection.result, vocabulary) if vocabulary else None
    if found is None or not all(name in functions for name in ("jaccard", "cosine", "review_vector")):
        return
    ask_pairs(collection, functions, *found)
    if "pair_cosine" in collection.result:
        target = (collection.out_dir or Path.cwd()) / PLOT
        labels = np.asarray(collection.questions["pair_labels"])
        if collection.step("plot", draw, collection.result["pair_jaccard"], collection.result["pair_cosine"],
                           labels, collection.questions["pairs"], collection.questions["pair_reviews"], target):
            collection.result["pairs_plot"] = str(target)


def draw(jaccard, cosine, labels, pairs, reviews, target: Path) -> bool:
    """Jaccard against cosine, one point per pair, coloured by same / different labels; two telling pairs
    marked and described below (by their figures: no review text, so that the picture is not the data).
    Written to `target` (a PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    jaccard, cosine, pairs = np.asarray(jaccard), np.asarray(cosine), np.asarray(pairs)
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    figure = Figure(figsize=(8, 7.4))
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.1, 0.27, 0.86, 0.66))
    for chosen, colour, name in ((same, "tab:green", "same label"), (~same, "tab:red", "different labels")):
        ax.scatter(jaccard[chosen], cosine[chosen], s=9, alpha=0.5, color=colour,
                   label=f"{name}: mean Jaccard {jaccard[chosen].mean():.3f}, mean cosine {cosine[chosen].mean():.2f}")
    correlation = float(np.corrcoef(jaccard, cosine)[0, 1]) if jaccard.std() > 0 and cosine.std() > 0 else 0.0
    ax.set_title(f"{len(pairs):,} pairs of training reviews: correlation {correlation:.2f}")
    ax.set_xlabel("Jaccard similarity of the two reviews' term sets")
    ax.set_ylabel("cosine of the reviews' mean vectors (exercise 7's trained embedding)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=8.5, ncols=1)
    low = np.flatnonzero(jaccard <= np.quantile(jaccard, 0.1))
    high = np.flatnonzero(jaccard >= np.quantile(jaccard, 0.9))
    lines = []
    for mark, (number, words) in zip("AB", ((low[np.argmax(cosine[low])], "few terms in common, close"),
                                           (high[np.argmin(cosine[high])], "many terms in common, far apart"))):
        ax.annotate(mark, (jaccard[number], cosine[number]), xytext=(6, 6), textcoords="offset points",
                    fontweight="bold")
        first, second = (reviews[int(i)] for i in pairs[number])
        shared = len(set(first) & set(second))
        lines += [f"{mark}: {words} (Jaccard {jaccard[number]:.2f}, cosine {cosine[number]:.2f}):",
                  f"   reviews of {len(first)} and {len(second)} terms, {shared} distinct terms in common"]
    figure.text(0.03, 0.03, "\n".join(lines), fontsize=8.5, family="monospace", va="bottom")
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", dpi=100)
    return True


# ------------------------------------------------------------------ trusted side
WHAT = "exercise 7's build_bigger_model(build_vocabulary(train))"


def verified(result: dict, questions: dict) -> tuple[list[str], np.ndarray]:
    """Exercise 7's trained embedding, as its judge verifies it (`Refused` with the reason)."""
    vocabularies = [entry for entry in (result.get("vocabulary"), result.get("lookup_vocabulary")) if entry]
    if not vocabularies:
        raise linear_mean.nothing_to_judge(result, WHAT, "vocabulary")
    return linear_mean.verified_embedding(result, questions, vocabularies, bigrams=True, dimension=DIMENSION,
                                          what=WHAT, unit="term")


def agreement(result: dict, questions: dict, data_dir: Path) -> neighbours.Agreement:
    terms, matrix = verified(result, questions)
    table = grading_data.terms(data_dir, "train")
    return neighbours.neighbour_agreement(terms, matrix, table, grading_data.load_train_labels(data_dir))


def calibrated_figures(result: dict, questions: dict, data_dir: Path) -> dict[str, float]:
    """neighbour_agreement: in the verified embedding, the share of the polar terms' 10 nearest terms (by
    cosine) whose polarity is theirs."""
    try:
        return {"neighbour_agreement": agreement(result, questions, data_dir).value}
    except ValueError as error:
        raise Refused(f"{WHAT}: {error}") from None


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray]:
    """The trained exercise-7 embedding's terms and vectors, as the grader verified them (or `Refused`)."""
    return verified(result, questions)


def figure_descriptions(result: dict) -> list[tuple[str, str]]:
    if not isinstance(result.get("pairs_plot"), str):
        return []
    return [(result["pairs_plot"], f"{len(result.get('pair_cosine', []))} pairs of training reviews: the Jaccard "
                                   "similarity of their terms against the cosine of their vectors in exercise 7's "
                                   "trained embedding, by your functions")]
