"""Exercise 5's collector: the submission's one-hot, counts, lookup and review
vectors on inputs drawn at grading time, and Keras' built-ins on the same inputs.

Questions (`questions`, drawn in the trusted process): a random matrix of 2
and one of 3 columns, the weights of the probe model for embedding_matrix,
terms (the vocabulary's first and last, others, unknown words, StringLookup's
own "[UNK]") and reviews (one with repeated and unknown terms, one of a term
repeated, one of unknown terms only, an empty one), in a random order. Every
kind of input is in every draw, so a function gets the same score on every
run.

References (what StringLookup's one_hot / count modes and an Embedding layer
give for those inputs) are computed only where ``computes_references``: the
trusted reference run (no student code), or the grader's own process AFTER
the submission's calls. A student's worker holds no expected value.
"""

from __future__ import annotations

import numpy as np

from embedlab.grading import schema
from embedlab.grading.contract import Collection
from embedlab.grading.models import VOCABULARY

TRUSTED_REFERENCE = True
DIMENSIONS = (2, 3)
LOOKUPS = ("lookup", "lookup_by_matmul", "review_vector")
RETURNS = {"one_hot": schema.MATRIX, "counts_vector": schema.MATRIX, "embedding_matrix": schema.MATRIX,
           **{f"{name}_{dimension}": schema.MATRIX for name in LOOKUPS for dimension in DIMENSIONS}}
QUESTIONS = ("terms", "reviews", "probe_matrix", *(f"matrix_{dimension}" for dimension in DIMENSIONS))

UNKNOWN_WORDS = ("the", "plot", "actor", "and", "story", "scene", ",", "characters", "was", "it")
KERAS_OOV = "[UNK]"  # StringLookup's own out-of-vocabulary token: not a vocabulary term either


def _unknown(rng: np.random.Generator) -> str:
    """A term outside the vocabulary: a common word, or random letters."""
    if rng.random() < 0.5:
        return str(rng.choice(UNKNOWN_WORDS))
    return "".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), size=int(rng.integers(5, 9))))


