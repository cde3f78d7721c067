"""Skip-gram with negative sampling, judged by its computation (numpy only; exercise 12's trusted side).

The worker exports every trainable weight of the trained model, before and after training, and the
model's answers to (target, context) pairs drawn at grading time. The grader finds the two ``(V, D)``
embedding matrices by shape (either may be the target one; a model that shares one matrix is tried as
both), checks that ``sigmoid(E[target] . C[context])`` gives the model's answers, that training moved
``E``, and only then measures ``E``'s geometry on hand-made sets the training reviews support:

* ``probe_rank``: for each related pair (a, b) of `PROBE_PAIRS`, the fraction of the other terms among
  the `COMPARED` most frequent that are less similar (cosine) to a than b is, and the same from b to a;
  the mean over both directions and every pair. 0.5 is chance, 1.0 every partner the nearest term.
* ``group_order``: for every term a of a group of `GROUPS` (family, numbers, genres...), every other
  term b of its group and every term c of the other groups, whether a is more similar (cosine) to b than
  to c: the fraction of such triples. 0.5 is chance.

Analogies (man : woman :: actor : actress by ``woman - man + actor``) were measured too and left out:
at this budget the reference finds the answer among the 10 nearest terms for under 5% of them.

>>> vocabulary = ["good", "great", "bad", "film"]
>>> matrix = np.array([[1.0, 0.1], [0.9, 0.2], [-1.0, 0.0], [0.0, 1.0]])
>>> percentile(matrix, 0, 1)  # great is good's nearest of the 3 others
1.0
>>> [vocabulary[i] for i in nearest(matrix, matrix[2], 2, exclude=[2])]
['film', 'great']
>>> sigmoid_scores(np.eye(2), np.eye(2), np.array([0, 1]), np.array([[0, 1], [0, 1]])).round(3).tolist()
[[0.731, 0.5], [0.5, 0.731]]
"""

from __future__ import annotations

import numpy as np

from embedlab.grading.contract import Refused

VOCABULARY_SIZE = 10_000   # the grader's most frequent training terms
# Related terms are ranked among this many most frequent terms: the rows of rare terms barely move from
# their start, and frequent terms share a common direction early in training, so a ranking among all
# 10,000 would reward an untrained model too (measured: 0.918 at learning rate 0.0001, against 0.747 here).
COMPARED = 3_000
TOLERANCE = 1e-4           # |sigmoid(E[t] . C[c]) - the model's answer|, float32 arithmetic
MOVED = 1e-4               # the least change of E in training that counts as trained

# Related pairs (synonyms, siblings, a relation the reviews discuss), chosen among the 10,000 terms
# and measured on the reference (docs/calibration.md).
PROBE_PAIRS = (
    ("bad", "awful"), ("terrible", "horrible"), ("boring", "dull"), ("stupid", "dumb"),
    ("funny", "hilarious"), ("excellent", "superb"), ("beautiful", "gorgeous"), ("movie", "film"),
    ("actor", "actress"), ("script", "dialogue"), ("plot", "storyline"), ("cast", "performances"),
    ("director", "directed"), ("music", "soundtrack"), ("horror", "slasher"), ("book", "novel"),
    ("episode", "season"), ("war", "soldiers"), ("minutes", "hours"), ("father", "mother"),
    ("brother", "sister"), ("boy", "girl"), ("husband", "wife"), ("dog", "cat"),
    ("japanese", "chinese"), ("german", "french"),
)
# Groups of terms that share their company in the reviews: each term should be nearer its own group.
GROUPS = {
    "family": ("father", "mother", "brother", "sister", "son", "daughter", "wife", "husband", "uncle", "aunt"),
    "numbers": ("two", "three", "four", "five", "six", "seven", "eight", "ten"),
    "nations": ("german", "french", "italian", "japanese", "british", "american", "chinese", "russian"),
    "genres": ("horror", "comedy", "drama", "thriller", "western", "documentary", "musical"),
    "time": ("minutes", "hours", "days", "weeks", "months", "years"),
    "awful": ("awful", "terrible", "horrible", "dreadful", "lousy", "atrocious"),
    "music": ("music", "soundtrack", "songs", "score", "singing"),
    "colours": ("red", "black", "white", "blue", "green", "yellow"),
    "body": ("eyes", "face", "hands", "head", "hair"),
    "places": ("city", "town", "village", "country"),
    "animals": ("dog", "cat", "horse", "animals", "bird"),
}


def vocabulary(table, size: int = VOCABULARY_SIZE) -> list[str]:
    """The `size` most frequent terms of a `TermTable`, by (-count, term)."""
    totals = table.totals()
    order = sorted(range(len(totals)), key=lambda i: (-int(totals[i]), table.terms[i]))
    return [table.terms[i] for i in order[:size]]


def unit(matrix) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


