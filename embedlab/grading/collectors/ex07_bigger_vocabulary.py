"""Exercise 7's collector: the vocabulary the submission builds from the training file, then its
fastText model over that vocabulary, trained, exported and judged by its computation
(`embedlab.grading.linear_mean`).

The vocabulary is judged in the grader's process, against every training term's count measured there
(`vocabulary_report`): the worker holds no expected answer.

>>> table = TermTable.from_reviews([["a", "b", "b", "c", "c", "d"], ["c", "b", "e"]])
>>> vocabulary_report(["c", "b", "a"], table, 3)["problems"]
[]
>>> vocabulary_report(["c", "b", "e"], table, 3)["order"]
[]
>>> vocabulary_report(["b", "c", "d"], table, 2)["problems"][0]
'3 terms for max_terms=2'
>>> vocabulary_report(["a", "c", "b"], table, 3)["order"]
["'c' (3 times) comes at position 2 after 'a' (once); 1 such inversions"]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import linear_mean, models, schema
from embedlab.grading.contract import Collection
from embedlab.grading.terms import TermTable

RETURNS = {**linear_mean.RETURNS, "vocabulary": schema.STRINGS}

MAX_TERMS = 20_000  # the vocabulary size the exercise asks for
DIMENSION = 16      # build_bigger_model's default dimension
WHAT = "build_bigger_model(build_vocabulary(train))"


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    return linear_mean.questions(rng, data_dir)


def collect(collection: Collection) -> None:
    if not collection.load():
        return
    build_vocabulary = collection.function("build_vocabulary")
    if build_vocabulary is None:
        return
    train = grading_data.train_file(collection.data_dir)
    vocabulary = collection.step("build_vocabulary", build_vocabulary, str(train), MAX_TERMS)
    if vocabulary is None:
        return
    if not isinstance(vocabulary, (list, tuple)) or not all(isinstance(term, str) for term in vocabulary):
        collection.result["errors"]["build_vocabulary"] = (
            f"build_vocabulary() returned {type(vocabulary).__name__}; expected a list of str")
        return
    vocabulary = [str(term) for term in vocabulary]
    collection.result["vocabulary"] = vocabulary
    model = models.build(collection, "build_bigger_model", list(vocabulary))
    if model is not None:
        linear_mean.train_and_export(collection, model)


def test_predictions(result: dict, questions: dict, data_dir: Path) -> np.ndarray:
    """The test probabilities of the exported fastText model, once its exports reproduce its answers."""
    vocabularies = [entry for entry in (result.get("vocabulary"), result.get("lookup_vocabulary")) if entry]
    if not vocabularies:
        raise linear_mean.nothing_to_judge(result, WHAT, "vocabulary")
    # bigrams=True: the same numbers for a vocabulary of terms; exercise 8's n-gram model is a fair answer too.
    fasttext = linear_mean.judge(result, questions, vocabularies, bigrams=True, dimension=DIMENSION, what=WHAT,
                                 unit="term")
    return fasttext.probabilities(grading_data.terms(data_dir, "test"))


def embedding(result: dict, questions: dict) -> tuple[list[str], np.ndarray]:
    """The vocabulary's terms and their trained 16-d vectors, as the fastText check verified them."""
    vocabularies = [entry for entry in (result.get("vocabulary"), result.get("lookup_vocabulary")) if entry]
    if not vocabularies:
        raise linear_mean.nothing_to_judge(result, WHAT, "vocabulary")
    return linear_mean.verified_embedding(result, questions, vocabularies, bigrams=True, dimension=DIMENSION,
                                          what=WHAT, unit="term")


# ------------------------------------------------------------------ the vocabulary, judged in the grader
def train_counts(data_dir: Path) -> TermTable:
    return grading_data.terms(data_dir, "train")


def vocabulary_report(vocabulary: list[str], table: TermTable, max_terms: int = MAX_TERMS) -> dict:
    """What is wrong with a vocabulary (`problems`: its terms; `order`: its order), with the counts that show it.

    Terms tied at the count of the cut may be any of them, in any order among themselves.
    """
    totals = table.totals()  # the split's own counts, once per process
    index = table.index()
    counts = [int(totals[index[term]]) if term in index else 0 for term in vocabulary]
    ranked = np.sort(totals)[::-1]
    cut = int(ranked[min(max_terms, len(ranked)) - 1]) if len(ranked) else 0
    problems: list[str] = []
    if len(vocabulary) != min(max_terms, len(ranked)):
        problems.append(f"{len(vocabulary)} terms for max_terms={max_terms}")
    if len(set(vocabulary)) != len(vocabulary):
        seen: set[str] = set()
        twice = next(term for term in vocabulary if term in seen or seen.add(term))
        problems.append(f"{len(vocabulary) - len(set(vocabulary))} terms listed twice, such as {twice!r}")
    rare = [(term, count) for term, count in zip(vocabulary, counts) if count < cut]
    if rare:
        term, count = min(rare, key=lambda item: item[1])
        occurs = f"occurs {times(count)}" if count else "does not occur"
        problems.append(f"{len(rare)} terms rarer than the cut, such as {term!r}, which {occurs} in the training "
                        f"reviews while the {max_terms:,}th most frequent term occurs {times(cut)}")
    chosen = set(vocabulary)
    left_out = [(table.terms[i], int(totals[i])) for i in np.flatnonzero(totals > cut) if table.terms[i] not in chosen]
    if left_out:
        term, count = max(left_out, key=lambda item: item[1])
        problems.append(f"{len(left_out)} terms more frequent than the cut ({cut} occurrences) left out, such as "
                        f"{term!r} ({times(count)})")
    order = []
    if vocabulary != sorted(vocabulary):
        inversions = [i for i in range(1, len(counts)) if counts[i] > counts[i - 1]]
        if inversions:
            i = inversions[0]
            order.append(f"{vocabulary[i]!r} ({times(counts[i])}) comes at position {i + 1} after "
                         f"{vocabulary[i - 1]!r} ({times(counts[i - 1])}); {len(inversions)} such inversions")
    return {"problems": problems, "order": order, "cut": cut, "distinct_terms": len(ranked)}


def times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
