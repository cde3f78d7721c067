"""The TFRecord schema: writing it, checking it, and reading it with read_dataset.

Files are built here with plain tf.train.Example (data_fixtures.write_examples),
so read_dataset is held to the schema, not to what our own writer happens to do.
"""

from __future__ import annotations

import hashlib

import pytest

tf = pytest.importorskip("tensorflow")

from embedlab.data import records, wire  # noqa: E402
from embedlab.errors import EmbedlabError  # noqa: E402

from data_fixtures import write_examples  # noqa: E402

# Terms our tokenizer would never produce, extra features the reader must
# ignore, an empty review, and bytes that are not UTF-8.
FOREIGN = [
    {"terms": ["Hello World", "", "ÜBER", "a_b"], "labels": [1.0], "id": [7], "text": ["Hello World!"]},
    {"terms": [], "labels": [0.0], "id": [8], "text": [""]},
    {"terms": [b"\xff\xfe", "?"], "labels": [1.0], "id": [9], "text": ["?"]},
    {"terms": ["x"] * 300, "labels": [0.0], "id": [10], "text": ["x"], "weight": [0.5]},
    {"terms": ["solo"], "labels": [1.0], "id": [11], "text": ["solo"]},
]


def _collect(dataset):
    terms, labels, batch_sizes = [], [], []
    for features, batch_labels in dataset:
        assert set(features) == {"terms"}
        ragged = features["terms"]
        assert isinstance(ragged, tf.RaggedTensor)
        assert ragged.dtype == tf.string
        assert ragged.row_splits.dtype == tf.int64
        assert batch_labels.dtype == tf.float32
        assert batch_labels.shape == (ragged.nrows(), 1)
        batch_sizes.append(int(ragged.nrows()))
        terms += ragged.to_list()
        labels += batch_labels.numpy()[:, 0].tolist()
    return terms, labels, batch_sizes


def _as_bytes(values):
    return [value.encode() if isinstance(value, str) else value for value in values]


def test_reads_files_made_elsewhere(tmp_path):
    path = write_examples(tmp_path / "foreign.tfrecord", FOREIGN)
    terms, labels, batch_sizes = _collect(records.read_dataset(path, batch_size=2))
    assert terms == [_as_bytes(example["terms"]) for example in FOREIGN]
    assert labels == [example["labels"][0] for example in FOREIGN]
    assert batch_sizes == [2, 2, 1]


def test_element_spec(tmp_path):
    path = write_examples(tmp_path / "foreign.tfrecord", FOREIGN)
    features, labels = records.read_dataset(str(path)).element_spec
    assert features["terms"] == tf.RaggedTensorSpec([None, None], tf.string, 1, tf.int64)
    assert labels == tf.TensorSpec([None, 1], tf.float32)


def test_serialize_round_trip_and_determinism(tmp_path):
    first = records.serialize(["don't", "stop", "!", "ü"], 1.0)
    assert first == records.serialize(["don't", "stop", "!", "ü"], 1.0)
    example = tf.train.Example.FromString(first)
    assert list(example.features.feature["terms"].bytes_list.value) == [b"don't", b"stop", b"!", "ü".encode()]
    assert list(example.features.feature["labels"].float_list.value) == [1.0]
    path = tmp_path / "ours.tfrecord"
    assert records.write_records(path, [first, records.serialize([], 0.0)]) == 2
    terms, labels, _ = _collect(records.read_dataset(path))
    assert terms == [[b"don't", b"stop", b"!", "ü".encode()], []]
    assert labels == [1.0, 0.0]


# Unicode, empty lists, both labels, labels that are not 0 or 1, a term whose
# length takes two varint bytes, and one too long for the writer's table.
WRITTEN = [
    (["don't", "stop", "!", "\u00fc", "\u65e5\u672c", "\U0001f600"], 1.0),
    ([], 0.0),
    ([], 1.0),
    (["x" * 127, "y" * 128, "z" * 300], 0.0),
    (["q" * 20_000, "end"], 1.0),
    (["a"] * 5000, 0.5),
    (["weird"], 0.1),
    (["negative"], -2.0),
]


def _tensorflow_bytes(terms, label):
    example = tf.train.Example()
    example.features.feature["terms"].bytes_list.value.extend(term.encode() for term in terms)
    example.features.feature["labels"].float_list.value.append(label)
    return example.SerializeToString(deterministic=True)


def test_serialize_gives_tensorflows_bytes():
    for terms, label in WRITTEN:
        assert records.serialize(terms, label) == _tensorflow_bytes(terms, label), (terms[:3], label)


def test_write_records_gives_tensorflows_file(tmp_path):
    """Whole files: TensorFlow's own writer and serializer against ours."""
    ours, theirs = tmp_path / "ours.tfrecord", tmp_path / "theirs.tfrecord"
    assert records.write_records(ours, (records.serialize(terms, label) for terms, label in WRITTEN)) == len(WRITTEN)
    with tf.io.TFRecordWriter(str(theirs)) as writer:
        for terms, label in WRITTEN:
            writer.write(_tensorflow_bytes(terms, label))
    assert hashlib.sha256(ours.read_bytes()).hexdigest() == hashlib.sha256(theirs.read_bytes()).hexdigest()
    # Framing of arbitrary data, including empty records and lengths around the 8-byte header.
    blobs = [b"", b"\x00", bytes(range(256)) * 3, b"\xff" * 8, b"tail"]
    records.write_records(ours, blobs)
    with tf.io.TFRecordWriter(str(theirs)) as writer:
        for blob in blobs:
            writer.write(blob)
    assert ours.read_bytes() == theirs.read_bytes()
    assert list(tf.data.TFRecordDataset(str(ours)).as_numpy_iterator()) == blobs


