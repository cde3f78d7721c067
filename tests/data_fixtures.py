"""Small data that tests build for themselves, and the gate for real-data tests.

Import what you need explicitly (``from data_fixtures import ...``); pytest
puts ``tests/`` on ``sys.path`` because the folder has no ``__init__.py``.

* `make_acl_folder` / `make_acl_archive`: a tiny copy of the aclImdb layout
  (three reviews per split and label by default), as a folder or a .tar.gz;
* `write_examples`: a TFRecord file of plain ``tf.train.Example`` protos,
  built here without embedlab's own writer;
* `require_prepared_data` / the `prepared_data` fixture: the folder of real
  prepared TFRecords, or a skip (a failure when ``CI=true``).
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from embedlab.settings import Settings

# (split, polarity) -> [(review id, rating, text)]. Ids repeat across
# polarities, as in the real data, so the (id, label) order is exercised.
REVIEWS: dict[tuple[str, str], list[tuple[int, int, str]]] = {
    ("train", "pos"): [
        (0, 9, "A GREAT film!<br /><br />I loved it, and the acting's excellent."),
        (3, 10, "Best movie of the year? Definitely. Hilarious and fun for the family."),
        (12, 8, "Beautiful, simple, and the ending\u2019s perfect. Highly enjoyable drama!"),
    ],
    ("train", "neg"): [
        (0, 1, "Bad. Boring. A waste of time; the worst 'comedy' I've seen."),
        (3, 2, "Terrible acting, poorly written and dull. Unfortunately it fails."),
        (7, 4, "Not good: awful, annoying and horrible... Disappointing action scenes!"),
    ],
    ("test", "pos"): [
        (1, 7, "Amazing! Brilliant and fantastic; I enjoyed him and her today."),
        (2, 8, "Favorite movie, liked every minute. Entertaining."),
        (5, 9, "Good fun: 10/10 would watch again."),
    ],
    ("test", "neg"): [
        (1, 3, "A disappointment, worse than poor. Why?"),
        (2, 1, "The film was bad, the plot was bad, the cast was bad."),
        (4, 2, "I didn't like it at all."),
    ],
}

# Files of the real archive that are not reviews, which sources must skip.
EXTRAS = {
    "aclImdb/README": b"Large Movie Review Dataset v1.0\n",
    "aclImdb/imdb.vocab": b"the\nand\na\n",
    "aclImdb/train/urls_pos.txt": b"http://www.imdb.com/title/tt0000000/usercomments\n",
}


def review_files(
    reviews: Mapping[tuple[str, str], list[tuple[int, int, str]]] | None = None,
    extra: Mapping[str, bytes] | None = None,
    omit: Iterable[str] = (),
) -> dict[str, bytes]:
    """Archive member names (``aclImdb/train/pos/0_9.txt``) -> bytes.

    ``omit`` drops whole ``split/polarity`` folders (e.g. ``"train/pos"``);
    ``extra`` adds or replaces members (bytes as given: use it for broken
    reviews).
    """
    omitted = set(omit)
    files = dict(EXTRAS)
    for (split, polarity), entries in (REVIEWS if reviews is None else reviews).items():
        if f"{split}/{polarity}" in omitted:
            continue
        for review_id, rating, text in entries:
            files[f"aclImdb/{split}/{polarity}/{review_id}_{rating}.txt"] = text.encode("utf-8")
    files.update(extra or {})
    return files


def make_acl_folder(root: Path, files: Mapping[str, bytes] | None = None) -> Path:
    """Write ``files`` (default: `review_files()`) under ``root``; returns ``root/aclImdb``."""
    for name, data in (review_files() if files is None else files).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root / "aclImdb"


def make_acl_archive(path: Path, files: Mapping[str, bytes] | None = None, reverse: bool = False) -> Path:
    """Write ``files`` (default: `review_files()`) as a .tar.gz at ``path``.

    ``reverse`` stores the members in reverse order, to show that the output
    does not depend on the archive's order. Member mtimes are fixed so the
    archive's bytes are reproducible.
    """
    names = sorted(review_files() if files is None else files)
    contents = review_files() if files is None else files
    with tarfile.open(path, "w:gz") as archive:
        for name in reversed(names) if reverse else names:
            info = tarfile.TarInfo(name)
            info.size = len(contents[name])
            info.mtime = 1_300_000_000
            archive.addfile(info, io.BytesIO(contents[name]))
    return path


def write_examples(path: Path, examples: Iterable[Mapping[str, object]]) -> Path:
    """Write ``tf.train.Example`` records; each example maps a feature name to
    a list of bytes/str (bytes list), floats (float list) or ints (int64 list)."""
    import tensorflow as tf

    def feature(values) -> tf.train.Feature:
        values = list(values)
        if values and isinstance(values[0], (bytes, str)):
            return tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[v.encode("utf-8") if isinstance(v, str) else v for v in values]))
        if values and isinstance(values[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        if values:
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[]))

    with tf.io.TFRecordWriter(str(path)) as writer:
        for example in examples:
            proto = tf.train.Example(features=tf.train.Features(
                feature={name: feature(values) for name, values in example.items()}))
            writer.write(proto.SerializeToString())
    return path


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: relative path -> (size, mtime_ns).

    Compare before and after a failing command to show it wrote nothing.
    """
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            stat = path.stat()
            state[str(path.relative_to(root))] = (stat.st_size if path.is_file() else 0, stat.st_mtime_ns)
    return state


def require_prepared_data() -> Path:
    """The folder of prepared TFRecords; skips the test if it is missing.

    Under CI (``CI=true``) a missing folder fails the test instead: there the
    data must have been prepared, and a skip would hide that it was not.
    """
    settings = Settings.from_environment()  # $EMBEDLAB_TFRECORDS or <repo>/tfrecords
    folder = settings.tfrecords_dir
    missing = [name for name in ("manifest.json", "train.tfrecord", "test.tfrecord") if not (folder / name).is_file()]
    if missing:
        message = (
            f"{folder}: prepared TFRecords not found (missing {', '.join(missing)}); run "
            "`embedlab prepare --source ../shared/data/aclImdb_v1_labeled.tar.gz` "
            "or set EMBEDLAB_TFRECORDS"
        )
        if settings.ci:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def prepared_data() -> Path:
    """`require_prepared_data` as a fixture (import it into the test module)."""
    return require_prepared_data()
