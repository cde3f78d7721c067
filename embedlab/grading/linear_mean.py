"""fastText judged by its computation: a review's logit is the mean over its in-vocabulary n-grams of a
per-entry score ``s = E[entry] . w``, plus ``b`` (an empty review: ``b``).

Worker side (`train_and_export`, after `models.build` exported the untrained weights): the vocabulary of
the model's lookup layer, then `models.train` (the grader's budget; the trained weights as plain arrays and
the model's answers on the grading-time question reviews, `questions`). Parent side (`judge`): find the embedding
``E`` (``(V, d)``, or ``(V + k, d)`` with ``k`` special rows first), the kernel ``w`` ``(d, 1)`` and the
bias ``b`` ``(1,)`` by shape, check that the mean of the scores reproduces the model's own answers
(`TOLERANCE`), check the structure (trainable, the dimension asked, moved by training), and return the
`FastText` the grader then applies to the test reviews. When the answers differ, the usual mistakes are
tried as hypotheses and the one that matches is named.

>>> model = FastText(["great", "bad", "great film"], np.array([2.0, -2.0, 4.0]), 0.5, bigrams=True)
>>> [round(float(value), 4) for value in model.probabilities(TermTable.from_reviews([["great", "film"], []]))]
[0.9707, 0.6225]
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import models, schema
from embedlab.grading.contract import Collection, Refused
from embedlab.grading.terms import SEPARATOR, TermTable

TOLERANCE = 1e-4        # on probabilities: the float32 model against the grader's float64 mean
MOVED = 1e-3            # ||E - E0|| / ||E0|| below this: the embedding did not learn
SAMPLED_REVIEWS = 200   # training reviews put to the model
OOV_TERMS = ["zzqxv", "qqxzv", "xqzzy"]

RETURNS = {**models.RETURNS, "lookup_vocabulary": schema.STRINGS}


# ------------------------------------------------------------------ questions (trusted, before the worker)
def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """Training reviews sampled with `rng`, and synthetic ones: frequent terms, OOV terms, repeats, empties."""
    table = grading_data.terms(data_dir, "train")
    sampled = rng.choice(len(table), size=min(SAMPLED_REVIEWS, len(table)), replace=False)
    reviews = table.reviews(sorted(int(number) for number in sampled))
    frequent = [table.terms[i] for i in np.argsort(-table.totals())[:500]]
    known = table.index()
    oov = [term for term in OOV_TERMS if term not in known]
    synthetic: list[list[str]] = [[], [], [oov[0]], list(oov), [frequent[0]] * 3]
    for _ in range(60):
        review = [frequent[int(i)] for i in rng.integers(0, len(frequent), size=int(rng.integers(1, 40)))]
        for _ in range(int(rng.integers(0, 4))):
            review.insert(int(rng.integers(0, len(review) + 1)), oov[int(rng.integers(0, len(oov)))])
        synthetic.append(review)
    order = rng.permutation(len(reviews) + len(synthetic))
    everything = reviews + synthetic
    return {"reviews": [everything[int(i)] for i in order]}


# ------------------------------------------------------------------ worker side
def lookup_vocabulary(model) -> tuple[list[str], int] | None:
    """The vocabulary of the model's StringLookup / TextVectorization layer (without its special entries)
    and how many special entries come first; None if the model has no such layer."""
    import keras

    pending = list(model.layers)
    while pending:
        layer = pending.pop(0)
        if isinstance(layer, (keras.layers.StringLookup, keras.layers.TextVectorization)):
            full = [str(entry) for entry in layer.get_vocabulary()]
            plain = [str(entry) for entry in layer.get_vocabulary(include_special_tokens=False)]
            return plain, len(full) - len(plain)
        pending.extend(getattr(layer, "layers", []) or [])
    return None


def train_and_export(collection: Collection, model) -> None:
    """The vocabulary of the model's lookup layer, then `models.train`: trained weights and answers.

    (`models.build` exported the untrained weights.)
    """
    found = collection.step("lookup_vocabulary", lookup_vocabulary, model)
    if found is not None:
        collection.result["lookup_vocabulary"] = found[0]
    models.train(collection, model)


# ------------------------------------------------------------------ parent side
@dataclasses.dataclass
class FastText:
    """The computation the exercise specifies, with the exported numbers in it."""

    vocabulary: list[str]
    scores: np.ndarray   # E[entry] . w, one per vocabulary entry
    bias: float
    bigrams: bool

    def probabilities(self, table: TermTable) -> np.ndarray:
        logits = table.mean_of(self.vocabulary, self.scores, empty=0.0, bigrams=self.bigrams) + self.bias
        return 1.0 / (1.0 + np.exp(-logits))


def judge(result: dict, questions: dict, vocabularies: list[list[str]], bigrams: bool, dimension: int,
          what: str, unit: str = "n-gram") -> FastText:
    """The verified fastText computation of a trained model, or `Refused` with the reason.

    With `bigrams`, a vocabulary's "first second" entries count the review's adjacent pairs; a vocabulary of
    single terms gives the same numbers either way. `unit` names the entries in messages.
    """
    return verified(result, questions, vocabularies, bigrams, dimension, what, unit)[0]


def verified_embedding(result: dict, questions: dict, vocabularies: list[list[str]], bigrams: bool,
                       dimension: int, what: str, unit: str = "n-gram") -> tuple[list[str], np.ndarray]:
    """The entries and their vectors (special rows dropped) of the embedding `judge` verified, or `Refused`."""
    _, matrix, offset, vocabulary = verified(result, questions, vocabularies, bigrams, dimension, what, unit)
    return list(vocabulary), matrix[offset:]


def verified(result: dict, questions: dict, vocabularies: list[list[str]], bigrams: bool, dimension: int,
             what: str, unit: str) -> tuple[FastText, np.ndarray, int, list[str]]:
    """(the FastText computation, its embedding matrix, its special rows, its vocabulary), or `Refused`."""
    weights, answers = result.get("weights"), result.get("answers")
    reviews = questions.get("reviews")
    if weights is None or answers is None or not reviews:
        raise nothing_to_judge(result, what, "weights" if weights is None else "answers" if answers is None
                               else "questions")
    weights = [np.asarray(weight, dtype=np.float64) for weight in weights]
    answers = np.asarray(answers, dtype=np.float64)
    if answers.shape != (len(reviews),):
        raise Refused(f"{what}: {answers.shape} answers for {len(reviews)} question reviews")
    if not np.all(np.isfinite(answers)):
        bad = [i for i, value in enumerate(answers) if not np.isfinite(value)]
        empty = [i for i in bad if not reviews[i]]
        raise Refused(f"{what}: the trained model outputs NaN or infinity for {len(bad)} of {len(reviews)} reviews"
                      + (" (an empty review among them: a mean that divides 0 by 0? Divide by max(count, 1))"
                         if empty else ""))
    table = TermTable.from_reviews(reviews)
    best = None
    for vocabulary in vocabularies:
        for candidate in fasttext_candidates(weights, vocabulary, bigrams):
            error = float(np.max(np.abs(candidate[0].probabilities(table) - answers)))
            if best is None or error < best[0]:
                best = (error, *candidate, vocabulary)
    if best is not None and best[0] <= TOLERANCE:
        error, model, index, offset, vocabulary = best
        check_structure(result, weights[index], index, dimension, what)
        return model, weights[index], offset, vocabulary
    raise Refused(f"{what}: " + diagnose(result, weights, answers, reviews, vocabularies, bigrams, best, unit))


def nothing_to_judge(result: dict, what: str, missing: str) -> Refused:
    """The refusal for a model that exported nothing to judge, naming the steps that failed."""
    errors = result.get("errors") or {}
    not_done = [error for error in errors.values() if error.startswith("NotImplementedError")]
    if not_done:
        where = not_done[0].partition(" (at ")[2].rstrip(")")
        return Refused(f"{what}: not done yet ({where or 'a function'} raises NotImplementedError). Start with the "
                       "module docstring ('What to build').")
    reason = "; ".join(f"{step}: {error}" for step, error in list(errors.items())[:3]) or "it did not run"
    return Refused(f"{what}: no trained model to judge (no {missing}: {reason})")


def fasttext_candidates(weights: list[np.ndarray], vocabulary: list[str], bigrams: bool):
    """(FastText, embedding index, special rows) for each shape-consistent choice of E, w and b."""
    size = len(vocabulary)
    biases = [i for i, weight in enumerate(weights) if weight.shape == (1,)] or [None]
    for index, matrix in enumerate(weights):
        if matrix.ndim != 2 or not 0 <= matrix.shape[0] - size <= 2:
            continue
        offset = matrix.shape[0] - size
        for kernel in (i for i, weight in enumerate(weights) if i != index and weight.shape == (matrix.shape[1], 1)):
            scores = matrix[offset:] @ weights[kernel][:, 0]
            for bias in biases:
                value = 0.0 if bias is None else float(weights[bias][0])
                yield FastText(list(vocabulary), scores, value, bigrams), index, offset


def check_structure(result: dict, matrix: np.ndarray, index: int, dimension: int, what: str) -> None:
    """The embedding has the dimension asked for and moved during the grader's training."""
    if matrix.shape[1] != dimension:
        raise Refused(f"{what}: the embedding has {matrix.shape[1]} dimensions (shape {matrix.shape}); the "
                      f"exercise asks for {dimension} (the builder's default dimension={dimension}).")
    untrained = result.get("weights_untrained") or []
    start = np.asarray(untrained[index], dtype=np.float64) if index < len(untrained) else None
    if start is None or start.shape != matrix.shape:
        raise Refused(f"{what}: no untrained copy of the embedding {matrix.shape} to tell whether training moved it")
    moved = float(np.linalg.norm(matrix - start) / max(np.linalg.norm(start), 1e-12))
    if moved < MOVED:
        raise Refused(f"{what}: training did not move the embedding (relative change {moved:.2g}, below {MOVED:g}): "
                      "its vectors stay where they were initialized. Check that its weight is trainable and that "
                      "the optimizer's learning rate is not 0.")


