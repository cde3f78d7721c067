"""Exercise 9's collector: the submission's colliding_terms on term lists drawn at grading time, its hashed
model built at a bucket count drawn at grading time (untrained: its weights' shapes and its answers), and
the graded model at 20,000 buckets, trained with the grader's budget and judged by its computation.

Every bucket here is the grader's own (`embedlab.grading.hashing`, FarmHash's Fingerprint64 in Python,
checked against TensorFlow in tests/test_hashing.py): the questions' pairs of terms that collide are found
in the trusted process, mixed among pairs that do not, and the worker is told neither which is which nor
any expected answer.

The judge (`test_predictions`): a review's logit is the sum, over every one of its terms (each occurrence),
of the kernel's row at the term's bucket, plus the bias. That is checked against the model's answers on
the question reviews, then computed for the 25,000 test reviews.

>>> model = HashedLinear(np.array([1.0, -1.0, 0.5]), -0.25)
>>> table = TermTable.from_reviews([["great", "great"], []])
>>> [round(float(value), 4) for value in model.logits(table)] == [
...     round(2 * [1.0, -1.0, 0.5][hashing.bucket("great", 3)] - 0.25, 4), -0.25]
True
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import hashing, linear_mean, models, schema, training
from embedlab.grading.contract import Collection, Refused
from embedlab.grading.terms import TermTable

NUM_BINS = 20_000           # the bucket count of the graded model (build_hashed_model's default)
SIZED_RANGE = (2_000, 60_000)  # the bucket count drawn at grading time for the second, untrained model
PAIRS = 8                   # colliding pairs per bucket count, and as many pairs that do not collide
TOLERANCE = linear_mean.TOLERANCE
WHAT = f"build_hashed_model({NUM_BINS})"
# The comparison printed for the student: exercise 7's fastText over its 20,000-term vocabulary, the
# mean of its calibration runs (docs/calibration.md).
VOCABULARY_MODEL = {"accuracy": 0.8860, "auc": 0.9532}

RETURNS = {**models.RETURNS, "sized_weights_untrained": schema.ARRAY_LIST, "sized_answers": schema.PLAIN,
           "colliding_terms": schema.PLAIN, "colliding_terms_zero_bins": schema.PLAIN}


# ------------------------------------------------------------------ questions (trusted, before the worker)
def train_fingerprints(data_dir: Path) -> tuple[TermTable, np.ndarray]:
    table = grading_data.terms(data_dir, "train")
    return table, _cached_fingerprints(table)


_FINGERPRINTS: dict[int, np.ndarray] = {}


def _cached_fingerprints(table: TermTable) -> np.ndarray:
    """Every distinct term's fingerprint, hashed once per table and process (about 0.6 s for 80,000 terms)."""
    if id(table) not in _FINGERPRINTS:
        _FINGERPRINTS[id(table)] = hashing.fingerprints(table.terms)
    return _FINGERPRINTS[id(table)]


def term_pairs(rng: np.random.Generator, terms: tuple[str, ...], fingerprints: np.ndarray,
               num_bins: int) -> list[list[str]]:
    """`PAIRS` pairs of training terms that share a bucket at `num_bins` and `PAIRS` that do not, shuffled."""
    buckets = hashing.buckets_of(fingerprints, num_bins)
    sizes = np.bincount(buckets, minlength=num_bins)
    crowded = rng.choice(np.flatnonzero(sizes > 1), size=PAIRS, replace=False)
    pairs = []
    for number in crowded:
        first, second = rng.choice(np.flatnonzero(buckets == number), size=2, replace=False)
        pairs.append([terms[int(first)], terms[int(second)]])
    while len(pairs) < 2 * PAIRS:
        first, second = (int(i) for i in rng.choice(len(terms), size=2, replace=False))
        if buckets[first] != buckets[second]:
            pairs.append([terms[first], terms[second]])
    return [pairs[int(i)] for i in rng.permutation(len(pairs))]


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """The model questions (training and synthetic reviews, probes, a loss probe), pairs of single-term
    reviews at 20,000 buckets among them, a drawn bucket count with its own pairs, and term lists."""
    drawn = models.questions(rng, data_dir, batch_size=25)
    table, fingerprints = train_fingerprints(data_dir)
    reviews = drawn["reviews"]
    pairs = []
    for first, second in term_pairs(rng, table.terms, fingerprints, NUM_BINS):
        pairs.append([len(reviews), len(reviews) + 1])
        reviews += [[first], [second]]
    sized_bins = int(rng.integers(*SIZED_RANGE))
    sized_reviews = [[term] for pair in term_pairs(rng, table.terms, fingerprints, sized_bins) for term in pair]
    frequent = np.argsort(-table.totals(), kind="stable")[:5000]
    listed = [table.terms[int(i)] for i in rng.choice(frequent, size=400, replace=False)]
    odd = ["".join(chr(int(code)) for code in rng.integers(0x400, 0x4FF, size=int(rng.integers(1, 80))))
           for _ in range(20)]
    term_lists = [
        {"terms": listed, "num_bins": int(rng.integers(500, 3000))},
        {"terms": listed[:60] + listed[:10] + odd, "num_bins": int(rng.integers(20, 60))},
        {"terms": [listed[0]] * 3, "num_bins": 1},
        {"terms": [], "num_bins": int(rng.integers(2, 100))},
    ]
    return {**drawn, "reviews": reviews, "pairs": pairs, "sized_bins": sized_bins,
            "sized_reviews": sized_reviews, "term_lists": [term_lists[int(i)] for i in rng.permutation(4)]}


