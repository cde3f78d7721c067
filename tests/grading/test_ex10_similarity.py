"""Exercise 10: Jaccard and cosine similarity, review vectors and nearest terms against numpy on inputs drawn
at grading time, and the neighbours of polar terms in the student's own trained exercise-7 embedding.

The inputs are the trusted copy of the questions (`collected.questions`); the expected values are computed
here, with numpy's set and vector built-ins, after the student's answers were collected.
"""

import numpy as np
import pytest

from embedlab.grading import neighbours
from embedlab.grading.terms import TermTable

pytestmark = pytest.mark.exercise("ex10_similarity")

DEFAULT_K = 10  # nearest_terms' default


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _answers(collected, key: str, function: str, count: int) -> list:
    got = collected.need(key, function)
    collected.check(len(got) == count, f"{function} answered {len(got)} of the grader's {count} questions.")
    return got


def _jaccard(a, b) -> float:
    """|A & B| / |A | B| of the term sets, from numpy's indicator vectors (1.0 for two empty sets)."""
    pool = np.union1d(np.asarray(a, dtype=str), np.asarray(b, dtype=str))
    if pool.size == 0:
        return 1.0
    in_a, in_b = np.isin(pool, np.asarray(a, dtype=str)), np.isin(pool, np.asarray(b, dtype=str))
    return float(np.logical_and(in_a, in_b).sum() / np.logical_or(in_a, in_b).sum())


def _cosine(u, v) -> float:
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    norms = np.linalg.norm(u) * np.linalg.norm(v)
    return 0.0 if norms == 0 else float(np.dot(u, v) / norms)


def _judge_each(collected, function: str, questions: list, reference, tolerance: float, explain) -> None:
    """The student's answer to each grading-time pair against the reference's, within `tolerance`."""
    got = _answers(collected, function, function, len(questions))
    for (a, b), value in zip(questions, got):
        expected = reference(a, b)
        collected.check(abs(value - expected) <= tolerance, explain(a, b, value, expected))


@pytest.mark.points(1)
def test_jaccard_of_term_sets(collected):
    """jaccard(a, b) is |A & B| / |A | B| of the two term sets (1.0 for two empty ones)"""
    _judge_each(collected, "jaccard", collected.questions["term_pairs"], _jaccard, 1e-9, lambda a, b, value, expected: (
        f"jaccard({_short(a)}, {_short(b)}) gave {value:.4f}; the term sets' intersection over their union "
        f"is {expected:.4f}. Compare sets (a repeated term counts once); two empty lists give 1.0."))


@pytest.mark.points(1)
def test_cosine_of_vectors(collected):
    """cosine(u, v) is u . v / (|u| |v|), 0.0 when either vector is zero"""
    _judge_each(collected, "cosine", collected.questions["vector_pairs"], _cosine, 1e-6, lambda u, v, value, expected: (
        f"cosine({_short(np.round(u, 3).tolist())}, {_short(np.round(v, 3).tolist())}) gave {value:.6f}; "
        f"np.dot(u, v) / (norm(u) * norm(v)) is {expected:.6f}. A zero vector gives 0.0."))


@pytest.mark.points(1)
def test_review_vector_is_the_mean_of_the_rows(collected):
    """review_vector(terms) is the mean of the in-vocabulary terms' rows (zeros if none)"""
    reviews, vocabulary = collected.questions["vector_reviews"], list(collected.questions["vocabulary"])
    matrix = np.asarray(collected.questions["matrix"], dtype=np.float64)
    got = collected.need("review_vector", "review_vector")
    counts = TermTable.from_reviews(reviews).counts(vocabulary)  # the grader's own counts of each term
    totals = counts.sum(axis=1, keepdims=True)
    expected = np.divide(counts @ matrix, totals, out=np.zeros((len(reviews), matrix.shape[1])), where=totals > 0)
    collected.check(got.shape == expected.shape, f"review_vector gave vectors of {got.shape[1:]} numbers for a "
                                                 f"matrix of {matrix.shape[1]} columns; expected {matrix.shape[1]}.")
    for review, value, row in zip(reviews, got, expected):
        collected.check(np.allclose(value, row, atol=1e-6), (
            f"review_vector({_short(review)}, ...) gave {np.round(value, 4).tolist()}; the mean row of its "
            f"in-vocabulary terms is {np.round(row, 4).tolist()}. Each occurrence counts; unknown terms are left out."))


