"""The grader's copy of the data, built once from the prepared TFRecords.

Layout of a grading-data folder (by default ``<tfrecords>/.grading``)::

    meta.json              what it was built from (sha256 of the sources)
    facts.json             facts about the data the grader needs without
                           reading it again: {"test_records": 25000}
    test_labels.npy        the 25,000 test labels: read by the grading process only
    train_labels.npy       the training labels (public, as the training split is), in the table's order, for
                           the grader's own computations on the training reviews (a term's polarity, a
                           classifier fitted on exported features)
    terms/train.{npz,json} every review's terms as ids, for the grader's own
    terms/test.{npz,json}  computations (`terms`, `embedlab.grading.terms`); the
                           test table with the index of its adjacent pairs
    worker/train.tfrecord  the training split, as prepared

Student code only ever sees ``worker/``: it can train on the training split,
and that is all. The test reviews stay with the grader, which computes the
test predictions itself from what a student's trained model exports (see
`embedlab.grading.contract`): a model's own forward pass over the public test
reviews would prove nothing.
Nothing here knows about any exercise; what an exercise checks against is
computed by its collector (see `embedlab.grading.collectors`).

>>> test_records("no/such/folder") is None
True
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from embedlab import files
from embedlab.data import order
from embedlab.errors import EmbedlabError

# 2: facts.json instead of exercise 1's reference.json; 3: term tables, no test terms for workers;
# 4: the term tables hold their adjacent pairs (`TermTable.pairs`); 5: the training labels beside them
FORMAT_VERSION = 5
# The order of the reviews the pass marks were calibrated on (docs/calibration.md).
CALIBRATED_ORDERS = (order.SHA256_OF_RECORD,)
FACTS_FILE = "facts.json"
LABELS_FILE = "test_labels.npy"
TRAIN_LABELS_FILE = "train_labels.npy"
META_FILE = "meta.json"


def worker_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "worker"


def train_file(data_dir: Path) -> Path:
    return worker_dir(data_dir) / "train.tfrecord"


def terms_path(data_dir: Path, split: str) -> Path:
    return Path(data_dir) / "terms" / split


_TABLES: dict[tuple[str, str], object] = {}


def terms(data_dir: Path, split: str):
    """The `TermTable` of a split ("train" or "test"), read once per process (grading process only)."""
    from embedlab.grading.terms import TermTable

    key = (str(Path(data_dir).resolve()), split)
    if key not in _TABLES:
        _TABLES[key] = TermTable.load(terms_path(data_dir, split))
    return _TABLES[key]


def load_test_labels(data_dir: Path):
    """The test labels, float32 of shape (test records,): for the grading process only."""
    import numpy as np

    return np.load(Path(data_dir) / LABELS_FILE)


def load_train_labels(data_dir: Path):
    """The training labels, float32 of shape (training records,), in the order of `terms(data_dir, "train")`."""
    import numpy as np

    return np.load(Path(data_dir) / TRAIN_LABELS_FILE)


def test_records(data_dir: Path) -> int | None:
    """How many test reviews there are (the length of a model's predictions); None if unknown."""
    try:
        return int(json.loads((Path(data_dir) / FACTS_FILE).read_text())["test_records"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _source_fingerprint(tfrecords_dir: Path) -> dict:
    manifest_path = tfrecords_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        fingerprint = {split: manifest["splits"][split]["sha256"] for split in ("train", "test")}
    except (OSError, ValueError, KeyError):
        fingerprint = None
    if fingerprint is not None:
        # The pass marks were measured on one order of the reviews (training reads them in file order).
        order.require(tfrecords_dir, accepted=CALIBRATED_ORDERS)
        return fingerprint
    for name in ("train.tfrecord", "test.tfrecord"):
        if not (tfrecords_dir / name).is_file():
            raise EmbedlabError(f"{tfrecords_dir / name}: no such file; run `embedlab prepare` first")
    # Files made elsewhere (e.g. the crash course's own, no manifest): key on size and time.
    return {
        name: f"{(tfrecords_dir / name).stat().st_size}:{(tfrecords_dir / name).stat().st_mtime_ns}"
        for name in ("train.tfrecord", "test.tfrecord")
    }


def ensure(tfrecords_dir: Path, out_dir: Path | None = None) -> Path:
    """Build the grading-data folder from `tfrecords_dir` if it is missing or stale; return its path.

    `out_dir` defaults to ``<tfrecords_dir>/.grading`` (see `Settings.grading_data`).
    """
    tfrecords_dir = Path(tfrecords_dir)
    out_dir = tfrecords_dir / ".grading" if out_dir is None else Path(out_dir)
    fingerprint = {"format": FORMAT_VERSION, "sources": _source_fingerprint(tfrecords_dir)}
    try:
        if json.loads((out_dir / META_FILE).read_text()) == fingerprint:
            return out_dir
    except (OSError, ValueError):
        pass
    _build(tfrecords_dir, out_dir, fingerprint)
    return out_dir


def _build(tfrecords_dir: Path, out_dir: Path, fingerprint: dict) -> None:
    import numpy as np
    import tensorflow as tf

    from embedlab.data import records
    from embedlab.grading.terms import build as build_terms

    # Built beside its final place, then swapped in whole: a reader never sees half a folder.
    staging = out_dir.with_name(out_dir.name + f".partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    worker = worker_dir(staging)
    worker.mkdir(parents=True)
    try:
        train_source = tfrecords_dir / "train.tfrecord"
        test_source = tfrecords_dir / "test.tfrecord"
        for path in (train_source, test_source):
            records.check_schema(path)
        shutil.copyfile(train_source, train_file(staging))

        def labels_of(source: Path) -> list:
            return [parsed[records.LABELS].numpy()[:, 0] for parsed in (
                tf.io.parse_example(serialized, records.feature_spec())
                for serialized in tf.data.TFRecordDataset(str(source)).batch(1000))]

        labels = labels_of(test_source)
        np.save(staging / TRAIN_LABELS_FILE, np.concatenate(labels_of(train_source)).astype(np.float32))
        (staging / "terms").mkdir()
        for split, source in (("train", train_source), ("test", test_source)):
            # The pair index only where the grader takes its means of n-gram scores: the test reviews.
            build_terms(source).save(terms_path(staging, split), pairs=split == "test")
        np.save(staging / LABELS_FILE, np.concatenate(labels).astype(np.float32))
        (staging / FACTS_FILE).write_text(json.dumps({"test_records": int(sum(len(chunk) for chunk in labels))}))
        (staging / META_FILE).write_text(json.dumps(fingerprint))
        files.replace_folder(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
