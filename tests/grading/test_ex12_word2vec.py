"""Exercise 12: skip-gram pairs, subsampling and negatives on grading-time inputs, checked against their
definitions and numpy; the trained model judged by its computation, then by the geometry of its vectors.

The sequences, windows, counts and draws are questions (`collected.questions`, the grader's own copy).
The model's vectors are trusted only once they reproduce its answers (`embedlab.grading.skipgram`).
"""

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from embedlab.grading import contract, skipgram

pytestmark = pytest.mark.exercise("ex12_word2vec")

STEPS = ("skipgram_pairs", "keep_probabilities", "negative_distribution", "draw_negatives", "build_word2vec")
LEAST_P_VALUE = 1e-4  # a seeded draw from the right distribution passes the chi-square test but once in 10,000


def _within_window(sequence, window) -> Counter:
    """The definition: (sequence[i], sequence[j]) for every two positions 0 < |i - j| <= window."""
    n = len(sequence)
    return Counter((sequence[i], sequence[j]) for i in range(n) for j in range(n) if 0 < abs(i - j) <= window)


def _pairs(collected) -> list:
    got = collected.need("pairs", "skipgram_pairs")
    asked = list(zip(collected.questions["sequences"], collected.questions["windows"]))
    for value, (sequence, window) in zip(got, asked):
        collected.check(value.ndim == 2 and value.shape[1] == 2, (
            f"skipgram_pairs({sequence}, window={window}) gave an array of shape {value.shape}; expected "
            "(pairs, 2), one (target, context) row per pair."))
    return [(sequence, window, value.astype(np.int64)) for value, (sequence, window) in zip(got, asked)]


def _compare(collected, sequence, window, got) -> None:
    expected = _within_window(sequence, window)
    found = Counter(map(tuple, got.tolist()))
    if found == expected:
        return
    n, total = len(sequence), sum(expected.values())
    if len(got) - total == n and all(found[(term, term)] >= 1 for term in sequence):
        why = "it pairs each position with itself: a position is never its own context"
    elif len(got) != total:
        why = f"{len(got)} pairs; {n} terms and window {window} give {total} = 2 * sum(max(n - o, 0), o = 1..window)"
    else:
        extra = next(iter(found - expected))
        why = f"the right number of pairs, but {extra} {'occurs too often' if extra in expected else 'is not one'}"
    collected.check(False, f"skipgram_pairs({sequence}, window={window}): {why}. Every position i pairs with "
                           "every position j != i at most `window` away, both ways round.")


@pytest.mark.points(3)
def test_pairs_are_every_neighbour_within_the_window(collected):
    """skipgram_pairs gives exactly the (target, context) pairs within the window, repeats included"""
    for sequence, window, got in _pairs(collected):
        if len(sequence) > max(window, 1):
            _compare(collected, sequence, window, got)


@pytest.mark.points(1)
def test_pairs_edge_cases(collected):
    """one term gives no pair, a window longer than the sequence pairs every two positions, window 0 raises"""
    for sequence, window, got in _pairs(collected):
        if len(sequence) <= max(window, 1):
            _compare(collected, sequence, window, got)
    raised = collected.need("pairs_bad_window", "skipgram_pairs(window=0)")
    collected.check(raised == "ValueError", f"skipgram_pairs([1, 2, 3], window=0) raised {raised}; expected "
                                            "ValueError (a window must be at least 1).")


@pytest.mark.points(2)
def test_keep_probabilities_follow_the_formula(collected):
    """keep_probabilities(counts, threshold) = min(1, sqrt(threshold / frequency)) on grading-time counts"""
    got = collected.need("keep", "keep_probabilities")
    counts = np.asarray(collected.questions["counts"], dtype=np.float64)
    threshold = collected.questions["threshold"]
    expected = np.minimum(1.0, np.sqrt(threshold / (counts / counts.sum())))
    collected.check(got.shape == expected.shape, f"keep_probabilities gave shape {got.shape} for {len(counts)} "
                                                 f"counts; expected {expected.shape}.")
    bad = np.flatnonzero(~np.isclose(got, expected, rtol=1e-6, atol=1e-9))
    if len(bad):
        i = int(bad[0])
        collected.check(False, (
            f"keep_probabilities(counts, threshold={threshold:g}): a count of {int(counts[i])} out of "
            f"{int(counts.sum())} gave {got[i]:.6g}; min(1, sqrt(threshold / f)) with f = count / total is "
            f"{expected[i]:.6g}. Use the threshold you are given and the frequency, not the count."))


