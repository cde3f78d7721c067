"""Exercise 7: the vocabulary built from the training data (the model is judged in test_models.py)."""

import pytest

pytestmark = pytest.mark.exercise("ex07_bigger_vocabulary")


@pytest.mark.points(2)
def test_vocabulary_is_the_most_frequent_training_terms(collected):
    """build_vocabulary(train, 20000) keeps the 20,000 most frequent training terms"""
    vocabulary = collected.need("vocabulary", "build_vocabulary")
    counts, cut = collected["vocabulary_counts"], collected["cut"]
    assert len(vocabulary) == cut["max_terms"] and len(set(vocabulary)) == len(vocabulary), (
        f"build_vocabulary(train, 20000) returned {len(vocabulary)} terms ({len(set(vocabulary))} distinct); "
        f"expected {cut['max_terms']} distinct terms (the training split has {cut['distinct_terms']:,}).")
    missing = cut["terms_above_cut"] - sum(1 for count in counts if count > cut["count_at_cut"])
    rare = [term for term, count in zip(vocabulary, counts) if count < cut["count_at_cut"]][:5]
    # Terms tied at the cut may be any of them; everything more frequent must be in.
    assert not missing and not rare, (
        f"the 20,000th most frequent training term occurs {cut['count_at_cut']} times, but your vocabulary "
        f"leaves out {missing} more frequent terms and holds rarer ones such as {rare}. Count every term of "
        "every training review, then keep the most frequent.")


@pytest.mark.points(1)
def test_vocabulary_order_is_deterministic(collected):
    """the vocabulary is ordered by (-count, term), the same in every process"""
    vocabulary = collected.need("vocabulary", "build_vocabulary")
    counts = collected["vocabulary_counts"]
    keys = [(-count, term) for count, term in zip(counts, vocabulary)]
    assert keys == sorted(keys) or vocabulary == sorted(vocabulary), (
        "the vocabulary is neither sorted by (-count, term) nor alphabetically, so its order (and every "
        "row index of the embedding) can change from one run to the next (Python's set and hash order vary "
        f"between processes). First terms: {vocabulary[:6]} with counts {counts[:6]}.")
