"""One block of self-attention over token and position embeddings, in numpy: the grader's forward pass of a
contextual model, with the exported weights in it.

A review's first ``max_length`` terms become rows of the token embedding (``offset`` special rows first: 0
the padding, 1 the out-of-vocabulary terms), plus one position vector each; multi-head self-attention as
``keras.layers.MultiHeadAttention`` computes it (scaled dot products, softmax over the real positions, an
output projection), a residual connection and layer normalization give the contextual vectors; their mean
over the real positions goes into one sigmoid unit. `find` matches exported weights by shape (and names,
then Keras' order), `Contextual` computes; `judge` (embedlab.grading.collectors) checks it against the
model's own answers.

>>> rng = np.random.default_rng(0)
>>> model = random_model(rng, ["not", "bad", "acting"], max_length=4, dimension=4, heads=2)
>>> model.vectors(["not", "bad"]).shape, model.vectors(["bad"] * 9).shape, model.vectors([]).shape
((2, 4), (4, 4), (0, 4))
>>> probabilities = model.probabilities([["not", "bad"], ["bad", "not"], [], ["zzqxv"]])
>>> bool(probabilities[0] != probabilities[1]), bool(np.isclose(probabilities[2], sigmoid(model.bias)))
(True, True)
>>> same = dataclasses.replace(model, positions=None).probabilities([["not", "bad"], ["bad", "not"]])
>>> bool(np.isclose(same[0], same[1]))
True
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from embedlab.grading.terms import TermTable

EPSILON = 1e-3         # keras.layers.LayerNormalization's default
LARGE_NEGATIVE = -1e9  # what Keras' masked softmax adds at a masked position (float32)
BATCH = 64             # reviews per numpy batch of the test split


def sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


@dataclasses.dataclass(frozen=True)
class Contextual:
    """The computation the exercise specifies, with the exported numbers in it (float64)."""

    vocabulary: tuple[str, ...]
    token: np.ndarray               # (V + offset, D): the static vectors
    offset: int                     # rows before the vocabulary's first term
    oov_row: int                    # the row of an out-of-vocabulary term
    positions: np.ndarray | None    # (max_length, D); None: no position embedding
    query: np.ndarray               # (D, H, K), with its bias (H, K); key and value the same
    query_bias: np.ndarray
    key: np.ndarray
    key_bias: np.ndarray
    value: np.ndarray
    value_bias: np.ndarray
    output: np.ndarray              # (H, K, D), with its bias (D,)
    output_bias: np.ndarray
    gamma: np.ndarray               # (D,) layer normalization
    beta: np.ndarray
    kernel: np.ndarray              # (D,) the sigmoid unit's weights
    bias: float
    max_length: int
    residual: bool = True           # the usual mistakes, as hypotheses: no residual connection,
    attend_padding: bool = False    # no mask in the attention,
    mean_padding: bool = False      # the padding counted in the mean

    def rows(self, review: Sequence[str]) -> np.ndarray:
        """The token embedding rows of the review's first `max_length` terms."""
        index = self.index()
        return np.asarray([index.get(term, self.oov_row) for term in list(review)[: self.max_length]], dtype=np.int64)

    def index(self) -> dict[str, int]:
        index = self.__dict__.get("_index")
        if index is None:
            index = {term: self.offset + i for i, term in enumerate(self.vocabulary)}
            object.__setattr__(self, "_index", index)
        return index

    def static(self, review: Sequence[str]) -> np.ndarray:
        """The static vectors of the review's terms: token embedding rows, the same whatever the context."""
        return self.token[self.rows(review)]

    def vectors(self, review: Sequence[str]) -> np.ndarray:
        """The contextual vectors (the layer normalization's output) of the review's first `max_length` terms."""
        rows = self.rows(review)
        return self.forward(rows[None, :], np.ones((1, len(rows)), dtype=bool))[0][0]

    def forward(self, rows: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(contextual vectors (B, T, D), probabilities (B,)) of padded rows (B, T) with their mask."""
        x = self.token[rows]
        if self.positions is not None:
            x = x + self.positions[None, : rows.shape[1]]
        dimension = x.shape[-1]
        heads, key_dim = self.query.shape[1:]

        def project(kernel, bias):  # (B, T, D) -> (B, H, T, K), one matrix product
            projected = x @ kernel.reshape(dimension, heads * key_dim) + bias.reshape(-1)
            return projected.reshape(*x.shape[:2], heads, key_dim).transpose(0, 2, 1, 3)

        query, key, value = (project(self.query, self.query_bias), project(self.key, self.key_bias),
                             project(self.value, self.value_bias))
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= 1.0 / np.sqrt(key_dim)
        if not self.attend_padding and not mask.all():
            scores += np.where(mask, 0.0, LARGE_NEGATIVE).astype(scores.dtype)[:, None, None, :]
        scores -= scores.max(axis=-1, keepdims=True, initial=LARGE_NEGATIVE)
        weights = np.exp(scores, out=scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        attended = (weights @ value).transpose(0, 2, 1, 3).reshape(*x.shape[:2], heads * key_dim)
        attended = attended @ self.output.reshape(heads * key_dim, dimension) + self.output_bias
        summed = x + attended if self.residual else attended
        mean = summed.mean(axis=-1, keepdims=True)
        variance = summed.var(axis=-1, keepdims=True)
        contextual = (summed - mean) / np.sqrt(variance + EPSILON) * self.gamma + self.beta
        real = (np.ones_like(mask) if self.mean_padding else mask)[:, :, None].astype(contextual.dtype)
        pooled = (contextual * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1.0)
        return contextual, sigmoid(pooled @ self.kernel + self.bias)

    def probabilities(self, reviews: Sequence[Sequence[str]], one_batch: bool = False) -> np.ndarray:
        """One probability per review (a list of terms), in batches of similar lengths (`one_batch`: all
        padded to the longest, as the model answered them, which matters when padding is not masked)."""
        rows = [self.rows(review) for review in reviews]
        return self._batched(rows, max((len(row) for row in rows), default=0) if one_batch else None)

    def table_probabilities(self, table: TermTable) -> np.ndarray:
        """One probability per review of a split's term table (the test reviews)."""
        index = self.index()
        columns = np.asarray([index.get(term, self.oov_row) for term in table.terms], dtype=np.int64)
        fast = self.in_float32()  # 25,000 reviews: float32 (its error on a probability is about 1e-6)
        rows = columns[table.ids] if len(table.ids) else np.zeros(0, dtype=np.int64)
        starts, ends = table.splits[:-1], np.minimum(table.splits[1:], table.splits[:-1] + self.max_length)
        return fast._batched([rows[start:end] for start, end in zip(starts, ends)])

    def in_float32(self) -> Contextual:
        """The same computation in float32: half the memory traffic, for the test split."""
        arrays = {field.name: getattr(self, field.name).astype(np.float32) for field in dataclasses.fields(self)
                  if isinstance(getattr(self, field.name), np.ndarray)}
        return dataclasses.replace(self, **arrays)

    def _batched(self, reviews: list[np.ndarray], padded: int | None = None) -> np.ndarray:
        result = np.zeros(len(reviews))
        order = np.argsort([len(review) for review in reviews], kind="stable")
        for start in range(0, len(order), BATCH):
            chosen = order[start:start + BATCH]
            length = padded if padded is not None else max(1, max(len(reviews[i]) for i in chosen))
            rows = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=bool)
            for line, i in enumerate(chosen):
                rows[line, : len(reviews[i])] = reviews[i]
                mask[line, : len(reviews[i])] = True
            result[chosen] = self.forward(rows, mask)[1]
        return result