# ------------------------------------------------------------------ worker side
def collect(collection: Collection) -> None:
    if not collection.load():
        return
    colliding = collection.function("colliding_terms")
    if colliding is not None:
        answers = []
        for number, asked in enumerate(collection.questions.get("term_lists") or []):
            found = collection.step(f"colliding_terms(list {number + 1})", colliding, list(asked["terms"]),
                                    int(asked["num_bins"]))
            answers.append(plain_terms(found))
        collection.result["colliding_terms"] = answers
        collection.result["colliding_terms_zero_bins"] = collection.step(
            "colliding_terms(num_bins=0)", models.raised_by, colliding, ["great", "bad"], 0)
    sized_bins = collection.questions.get("sized_bins")
    if sized_bins is not None:
        sized = models.build(collection, "build_hashed_model", int(sized_bins), prefix="sized_")
        if sized is not None:
            collection.result["sized_answers"] = collection.step(
                "answers (sized)", training.predict_terms, sized, collection.questions["sized_reviews"])
            del sized
    model = models.build(collection, "build_hashed_model", NUM_BINS)
    if model is not None:
        models.train(collection, model)


def plain_terms(found) -> list[str] | str | None:
    """A list of str as it is; anything else described (the test says what came back)."""
    if found is None:
        return None
    if isinstance(found, (list, tuple)) and all(isinstance(term, str) for term in found):
        return [str(term) for term in found]
    return f"a {type(found).__name__}" + (f" of {type(found[0]).__name__}" if isinstance(found, (list, tuple))
                                         and found else "")


# ------------------------------------------------------------------ parent side
@dataclasses.dataclass
class HashedLinear:
    """The computation the exercise specifies: per bucket a score, a review's logit the sum over its terms."""

    scores: np.ndarray  # one per bucket
    bias: float
    offset: int = 0     # 1 when bucket 0 is kept for a mask value (Hashing(mask_value=...))

    def logits(self, table: TermTable, distinct: bool = False, fingerprints=None) -> np.ndarray:
        size = len(self.scores) - self.offset
        prints = hashing.fingerprints(table.terms) if fingerprints is None else fingerprints
        columns = self.offset + hashing.buckets_of(prints, size)
        owners, cells = table.owners(), columns[table.ids]
        if distinct:  # multi_hot: a bucket counts once per review
            codes = np.unique(owners * len(self.scores) + cells)
            owners, cells = codes // len(self.scores), codes % len(self.scores)
        return np.bincount(owners, weights=self.scores[cells], minlength=len(table)) + self.bias

    def probabilities(self, table: TermTable, distinct: bool = False, fingerprints=None) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(table, distinct, fingerprints)))


def candidates(weights: list[np.ndarray]):
    """A HashedLinear for each shape-consistent choice: a kernel (K, 1), or a table (K, d) times a (d, 1)."""
    biases = [float(weight[0]) for weight in weights if weight.shape == (1,)] or [0.0]
    for index, matrix in enumerate(weights):
        if matrix.ndim != 2 or matrix.shape[0] < 2:
            continue
        # Straight into the output unit, or through one more (d, 1) kernel (an Embedding of the buckets, say).
        scores = [matrix[:, 0]] if matrix.shape[1] == 1 else []
        scores += [matrix @ kernel[:, 0] for i, kernel in enumerate(weights)
                   if i != index and kernel.shape == (matrix.shape[1], 1)]
        for score in scores:
            for bias in biases:
                yield HashedLinear(score, bias)


