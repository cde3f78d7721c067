"""`prepare` on tiny sources built by the tests: output, order, manifest,
up-to-date check, atomic writes, and the tensorflow-datasets path (faked)."""

from __future__ import annotations

import io
import json
import os
import sys
import types

import pytest

tf = pytest.importorskip("tensorflow")

from embedlab.data import prepare as prepare_module  # noqa: E402
from embedlab.data import records, tokenizer  # noqa: E402
from embedlab.data.prepare import prepare  # noqa: E402
from embedlab.errors import EmbedlabError  # noqa: E402

from data_fixtures import REVIEWS, make_acl_archive, make_acl_folder, review_files, tree_state  # noqa: E402


def run(source, out, **kwargs):
    return prepare(source, out, show_progress=False, **kwargs)


def read_records(path):
    """[(terms as str, label)] in file order, parsed with plain protobuf."""
    result = []
    for serialized in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        feature = tf.train.Example.FromString(serialized).features.feature
        terms = [term.decode("utf-8") for term in feature["terms"].bytes_list.value]
        result.append((terms, feature["labels"].float_list.value[0]))
    return result


def expected_records(split):
    rows = [
        (review_id, 1.0 if polarity == "pos" else 0.0, text)
        for (review_split, polarity), entries in REVIEWS.items() if review_split == split
        for review_id, _rating, text in entries
    ]
    return [(tokenizer.tokenize(text), label) for _, label, text in sorted(rows, key=lambda row: row[:2])]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_acl_archive(tmp_path_factory.mktemp("src") / "aclImdb_v1.tar.gz")


def test_archive_gives_records_in_id_then_label_order(archive, tmp_path):
    out = tmp_path / "out"
    manifest = run(archive, out)
    for split in ("train", "test"):
        assert read_records(out / f"{split}.tfrecord") == expected_records(split)
    assert sorted(path.name for path in out.iterdir()) == ["manifest.json", "test.tfrecord", "train.tfrecord"]
    assert manifest["splits"]["train"]["records"] == 6
    assert manifest["warnings"] == []