def percentile(matrix, a: int, b: int, among: int | None = None) -> float:
    """The fraction of the terms other than a and b (of the first `among` rows: all by default) that are
    less cosine-similar to a than b is."""
    vectors = unit(matrix)
    similarities = vectors[:among] @ vectors[a]
    others = np.ones(len(similarities), dtype=bool)
    others[[row for row in (a, b) if row < len(similarities)]] = False
    return float((similarities[others] < vectors[b] @ vectors[a]).mean())


def nearest(matrix, query, k: int, exclude=()) -> np.ndarray:
    """The rows of the `k` terms most cosine-similar to `query`, nearest first, `exclude` left out."""
    similarities = unit(matrix) @ unit(query)
    similarities[list(exclude)] = -np.inf
    return np.argsort(-similarities, kind="stable")[:k]


def sigmoid_scores(target_matrix, context_matrix, targets, contexts) -> np.ndarray:
    """``sigmoid(E[target] . C[context])`` for each target and each of its row of contexts."""
    scores = np.einsum("nd,nkd->nk", np.asarray(target_matrix)[targets], np.asarray(context_matrix)[contexts])
    return 1.0 / (1.0 + np.exp(-scores))


def probe_rank(matrix, terms) -> float:
    index = {term: i for i, term in enumerate(terms)}
    values = [percentile(matrix, index[x], index[y], COMPARED) for a, b in PROBE_PAIRS for x, y in ((a, b), (b, a))]
    return float(np.mean(values))


def group_order(matrix, terms) -> float:
    index = {term: i for i, term in enumerate(terms)}
    rows = [index[term] for group in GROUPS.values() for term in group]
    labels = np.array([name for name, group in GROUPS.items() for _ in group])
    similarities = unit(matrix[rows]) @ unit(matrix[rows]).T
    right, total = 0, 0
    for a in range(len(rows)):
        same = np.flatnonzero((labels == labels[a]) & (np.arange(len(rows)) != a))
        other = similarities[a, labels != labels[a]]
        right += int((similarities[a, same][:, None] > other[None, :]).sum())
        total += len(same) * len(other)
    return right / total


def verified(result: dict, questions: dict) -> tuple[int, int, float]:
    """(target weight's index, context weight's index, largest error): the two exported matrices whose
    ``sigmoid(E[t] . C[c])`` gives the model's answers; raises `Refused` naming what does not fit."""
    weights, answers = result.get("weights"), result.get("answers")
    terms = questions.get("vocabulary") or []
    if not weights or answers is None:
        raise Refused("the trained model exported no weights or no answers to the grader's pairs "
                      "(build_word2vec or the training failed; see the other messages)")
    answers = np.asarray(answers, dtype=np.float64)
    targets = np.asarray(questions["pair_targets"], dtype=np.int64)
    contexts = np.asarray(questions["pair_contexts"], dtype=np.int64)
    if answers.shape != contexts.shape:
        raise Refused(f"the model answered the grader's {contexts.shape[0]} (target, contexts) rows with shape "
                      f"{answers.shape}; expected {contexts.shape}, one probability per context")
    found = [(i, weight) for i, weight in enumerate(weights) if weight.ndim == 2 and weight.shape[0] == len(terms)]
    if not found:
        shapes = [tuple(weight.shape) for weight in weights]
        raise Refused(f"no trainable weight of shape ({len(terms)}, D) among the model's {shapes}: "
                      "two Embedding(vocabulary_size, dimension) layers are expected")
    best = None
    for i, first in found:
        for j, second in found:
            if first.shape != second.shape or (i == j and len(found) > 1):
                continue
            error = float(np.max(np.abs(sigmoid_scores(first, second, targets, contexts) - answers)))
            if best is None or error < best[2]:
                best = (i, j, error)
    if best is None or best[2] > TOLERANCE:
        shown = "no two matrices of the same shape" if best is None else f"at best {best[2]:.3g} away"
        raise Refused(f"the model's answers are not sigmoid(E[target] . C[context]) of its embedding matrices "
                      f"({shown}): no bias, no other layer, the target's vector dotted with each context's")
    return best


def target_embedding(result: dict, questions: dict) -> np.ndarray:
    """The verified, trained target matrix E (raises `Refused`)."""
    i, _, _ = verified(result, questions)
    trained = np.asarray(result["weights"][i], dtype=np.float64)
    before = result.get("weights_untrained") or []
    if i < len(before) and np.shape(before[i]) == trained.shape:
        moved = float(np.max(np.abs(trained - np.asarray(before[i]))))
        if moved < MOVED:
            raise Refused(f"training barely moved the target embedding (largest change {moved:.2g}): check "
                          "that both Embedding layers are trainable and the optimizer is Adam(learning_rate=0.01)")
    return trained


def figures(result: dict, questions: dict) -> dict[str, float]:
    terms = list(questions["vocabulary"])
    matrix = target_embedding(result, questions)
    return {"probe_rank": probe_rank(matrix, terms), "group_order": group_order(matrix, terms)}


def projection(matrix) -> np.ndarray:
    """The rows of `matrix` on their first two principal axes (numpy SVD), for a plot."""
    centred = np.asarray(matrix, dtype=np.float64) - np.mean(matrix, axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:2].T
