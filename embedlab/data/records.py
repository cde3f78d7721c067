"""The course's TFRecord schema: writing it, checking it, and reading it.

Each record is a ``tf.train.Example`` with two features, as in the crash
course's ``train.tfrecord`` and ``test.tfrecord``:

* ``terms``: a bytes list, one UTF-8 token per entry (any length, even 0);
* ``labels``: a float list with exactly one value, 1.0 for a positive review
  and 0.0 for a negative one.

`read_dataset` turns such files (ours, or the course's originals) into
batches of ``({"terms": <tf.RaggedTensor of strings, shape [batch, None]>},
<float32 labels, shape [batch, 1]>)``. Its ragged row splits are int64,
because Keras' `StringLookup` in ``count`` mode fails on int32 ones.

Writing (`serialize`, `write_records`) needs no TensorFlow: `embedlab.data.wire`
encodes the same bytes as TensorFlow's own serializer and writer. Reading
imports TensorFlow inside the functions, so importing this module is free.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from embedlab.data import wire
from embedlab.errors import EmbedlabError, first_line

TERMS = "terms"
LABELS = "labels"
_FRAME = 8 + 4 + 4  # a record's length, its CRC and the data's CRC


def feature_spec():
    import tensorflow as tf

    return {
        TERMS: tf.io.RaggedFeature(dtype=tf.string, row_splits_dtype=tf.int64),
        LABELS: tf.io.FixedLenFeature(shape=[1], dtype=tf.float32),
    }


def serialize(terms: Sequence[str], label: float) -> bytes:
    """One review as a serialized ``tf.train.Example``: the bytes of TensorFlow's
    ``SerializeToString(deterministic=True)``."""
    # map(str.encode) instead of a generator: this may run for millions of terms.
    return wire.encode_example(list(map(str.encode, terms)), float(label))


def write_records(path: Path, records: Iterable[bytes]) -> int:
    """Write serialized examples to ``path`` (a TFRecord file); returns how many were written."""
    return wire.write_records(path, records)


def resolve_files(file_pattern: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """Expand a path, a glob or a list of them; every match must be a file."""
    import glob

    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(pattern)))
        if not matches:
            raise EmbedlabError(f"{pattern}: no such file (run `embedlab prepare` to build the TFRecords)")
        for match in matches:
            if not os.path.isfile(match):
                raise EmbedlabError(f"{match}: not a file")
        files.extend(matches)
    return files


def check_framing(path: str | os.PathLike) -> int:
    """Walk the TFRecord headers of a file; returns how many records it holds.

    A TFRecord file is a sequence of (8-byte length, 4-byte CRC, data, 4-byte
    CRC). Following the lengths finds a truncated file, or one that is not
    TFRecord at all, in milliseconds and with a clear message, instead of a
    `DataLossError` midway through training. (The CRCs are left to
    TensorFlow's reader: damage inside a record shows when it is read.)
    """
    size = os.path.getsize(path)
    count = offset = 0
    with open(path, "rb") as handle:
        while offset < size:
            header = handle.read(8)
            length = struct.unpack("<Q", header)[0] if len(header) == 8 else None
            end = None if length is None else offset + _FRAME + length
            if end is None or end > size:
                if count == 0:
                    raise EmbedlabError(f"{path}: not a TFRecord file, or one cut short within its first record")
                raise EmbedlabError(
                    f"{path}: truncated TFRecord file: record {count + 1} at byte {offset} "
                    f"is cut short after {count} complete records"
                )
            offset = end
            handle.seek(offset)
            count += 1
    return count


def check_schema(path: str | os.PathLike) -> int:
    """Raise `EmbedlabError` unless the file is whole and its first record has
    the course schema; returns the number of records."""
    try:
        count = check_framing(path)
        if count == 0:
            raise EmbedlabError(f"{path}: holds no records")
        with open(path, "rb") as handle:
            length = struct.unpack("<Q", handle.read(8))[0]
            handle.seek(12)
            first = handle.read(length)
    except OSError as error:
        raise EmbedlabError(f"{path}: cannot read ({error.strerror or error})") from None
    # Only now: a file that is not TFRecord at all fails before the import.
    import tensorflow as tf

    try:
        example = tf.train.Example.FromString(first)
    except Exception:
        raise EmbedlabError(f"{path}: records are not tf.train.Example protos") from None
    features = example.features.feature
    problems = []
    if TERMS not in features or features[TERMS].WhichOneof("kind") not in ("bytes_list", None):
        problems.append("'terms' must be a bytes list")
    if LABELS not in features or features[LABELS].WhichOneof("kind") != "float_list":
        problems.append("'labels' must be a float list")
    elif len(features[LABELS].float_list.value) != 1:
        problems.append(f"'labels' must hold one value, found {len(features[LABELS].float_list.value)}")
    if problems:
        found = ", ".join(f"{name}: {features[name].WhichOneof('kind')}" for name in sorted(features)) or "none"
        raise EmbedlabError(f"{path}: wrong schema: {'; '.join(problems)} (features found: {found})")
    return count


def read_dataset(
    file_pattern,
    batch_size: int = 25,
    shuffle: bool = False,
    seed: int | None = None,
    num_epochs: int | None = 1,
    shuffle_buffer: int = 25_000,
):
    """Batches of ``({"terms": ragged strings}, labels)`` from course TFRecords.

    Args:
        file_pattern: a path, a glob, or a list of them.
        batch_size: reviews per batch (the course used 25).
        shuffle: shuffle reviews (reshuffled each epoch) with ``seed``.
        num_epochs: how many passes; ``None`` repeats forever.

    Raises:
        EmbedlabError: a file is missing, is not a whole TFRecord file, or its
            first record does not have the course schema. (A record damaged
            inside a whole file raises `tf.errors.DataLossError` when it is
            read, and one with another schema `tf.errors.InvalidArgumentError`.)
        ValueError: a bad argument.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    files = resolve_files(file_pattern)
    for path in files:
        check_schema(path)

    import tensorflow as tf

    spec = feature_spec()
    # Files one after the other: `num_parallel_reads` wraps the reader in an
    # interleave that handles every record on its own, which made reading the
    # (cached) course files two to three times slower, even for one file.
    dataset = tf.data.TFRecordDataset(files)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat(num_epochs)
    # Batch the serialized protos first: one vectorized parse per batch is
    # far faster than parsing review by review.
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(
        lambda serialized: _split(tf.io.parse_example(serialized, spec)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _split(parsed):
    return {TERMS: parsed[TERMS]}, parsed[LABELS]


def _first_line(error: BaseException) -> str:
    """An error's message on one line (`embedlab.errors.first_line`), without TensorFlow's op decorations."""
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{[^}]*\}\}|\s*\[Op:[^\]]*\].*|\[\[\{\{node [^}]*\}\}\]\]", "", text)
    text = re.sub(r"^\s*Error in user-defined function passed to .*? with iterator: [\w:]+: (Name: [^,]*, )?", "",
                  text).strip()
    return first_line(EmbedlabError(text)) if text else type(error).__name__
