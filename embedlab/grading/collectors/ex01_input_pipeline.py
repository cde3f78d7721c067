"""Exercise 1's collector: the submission's `make_dataset`, described batch by batch.

Questions (drawn at grading time, in the trusted process): a second, small
batch size that does not divide the number of training reviews (so a dropped
last batch shows in every draw), the shuffle seed, and how many batches one
epoch has (a repeating dataset must yield one more).

References (only where ``computes_references``, and after the submission's
calls in the grader's own process): the training file's first batches, as
the grader's own reader yields them at the exercise's batch size, and its
record counts. ``TRUSTED_REFERENCE``: an isolated grading gets them from the
trusted reference run, never from the student's worker.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from embedlab.grading import data as grading_data
from embedlab.grading import schema
from embedlab.grading.contract import Collection
from embedlab.grading.models import raised_by, shape_of

TRUSTED_REFERENCE = True
REFERENCE_BATCHES = 3  # how many first batches are compared with the file's
SMALL_BATCH_SIZES = (7, 9, 11, 13, 17, 19)  # one is drawn; it must leave a smaller last batch

RETURNS = {
    "dataset": schema.PLAIN,
    "first_batches": schema.PLAIN,
    "epoch": schema.PLAIN,
    "small_first": schema.PLAIN,
    "small_epoch": schema.PLAIN,
    "shuffled_first": schema.PLAIN,
    "shuffled_again_first": schema.PLAIN,
    "shuffled_epoch": schema.PLAIN,
    "repeat_batches": schema.PLAIN,
    "batch_size_0": schema.PLAIN,
}


def questions(rng: np.random.Generator, data_dir: Path) -> dict:
    """The grading-time choices: a small batch size, the shuffle seed, the number of training reviews."""
    records = len(grading_data.terms(data_dir, "train"))
    uneven = [size for size in SMALL_BATCH_SIZES if records % size] or list(SMALL_BATCH_SIZES)
    return {"small_batch_size": int(rng.choice(uneven)), "shuffle_seed": int(rng.integers(1, 2**31 - 1)),
            "train_records": records}


def batches_per_epoch(records: int, batch_size: int) -> int:
    return math.ceil(records / batch_size)


def reference_facts(train: Path, batch_size: int) -> dict:
    """The file's first batches and its record counts, read with the grader's own pipeline."""
    from embedlab.data import records

    batches, sizes = [], set()
    total = positives = 0
    for features, labels in records.read_dataset(train, batch_size=batch_size):
        if len(batches) < REFERENCE_BATCHES:
            batches.append({
                "terms": [[term.decode("utf-8") for term in row] for row in features[records.TERMS].to_list()],
                "labels": labels.numpy()[:, 0].tolist(),
            })
        total += int(labels.shape[0])
        sizes.add(int(labels.shape[0]))
        positives += int(labels.numpy().sum())
    return {"batch_size": batch_size, "first_batches": batches, "train_records": total,
            "train_positive": positives, "batch_sizes": sorted(sizes)}


def describe_dataset(dataset) -> dict:
    """The dataset's type and element structure: feature keys, the terms' and the labels' specs."""
    import tensorflow as tf

    facts = {"type": type(dataset).__name__, "is_dataset": isinstance(dataset, tf.data.Dataset)}
    if not facts["is_dataset"]:
        return facts
    spec = dataset.element_spec
    facts["structure"] = type(spec).__name__
    if isinstance(spec, tuple) and len(spec) == 2:
        features, labels = spec
        facts["feature_keys"] = sorted(features) if isinstance(features, dict) else None
        terms = features.get("terms") if isinstance(features, dict) else None
        facts["terms_spec"] = None if terms is None else {
            "class": type(terms).__name__, "dtype": terms.dtype.name,
            "shape": shape_of(terms.shape),
            "row_splits_dtype": getattr(getattr(terms, "row_splits_dtype", None), "name", None),
        }
        facts["labels_spec"] = {"class": type(labels).__name__, "dtype": getattr(labels.dtype, "name", "?"),
                                "shape": shape_of(labels.shape)}
    return facts


