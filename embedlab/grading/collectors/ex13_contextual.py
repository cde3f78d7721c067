"""Exercise 13's collector: a self-attention model over the grader's vocabulary, trained with the grader's budget,
exported, and judged by its computation (`embedlab.grading.attention`, the numpy forward pass).

Questions (trusted): the vocabulary (the `MAX_TERMS` most frequent training terms, by (-count, term)), training
reviews, synthetic ones (empty, out-of-vocabulary terms, longer than `MAX_LENGTH`), pairs of reviews with one
term at the same position in two contexts, and reviews with their terms reordered. The worker trains the model
and exports its weights, its answers to the question reviews and the student's `contextual_vectors` of the
context pairs (judged against the grader's own). The grader finds the weights by shape, checks that its forward
pass gives the model's answers, then computes the test reviews' probabilities and every figure the tests read.

>>> ranked = ranked_terms(TermTable.from_reviews([["b", "a", "a"], ["c", "b", "a"]]))
>>> ranked
['a', 'b', 'c']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.grading import attention, linear_mean, models, schema
from embedlab.grading import data as grading_data
from embedlab.grading.contract import Collection, Refused
from embedlab.grading.terms import TermTable

MAX_TERMS = 10_000   # the vocabulary the grader hands to build_contextual_model
MAX_LENGTH = 200     # build_contextual_model's defaults
DIMENSION = 16
HEADS = 2
TOLERANCE = 1e-4     # on probabilities: the float32 model against the grader's float64 forward pass
MOVED = 1e-3         # ||E - E0|| / ||E0|| below this: the token embedding did not learn
TRAINING_REVIEWS = 200
CONTEXT_PAIRS = 24
REORDERED = 24
OOV_TERMS = ["zzqxv", "qqxzv", "xqzzy"]
LESSON = {"not_bad": ["not", "bad"], "bad_acting": ["bad", "acting"], "bad": ["bad"]}
WHAT = "build_contextual_model(vocabulary)"

RETURNS = {**linear_mean.RETURNS, "contextual_vectors": schema.ARRAY_LIST}


def ranked_terms(table: TermTable) -> list[str]:
    """The split's terms, most frequent first, ties broken by the term."""
    totals = table.totals()
    return [table.terms[i] for i in sorted(range(len(totals)), key=lambda i: (-int(totals[i]), table.terms[i]))]


# ------------------------------------------------------------------ questions (trusted, before the worker)
def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    table = grading_data.terms(data_dir, "train")
    vocabulary = ranked_terms(table)[:MAX_TERMS]
    picked = rng.choice(len(table), size=min(TRAINING_REVIEWS, len(table)), replace=False)
    reviews = table.reviews(sorted(int(number) for number in picked))
    frequent = vocabulary[:500]

    def some(size: int) -> list[str]:
        return [frequent[int(i)] for i in rng.integers(0, len(frequent), size=size)]

    reviews += [[], [OOV_TERMS[0]], list(OOV_TERMS), some(MAX_LENGTH + 37), [frequent[0]] * (MAX_LENGTH + 5)]
    contexts = []  # [first review, second review, position]: one term at one position in two contexts
    for _ in range(CONTEXT_PAIRS):
        position, after = int(rng.integers(0, 4)), int(rng.integers(1, 4))
        term = frequent[int(rng.integers(0, len(frequent)))]
        first = some(position) + [term] + some(after)
        second = some(position) + [term] + some(after)
        if first != second:
            contexts.append([len(reviews), len(reviews) + 1, position])
            reviews += [first, second]
    reorders = []  # [review, the same terms in another order]
    for _ in range(REORDERED):
        review = some(int(rng.integers(3, 30)))
        shuffled = [review[int(i)] for i in rng.permutation(len(review))]
        if shuffled != review:
            reorders.append([len(reviews), len(reviews) + 1])
            reviews += [review, shuffled]
    lesson = {}
    for name, review in LESSON.items():
        lesson[name] = len(reviews)
        reviews.append(list(review))
    return {"vocabulary": vocabulary, "reviews": reviews, "contexts": contexts, "reorders": reorders,
            "lesson": lesson}


# ------------------------------------------------------------------ worker side
def collect(collection: Collection) -> None:
    if not collection.load():
        return
    vocabulary = list(collection.questions.get("vocabulary") or [])
    model = models.build(collection, "build_contextual_model", vocabulary)
    if model is None:
        return
    linear_mean.train_and_export(collection, model)
    if "weights" not in collection.result:
        return
    vectors = collection.function("contextual_vectors")
    if vectors is None:
        return
    reviews = collection.questions.get("reviews") or []
    asked = [index for pair in collection.questions.get("contexts") or [] for index in pair[:2]]

    def every_vector():
        return [np.asarray(vectors(model, list(reviews[index])), dtype=np.float64) for index in asked]

    collection.result["contextual_vectors"] = collection.step("contextual_vectors", every_vector)


# ------------------------------------------------------------------ trusted side
VERIFIED: dict[int, tuple[dict, attention.Contextual]] = {}  # the judged results of this process, by identity


