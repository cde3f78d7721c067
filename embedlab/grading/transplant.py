"""The computation a model exercise specifies, in numpy, run with the weights a student's model exported.

An `Architecture` is what exercises 2-4 ask for: the counts of the 50 terms
(out-of-vocabulary terms ignored) -> [a mean embedding: counts @ E /
max(total, 1)] -> Dense layers (ReLU hidden, one sigmoid output). `match`
puts a model's exported trainable weights into its places by shape (a
``Dense(d, use_bias=False)`` kernel is an embedding; a ``(V + 1, d)`` matrix
of an ``Embedding`` over ``StringLookup`` indices has the OOV row first),
trying the student's order first. `check` runs the computation on the
question reviews and compares it with the model's own answers; when the
exercise's computation does not reproduce them, the usual mistakes are tried
as hypotheses and the one that does is named. Numpy only: the trusted side.

>>> arch = Architecture(hidden=(3,))
>>> arch.shapes()
[(50, 3), (3,), (3, 1), (1,)]
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from embedlab.grading.terms import TermTable
from embedlab.vocabulary import INFORMATIVE_TERMS

VOCABULARY = tuple(INFORMATIVE_TERMS)
TOLERANCE = 1e-4  # on probabilities (relative beyond 1, for outputs that are not probabilities)
MAX_CANDIDATES = 24


@dataclasses.dataclass(frozen=True)
class Architecture:
    hidden: tuple[int, ...] = ()
    embedding: int | None = None  # the dimension of the mean embedding, or none
    vocabulary: tuple[str, ...] = VOCABULARY

    def dense_sizes(self) -> list[tuple[int, int]]:
        sizes = [self.embedding or len(self.vocabulary), *self.hidden, 1]
        return list(zip(sizes[:-1], sizes[1:]))

    def shapes(self) -> list[tuple[int, ...]]:
        first = [(len(self.vocabulary), self.embedding)] if self.embedding else []
        return first + [shape for a, b in self.dense_sizes() for shape in ((a, b), (b,))]

    def describe(self) -> str:
        steps = [f"counts of the {len(self.vocabulary)} terms"]
        if self.embedding:
            steps.append(f"mean {self.embedding}-d embedding")
        steps += [f"Dense({units}, relu)" for units in self.hidden] + ["Dense(1, sigmoid)"]
        return " -> ".join(steps)


@dataclasses.dataclass(frozen=True)
class Computation:
    """The exercise's computation (no cause), or one usual mistake."""

    cause: str = ""
    relu: bool = True
    sigmoid: bool = True
    oov_counted: bool = False
    multi_hot: bool = False
    nan_when_empty: bool = False


SPEC = Computation()
MISTAKES = (
    Computation("the hidden layers have no activation (a stack of linear layers is one linear model): give each "
                "hidden Dense activation='relu' or follow it with a ReLU layer", relu=False),
    Computation("the output is not squashed by a sigmoid: end with Dense(1, activation='sigmoid')", sigmoid=False),
    Computation("out-of-vocabulary terms are counted: StringLookup's column 0 counts them, drop it (counts[:, 1:])",
                oov_counted=True),
    Computation("terms are flagged, not counted: use StringLookup(output_mode='count'), not 'multi_hot'",
                multi_hot=True),
    Computation("a review with none of the terms gets NaN: the mean divides 0 by 0; divide by "
                "keras.ops.maximum(count, 1.0)", nan_when_empty=True),
)


@dataclasses.dataclass
class Params:
    first: np.ndarray            # (V, ·): the embedding, or the first Dense kernel
    oov_row: np.ndarray | None   # the OOV row of a (V + 1, ·) first matrix
    dense: list[tuple[np.ndarray, np.ndarray]]  # (kernel, bias) after the embedding (all of them without one)
    sources: list[int]           # which exported weight fills each slot of `Architecture.shapes()`
    frozen: bool = False         # some slot was filled by a non-trainable weight


@dataclasses.dataclass
class Verdict:
    params: Params | None
    computation: Computation | None
    reason: str = ""

    @property
    def exact(self) -> bool:  # the exercise's computation, with the trainable weights, gives the answers
        return self.computation is SPEC and not self.params.frozen

    @property
    def verified(self) -> bool:  # some computation the grader knows (the exercise's, a named mistake) does
        return self.computation is not None

    def cause(self) -> str:
        if self.computation is None:
            return self.reason
        if self.params.frozen:
            return "part of the architecture is not trainable (trainable=False): training cannot move it"
        return self.computation.cause