def test_manifest(archive, tmp_path):
    out = tmp_path / "out"
    run(archive, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer_version"] == tokenizer.TOKENIZER_VERSION
    assert manifest["source"]["kind"] == "archive"
    assert manifest["source"]["path"] == str(archive.resolve())
    assert manifest["non_utf8_reviews"] == 0
    for split in ("train", "test"):
        entry = manifest["splits"][split]
        path = out / entry["file"]
        assert entry["records"] == 6
        assert entry["labels"] == {"positive": 3, "negative": 3}
        assert entry["tokens"] == sum(len(terms) for terms, _ in expected_records(split))
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == prepare_module.sha256_of(path)


def test_same_input_same_bytes_whatever_the_order(archive, tmp_path):
    outputs = {
        "archive": archive,
        "again": archive,
        "reversed archive": make_acl_archive(tmp_path / "reversed.tar.gz", reverse=True),
        "folder": make_acl_folder(tmp_path / "unpacked"),
        "folder holding aclImdb": tmp_path / "unpacked",
    }
    contents = {}
    for name, source in outputs.items():
        out = tmp_path / name.replace(" ", "-")
        run(source, out)
        contents[name] = [(out / f"{split}.tfrecord").read_bytes() for split in ("train", "test")]
    assert all(value == contents["archive"] for value in contents.values())


def test_up_to_date_folder_is_not_rewritten(archive, tmp_path):
    out = tmp_path / "out"
    run(archive, out)
    before = tree_state(out)
    manifest = run(archive, out)
    assert manifest["up_to_date"] is True
    assert manifest["splits"]["train"]["records"] == 6
    assert tree_state(out) == before


@pytest.mark.parametrize("change", ["force", "touch source", "tokenizer version", "damaged file", "no manifest"])
def test_rebuilt_when_stale(tmp_path, monkeypatch, change):
    source = make_acl_archive(tmp_path / "copy.tar.gz")
    out = tmp_path / "out"
    run(source, out)
    good = (out / "train.tfrecord").read_bytes()
    kwargs = {}
    if change == "force":
        kwargs["force"] = True
    elif change == "touch source":
        os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    elif change == "tokenizer version":
        monkeypatch.setattr(tokenizer, "TOKENIZER_VERSION", "test-" + tokenizer.TOKENIZER_VERSION)
    elif change == "damaged file":
        (out / "test.tfrecord").write_bytes(b"garbage")
    else:
        (out / "manifest.json").unlink()
    assert "up_to_date" not in run(source, out, **kwargs)
    assert (out / "train.tfrecord").read_bytes() == good
    assert prepare_module.is_up_to_date(out, prepare_module.describe_source(source))


def test_folder_edited_in_place_is_stale(tmp_path):
    source = make_acl_folder(tmp_path / "src")
    out = tmp_path / "out"
    run(source, out)
    review = source / "train" / "pos" / "0_9.txt"
    review.write_text("Now it is a bad film.")
    os.utime(review, ns=(0, review.stat().st_mtime_ns + 10**9))
    assert "up_to_date" not in run(source, out)
    assert read_records(out / "train.tfrecord")[1] == (["now", "it", "is", "a", "bad", "film", "."], 1.0)


def _failing_serialize(after):
    real = records.serialize
    calls = {"n": 0}

    def serialize(terms, label):
        calls["n"] += 1
        if calls["n"] > after:
            raise RuntimeError("disk on fire")
        return real(terms, label)

    return serialize


@pytest.mark.parametrize("after", [0, 3, 8], ids=["first train record", "mid train", "mid test"])
def test_failure_midway_leaves_no_files(archive, tmp_path, monkeypatch, after):
    out = tmp_path / "new" / "out"
    monkeypatch.setattr(records, "serialize", _failing_serialize(after))
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(archive, out)
    assert not (tmp_path / "new").exists()  # not even the folders it made


@pytest.mark.parametrize("after", [3, 8], ids=["mid train", "mid test"])
def test_failure_midway_keeps_the_previous_output(archive, tmp_path, monkeypatch, after):
    out = tmp_path / "out"
    run(archive, out)
    before = tree_state(out)
    contents = {path.name: path.read_bytes() for path in out.iterdir()}
    monkeypatch.setattr(records, "serialize", _failing_serialize(after))
    with pytest.raises(RuntimeError):
        run(archive, out, force=True)
    assert tree_state(out) == before
    assert {path.name: path.read_bytes() for path in out.iterdir()} == contents


def test_stale_partial_files_of_dead_runs_are_removed(archive, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / ".train.tfrecord.partial-999999999"  # above Linux's highest pid
    running = out / f".manifest.json.partial-{os.getppid()}"  # another run may be writing it
    unrelated = out / ".notes.partial"
    for path in (dead, running, unrelated):
        path.write_bytes(b"half")
    run(archive, out)
    assert not dead.exists()
    assert running.exists() and unrelated.exists()


def test_review_without_terms_is_an_empty_record(tmp_path):
    files = review_files(extra={"aclImdb/test/neg/99_1.txt": b"--- ~~~ ***"})
    out = tmp_path / "out"
    run(make_acl_archive(tmp_path / "a.tar.gz", files), out)
    assert read_records(out / "test.tfrecord")[-1] == ([], 0.0)


def test_duplicate_review_is_refused(tmp_path):
    files = review_files(extra={"backup/aclImdb/train/pos/3_10.txt": b"Again."})
    with pytest.raises(EmbedlabError, match="review 3 of train/pos appears twice"):
        run(make_acl_archive(tmp_path / "a.tar.gz", files), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_non_utf8_strict_rerun_of_replaced_data_fails(tmp_path):
    files = review_files(extra={"aclImdb/train/neg/20_2.txt": b"caf\xe9 was bad"})
    source = make_acl_archive(tmp_path / "a.tar.gz", files)
    out = tmp_path / "out"
    manifest = run(source, out)
    assert manifest["non_utf8_reviews"] == 1
    assert any("20_2.txt" in warning for warning in manifest["warnings"])
    # U+FFFD is a symbol, so it separates terms like any other.
    assert (["caf", "was", "bad"], 0.0) in read_records(out / "train.tfrecord")
    with pytest.raises(EmbedlabError, match="20_2.txt: bytes that are not UTF-8 at offset 3"):
        run(source, out, strict_utf8=True)


class FakeTfds(types.ModuleType):
    """Stands in for tensorflow_datasets: no internet here."""

    def __init__(self, splits=None, error=None):
        super().__init__("tensorflow_datasets")
        self.splits = splits or {
            "train": [(b"Great fun!", 1), (b"Bad.", 0), (b"Not good", 0)],
            "test": [(b"Awful", 0), (b"Loved it", 1)],
        }
        self.error = error
        self.calls = []

    def load(self, name, split, as_supervised, shuffle_files, data_dir):
        self.calls.append((name, split, as_supervised, shuffle_files))
        if self.error:
            raise self.error
        return self.splits[split]

    def as_numpy(self, dataset):
        return iter(dataset)


def test_tensorflow_datasets_source(tmp_path, monkeypatch):
    fake = FakeTfds()
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    out = tmp_path / "out"
    manifest = run(None, out)
    assert fake.calls == [("imdb_reviews", "train", True, False), ("imdb_reviews", "test", True, False)]
    assert read_records(out / "train.tfrecord") == [
        (["great", "fun", "!"], 1.0), (["bad", "."], 0.0), (["not", "good"], 0.0)]
    assert read_records(out / "test.tfrecord") == [(["awful"], 0.0), (["loved", "it"], 1.0)]
    assert manifest["source"] == {"kind": "tensorflow-datasets", "name": "imdb_reviews"}
    assert run(None, out)["up_to_date"] is True


def test_tensorflow_datasets_failure_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", FakeTfds(error=OSError("no route to host\ndetails")))
    with pytest.raises(EmbedlabError) as caught:
        run(None, tmp_path / "out")
    assert "no route to host" in str(caught.value) and "\n" not in str(caught.value)
    assert "--source" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_module_missing_inside_tensorflow_datasets_is_named_not_blamed_on_the_network(tmp_path, monkeypatch):
    """tfds imports some modules lazily, at load time; a missing one is an install problem, not "no internet"."""
    missing = ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", FakeTfds(error=missing))
    with pytest.raises(EmbedlabError) as caught:
        run(None, tmp_path / "out")
    message = str(caught.value)
    assert "importlib_resources is missing" in message and "pip install importlib_resources" in message
    assert "internet" not in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_tensorflow_datasets_finds_the_imdb_builder_code_offline(tmp_path):
    """The real tfds, installed as declared: resolving the builder's code path imports importlib_resources.

    tensorflow-datasets 4.9.10 does not declare that dependency; embedlab does. Without it this fails with
    ModuleNotFoundError before any download is tried.
    """
    import tensorflow_datasets as tfds
    builder = tfds.builder("imdb_reviews", data_dir=str(tmp_path))
    assert type(builder).code_path is not None
    assert builder.info.name == "imdb_reviews"


def test_tensorflow_datasets_without_negatives_is_incomplete(tmp_path, monkeypatch):
    fake = FakeTfds(splits={"train": [(b"Good", 1)], "test": [(b"Fine", 1), (b"Bad", 0)]})
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    with pytest.raises(EmbedlabError, match="no reviews under train/neg"):
        run(None, tmp_path / "out")


def test_progress_bars_only_on_a_terminal(archive, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for name, stream, expected in (("tty", Terminal(), True), ("log", io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        prepare(archive, tmp_path / name)
        shown = stream.getvalue()
        assert ("reading reviews" in shown and "writing test.tfrecord" in shown) is expected, shown
