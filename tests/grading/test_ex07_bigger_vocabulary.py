"""Exercise 7: the vocabulary built from the training data, judged against the counts the grader measures
itself (the model is judged by its computation in test_models.py's pass mark)."""

import pytest

from embedlab.grading.collectors import ex07_bigger_vocabulary as collector

pytestmark = pytest.mark.exercise("ex07_bigger_vocabulary")


def report(collected) -> dict:
    vocabulary = collected.need("vocabulary", "build_vocabulary")
    return collector.vocabulary_report(vocabulary, collector.train_counts(collected.data_dir))


@pytest.mark.points(2)
def test_vocabulary_is_the_most_frequent_training_terms(collected):
    """build_vocabulary(train, 20000) keeps the 20,000 most frequent training terms"""
    found = report(collected)
    # Terms tied at the cut may be any of them; everything more frequent must be in.
    collected.check(not found["problems"], (
        f"build_vocabulary(train, 20000): {'; '.join(found['problems'])} (the training split has "
        f"{found['distinct_terms']:,} distinct terms). Count every term of every training review, then keep the "
        "20,000 most frequent."))


@pytest.mark.points(1)
def test_vocabulary_order_is_deterministic(collected):
    """the vocabulary is ordered by descending count (terms tied at one count in any order)"""
    found = report(collected)
    collected.check(not found["order"], (
        f"the vocabulary is not ordered by descending count: {found['order'][0] if found['order'] else ''}. Sort "
        "by (-count, term) so every embedding row keeps its term from one run to the next."))