def diagnose(result, weights, answers, reviews, vocabularies, bigrams, best, unit) -> str:
    """Why the exported weights do not give the model's answers: the usual mistakes, tried one by one."""
    shapes = ", ".join(f"{name} {tuple(weight.shape)}" for name, weight in
                       zip(result.get("weight_names") or ["?"] * len(weights), weights))
    frozen = [np.shape(weight) for weight in result.get("frozen_weights") or []]
    frozen = [shape for shape in frozen if len(shape) == 2
              and any(0 <= shape[0] - len(vocabulary) <= 2 for vocabulary in vocabularies)]
    if frozen:
        return (f"the embedding {tuple(frozen[0])} is frozen (among the non-trainable weights), so training "
                f"cannot learn the {unit} vectors. Leave it trainable=True.")
    vocabulary = vocabularies[0] if vocabularies else []
    lead = f"not a mean of {unit} vectors into one sigmoid unit: "
    for name, predictions in hypotheses(weights, reviews, vocabulary, bigrams):
        if np.max(np.abs(predictions - answers)) <= TOLERANCE:
            return (f"{lead}{name} gives your model's answers (within {TOLERANCE:g}). The exercise asks for the "
                    f"mean of the review's in-vocabulary {unit} vectors (an embedding), straight into "
                    f"Dense(1, sigmoid). Trainable weights: {shapes}.")
    if best is None:
        return (f"{lead}no trainable embedding of shape ({len(vocabulary)}, d) and Dense kernel (d, 1) among "
                f"the trainable weights ({shapes}). Reread 'What to build' and 'Shapes'.")
    return (f"{lead}the mean of the exported {unit} vectors into the exported Dense(1, sigmoid) differs from "
            f"your model's answers by up to {best[0]:.3g} (tolerance {TOLERANCE:g}); none of the usual mistakes "
            "(OOV terms counted in the mean, a sum instead of a mean, 0/1 instead of counts, a linear model on "
            f"counts) matches. Trainable weights: {shapes}.")