# ----------------------------------------------------------------- matching
def match(arch: Architecture, weights: list, frozen: list | None = None) -> tuple[list[Params], str]:
    """Every way (student's order first, at most MAX_CANDIDATES) to fill the architecture; or ([], why not)."""
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    frozen = [np.asarray(w, dtype=np.float64) for w in (frozen or [])]
    candidates, why = _assign(arch, weights, len(weights))
    if not candidates and frozen:  # a part that is there but not trainable is named, not "missing"
        candidates = _assign(arch, weights + frozen, len(weights))[0]
    return candidates, why


def _assign(arch: Architecture, weights: list[np.ndarray], trainable: int) -> tuple[list[Params], str]:
    """Fill the slots from `weights`; the first `trainable` of them must all find a place."""
    wanted, found = arch.shapes(), [tuple(w.shape) for w in weights]
    why = f"its trainable weights have shapes {found[:trainable]}; {arch.describe()} needs {wanted}"
    if trainable > len(wanted):
        return [], why
    results: list[Params] = []

    def fits(shape, slot: int) -> bool:
        return shape == wanted[slot] or (slot == 0 and shape == (wanted[0][0] + 1, *wanted[0][1:]))

    def search(slot: int, used: list[int]) -> None:
        if len(results) >= MAX_CANDIDATES:
            return
        if slot == len(wanted):
            if all(index in used for index in range(trainable)):
                results.append(_params(arch, weights, used, trainable))
            return
        for index, shape in enumerate(found):
            if index not in used and fits(shape, slot):
                search(slot + 1, used + [index])

    search(0, [])
    return results, why


def _params(arch: Architecture, weights: list[np.ndarray], sources: list[int], trainable: int) -> Params:
    arrays = [weights[i] for i in sources]
    first, oov_row = arrays[0], None
    if first.shape[0] == len(arch.vocabulary) + 1:
        first, oov_row = first[1:], first[0]
    rest = arrays[1:] if arch.embedding else arrays[2:]
    dense = [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]
    if not arch.embedding:
        dense = [(first, arrays[1])] + dense
    return Params(first, oov_row, dense, list(sources), frozen=any(i >= trainable for i in sources))