# ------------------------------------------------------------------ the exported weights, matched by shape
def find(weights: Sequence[np.ndarray], names: Sequence[str], vocabulary: Sequence[str],
         max_length: int) -> Iterator[Contextual]:
    """Every shape-consistent reading of the exported weights as a `Contextual` (by names first, then in Keras'
    order, then the other orders of the same shapes); nothing if a part is missing. `max_length`: the terms
    read when there is no position embedding (otherwise its rows)."""
    weights = [np.asarray(weight, dtype=np.float64) for weight in weights]
    names = [str(name).lower() for name in names] if len(names) == len(weights) else [""] * len(weights)
    kernels = [i for i, weight in enumerate(weights) if weight.ndim == 2 and weight.shape[1] == 1]
    for kernel in kernels:
        dimension = weights[kernel].shape[0]
        # query, key and value (D, H, K), then the output projection (H, K, D): Keras creates them in that order
        cubes = [i for i, weight in enumerate(weights) if weight.ndim == 3 and dimension in (weight.shape[0],
                                                                                           weight.shape[2])]
        outputs = [i for i in cubes if weights[i].shape[2] == dimension and weights[i].shape[0] != dimension]
        outputs = outputs or [i for i in cubes if "output" in names[i]] or cubes[3:4]
        qkv = [i for i in cubes if i not in outputs and weights[i].shape[0] == dimension]
        if len(qkv) != 3 or len(outputs) != 1 or len({weights[i].shape for i in qkv}) != 1:
            continue
        heads, key_dim = weights[qkv[0]].shape[1:]
        tables = [i for i, weight in enumerate(weights) if weight.ndim == 2 and weight.shape[1] == dimension]
        tokens = [i for i in tables if 1 <= weights[i].shape[0] - len(vocabulary) <= 2]
        positions = [i for i in tables if i not in tokens] + [None]  # None: a position embedding left out
        vectors = [i for i, weight in enumerate(weights) if weight.shape == (dimension,)]
        biases = [i for i, weight in enumerate(weights) if weight.shape == (heads, key_dim)]
        biases = biases if len(biases) == 3 else [None, None, None]
        units = [i for i, weight in enumerate(weights) if weight.shape == (1,)] or [None]
        if len(vectors) == 2:  # an attention without biases: its output bias is zero
            vectors = [None, *vectors]
        if len(vectors) != 3:
            continue
        for token, position, unit in itertools.product(tokens, positions, units):
            offset = weights[token].shape[0] - len(vocabulary)
            for qkv_order, vector_order in orders(qkv, biases, vectors, names):
                (query, key, value), (query_bias, key_bias, value_bias) = qkv_order
                output_bias, gamma, beta = vector_order

                def get(i, shape):
                    return np.zeros(shape) if i is None else weights[i]

                yield Contextual(
                    tuple(vocabulary), weights[token], offset, offset - 1,
                    None if position is None else weights[position],
                    weights[query], get(query_bias, (heads, key_dim)), weights[key], get(key_bias, (heads, key_dim)),
                    weights[value], get(value_bias, (heads, key_dim)), weights[outputs[0]],
                    get(output_bias, (dimension,)), weights[gamma], weights[beta], weights[kernel][:, 0],
                    0.0 if unit is None else float(weights[unit][0]),
                    weights[position].shape[0] if position is not None else int(max_length))


