"""`prepare` on tiny sources built by the tests: output, order, manifest,
up-to-date check, atomic writes, and the tensorflow-datasets path (faked).

Expected files are built here with TensorFlow's own serializer and writer,
so the bytes `prepare` writes without TensorFlow are held to TensorFlow's.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import types

import pytest

tf = pytest.importorskip("tensorflow")

from embedlab.data import encoding, order, tokenizer, wire  # noqa: E402
from embedlab.data import prepare as prepare_module  # noqa: E402
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


def _tf_serialize(terms, label):
    """What the writer did with TensorFlow, before it had its own."""
    example = tf.train.Example()
    example.features.feature["terms"].bytes_list.value.extend(term.encode() for term in terms)
    example.features.feature["labels"].float_list.value.append(label)
    return example.SerializeToString(deterministic=True)


def expected_rows(split, reviews=None, order_name=order.DEFAULT):
    """[(terms, label, serialized)] of a split of ``reviews`` (default `REVIEWS`), in ``order_name``."""
    rows = [
        (review_id, 1.0 if polarity == "pos" else 0.0, tokenizer.tokenize(text))
        for (review_split, polarity), entries in (REVIEWS if reviews is None else reviews).items()
        if review_split == split
        for review_id, _rating, text in entries
    ]
    rows = [(terms, label, _tf_serialize(terms, label), review_id) for review_id, label, terms in rows]
    if order_name == order.REVIEW_NUMBER:
        rows.sort(key=lambda row: (row[3], row[1]))
    else:
        rows.sort(key=lambda row: hashlib.sha256(row[2]).digest())
    return [row[:3] for row in rows]


def expected_records(split, order_name=order.DEFAULT):
    return [(terms, label) for terms, label, _ in expected_rows(split, order_name=order_name)]


def tensorflow_file(path, rows):
    """sha256 of the file TensorFlow's own writer makes of ``rows`` (from `expected_rows`)."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _, _, serialized in rows:
            writer.write(serialized)
    return prepare_module.sha256_of(path)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_acl_archive(tmp_path_factory.mktemp("src") / "aclImdb_v1.tar.gz")


@pytest.mark.parametrize("order_name", order.ORDERS)
def test_archive_gives_records_in_the_named_order(archive, tmp_path, order_name):
    out = tmp_path / "out"
    manifest = run(archive, out, order_name=order_name)
    for split in ("train", "test"):
        assert read_records(out / f"{split}.tfrecord") == expected_records(split, order_name)
    assert sorted(path.name for path in out.iterdir()) == ["manifest.json", "test.tfrecord", "train.tfrecord"]
    assert manifest["splits"]["train"]["records"] == 6
    assert manifest["order"] == order_name
    assert manifest["warnings"] == []
    assert run(archive, out, order_name=order_name)["up_to_date"] is True
    other = next(name for name in order.ORDERS if name != order_name)
    assert "up_to_date" not in run(archive, out, order_name=other)  # another order is another output


# Unicode terms (two-byte UTF-8, a typographic apostrophe stored as ASCII), a
# review without terms, both labels, and a term long enough for a two-byte length.
TRICKY = {
    ("train", "pos"): [(1, 9, "Caf\u00e9 \u00fcber-gut, na\u00efve and \u65e5\u672c\u8a9e! It\u2019s \u00bd great.")],
    ("train", "neg"): [(1, 2, "--- *** ///"), (2, 1, "Bad " + "o" * 200 + "h. \u0394\u03c1\u03ac\u03bc\u03b1?")],
    ("test", "pos"): [(3, 8, "Fine<br />fun.")],
    ("test", "neg"): [(3, 1, "\u2018Nope\u2019 \u2026 ?!")],
}


@pytest.mark.parametrize("order_name", order.ORDERS)
@pytest.mark.parametrize("processes", [1, 2])
def test_files_are_byte_identical_to_tensorflows_writer(tmp_path, monkeypatch, order_name, processes):
    monkeypatch.setattr(encoding, "CHUNK", 1)  # several chunks: the workers run even for five reviews
    out = tmp_path / "out"
    manifest = run(make_acl_archive(tmp_path / "a.tar.gz", review_files(TRICKY)), out,
                   order_name=order_name, processes=processes)
    for split in ("train", "test"):
        rows = expected_rows(split, TRICKY, order_name)
        assert any(not terms for terms, _, _ in rows) or split == "test"
        expected = tensorflow_file(tmp_path / f"tf-{split}.tfrecord", rows)
        assert prepare_module.sha256_of(out / f"{split}.tfrecord") == expected == manifest["splits"][split]["sha256"]


def test_sha256_order_is_checkable_from_the_file_alone(archive, tmp_path):
    out = tmp_path / "out"
    run(archive, out)
    for split in ("train", "test"):
        serialized = list(tf.data.TFRecordDataset(str(out / f"{split}.tfrecord")).as_numpy_iterator())
        assert order.is_in_order(serialized)
        assert not order.is_in_order(serialized[::-1])