def judge(result: dict, questions: dict) -> HashedLinear:
    """The verified computation of the trained model, or `Refused` with the reason."""
    weights, answers, reviews = result.get("weights"), result.get("answers"), questions.get("reviews")
    if weights is None or answers is None or not reviews:
        model_steps = {step: error for step, error in (result.get("errors") or {}).items()
                       if not step.startswith("colliding_terms")}  # the model's own steps name the cause
        raise linear_mean.nothing_to_judge({**result, "errors": model_steps}, WHAT,
                                           "weights" if weights is None else "answers")
    weights = [np.asarray(weight, dtype=np.float64) for weight in weights]
    answers = np.asarray(answers, dtype=np.float64)
    if answers.shape != (len(reviews),) or not np.all(np.isfinite(answers)):
        raise Refused(f"{WHAT}: the trained model gave {answers.shape[0]} answers, not all finite, for "
                      f"{len(reviews)} question reviews")
    table = TermTable.from_reviews(reviews)
    prints = hashing.fingerprints(table.terms)
    best = None
    for model in candidates(weights):
        error = float(np.max(np.abs(model.probabilities(table, fingerprints=prints) - answers)))
        if error <= TOLERANCE:
            return model
        best = error if best is None else min(best, error)
    raise Refused(f"{WHAT}: " + diagnose(result, weights, answers, table, prints, best))


def diagnose(result, weights, answers, table, prints, best) -> str:
    shapes = ", ".join(str(tuple(weight.shape)) for weight in weights)
    for model in candidates(weights):
        if np.max(np.abs(model.probabilities(table, distinct=True, fingerprints=prints) - answers)) <= TOLERANCE:
            return ("a review's buckets count once however often their terms occur (output_mode='multi_hot'?): "
                    "the exercise counts every occurrence, Hashing(num_bins, output_mode='count', sparse=True).")
        masked = HashedLinear(model.scores, model.bias, offset=1)
        if np.max(np.abs(masked.probabilities(table, fingerprints=prints) - answers)) <= TOLERANCE:
            return ("bucket 0 is kept for a mask value and the terms hash into the others (Hashing(mask_value=...)): "
                    "the exercise uses every bucket, keras.layers.Hashing(num_bins, output_mode='count').")
    if best is None:
        return (f"no Dense kernel of shape (num_bins, 1) among the trainable weights ({shapes}). Reread 'What to "
                "build' and 'Shapes'.")
    return (f"the sum over a review's terms of the kernel's row at each term's bucket (keras.layers.Hashing without "
            f"a salt) differs from your model's answers by up to {best:.3g} (tolerance {TOLERANCE:g}). The "
            "exercise asks for Hashing(num_bins, output_mode='count', sparse=True) straight into "
            f"Dense(1, activation='sigmoid'): no salt, no other layer. Trainable weights: {shapes}.")


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    """The test probabilities of the exported hashed model, once its exports reproduce its answers."""
    model = judge(result, questions)
    test = grading_data.terms(data_dir, "test")
    return model.probabilities(test, fingerprints=_cached_fingerprints(test))


# ------------------------------------------------------------------ what the tests compare (trusted)
def expected_colliding(terms: list[str], num_bins: int) -> list[str]:
    distinct = sorted(set(terms))
    buckets = hashing.buckets(distinct, num_bins)
    sizes = np.bincount(buckets, minlength=num_bins)
    return [term for term, number in zip(distinct, buckets) if sizes[number] > 1]


def comparison(data_dir: Path, num_bins: int) -> dict[str, float]:
    """At `num_bins` buckets: the share of the 20,000 most frequent training terms that share a bucket with
    another of them, and how many of the 50 informative terms share one with any training term."""
    from embedlab.vocabulary import INFORMATIVE_TERMS

    table, fingerprints = train_fingerprints(data_dir)
    buckets = hashing.buckets_of(fingerprints, num_bins)
    top = buckets[np.argsort(-table.totals(), kind="stable")[:20_000]]
    sizes = np.bincount(top, minlength=num_bins)
    everyone = np.bincount(buckets, minlength=num_bins)
    index = table.index()
    informative = [buckets[index[term]] for term in INFORMATIVE_TERMS if term in index]
    return {"top_terms_sharing": float(np.mean(sizes[top] > 1)),
            "informative_sharing": float(sum(everyone[number] > 1 for number in informative))}
