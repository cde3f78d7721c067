"""Every review of a split as term ids: the grader's own view of the data, read with numpy alone.

A `TermTable` holds one split: its distinct terms (``terms``), every review's
term ids in order (``ids``, int32) and where each review starts (``splits``,
int64, one more entry than there are reviews). The grading data builds the
tables once from the TFRecords (`build`, which needs TensorFlow); the grader
then computes what it needs on the test reviews, in its own process and
without TensorFlow: the counts of a vocabulary's terms, or the mean of
per-term scores over each review's in-vocabulary unigrams (and bigrams).
That is what lets the test reviews stay out of every process that runs a
student's code.

What depends on the split alone is computed once: the adjacent pairs of
terms (`pairs`, stored with the table by `save`: the grading data holds the
test split's), and, once per process, each term's total count (`totals`),
the review of each position and the counts of the last vocabulary asked for.

>>> table = TermTable.from_reviews([["great", "film", "great"], [], ["bad", "!"]])
>>> table.counts(["great", "bad"]).tolist()
[[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
>>> table.mean_of(["great", "bad"], [2.0, -1.0], empty=0.5).tolist()
[2.0, 0.5, -1.0]
>>> table.mean_of(["great", "great film", "bad !"], [1.0, 4.0, -3.0], empty=0.0, bigrams=True).tolist()
[2.0, 0.0, -3.0]
>>> distinct, at = TermTable.from_reviews([["a", "b", "a", "b"], ["b", "a"]]).pairs()
>>> distinct.tolist(), at.tolist()  # a b = 0 * 2 + 1, b a = 1 * 2 + 0; -1 where the first review ends
([1, 2], [0, 1, 0, -1, 1])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedlab.errors import EmbedlabError

SEPARATOR = " "  # between the two terms of a bigram, as tf.strings.ngrams(..., separator=" ") joins them


class TermTable:
    def __init__(self, terms: Sequence[str], ids: np.ndarray, splits: np.ndarray, stored: Path | None = None):
        self.terms = tuple(terms)
        self.ids = np.asarray(ids, dtype=np.int32)
        self.splits = np.asarray(splits, dtype=np.int64)
        if self.splits.ndim != 1 or self.splits[0] != 0 or self.splits[-1] != len(self.ids):
            raise EmbedlabError("a term table's row splits must run from 0 to the number of terms")
        self._stored = stored  # the .npz it was loaded from: its pair index is read from there when needed
        self._index: dict[str, int] | None = None
        self._owners: np.ndarray | None = None
        self._totals: np.ndarray | None = None
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None
        self._counts: tuple[tuple[str, ...], np.ndarray] | None = None

    @classmethod
    def from_reviews(cls, reviews: Sequence[Sequence[str]]) -> TermTable:
        index: dict[str, int] = {}
        ids = [index.setdefault(term, len(index)) for review in reviews for term in review]
        splits = np.cumsum([0, *(len(review) for review in reviews)])
        return cls(list(index), np.asarray(ids, dtype=np.int32), splits)

    def __len__(self) -> int:
        return len(self.splits) - 1

    def review(self, number: int) -> list[str]:
        return [self.terms[i] for i in self.ids[self.splits[number]:self.splits[number + 1]]]

    def reviews(self, numbers: Sequence[int]) -> list[list[str]]:
        return [self.review(int(number)) for number in numbers]

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {term: i for i, term in enumerate(self.terms)}
        return self._index

    def owners(self) -> np.ndarray:
        """The review of each position of `ids` (int64, read-only)."""
        if self._owners is None:
            self._owners = _frozen(np.repeat(np.arange(len(self)), np.diff(self.splits)))
        return self._owners

    def totals(self) -> np.ndarray:
        """How often each distinct term occurs in the split (int64, read-only, in the order of `terms`)."""
        if self._totals is None:
            self._totals = _frozen(np.bincount(self.ids, minlength=len(self.terms)).astype(np.int64))
        return self._totals

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The split's adjacent pairs of terms: (``distinct``, ``at``), both read-only.

        ``distinct``: the code ``first * len(terms) + second`` of every distinct pair of term ids that
        follow each other in a review, sorted (int64); ``at``: for each position ``i`` but the last, the
        index in ``distinct`` of the pair at ``i, i + 1``, or -1 where a review ends at ``i`` (int32).
        """
        if self._pairs is None:
            self._pairs = self._stored_pairs() or self._count_pairs()
        return self._pairs

    def _count_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        owner = self.owners()
        same_review = owner[:-1] == owner[1:]
        codes = self.ids[:-1].astype(np.int64) * len(self.terms) + self.ids[1:]
        distinct, inverse = np.unique(codes[same_review], return_inverse=True)
        at = np.full(len(codes), -1, dtype=np.int32)
        at[same_review] = inverse.reshape(-1)
        return _frozen(distinct.astype(np.int64)), _frozen(at)

    def _stored_pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self._stored is None:
            return None
        with np.load(self._stored, allow_pickle=False) as arrays:
            if "pair_codes" not in arrays.files or "pair_at" not in arrays.files:
                return None
            distinct, at = arrays["pair_codes"], arrays["pair_at"]
        if at.shape != (max(len(self.ids) - 1, 0),):
            raise EmbedlabError(f"{self._stored}: its pair index does not fit its terms; rebuild the grading data")
        return _frozen(distinct), _frozen(at)

    def _columns(self, vocabulary: Sequence[str]) -> np.ndarray:
        """For each distinct term of the table, its column in `vocabulary` (-1: not in it; first one wins)."""
        columns = np.full(len(self.terms), -1, dtype=np.int64)
        index = self.index()
        for column, term in reversed(list(enumerate(vocabulary))):
            if term in index:
                columns[index[term]] = column
        return columns

    def counts(self, vocabulary: Sequence[str]) -> np.ndarray:
        """(reviews, len(vocabulary)) float64: how often each vocabulary term occurs; other terms are ignored.

        Read-only; the last vocabulary's counts are kept (exercises 2-4 all ask for the 50 terms').
        """
        key = tuple(vocabulary)
        if self._counts is None or self._counts[0] != key:
            width = len(vocabulary)
            columns = self._columns(vocabulary)[self.ids]
            known = columns >= 0
            cells = self.owners()[known] * width + columns[known]
            counts = np.bincount(cells, minlength=len(self) * width).reshape(len(self), width).astype(np.float64)
            self._counts = (key, _frozen(counts))
        return self._counts[1]

    def mean_of(self, vocabulary: Sequence[str], scores: Sequence[float], empty: float,
                bigrams: bool = False) -> np.ndarray:
        """Per review, the mean of `scores` over its terms found in `vocabulary` (each occurrence once).

        With ``bigrams`` the review's adjacent pairs count too, as ``"first second"`` entries of the
        vocabulary (the n-grams of widths 1 and 2 that ``tf.strings.ngrams`` makes). A review with
        none of them gets `empty`.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(vocabulary),):
            raise EmbedlabError(f"{len(scores)} scores for a vocabulary of {len(vocabulary)} entries")
        unigrams = self._columns(vocabulary)[self.ids]
        owner = self.owners()
        known = unigrams >= 0
        totals = np.bincount(owner[known], weights=scores[unigrams[known]], minlength=len(self))
        numbers = np.bincount(owner[known], minlength=len(self)).astype(np.float64)
        if bigrams:
            pair_totals, pair_numbers = self._bigram_sums(vocabulary, scores, owner)
            totals, numbers = totals + pair_totals, numbers + pair_numbers
        means = np.full(len(self), float(empty))
        some = numbers > 0
        means[some] = totals[some] / numbers[some]
        return means

    def _bigram_sums(self, vocabulary, scores, owner) -> tuple[np.ndarray, np.ndarray]:
        index, size = self.index(), len(self.terms)
        keys, values = [], []
        for column, entry in enumerate(vocabulary):
            first, separator, second = entry.partition(SEPARATOR)
            if separator and first in index and second in index and SEPARATOR not in second:
                keys.append(index[first] * size + index[second])
                values.append(scores[column])
        empty = np.zeros(len(self)), np.zeros(len(self))
        if not keys or len(self.ids) < 2:
            return empty
        keys, order = np.unique(np.asarray(keys, dtype=np.int64), return_index=True)  # an entry's first column wins
        values = np.asarray(values, dtype=np.float64)[order]
        # The vocabulary's bigrams among the split's distinct pairs, then every position's pair at once.
        distinct, at = self.pairs()
        if not len(distinct):
            return empty
        found = np.minimum(np.searchsorted(distinct, keys), len(distinct) - 1)
        known = distinct[found] == keys
        pair_score = np.zeros(len(distinct))
        in_vocabulary = np.zeros(len(distinct), dtype=bool)
        pair_score[found[known]] = values[known]
        in_vocabulary[found[known]] = True
        positions = np.flatnonzero(at >= 0)
        positions = positions[in_vocabulary[at[positions]]]
        owners = owner[positions]
        totals = np.bincount(owners, weights=pair_score[at[positions]], minlength=len(self))
        numbers = np.bincount(owners, minlength=len(self)).astype(np.float64)
        return totals, numbers

    # ------------------------------------------------------------ storage
    def save(self, path: Path, pairs: bool = True) -> None:
        """``path.npz`` (ids, splits and, with `pairs`, the pair index) and ``path.json`` (terms)."""
        path = Path(path)
        arrays = {"ids": self.ids, "splits": self.splits}
        if pairs:
            arrays["pair_codes"], arrays["pair_at"] = self.pairs()
        np.savez(path.with_suffix(".npz"), **arrays)
        path.with_suffix(".json").write_text(json.dumps(self.terms))

    @classmethod
    def load(cls, path: Path) -> TermTable:
        """The table `save` wrote; its pair index is read when first needed."""
        path = Path(path)
        try:
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
                ids, splits = arrays["ids"], arrays["splits"]
            terms = json.loads(path.with_suffix(".json").read_text())
            return cls(terms, ids, splits, stored=path.with_suffix(".npz"))
        except (OSError, ValueError, KeyError) as error:
            raise EmbedlabError(f"{path}: not a term table ({error}); rebuild the grading data") from None


def _frozen(array: np.ndarray) -> np.ndarray:
    """`array`, read-only: kept for the process, shared by every caller."""
    array.setflags(write=False)
    return array


def build(tfrecord: Path, batch_size: int = 1000) -> TermTable:
    """The term table of a TFRecord file in the course schema (reads it with TensorFlow)."""
    import tensorflow as tf

    from embedlab.data import records

    index: dict[str, int] = {}
    ids, lengths = [], []
    for features, _ in records.read_dataset(tfrecord, batch_size=batch_size):
        terms = features[records.TERMS]
        unique, positions = tf.unique(terms.flat_values)
        known = np.fromiter((index.setdefault(term.decode("utf-8", "replace"), len(index))
                             for term in unique.numpy()), dtype=np.int32, count=int(unique.shape[0]))
        ids.append(known[positions.numpy()])
        lengths.append(terms.row_lengths().numpy())
    splits = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]) if lengths else np.zeros(1, np.int64)
    return TermTable(list(index), np.concatenate(ids) if ids else np.zeros(0, np.int32), splits)