def test_prepare_never_imports_tensorflow(archive, tmp_path):
    """A fresh process, from a script without a main guard, with worker processes (small chunks):
    the data are written, TensorFlow is not loaded."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from embedlab.data import encoding
        from embedlab.data.prepare import prepare
        encoding.CHUNK = 2
        manifest = prepare(Path({str(archive)!r}), Path({str(tmp_path / "out")!r}), show_progress=False, processes=2)
        assert manifest["splits"]["train"]["records"] == 6, manifest
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "google")))
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # nor keras, nor protobuf (google.protobuf)
    run(archive, tmp_path / "in-process", processes=1)
    for split in ("train", "test"):
        name = f"{split}.tfrecord"
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "in-process" / name).read_bytes()


def test_a_worker_that_dies_is_one_line_and_writes_nothing(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK", 2)
    monkeypatch.setattr(encoding, "_SERVE", "import sys; sys.stdin.buffer.read(8); sys.exit(3)")
    with pytest.raises(EmbedlabError, match=r"a tokenizing process stopped \(exit status 3\)") as caught:
        run(archive, tmp_path / "out", processes=2)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_manifest(archive, tmp_path):
    out = tmp_path / "out"
    run(archive, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer_version"] == tokenizer.TOKENIZER_VERSION
    assert manifest["source"]["kind"] == "archive"
    assert manifest["source"]["path"] == str(archive.resolve())
    assert manifest["non_utf8_reviews"] == 0
    assert manifest["order"] == order.SHA256_OF_RECORD
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
    assert (["now", "it", "is", "a", "bad", "film", "."], 1.0) in read_records(out / "train.tfrecord")


def _failing_frame(after):
    real = wire.frame
    calls = {"n": 0}

    def frame(record):
        calls["n"] += 1
        if calls["n"] > after:
            raise RuntimeError("disk on fire")
        return real(record)

    return frame


@pytest.mark.parametrize("after", [0, 3, 8], ids=["first train record", "mid train", "mid test"])
def test_failure_midway_leaves_no_files(archive, tmp_path, monkeypatch, after):
    out = tmp_path / "new" / "out"
    monkeypatch.setattr(wire, "frame", _failing_frame(after))
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(archive, out)
    assert not (tmp_path / "new").exists()  # not even the folders it made


@pytest.mark.parametrize("after", [3, 8], ids=["mid train", "mid test"])
def test_failure_midway_keeps_the_previous_output(archive, tmp_path, monkeypatch, after):
    out = tmp_path / "out"
    run(archive, out)
    before = tree_state(out)
    contents = {path.name: path.read_bytes() for path in out.iterdir()}
    monkeypatch.setattr(wire, "frame", _failing_frame(after))
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
    assert ([], 0.0) in read_records(out / "test.tfrecord")


def test_error_while_the_workers_run_stops_them_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(encoding, "CHUNK", 2)
    files = review_files(extra={"backup/aclImdb/train/pos/3_10.txt": b"Again."})  # read last
    with pytest.raises(EmbedlabError, match="review 3 of train/pos appears twice"):
        run(make_acl_archive(tmp_path / "a.tar.gz", files), tmp_path / "out", processes=2)
    assert not (tmp_path / "out").exists()


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
    by_hash = sorted([(["great", "fun", "!"], 1.0), (["bad", "."], 0.0), (["not", "good"], 0.0)],
                     key=lambda row: hashlib.sha256(_tf_serialize(*row)).digest())
    assert read_records(out / "train.tfrecord") == by_hash
    assert sorted(read_records(out / "test.tfrecord")) == [(["awful"], 0.0), (["loved", "it"], 1.0)]
    assert manifest["source"] == {"kind": "tensorflow-datasets", "name": "imdb_reviews"}
    assert manifest["order"] == order.SHA256_OF_RECORD
    assert run(None, out)["up_to_date"] is True


def _padded(reviews):
    """Some texts with white space around them, which tensorflow-datasets strips and the archive keeps."""
    return {key: [(number, rating, f" \n{text}\t " if number % 2 else text) for number, rating, text in entries]
            for key, entries in reviews.items()}


def test_tensorflow_datasets_and_the_archive_give_the_same_files(tmp_path, monkeypatch):
    """tfds lists the reviews in its own order, stripped, without their numbers: the files do not change."""
    reviews = _padded({**REVIEWS, **{key: REVIEWS[key] + TRICKY[key] for key in TRICKY}})
    archive_out, tfds_out = tmp_path / "archive", tmp_path / "tfds"
    run(make_acl_archive(tmp_path / "a.tar.gz", review_files(reviews)), archive_out)
    splits = {
        split: sorted(((text.encode().strip(), 1 if polarity == "pos" else 0)
                       for (review_split, polarity), entries in reviews.items() if review_split == split
                       for _, _, text in entries), key=lambda example: hashlib.md5(example[0]).digest())
        for split in ("train", "test")
    }
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", FakeTfds(splits))
    run(None, tfds_out)
    for split in ("train", "test"):
        assert (archive_out / f"{split}.tfrecord").read_bytes() == (tfds_out / f"{split}.tfrecord").read_bytes()
    with pytest.raises(EmbedlabError, match="tensorflow-datasets gives no review numbers"):
        run(None, tmp_path / "numbered", order_name=order.REVIEW_NUMBER)
    assert not (tmp_path / "numbered").exists()


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


def test_order_require_names_the_problem_in_one_line(archive, tmp_path):
    """What the grader calls: TFRecords of an order the pass marks were not calibrated on are refused."""
    out = tmp_path / "out"
    run(archive, out)
    assert order.require(out) == order.SHA256_OF_RECORD
    assert order.require(out, accepted=order.ORDERS) == order.SHA256_OF_RECORD
    manifest = json.loads((out / "manifest.json").read_text())
    problems = {
        "review-number": ("records in order 'review-number', but grading needs 'sha256-of-record'",
                          {**manifest, "order": "review-number"}),
        "unnamed": ("names no order of its records", {key: value for key, value in manifest.items() if key != "order"}),
        "not json": ("not valid JSON", "{"),
        "missing": ("cannot read", None),
    }
    for name, (message, content) in problems.items():
        folder = tmp_path / name
        folder.mkdir()
        if content is not None:
            (folder / "manifest.json").write_text(content if isinstance(content, str) else json.dumps(content))
        with pytest.raises(EmbedlabError) as caught:
            order.require(folder)
        assert message in str(caught.value) and "\n" not in str(caught.value), name
        assert str(caught.value).startswith(str(folder / "manifest.json")), name
