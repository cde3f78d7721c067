"""The grader's term tables (embedlab.grading.terms): the stored pair index gives the means computed without it."""

import numpy as np

from embedlab.grading.terms import TermTable


def naive_mean(reviews, vocabulary, scores, empty):
    first = {}
    for column, entry in enumerate(vocabulary):
        first.setdefault(entry, scores[column])
    means = []
    for review in reviews:
        grams = list(review) + [f"{a} {b}" for a, b in zip(review, review[1:])]
        found = [first[gram] for gram in grams if gram in first]
        means.append(sum(found) / len(found) if found else empty)
    return np.array(means)


def test_stored_pairs_give_the_same_means(tmp_path):
    rng = np.random.default_rng(3)
    words = ["a", "b", "c", "d", "!"]
    for _trial in range(50):
        reviews = [[str(w) for w in rng.choice(words, size=int(rng.integers(0, 7)))] for _ in range(6)]
        vocabulary = [str(w) for w in rng.choice(words, 3)] + ["a b", "b a", "c c", "a b", "d !", "x y", "a  b"]
        scores = rng.normal(size=len(vocabulary))
        built = TermTable.from_reviews(reviews)
        built.save(tmp_path / "table")
        loaded = TermTable.load(tmp_path / "table")
        expected = naive_mean(reviews, vocabulary, scores, 0.25)
        for table in (built, loaded):
            np.testing.assert_allclose(table.mean_of(vocabulary, scores, 0.25, bigrams=True), expected, rtol=1e-12)
        assert [p.tolist() for p in loaded.pairs()] == [p.tolist() for p in built.pairs()]


def test_a_table_saved_without_pairs_counts_them_when_asked(tmp_path):
    table = TermTable.from_reviews([["a", "b"], ["b", "a", "b"]])
    table.save(tmp_path / "plain", pairs=False)
    loaded = TermTable.load(tmp_path / "plain")
    assert [p.tolist() for p in loaded.pairs()] == [[1, 2], [0, -1, 1, 0]]


def test_counts_are_kept_read_only():
    table = TermTable.from_reviews([["a", "b", "a"], []])
    counts = table.counts(["a", "b"])
    assert counts.tolist() == [[2.0, 1.0], [0.0, 0.0]] and not counts.flags.writeable
    assert table.counts(["a", "b"]) is counts and table.counts(["b"]).tolist() == [[1.0], [0.0]]