def first_batches(dataset, count: int) -> list:
    """The first `count` batches as plain lists: terms (padding dropped), labels and the labels' shape."""
    import tensorflow as tf

    batches = []
    for features, labels in dataset.take(count):
        terms = features["terms"]
        rows = terms.to_list() if isinstance(terms, tf.RaggedTensor) else [
            [term for term in row if term] for row in terms.numpy().tolist()]
        batches.append({"terms": [[term.decode("utf-8") for term in row] for row in rows],
                        "labels": np.asarray(labels).reshape(-1).tolist(),
                        "labels_shape": list(np.asarray(labels).shape)})
    return batches


def epoch_summary(dataset) -> dict:
    """One pass: how many batches and reviews, how many positive, which batch sizes."""
    sizes, positives = [], 0.0
    for _, labels in dataset:
        labels = np.asarray(labels).reshape(-1)
        sizes.append(int(labels.shape[0]))
        positives += float(labels.sum())
    return {"batches": len(sizes), "examples": int(sum(sizes)), "positives": positives,
            "batch_sizes": sorted(set(sizes))}


def count_batches(dataset, limit: int) -> int:
    return sum(1 for _ in dataset.take(limit))


def ask(collection: Collection, train: str, batch_size: int) -> None:
    """Call the submission's make_dataset the ways the tests judge, and describe what it returned."""
    result, step, questions = collection.result, collection.step, collection.questions
    make_dataset = collection.function("make_dataset")
    if make_dataset is None:
        return
    plain = step("make_dataset", make_dataset, train, batch_size=batch_size, shuffle=False)
    if plain is not None:
        result["dataset"] = step("describe", describe_dataset, plain)
        result["first_batches"] = step("first_batches", first_batches, plain, REFERENCE_BATCHES)
        result["epoch"] = step("epoch", epoch_summary, plain)

    small_size = questions["small_batch_size"]
    small = step("small_batch", make_dataset, train, batch_size=small_size, shuffle=False)
    if small is not None:
        result["small_first"] = step("small_first", first_batches, small, 1)
        result["small_epoch"] = step("small_epoch", epoch_summary, small)

    seed = questions["shuffle_seed"]
    shuffled = step("shuffled", make_dataset, train, batch_size=batch_size, shuffle=True, seed=seed)
    again = step("shuffled_again", make_dataset, train, batch_size=batch_size, shuffle=True, seed=seed)
    if shuffled is not None and again is not None:
        result["shuffled_first"] = step("shuffled_first", first_batches, shuffled, 1)
        result["shuffled_again_first"] = step("shuffled_again_first", first_batches, again, 1)
        result["shuffled_epoch"] = step("shuffled_epoch", epoch_summary, shuffled)

    repeated = step("repeat", make_dataset, train, batch_size=batch_size, shuffle=False, num_epochs=None)
    if repeated is not None:
        wanted = batches_per_epoch(questions["train_records"], batch_size) + 1
        result["repeat_batches"] = step("repeat_take", count_batches, repeated, wanted)

    result["batch_size_0"] = step("batch_size_0", raised_by, make_dataset, train, batch_size=0)


def collect(collection: Collection) -> None:
    train = str(grading_data.train_file(collection.data_dir))
    batch_size = collection.exercise.budget.batch_size
    if collection.runs_submission and not {"small_batch_size", "shuffle_seed"} <= set(collection.questions):
        collection.result["errors"]["questions"] = "the grader gave this run no questions (an error of the grader)"
    elif collection.load():
        ask(collection, train, batch_size)
    # The grader's own reference: where no student code runs after it.
    if collection.computes_references:
        facts = collection.step("reference", reference_facts, Path(train), batch_size)
        collection.references.update(facts or {})
