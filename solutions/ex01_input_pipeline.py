"""Exercise 1: an input pipeline from TFRecords to batches of ragged terms.

The concept
-----------
A movie review is categorical data: each of its words is one value out of a
vocabulary of tens of thousands. A review has no fixed length, so the natural
way to store it is as a list of its terms, and a batch of reviews as a
*ragged* tensor: one row per review, each row as long as that review. Nothing
is padded and nothing is one-hot encoded yet; the models of the next
exercises decide how to turn those strings into numbers (a sparse vector of
counts, or an embedding).

The data is in the course's schema: every record of a TFRecord file is a
``tf.train.Example`` with

* ``terms``: a bytes list, one token per entry (possibly empty);
* ``labels``: one float, 1.0 for a positive review and 0.0 for a negative one.

``tf.io.RaggedFeature`` parses a variable-length feature straight into a
``tf.RaggedTensor``. Ask for int64 row splits
(``row_splits_dtype=tf.int64``): Keras' ``StringLookup`` in ``"count"``
mode counts the terms of each row with ``tf.math.bincount`` on the ragged
tensor (the ``RaggedBincount`` kernel), which only accepts int64 splits. With
int32 splits the model fails at the first batch, far from the cause.

Parse a whole batch at once: ``batch`` the serialized records first and then
``map`` ``tf.io.parse_example`` over the batches. One vectorized parse per
batch is many times faster than one parse per review.

What to build
-------------
``make_dataset(file_pattern, batch_size=25, shuffle=False, seed=None,
num_epochs=1)`` returns a ``tf.data.Dataset`` of
``({"terms": terms}, labels)`` pairs:

1. expand ``file_pattern`` (a path, a glob such as ``"data/train-*"``, or a
   list of them) to the sorted list of matching files; raise
   ``FileNotFoundError`` when a pattern matches nothing;
2. raise ``ValueError`` when ``batch_size`` is smaller than 1;
3. read the files with ``tf.data.TFRecordDataset``;
4. when ``shuffle`` is true, shuffle the reviews with a buffer of at least
   10,000 records, the given ``seed``, and a new order at every epoch;
5. repeat ``num_epochs`` times (``None`` repeats forever);
6. batch, then parse each batch with ``tf.io.parse_example``, with
   ``num_parallel_calls=tf.data.AUTOTUNE``;
7. end with ``prefetch(tf.data.AUTOTUNE)``.

The last batch may be smaller than ``batch_size`` (no reviews are dropped).

Shapes
------
* ``features["terms"]``: ``tf.RaggedTensor`` of ``tf.string``, shape
  ``[batch, None]``, ``row_splits.dtype == tf.int64``;
* ``labels``: ``tf.float32``, shape ``[batch, 1]``.

Example
-------
>>> import os, shutil, tempfile
>>> from embedlab.data.records import serialize, write_records
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "tiny.tfrecord")
>>> write_records(path, [serialize(["a", "great", "film", "!"], 1.0),
...                      serialize(["bad"], 0.0), serialize([], 0.0)])
3
>>> features, labels = next(iter(make_dataset(path, batch_size=2)))
>>> features["terms"].to_list()
[[b'a', b'great', b'film', b'!'], [b'bad']]
>>> features["terms"].row_splits.dtype.name
'int64'
>>> labels.numpy().tolist()
[[1.0], [0.0]]
>>> [len(labels) for _, labels in make_dataset(path, batch_size=2, num_epochs=2)]
[2, 2, 2]
>>> make_dataset(path, batch_size=0)
Traceback (most recent call last):
...
ValueError: batch_size must be at least 1, got 0
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import glob
import os

import tensorflow as tf

# Large enough to mix positive and negative reviews well even when a file is
# sorted by label; the course's training split has 25,000 reviews.
SHUFFLE_BUFFER = 25_000


def make_dataset(file_pattern, batch_size=25, shuffle=False, seed=None, num_epochs=1):
    """Batches of ``({"terms": ragged strings}, labels)`` read from TFRecords.

    Args:
        file_pattern: a path, a glob, or a list of paths and globs.
        batch_size: reviews per batch (at least 1).
        shuffle: shuffle the reviews, with a new order at every epoch.
        seed: the shuffle's seed (``None``: a different order every run).
        num_epochs: passes over the data; ``None`` repeats forever.

    Returns:
        A ``tf.data.Dataset`` of ``({"terms": tf.RaggedTensor}, labels)``.

    Raises:
        ValueError: ``batch_size`` is smaller than 1.
        FileNotFoundError: a pattern matches no file.
    """
    # BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
    files = []
    for pattern in patterns:
        matches = sorted(glob.glob(os.fspath(pattern)))
        if not matches:
            raise FileNotFoundError(f"{pattern}: no file matches")
        files.extend(matches)

    feature_spec = {
        "terms": tf.io.RaggedFeature(dtype=tf.string, row_splits_dtype=tf.int64),
        "labels": tf.io.FixedLenFeature(shape=[1], dtype=tf.float32),
    }

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, feature_spec)
        return {"terms": parsed["terms"]}, parsed["labels"]

    dataset = tf.data.TFRecordDataset(files)
    if shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat(num_epochs)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
    # END SOLUTION
