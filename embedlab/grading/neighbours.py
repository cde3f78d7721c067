"""A term embedding's neighbours and the polarity of terms, in numpy: the grader's own measure of whether
an embedding puts terms of the same sentiment together.

The API, for any exercise that grades a term embedding (``terms``: its terms in row order; ``matrix``:
``(len(terms), d)``):

* `polarity(table, labels)`: per distinct term of a split (a `TermTable` and its labels, 1.0 positive),
  the smoothed log-odds of the term in positive against negative reviews, and its count;
* `cosine_neighbours(matrix, queries, candidates, k)`: for each query row, the ``k`` candidate rows of
  highest cosine similarity, best first, the query row itself left out (a zero row is similar to nothing);
* `polar_probes(table, labels, per_side, frequent)`: the ``per_side`` most positive and most negative terms
  among the split's ``frequent`` most frequent ones;
* `neighbour_agreement(terms, matrix, table, labels, ...)`: for those probes, the fraction of their ``k``
  cosine neighbours (among the split's frequent terms the embedding holds) whose polarity (the sign of
  the log-odds) is the probe's, as an `Agreement` (the value and, per probe, its neighbours).

>>> table = TermTable.from_reviews([["good", "fine"], ["good", "nice"], ["bad", "dull"], ["bad", "poor"]])
>>> log_odds, occurrences = polarity(table, np.array([1.0, 1.0, 0.0, 0.0]))
>>> dict(zip(table.terms, np.round(log_odds, 3).tolist()))["good"], occurrences.tolist()
(1.099, [2, 1, 1, 2, 1, 1])
>>> matrix = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.1]])
>>> cosine_neighbours(matrix, np.array([0]), np.arange(4), 2).tolist()
[[1, 2]]
>>> found = neighbour_agreement(["good", "fine", "nice", "bad", "dull", "poor"],
...                             np.array([[1, 0], [1, .1], [.9, 0], [-1, 0], [-1, .1], [-.9, 0]]),
...                             table, np.array([1.0, 1.0, 0.0, 0.0]), k=2, per_side=1, frequent=6)
>>> found.value, [probe.term for probe in found.probes]
(1.0, ['good', 'bad'])
"""

from __future__ import annotations

import dataclasses

import numpy as np

from embedlab.grading.terms import TermTable

K = 10             # neighbours per probe
PER_SIDE = 25      # probes: the most positive and the most negative terms
FREQUENT = 5_000   # probes and neighbours among the split's most frequent terms (rare terms barely train)

def polarity(table: TermTable, labels) -> tuple[np.ndarray, np.ndarray]:
    """(log-odds, occurrences) per term of ``table.terms``: the log of the term's smoothed share of the
    positive reviews' terms over its share of the negative reviews' terms,
    ``log((pos + 1) / (all pos + T)) - log((neg + 1) / (all neg + T))`` (``T`` distinct terms), and
    ``pos + neg``, its number of occurrences (one pass over the split)."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    if labels.shape != (len(table),):
        raise ValueError(f"{labels.shape[0]} labels for {len(table)} reviews")
    size = len(table.terms)
    in_positive = labels[table.owners()] > 0.5
    positive = np.bincount(table.ids, weights=in_positive, minlength=size)
    occurrences = table.totals()
    negative = occurrences - positive
    log_odds = (np.log((positive + 1.0) / (positive.sum() + size))
                - np.log((negative + 1.0) / (negative.sum() + size)))
    return log_odds, np.asarray(occurrences, dtype=np.int64)


def unit_rows(matrix) -> np.ndarray:
    """The rows divided by their length (a zero row stays zero)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def cosine_neighbours(matrix, queries, candidates, k: int = K) -> np.ndarray:
    """``(len(queries), k)`` row numbers of `matrix`: each query row's `k` most cosine-similar rows among
    `candidates` (row numbers), best first, the query itself excluded; ties broken by row number."""
    unit = unit_rows(matrix)
    queries, candidates = np.asarray(queries, dtype=np.int64), np.asarray(candidates, dtype=np.int64)
    similarity = unit[queries] @ unit[candidates].T
    similarity[candidates[None, :] == queries[:, None]] = -np.inf
    order = np.lexsort((np.broadcast_to(candidates, similarity.shape), -similarity), axis=1)[:, :k]
    return candidates[order]


def frequent_terms(table: TermTable, frequent: int = FREQUENT) -> list[str]:
    """The split's `frequent` most frequent terms, most frequent first (ties by the term)."""
    totals = table.totals()
    order = sorted(range(len(table.terms)), key=lambda i: (-int(totals[i]), table.terms[i]))
    return [table.terms[i] for i in order[:frequent]]


def polar_probes(table: TermTable, labels, per_side: int = PER_SIDE,
                 frequent: int = FREQUENT) -> tuple[list[str], list[str]]:
    """(the most positive, the most negative) `per_side` terms by log-odds among the `frequent` most
    frequent terms of the split, strongest first."""
    log_odds, _ = polarity(table, labels)
    index = table.index()
    pool = sorted(frequent_terms(table, frequent), key=lambda term: (-log_odds[index[term]], term))
    return pool[:per_side], pool[::-1][:per_side]


@dataclasses.dataclass
class Probe:
    term: str
    positive: bool
    neighbours: list[str]
    matching: int  # how many of them have the probe's polarity


@dataclasses.dataclass
class Agreement:
    value: float          # matching neighbours / all neighbours, over every probe found in the embedding
    probes: list[Probe]   # positive probes first, strongest first
    missing: list[str]    # probes the embedding does not hold


def neighbour_agreement(terms, matrix, table: TermTable, labels, k: int = K, per_side: int = PER_SIDE,
                        frequent: int = FREQUENT) -> Agreement:
    """How often the `k` cosine neighbours of the split's most polar terms share their polarity, in the
    embedding (`terms`, `matrix`); neighbours are sought among the split's `frequent` most frequent terms
    that the embedding holds. ValueError when the embedding holds none of the probes."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != len(terms):
        raise ValueError(f"an embedding of shape {matrix.shape} for {len(terms)} terms")
    log_odds, _ = polarity(table, labels)
    index, rows = table.index(), {}
    for row, term in enumerate(terms):
        rows.setdefault(term, row)
    candidates = [term for term in frequent_terms(table, frequent) if term in rows]
    positive, negative = polar_probes(table, labels, per_side, frequent)
    probes = [(term, True) for term in positive] + [(term, False) for term in negative]
    found = [(term, sign) for term, sign in probes if term in rows]
    if not found:
        raise ValueError("the embedding holds none of the probe terms")
    near = cosine_neighbours(matrix, [rows[term] for term, _ in found], [rows[term] for term in candidates], k)
    results = []
    for (term, sign), neighbour_rows in zip(found, near):
        neighbours = [terms[row] for row in neighbour_rows]
        matching = sum(1 for other in neighbours if (log_odds[index[other]] > 0) == sign)
        results.append(Probe(term, sign, neighbours, matching))
    total = sum(len(probe.neighbours) for probe in results)
    return Agreement(sum(probe.matching for probe in results) / max(total, 1), results,
                     [term for term, _ in probes if term not in rows])
