"""An honest exercise 1 (the attack fixtures copy it next to their attacks)."""
import glob
import os

import tensorflow as tf


def make_dataset(file_pattern, batch_size=25, shuffle=False, seed=None, num_epochs=1):
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
    files = sorted(path for pattern in patterns for path in glob.glob(os.fspath(pattern)))
    spec = {"terms": tf.io.RaggedFeature(dtype=tf.string, row_splits_dtype=tf.int64),
            "labels": tf.io.FixedLenFeature(shape=[1], dtype=tf.float32)}

    def parse(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        return {"terms": parsed["terms"]}, parsed["labels"]

    dataset = tf.data.TFRecordDataset(files)
    if shuffle:
        dataset = dataset.shuffle(25_000, seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat(num_epochs).batch(batch_size).map(parse).prefetch(tf.data.AUTOTUNE)