# ----------------------------------------------------------------- computing
def features(table: TermTable, vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """(counts of the vocabulary's terms, count of the other terms) per review."""
    counts = table.counts(list(vocabulary))
    return counts, np.diff(table.splits).astype(np.float64) - counts.sum(axis=1)


def forward(arch: Architecture, params: Params, counts: np.ndarray, oov: np.ndarray,
            computation: Computation = SPEC) -> np.ndarray:
    """The architecture's output for each review (float64), with `params` and `computation`."""
    x, matrix = counts, params.first
    if computation.multi_hot:
        x, oov = np.minimum(x, 1.0), np.minimum(oov, 1.0)
    if computation.oov_counted:
        row = params.oov_row if params.oov_row is not None else np.zeros(matrix.shape[1])
        x, matrix = np.hstack([oov[:, None], x]), np.vstack([row, matrix])
    dense = params.dense
    with np.errstate(invalid="ignore", divide="ignore"):
        if arch.embedding:
            total = x.sum(axis=1, keepdims=True)
            h = x @ matrix / (total if computation.nan_when_empty else np.maximum(total, 1.0))
        else:
            h, dense = x @ matrix + dense[0][1], dense[1:]
            if dense and computation.relu:
                h = np.maximum(h, 0.0)
        for number, (kernel, bias) in enumerate(dense):
            h = h @ kernel + bias
            if number < len(dense) - 1 and computation.relu:
                h = np.maximum(h, 0.0)
        logits = h[:, 0]
    return 1.0 / (1.0 + np.exp(-logits)) if computation.sigmoid else logits


def close(got: np.ndarray, expected: np.ndarray) -> bool:
    finite = ~np.isnan(expected)
    gap, scale = np.abs(got[finite] - expected[finite]), np.maximum(1.0, np.abs(expected[finite]))
    return bool(np.array_equal(np.isnan(got), ~finite) and np.all(gap <= TOLERANCE * scale))


def computations(arch: Architecture) -> list[Computation]:
    """The exercise's computation, then each mistake that applies, then pairs of them."""
    usable = [m for m in MISTAKES if (arch.hidden or m.relu) and (arch.embedding or not m.nan_when_empty)]
    pairs = [dataclasses.replace(a, cause=f"{a.cause}; and {b.cause}",
                                 **{f.name: getattr(b, f.name) for f in dataclasses.fields(b)
                                    if f.name != "cause" and getattr(b, f.name) != getattr(SPEC, f.name)})
             for a, b in itertools.combinations(usable, 2)]
    return [SPEC, *usable, *pairs]


def answers_of(value, reviews: int) -> np.ndarray | None:
    """The model's answers as float64, or None unless there is one number per question review."""
    try:
        answers = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return answers if answers.shape == (reviews,) else None


def check(arch: Architecture, export: dict, questions: dict) -> Verdict:
    """Does the architecture, with the model's exported weights, give the model's answers to the questions?"""
    reviews = questions.get("reviews") or []
    answers = answers_of(export.get("answers"), len(reviews))
    if answers is None:
        return Verdict(None, None, f"the model's answers to the {len(reviews)} question reviews are missing")
    weights = export.get("weights")
    if not isinstance(weights, list):
        return Verdict(None, None, "the model's trained weights are missing")
    candidates, why = match(arch, weights, export.get("frozen_weights") or [])
    if not candidates:
        return Verdict(None, None, why)
    counts, oov, best = *features(TermTable.from_reviews(reviews), arch.vocabulary), (np.inf, 0, 0.0)
    for computation in computations(arch):
        for params in candidates:
            outputs = forward(arch, params, counts, oov, computation)
            if close(answers, outputs):
                return Verdict(params, computation)
            if computation is SPEC:
                gap = np.nan_to_num(np.abs(answers - outputs), nan=np.inf)
                if gap.max() < best[0]:
                    best = (float(gap.max()), int(gap.argmax()), float(outputs[gap.argmax()]))
    return Verdict(candidates[0], None, mismatch(arch, answers, reviews, best))


def mismatch(arch: Architecture, answers: np.ndarray, reviews: list, best: tuple) -> str:
    if np.isnan(answers).any():
        return f"the model outputs NaN for {int(np.isnan(answers).sum())} of the {len(answers)} question reviews"
    start, (gap, index, expected) = f"the model does not compute {arch.describe()} with its own weights", best
    if np.ptp(answers) < 1e-6:
        return f"{start}: it gives {answers[0]:.4f} for every review, whatever its terms (is its input cut off?)"
    return (f"{start}: for the review {reviews[index][:8]}{'...' if len(reviews[index]) > 8 else ''} it gives "
            f"{answers[index]:.4f}, its weights in that computation give {expected:.4f} (difference {gap:.2g}; "
            f"tolerance {TOLERANCE:g})")


def moved(export: dict, verdict: Verdict, slot: int = 0) -> float:
    """How far training moved the weight in `slot` (largest absolute change; NaN if unknown)."""
    before, index = export.get("weights_untrained"), verdict.params.sources[slot]
    if not isinstance(before, list) or index >= len(before) or verdict.params.frozen:
        return float("nan")
    after, start = np.asarray(export["weights"][index]), np.asarray(before[index])
    return float(np.abs(after - start).max()) if after.shape == start.shape else float("nan")


def binary_cross_entropy(y_true, y_pred) -> np.ndarray:
    """Per example, -(y log p + (1 - y) log(1 - p)), with p clipped like Keras (1e-7)."""
    y, p = np.asarray(y_true, dtype=np.float64), np.clip(np.asarray(y_pred, dtype=np.float64), 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


# ----------------------------------------------------------------- judging
EXPORTS = ("weights", "weights_untrained", "frozen_weights", "answers")
_VERDICTS: dict[tuple[int, str, Architecture], tuple[dict, Verdict]] = {}


def verdict(arch: Architecture, result: dict, questions: dict, prefix: str = "") -> Verdict:
    """`check` of what the result exported under `prefix` (computed once per result)."""
    key = (id(result), prefix, arch)
    if key not in _VERDICTS:  # the result is kept with its verdict, so its id stays its own
        export = {name: result.get(prefix + name) for name in EXPORTS}
        _VERDICTS[key] = (result, check(arch, export, questions))
    return _VERDICTS[key][1]


def probabilities_of_test_reviews(arch: Architecture, result: dict, questions: dict, data_dir,
                                  prefix: str = "") -> np.ndarray:
    """The test reviews' probabilities from the exported weights, once the check verified them."""
    from embedlab.grading import data as grading_data
    from embedlab.grading.contract import Refused

    found, errors = verdict(arch, result, questions, prefix), result.get("errors") or {}
    if not found.verified:
        steps = "; ".join(f"{step}: {errors[step]}" for step in ("build", "train", "weights", "answers")
                          if step in errors)
        raise Refused(f"the grader cannot score this model: {found.reason}" + (f" ({steps})" if steps else ""))
    if found.computation.nan_when_empty:
        raise Refused(f"the model outputs NaN for a review with none of the terms: {found.computation.cause}")
    counts, oov = features(grading_data.terms(data_dir, "test"), arch.vocabulary)
    return forward(arch, found.params, counts, oov, found.computation)