def orders(qkv: list[int], biases: list, vectors: list, names: list[str]):
    """Assignments of (query, key, value) and of (output bias, gamma, beta): by the names, or else Keras'
    order, then the others."""
    def by_name(indices, words):
        found = [next((i for i in indices if i is not None and word in names[i]), None) for word in words]
        return found if None not in found and len(set(found)) == len(found) else None

    named_qkv = by_name(qkv, ["query", "key", "value"])
    named_biases = by_name(biases, ["query", "key", "value"])
    named_vectors = by_name(vectors[1:], ["gamma", "beta"])
    first_qkv = [named_qkv or qkv, named_biases or biases]
    first_vectors = [vectors[0], *named_vectors] if named_vectors else vectors
    # Named weights are read by their names alone; without names, every order of the same shapes is tried.
    q_orders = [tuple(first_qkv[0])] + ([] if named_qkv else list(itertools.permutations(qkv)))
    v_orders = [tuple(first_vectors)] + ([] if named_vectors else list(itertools.permutations(vectors)))
    seen = set()
    for q_order in q_orders:
        for v_order in v_orders:
            if (q_order, v_order) in seen or v_order[1] is None or v_order[2] is None:
                continue
            seen.add((q_order, v_order))
            bias_order = first_qkv[1] if q_order == tuple(first_qkv[0]) else [
                biases[qkv.index(i)] for i in q_order]
            yield (list(q_order), list(bias_order)), list(v_order)


def random_model(rng: np.random.Generator, vocabulary: Sequence[str], max_length: int, dimension: int,
                 heads: int) -> Contextual:
    """A `Contextual` with random weights (examples, tests)."""
    key_dim = dimension // heads

    def normal(*shape):
        return rng.normal(0.0, 0.5, size=shape)

    return Contextual(tuple(vocabulary), normal(len(vocabulary) + 2, dimension), 2, 1, normal(max_length, dimension),
                      normal(dimension, heads, key_dim), normal(heads, key_dim), normal(dimension, heads, key_dim),
                      normal(heads, key_dim), normal(dimension, heads, key_dim), normal(heads, key_dim),
                      normal(heads, key_dim, dimension), normal(dimension), 1.0 + normal(dimension),
                      normal(dimension), normal(dimension), float(normal(1)[0]), max_length)