def test_masked_crc32c_known_value():
    # CRC-32C("123456789") is 0xe3069283 (RFC 3720's check value), then TFRecord's mask.
    crc = 0xE3069283
    assert wire.masked_crc32c(b"123456789") == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def test_glob_and_list_of_files(tmp_path):
    write_examples(tmp_path / "a.tfrecord", FOREIGN[:2])
    write_examples(tmp_path / "b.tfrecord", FOREIGN[2:])
    by_glob = _collect(records.read_dataset(tmp_path / "*.tfrecord", batch_size=10))[1]
    by_list = _collect(records.read_dataset([tmp_path / "a.tfrecord", str(tmp_path / "b.tfrecord")], batch_size=10))[1]
    assert sorted(by_glob) == sorted(by_list) == sorted(example["labels"][0] for example in FOREIGN)


def test_epochs_and_shuffle(tmp_path):
    examples = [{"terms": [str(i)], "labels": [float(i % 2)]} for i in range(40)]
    path = write_examples(tmp_path / "many.tfrecord", examples)
    plain = _collect(records.read_dataset(path, batch_size=7))[0]
    assert plain == [[str(i).encode()] for i in range(40)]
    assert len(_collect(records.read_dataset(path, batch_size=7, num_epochs=3))[0]) == 120
    once = _collect(records.read_dataset(path, batch_size=7, shuffle=True, seed=1))[0]
    again = _collect(records.read_dataset(path, batch_size=7, shuffle=True, seed=1))[0]
    assert once == again != plain
    assert sorted(once) == sorted(plain)
    forever = records.read_dataset(path, batch_size=7, num_epochs=None)
    assert sum(int(labels.shape[0]) for _, labels in forever.take(20)) == 140


@pytest.mark.parametrize("batch_size", [0, -1])
def test_bad_batch_size_is_a_value_error(tmp_path, batch_size):
    path = write_examples(tmp_path / "ok.tfrecord", FOREIGN)
    with pytest.raises(ValueError, match="batch_size"):
        records.read_dataset(path, batch_size=batch_size)


def test_check_framing_counts_records(tmp_path):
    path = write_examples(tmp_path / "ok.tfrecord", FOREIGN)
    assert records.check_framing(path) == len(FOREIGN)
    assert records.check_schema(path) == len(FOREIGN)


def _garbage(path):
    path.write_bytes(b"this is not a TFRecord file at all\n" * 20)


def _truncated(path):
    write_examples(path, FOREIGN)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])


def _cut_in_first_record(path):
    write_examples(path, FOREIGN)
    path.write_bytes(path.read_bytes()[:30])


def _empty(path):
    path.write_bytes(b"")


def _not_examples(path):
    records.write_records(path, [b"\xff\xff\xff not a protocol buffer"])


def _write(*examples):
    return lambda path: write_examples(path, examples)


BROKEN = {
    "garbage bytes": (_garbage, "not a TFRecord file"),
    "truncated": (_truncated, "truncated TFRecord file: record 5"),
    "cut within first record": (_cut_in_first_record, "not a TFRecord file"),
    "empty": (_empty, "holds no records"),
    "not Example protos": (_not_examples, "not tf.train.Example"),
    "terms are ints": (_write({"terms": [1, 2], "labels": [1.0]}), "'terms' must be a bytes list"),
    "terms are floats": (_write({"terms": [1.5], "labels": [1.0]}), "'terms' must be a bytes list"),
    "no labels": (_write({"terms": ["a"]}), "'labels' must be a float list"),
    "labels are ints": (_write({"terms": ["a"], "labels": [1]}), "'labels' must be a float list"),
    "two labels": (_write({"terms": ["a"], "labels": [1.0, 0.0]}), "'labels' must hold one value, found 2"),
    "other names": (_write({"words": ["a"], "label": [1.0]}), "wrong schema"),
}


@pytest.mark.parametrize(("make", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_read_dataset_refuses_bad_files(tmp_path, make, message):
    path = tmp_path / "bad.tfrecord"
    make(path)
    with pytest.raises(EmbedlabError) as caught:
        records.read_dataset(path)
    text = str(caught.value)
    assert message in text
    assert text.startswith(str(path))
    assert "\n" not in text


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(EmbedlabError, match="no such file"):
        records.read_dataset(tmp_path / "absent.tfrecord")
    with pytest.raises(EmbedlabError, match="not a file"):
        records.read_dataset(tmp_path)


def test_damage_inside_a_later_record_shows_when_read(tmp_path):
    """The framing is whole, so only TensorFlow's CRC check can find this."""
    path = write_examples(tmp_path / "flipped.tfrecord", FOREIGN)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # inside the last record's data
    path.write_bytes(bytes(data))
    dataset = records.read_dataset(path, batch_size=1)
    with pytest.raises(tf.errors.DataLossError):
        for _ in dataset:
            pass


def test_other_schema_in_a_later_record_shows_when_read(tmp_path):
    """Only the first record's schema is checked up front."""
    path = write_examples(tmp_path / "mixed.tfrecord", [
        {"terms": ["fine"], "labels": [1.0]},
        {"terms": ["no", "label"]},
    ])
    with pytest.raises(tf.errors.InvalidArgumentError):
        for _ in records.read_dataset(path, batch_size=1):
            pass