@pytest.mark.points(1)
def test_negative_distribution_is_the_three_quarter_power(collected):
    """negative_distribution(counts) is counts ** 0.75 normalized (and another power when asked)"""
    counts = np.asarray(collected.questions["negative_counts"], dtype=np.float64)
    for key, power, call in (("distribution", 0.75, "negative_distribution(counts)"),
                             ("distribution_power", collected.questions["power"],
                              f"negative_distribution(counts, power={collected.questions['power']})")):
        got = collected.need(key, "negative_distribution")
        expected = counts ** power / np.sum(counts ** power)
        collected.check(got.shape == expected.shape and np.allclose(got, expected, rtol=1e-6, atol=1e-12), (
            f"{call} gave {np.round(got[:4], 4).tolist()}...; counts ** {power:g} / their sum is "
            f"{np.round(expected[:4], 4).tolist()}..."))


def _negatives(collected) -> tuple[np.ndarray, np.ndarray, int]:
    got = collected.need("negatives", "draw_negatives")
    contexts = np.asarray(collected.questions["negative_contexts"], dtype=np.int64)
    k = collected.questions["k"]
    collected.check(got.shape == (len(contexts), k), (
        f"draw_negatives(contexts, distribution, k={k}, rng) for {len(contexts)} contexts gave shape {got.shape}; "
        f"expected ({len(contexts)}, {k})."))
    size = len(collected.questions["negative_counts"])
    collected.check(np.all(got == np.round(got)) and got.min() >= 0 and got.max() < size, (
        f"draw_negatives gave values that are not ids of the distribution's {size} terms (integers 0 to "
        f"{size - 1})."))
    return got.astype(np.int64), contexts, k


@pytest.mark.points(1)
def test_negatives_are_never_the_context(collected):
    """no negative equals its row's context"""
    got, contexts, _ = _negatives(collected)
    clashes = int((got == contexts[:, None]).sum())
    collected.check(clashes == 0, (
        f"draw_negatives: {clashes} of {got.size} negatives equal their row's context; draw those again "
        "(a real pair labelled 0 teaches the model the opposite of the truth)."))


@pytest.mark.points(1)
def test_negatives_follow_the_distribution(collected):
    """the negatives' frequencies fit the distribution given (those equal to the context drawn again): chi-square"""
    got, contexts, k = _negatives(collected)
    counts = np.asarray(collected.questions["negative_counts"], dtype=np.float64)
    p = counts ** 0.75 / np.sum(counts ** 0.75)
    # Each row draws from p without its own context: p_j / (1 - p_context) for j != context.
    per_row = np.where(np.arange(len(p))[None, :] == contexts[:, None], 0.0, p[None, :] / (1 - p[contexts])[:, None])
    expected = k * per_row.sum(axis=0)
    observed = np.bincount(got.reshape(-1), minlength=len(p))
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, df=len(p) - 1))
    worst = int(np.argmax(np.abs(observed - expected) / np.sqrt(expected)))
    collected.check(p_value >= LEAST_P_VALUE, (
        f"draw_negatives: the {got.size} negatives do not fit the distribution given (chi-square p = "
        f"{p_value:.2g}; id {worst} drawn {observed[worst]} times, expected about {expected[worst]:.0f}). "
        "Draw with rng.choice(len(distribution), size=..., p=distribution)."))


def _trained(collected) -> None:
    collected.need("weights", *STEPS, "training", "training examples", "train", "weights")
    collected.need("answers", *STEPS, "answers")


@pytest.mark.points(2)
def test_model_is_two_embeddings_a_dot_and_a_sigmoid(collected):
    """the trained model's answers are sigmoid(E[target] . C[context]) of its two exported matrices, E trained"""
    _trained(collected)
    try:
        skipgram.target_embedding(collected.data, collected.questions)
    except contract.Refused as refused:
        collected.check(False, f"build_word2vec: {refused}.")


@pytest.mark.points(2)
def test_related_terms_rank_high(collected):
    """hand-made related pairs (bad/awful, actor/actress...) rank high among the 3,000 most frequent terms"""
    _trained(collected)
    collected.judge_mark("probe_rank", "the related terms' mean percentile among the 3,000 most frequent (cosine)",
                         "Check the pairs, the 3/4 power of the negatives and Adam(learning_rate=0.01).")


@pytest.mark.points(2)
def test_similarity_groups_hold_together(collected):
    """terms of the same hand-made group (family, numbers, genres...) are nearer each other than others"""
    _trained(collected)
    collected.judge_mark("group_order", "the fraction of (term, same group, other group) triples ordered right",
                         "The same training as the related pairs: fix those first.")