def _terms(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct vocabulary terms."""
    return [VOCABULARY[int(index)] for index in rng.choice(len(VOCABULARY), size=count, replace=False)]


def questions(rng: np.random.Generator, data_dir) -> dict:
    """The inputs put to the submission: matrices, terms, reviews (plain data)."""
    middle = [VOCABULARY[int(index)] for index in rng.choice(np.arange(1, len(VOCABULARY) - 1), 3, replace=False)]
    terms = [VOCABULARY[0], VOCABULARY[-1], *middle, str(rng.choice(UNKNOWN_WORDS)), _unknown(rng), KERAS_OOV]
    rng.shuffle(terms)
    known = _terms(rng, int(rng.integers(3, 7)))
    mixed = known + [known[0]] * int(rng.integers(1, 3)) + [_unknown(rng) for _ in range(int(rng.integers(1, 4)))]
    rng.shuffle(mixed)
    twice, once = _terms(rng, 2)
    repeated = [twice] * int(rng.integers(2, 5)) + [once]
    rng.shuffle(repeated)
    unknown_only = [_unknown(rng) for _ in range(int(rng.integers(1, 4)))]
    reviews = [mixed, repeated, unknown_only, []]
    reviews = [reviews[int(index)] for index in rng.permutation(len(reviews))]
    drawn = {f"matrix_{dimension}": rng.normal(size=(len(VOCABULARY), dimension)).astype(np.float32)
             for dimension in DIMENSIONS}
    # The probe model's own weights: never passed to another function, so only the model can tell them.
    drawn["probe_matrix"] = rng.normal(size=(len(VOCABULARY), 2)).astype(np.float32)
    return {"terms": terms, "reviews": reviews, **drawn}


def expected_values(questions: dict) -> dict[str, np.ndarray]:
    """What Keras' StringLookup and Embedding give for the questions' terms and reviews."""
    import keras

    terms, reviews = list(questions["terms"]), [list(review) for review in questions["reviews"]]
    one_hot_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="one_hot")
    count_layer = keras.layers.StringLookup(vocabulary=VOCABULARY, output_mode="count")
    index_layer = keras.layers.StringLookup(vocabulary=VOCABULARY)
    expected = {
        "one_hot": np.asarray(one_hot_layer(np.array(terms)))[:, 1:],
        "counts_vector": np.stack([np.asarray(count_layer(np.array(review, dtype=str)))[1:]
                                   if review else np.zeros(len(VOCABULARY), np.float32) for review in reviews]),
    }
    for dimension in DIMENSIONS:
        matrix = np.asarray(questions[f"matrix_{dimension}"], dtype=np.float32)
        table = keras.layers.Embedding(len(VOCABULARY) + 1, dimension)  # row 0: out of vocabulary, zeros
        table.build((None,))
        table.set_weights([np.concatenate([np.zeros((1, dimension), np.float32), matrix])])
        expected[f"lookup_{dimension}"] = np.asarray(table(np.asarray(index_layer(np.array(terms)))))
        vectors = []
        for review in reviews:
            ids = np.asarray(index_layer(np.array(review, dtype=str))) if review else np.zeros(0, np.int64)
            rows = np.asarray(table(ids)) if len(ids) else np.zeros((0, dimension), np.float32)
            in_vocabulary = ids > 0
            vectors.append(rows[in_vocabulary].mean(axis=0) if in_vocabulary.any()
                           else np.zeros(dimension, np.float32))
        expected[f"review_vector_{dimension}"] = np.stack(vectors)
    return {name: value.astype(np.float64) for name, value in expected.items()}


def probe_model(matrix: np.ndarray):
    """A small model whose 'terms_embedding' layer holds `matrix`, for embedding_matrix(model)."""
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32")
    layer = keras.layers.Embedding(len(VOCABULARY), matrix.shape[1], name="terms_embedding")
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(layer(inputs))))
    layer.set_weights([matrix])
    return model


def stacked(values) -> np.ndarray:
    """The submission's answers, one flattened float64 row each."""
    return np.stack([np.asarray(value, dtype=np.float64).reshape(-1) for value in values])


def gather(collection: Collection, key: str, function_name: str, calls: list) -> None:
    """Call the submission's `function_name` once per (step name, arguments) of `calls`.

    If every call answered, the answers, stacked, go to ``result[key]``.
    """
    function = collection.function(function_name)
    if function is None:
        return
    values = [collection.step(step_name, function, *args) for step_name, args in calls]
    if all(value is not None for value in values):
        collection.result[key] = collection.step(f"{function_name}:array", stacked, values)


def ask(collection: Collection, questions: dict) -> None:
    """Put the questions to the submission's functions (fresh copies: nothing it changes comes back)."""
    terms, reviews = list(questions["terms"]), [list(review) for review in questions["reviews"]]
    gather(collection, "one_hot", "one_hot", [(f"one_hot({term!r})", (term, list(VOCABULARY))) for term in terms])
    gather(collection, "counts_vector", "counts_vector",
           [(f"counts_vector({review!r})", (list(review), list(VOCABULARY))) for review in reviews])
    for dimension in DIMENSIONS:
        matrix = np.asarray(questions[f"matrix_{dimension}"], dtype=np.float32)
        for name in ("lookup", "lookup_by_matmul"):
            gather(collection, f"{name}_{dimension}", name,
                   [(f"{name}({term!r}, dim {dimension})", (term, matrix.copy(), list(VOCABULARY)))
                    for term in terms])
        gather(collection, f"review_vector_{dimension}", "review_vector",
               [(f"review_vector({review!r}, dim {dimension})", (list(review), matrix.copy(), list(VOCABULARY)))
                for review in reviews])
    function = collection.function("embedding_matrix")
    if function is not None:
        model = collection.step("probe model", probe_model, np.array(questions["probe_matrix"], dtype=np.float32))
        value = None if model is None else collection.step("embedding_matrix", function, model)
        if value is not None:
            collection.result["embedding_matrix"] = collection.step("embedding_matrix:array", np.asarray, value,
                                                                     dtype=np.float64)


def collect(collection: Collection) -> None:
    questions = collection.questions
    missing = [key for key in QUESTIONS if key not in questions]
    if missing:
        collection.result["errors"]["questions"] = (
            f"the grader gave this run no {', '.join(missing)} (its grading-time inputs; an error of the grader)")
        return
    if collection.load():
        ask(collection, questions)
    # After the submission's calls: while its code ran, no expected value existed in this process.
    if collection.computes_references:
        collection.references.update(collection.step("reference", expected_values, questions) or {})