def _nearest_expected(collected) -> list[list[str]]:
    """Every question's k most cosine-similar other terms, best first (the grader's own matrix has no ties)."""
    vocabulary = list(collected.questions["vocabulary"])
    matrix = np.asarray(collected.questions["matrix"], dtype=np.float64)
    everyone = np.arange(len(vocabulary))
    expected = []
    for term, k in collected.questions["queries"]:
        rows = neighbours.cosine_neighbours(matrix, [vocabulary.index(term)], everyone, DEFAULT_K if k is None else k)
        expected.append([vocabulary[i] for i in rows[0]])
    return expected


def _nearest_right(collected) -> bool:
    got = collected.get("nearest_terms")
    return isinstance(got, list) and got == _nearest_expected(collected)


@pytest.mark.points(3)
def test_nearest_terms_by_cosine(collected):
    """nearest_terms(term, matrix, vocabulary, k) lists the k most cosine-similar other terms, best first"""
    queries = collected.questions["queries"]
    got = _answers(collected, "nearest_terms", "nearest_terms", len(queries))
    for (term, k), value, expected in zip(queries, got, _nearest_expected(collected)):
        call = f"nearest_terms({term!r}, matrix, vocabulary{'' if k is None else f', k={k}'})"
        if value == expected:
            continue
        why = ("it lists the term itself: leave it out" if term in value else
               f"it gave {len(value)} terms for k={DEFAULT_K if k is None else k}" if len(value) != len(expected) else
               "same terms, another order: best first" if sorted(value) == sorted(expected) else
               "other terms: rank by cosine similarity (the rows' directions), not by distance")
        collected.check(False, f"{call} gave {_short(value)}; expected {_short(expected)} ({why}).")


@pytest.mark.points(1)
def test_unknown_term_is_a_value_error(collected):
    """nearest_terms of a term outside the vocabulary raises ValueError"""
    raised = collected.need("unknown_term", "nearest_terms(unknown)")
    collected.check(raised == "ValueError", f"nearest_terms('zzqxv', matrix, vocabulary) raised {raised}; "
                                            "expected ValueError (the term is not in the vocabulary).")
    collected.check(_nearest_right(collected), (
        "nearest_terms raises ValueError for an unknown term, but does not yet rank known terms right (see the "
        "test of nearest terms by cosine): this point comes with that one."))


@pytest.mark.points(3)
def test_neighbours_of_polar_terms_share_their_polarity(collected):
    """in the trained exercise-7 embedding, the polar terms' 10 nearest terms mostly share their polarity"""
    required = collected.exercise.requires[0]
    collected.need("weights", f"import {required}", f"{required}.build_vocabulary", "build", "train", "weights")
    collected.need("answers", "train", "answers")
    probes = neighbours.PER_SIDE
    collected.judge_mark(
        "neighbour_agreement",
        f"the share of the {neighbours.K} nearest terms (by cosine, among the {neighbours.FREQUENT:,} most frequent "
        f"training terms) of the {probes} most positive and {probes} most negative training terms that share their "
        "polarity, in exercise 7's trained embedding",
        "The grader measures it on the embedding your exercise-7 model really uses: make exercise 7 pass first.")
    # The neighbours are this exercise's subject: the points come with a nearest_terms that finds them.
    collected.check(_nearest_right(collected), (
        "exercise 7's trained embedding puts terms of the same polarity together, but nearest_terms does not yet "
        "rank terms right (see the test of nearest terms by cosine): these points come with that one."))