def grams(review: list[str], bigrams: bool) -> list[str]:
    pairs = [first + SEPARATOR + second for first, second in zip(review, review[1:])] if bigrams else []
    return list(review) + pairs


def hypotheses(weights, reviews, vocabulary, bigrams):
    """(description, probabilities on the reviews) for each usual mistake the exports allow."""
    index = {entry: i for i, entry in enumerate(vocabulary)}
    size = len(vocabulary)
    bigrams = bigrams and any(SEPARATOR in entry for entry in vocabulary)  # no pairs to count: none made
    found = [[index.get(gram, -1) for gram in grams(review, bigrams)] for review in reviews]
    biases = [float(weight[0]) for weight in weights if weight.shape == (1,)] or [0.0]

    def sigmoid(logits):
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))

    for kernel in (weight for weight in weights if weight.ndim == 2 and weight.shape[1] == 1
                   and 0 <= weight.shape[0] - size <= 2):
        offset = kernel.shape[0] - size
        for bias in biases:
            logits = [sum(kernel[offset + i, 0] for i in ids if i >= 0) + bias for ids in found]
            yield "a logistic regression on the counts (no embedding)", sigmoid(logits)
            if offset:
                logits = [value + kernel[offset - 1, 0] * sum(1 for i in ids if i < 0)
                          for value, ids in zip(logits, found)]
                yield "a logistic regression on the counts, OOV column included (no embedding)", sigmoid(logits)
    for matrix in (weight for weight in weights if weight.ndim == 2 and 0 <= weight.shape[0] - size <= 2):
        offset = matrix.shape[0] - size
        for kernel in (weight for weight in weights if weight.shape == (matrix.shape[1], 1)):
            scores = matrix @ kernel[:, 0]
            for bias in biases:
                known = [[scores[offset + i] for i in ids if i >= 0] for ids in found]
                yield "a sum of the term vectors instead of their mean", sigmoid([sum(s) + bias for s in known])
                distinct = [sorted({i for i in ids if i >= 0}) for ids in found]
                yield ("the mean over distinct terms (0/1 instead of counts)", sigmoid(
                    [np.mean([scores[offset + i] for i in ids]) + bias if ids else bias for ids in distinct]))
                if offset:
                    oov = [[scores[offset + i] if i >= 0 else scores[offset - 1] for i in ids] for ids in found]
                    yield ("a mean that counts the out-of-vocabulary terms (their row in the mean)",
                           sigmoid([np.mean(s) + bias if s else bias for s in oov]))

