"""Checks on the TFRecords prepared from the real 50,000 IMDB reviews.

The folder is $EMBEDLAB_TFRECORDS or <repo>/tfrecords; without it these tests
skip, except under CI=true, where they fail (see data_fixtures).
"""

from __future__ import annotations

import json

import pytest

from embedlab.data import prepare, records, tokenizer
from embedlab.data.inspect import summarize
from embedlab.vocabulary import INFORMATIVE_TERMS

from data_fixtures import prepared_data  # noqa: F401 - a fixture

pytestmark = pytest.mark.realdata

SPLITS = ("train", "test")


@pytest.fixture(scope="module")
def manifest(prepared_data):  # noqa: F811
    return json.loads((prepared_data / "manifest.json").read_text())


@pytest.fixture(scope="module")
def summaries(prepared_data):  # noqa: F811
    return {split: summarize(str(prepared_data / f"{split}.tfrecord")) for split in SPLITS}


def test_manifest_describes_the_files(prepared_data, manifest):  # noqa: F811
    assert manifest["tokenizer_version"] == tokenizer.TOKENIZER_VERSION, "stale data: run `embedlab prepare` again"
    for split in SPLITS:
        entry = manifest["splits"][split]
        path = prepared_data / entry["file"]
        assert entry["file"] == f"{split}.tfrecord"
        assert path.stat().st_size == entry["bytes"]
        assert prepare.sha256_of(path) == entry["sha256"]
        assert entry["records"] == 25_000
        assert entry["labels"] == {"positive": 12_500, "negative": 12_500}


@pytest.mark.parametrize("split", SPLITS)
def test_records_and_balance(prepared_data, summaries, split):  # noqa: F811
    assert records.check_schema(prepared_data / f"{split}.tfrecord") == 25_000
    summary = summaries[split]
    assert (summary["records"], summary["positive"], summary["negative"]) == (25_000, 12_500, 12_500)
    assert summary["tokens_per_review"]["min"] > 0


def test_all_informative_terms_occur_in_train(summaries):
    counts = summaries["train"]["informative_term_counts"]
    assert [term for term in INFORMATIVE_TERMS if not counts[term]] == []
    assert summaries["train"]["informative_terms_present"] == 50


def test_read_dataset_over_the_whole_train_file(prepared_data):  # noqa: F811
    import tensorflow as tf

    total = positives = 0
    for features, labels in records.read_dataset(prepared_data / "train.tfrecord", batch_size=1000):
        terms = features["terms"]
        assert isinstance(terms, tf.RaggedTensor)
        assert terms.row_splits.dtype == tf.int64
        assert labels.dtype == tf.float32 and labels.shape == (terms.nrows(), 1)
        total += int(labels.shape[0])
        positives += int(tf.reduce_sum(labels))
    assert (total, positives) == (25_000, 12_500)
