"""Exercise 7's collector: the vocabulary the submission builds from the
training file (with each term's true count), then its model over that
vocabulary, trained and scored.

Every term's count, and so the count at the cut, is measured before the
submission is imported: ``TRUSTED_REFERENCE``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import models, schema
from embedlab.grading.contract import Collection

TRUSTED_REFERENCE = True
RETURNS = {**models.RETURNS, "cut": schema.PLAIN, "vocabulary": schema.STRINGS,
           "vocabulary_counts": schema.NUMBERS}

MAX_TERMS = 20_000  # the vocabulary size the exercise asks for


def term_counts(train: Path) -> dict[bytes, int]:
    """How often each term occurs in the training file."""
    from embedlab.data import records

    counts: dict[bytes, int] = {}
    for features, _ in records.read_dataset(train, batch_size=1000):
        words, numbers = np.unique(features["terms"].flat_values.numpy(), return_counts=True)
        for word, number in zip(words.tolist(), numbers.tolist()):
            counts[word] = counts.get(word, 0) + number
    return counts


def cut_facts(counts: dict[bytes, int], max_terms: int) -> dict:
    """The count of the `max_terms`-th most frequent term, and how many terms are more frequent.

    >>> cut_facts({b"a": 5, b"b": 3, b"c": 3, b"d": 1}, 2)
    {'max_terms': 2, 'count_at_cut': 3, 'terms_above_cut': 1, 'distinct_terms': 4}
    """
    ranked = sorted(counts.values(), reverse=True)
    cut = ranked[min(max_terms, len(ranked)) - 1]
    return {"max_terms": max_terms, "count_at_cut": cut,
            "terms_above_cut": sum(1 for value in ranked if value > cut), "distinct_terms": len(ranked)}


def collect(collection: Collection) -> None:
    train = grading_data.train_file(collection.data_dir)
    # Measure every term's count first: the grader's figure to compare with.
    counts = term_counts(train)
    collection.result["cut"] = cut_facts(counts, MAX_TERMS)

    if not collection.load():
        return
    build_vocabulary = collection.function("build_vocabulary")
    if build_vocabulary is None:
        return
    vocabulary = collection.step("build_vocabulary", build_vocabulary, str(train), MAX_TERMS)
    if vocabulary is None:
        return
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(term, str) for term in vocabulary):
        collection.result["errors"]["build_vocabulary"] = (
            f"build_vocabulary() returned {type(vocabulary).__name__}; expected a list of str")
        return
    vocabulary = [str(term) for term in vocabulary]
    collection.result["vocabulary"] = vocabulary
    collection.result["vocabulary_counts"] = [counts.get(term.encode("utf-8"), 0) for term in vocabulary]
    model = models.build(collection, "build_bigger_model", list(vocabulary))
    if model is not None:
        models.train_and_predict(collection, model)
