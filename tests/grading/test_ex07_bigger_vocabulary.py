"""Exercise 7: the vocabulary built from the training data (the model is judged in test_models.py)."""

import pytest

pytestmark = pytest.mark.exercise("ex07_bigger_vocabulary")


@pytest.mark.points(2)
def test_vocabulary_is_the_most_frequent_training_terms(collected):
    """build_vocabulary(train, 20000) keeps the 20,000 most frequent training terms"""
    vocabulary = collected.need("vocabulary", "build_vocabulary")
    reference = collected["reference_vocabulary"]
    assert len(vocabulary) == len(reference) and len(set(vocabulary)) == len(vocabulary), (
        f"build_vocabulary(train, 20000) returned {len(vocabulary)} terms ({len(set(vocabulary))} distinct); "
        f"expected {len(reference)} distinct terms.")
    overlap = len(set(vocabulary) & set(reference)) / len(reference)
    # Terms tied in count at the cut may differ; more than that is a counting error.
    assert overlap >= 0.99, (
        f"only {overlap:.1%} of the terms are among the 20,000 most frequent ones that Keras' "
        "StringLookup.adapt finds; count every term of every training review.")


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