def judge(result: dict, questions: dict) -> attention.Contextual:
    """The verified forward pass of the trained model, or `Refused` with the reason (cached in `result`)."""
    cached = VERIFIED.get(id(result))
    if cached is not None and cached[0] is result:
        return cached[1]
    weights, answers, reviews = result.get("weights"), result.get("answers"), questions.get("reviews")
    if weights is None or answers is None or not reviews:
        raise linear_mean.nothing_to_judge(result, WHAT, "weights" if weights is None else "answers")
    answers = np.asarray(answers, dtype=np.float64)
    if answers.shape != (len(reviews),):
        raise Refused(f"{WHAT}: {answers.shape} answers for {len(reviews)} question reviews")
    if not np.all(np.isfinite(answers)):
        bad = [i for i, value in enumerate(answers) if not np.isfinite(value)]
        raise Refused(f"{WHAT}: the trained model outputs NaN or infinity for {len(bad)} of {len(reviews)} reviews"
                      + (" (an empty review among them: divide the sum by max(count, 1))"
                         if any(not reviews[i] for i in bad) else ""))
    vocabularies = []
    for entry in (result.get("lookup_vocabulary"), questions.get("vocabulary")):
        if entry and list(entry) not in vocabularies:
            vocabularies.append(list(entry))
    names = result.get("weight_names") or []
    tried = []  # (error, candidate)
    for vocabulary in vocabularies:
        for candidate in attention.find(weights, names, vocabulary, MAX_LENGTH):
            error = float(np.max(np.abs(candidate.probabilities(reviews) - answers)))
            tried.append((error, candidate))
            if error <= TOLERANCE:
                check_structure(result, weights, candidate)
                VERIFIED[id(result)] = (result, candidate)
                return candidate
    raise Refused(f"{WHAT}: " + diagnose(result, weights, answers, reviews, tried))


def check_structure(result: dict, weights: list, model: attention.Contextual) -> None:
    shapes = (model.token.shape[1], model.query.shape[1], model.max_length if model.positions is not None else None)
    if shapes[0] != DIMENSION or shapes[1] != HEADS or shapes[2] not in (MAX_LENGTH, None):
        raise Refused(f"{WHAT}: dimension {shapes[0]}, {shapes[1]} heads, {shapes[2]} positions; the exercise asks "
                      f"for the defaults dimension={DIMENSION}, heads={HEADS}, max_length={MAX_LENGTH}.")
    untrained = result.get("weights_untrained") or []
    index = next((i for i, weight in enumerate(weights) if np.shape(weight) == model.token.shape), None)
    start = np.asarray(untrained[index], dtype=np.float64) if index is not None and index < len(untrained) else None
    if start is None or start.shape != model.token.shape:
        raise Refused(f"{WHAT}: no untrained copy of the token embedding {model.token.shape} to tell whether "
                      "training moved it")
    moved = float(np.linalg.norm(model.token - start) / max(np.linalg.norm(start), 1e-12))
    if moved < MOVED:
        raise Refused(f"{WHAT}: training did not move the token embedding (relative change {moved:.2g}): check "
                      "that it is trainable and that the learning rate is not 0.")


MISTAKES = {
    "no residual connection (LayerNormalization of the attention's output alone)": {"residual": False},
    "no attention mask (positions attend to the padding)": {"attend_padding": True},
    "a mean over every position, padding included": {"mean_padding": True},
    "no mask at all (attention and mean over the padding)": {"attend_padding": True, "mean_padding": True},
}


def diagnose(result: dict, weights: list, answers: np.ndarray, reviews: list, tried: list) -> str:
    shapes = ", ".join(f"{name} {tuple(np.shape(weight))}" for name, weight in
                       zip(result.get("weight_names") or ["?"] * len(weights), weights))
    if not tried:
        return ("no token embedding (V + 2, D), position embedding (max_length, D), attention kernels (D, H, K) "
                f"and (H, K, D), layer normalization (D,) and Dense kernel (D, 1) among the trainable weights "
                f"({shapes}). Reread 'What to build' and 'Shapes'.")
    import dataclasses

    closest = sorted(tried, key=lambda entry: entry[0])[:4]  # the mistakes are tried on the closest readings
    for mistake, change in MISTAKES.items():
        for _, candidate in closest:
            guess = dataclasses.replace(candidate, **change).probabilities(reviews, one_batch=True)
            if np.max(np.abs(guess - answers)) <= TOLERANCE:
                return (f"{mistake} gives your model's answers (within {TOLERANCE:g}); the exercise asks for the "
                        "block of 'What to build' (token + position embeddings, masked self-attention, residual, "
                        "LayerNormalization, masked mean).")
    return (f"the grader's forward pass with your exported weights differs from your model's answers by up to "
            f"{closest[0][0]:.3g} (tolerance {TOLERANCE:g}) and none of the usual mistakes (no residual, no mask, "
            f"padding in the mean) matches. Trainable weights: {shapes}.")


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    """The test probabilities of the exported model, once its exports reproduce its answers."""
    return judge(result, questions).table_probabilities(grading_data.terms(data_dir, "test"))


def context_report(result: dict, questions: dict) -> list[dict]:
    """Per context pair: the term, both reviews, the cosine of its two contextual and two static vectors."""
    model = judge(result, questions)
    reviews, report = questions["reviews"], []
    for first, second, position in questions.get("contexts") or []:
        one, two = model.vectors(reviews[first])[position], model.vectors(reviews[second])[position]
        static = model.static(reviews[first])[position], model.static(reviews[second])[position]
        report.append({"term": reviews[first][position], "first": reviews[first], "second": reviews[second],
                       "position": position, "contextual": cosine(one, two), "static": cosine(*static),
                       "distance": float(np.linalg.norm(one - two) / max(np.linalg.norm(one), 1e-12))})
    return report


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray] | None:
    """The static vectors (token embedding rows) of the vocabulary, as the grader verified them."""
    try:
        model = judge(result, questions)
    except Refused:
        return None
    return list(model.vocabulary), model.token[model.offset:]
