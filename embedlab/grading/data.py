"""The grader's copy of the data, built once from the prepared TFRecords.

Layout of a grading-data folder (default ``tfrecords/.grading``)::

    meta.json              what it was built from (sha256 of the sources)
    test_labels.npy        the 25,000 test labels: read by the grading process only
    reference.json         facts about the training file the grader checks
                           exercise 1 against (first batches, counts)
    worker/train.tfrecord  the training split, as prepared
    worker/test_terms.tfrecord
                           the test reviews' terms only, without labels

Student code only ever sees ``worker/``: it can train on the training split
and predict the test reviews, but it cannot read the test labels there.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from embedlab.errors import EmbedlabError

REFERENCE_BATCHES = 3
REFERENCE_BATCH_SIZE = 25
FORMAT_VERSION = 1


def default_tfrecords_dir() -> Path:
    configured = os.environ.get("EMBEDLAB_TFRECORDS")
    if configured:
        return Path(configured)
    from embedlab.files import DEFAULT_TFRECORDS

    return DEFAULT_TFRECORDS


def worker_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "worker"


def train_file(data_dir: Path) -> Path:
    return worker_dir(data_dir) / "train.tfrecord"


def test_terms_file(data_dir: Path) -> Path:
    return worker_dir(data_dir) / "test_terms.tfrecord"


def load_test_labels(data_dir: Path):
    import numpy as np

    return np.load(Path(data_dir) / "test_labels.npy")


def load_reference(data_dir: Path) -> dict:
    return json.loads((Path(data_dir) / "reference.json").read_text())


def _source_fingerprint(tfrecords_dir: Path) -> dict:
    manifest_path = tfrecords_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        return {split: manifest["splits"][split]["sha256"] for split in ("train", "test")}
    except (OSError, ValueError, KeyError):
        for name in ("train.tfrecord", "test.tfrecord"):
            if not (tfrecords_dir / name).is_file():
                raise EmbedlabError(
                    f"{tfrecords_dir / name}: no such file; run `embedlab prepare` first"
                ) from None
        # Files made elsewhere (e.g. the crash course's own): key on size and time.
        return {
            name: f"{(tfrecords_dir / name).stat().st_size}:{(tfrecords_dir / name).stat().st_mtime_ns}"
            for name in ("train.tfrecord", "test.tfrecord")
        }


def ensure(tfrecords_dir: Path | None = None, out_dir: Path | None = None) -> Path:
    """Build the grading-data folder if it is missing or stale; return its path."""
    tfrecords_dir = Path(tfrecords_dir or default_tfrecords_dir())
    out_dir = Path(out_dir or tfrecords_dir / ".grading")
    fingerprint = {"format": FORMAT_VERSION, "sources": _source_fingerprint(tfrecords_dir)}
    try:
        if json.loads((out_dir / "meta.json").read_text()) == fingerprint:
            return out_dir
    except (OSError, ValueError):
        pass
    _build(tfrecords_dir, out_dir, fingerprint)
    return out_dir


def _build(tfrecords_dir: Path, out_dir: Path, fingerprint: dict) -> None:
    import numpy as np
    import tensorflow as tf

    from embedlab.data import records

    staging = out_dir.with_name(out_dir.name + f".partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "worker").mkdir(parents=True)
    try:
        train_source = tfrecords_dir / "train.tfrecord"
        test_source = tfrecords_dir / "test.tfrecord"
        for path in (train_source, test_source):
            records.check_schema(path)
        shutil.copyfile(train_source, staging / "worker" / "train.tfrecord")

        labels = []
        with tf.io.TFRecordWriter(str(staging / "worker" / "test_terms.tfrecord")) as writer:
            for serialized in tf.data.TFRecordDataset(str(test_source)).batch(1000):
                parsed = tf.io.parse_example(serialized, records.feature_spec())
                labels.append(parsed[records.LABELS].numpy()[:, 0])
                for raw in serialized.numpy():
                    example = tf.train.Example.FromString(raw)
                    del example.features.feature[records.LABELS]
                    writer.write(example.SerializeToString(deterministic=True))
        np.save(staging / "test_labels.npy", np.concatenate(labels).astype(np.float32))

        batches = []
        total = positives = 0
        for features, batch_labels in records.read_dataset(train_source, batch_size=REFERENCE_BATCH_SIZE):
            if len(batches) < REFERENCE_BATCHES:
                batches.append({
                    "terms": [[t.decode("utf-8") for t in row] for row in features[records.TERMS].to_list()],
                    "labels": batch_labels.numpy()[:, 0].tolist(),
                })
            total += int(batch_labels.shape[0])
            positives += int(batch_labels.numpy().sum())
        reference = {"batch_size": REFERENCE_BATCH_SIZE, "first_batches": batches,
                     "train_records": total, "train_positive": positives,
                     "test_records": int(sum(len(chunk) for chunk in labels))}
        (staging / "reference.json").write_text(json.dumps(reference))
        (staging / "meta.json").write_text(json.dumps(fingerprint))
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
