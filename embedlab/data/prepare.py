"""`embedlab prepare`: build the course's TFRecords from the IMDB reviews.

Output, in ``--out`` (default ``tfrecords/``):

* ``train.tfrecord`` and ``test.tfrecord``, 25,000 records each, in the schema
  of `embedlab.data.records`, in a named order (`embedlab.data.order`; by
  default by each record's sha256), so that the same reviews always give
  the same bytes, whichever source they come from and in whatever order it
  lists them;
* ``manifest.json``: counts per split and label, the source, the order, the
  tokenizer version, and each file's size and sha256.

Files are written under temporary names and renamed into place, the manifest
last (after removing the old one), so an interrupted or failed run never
leaves a half-written file, nor a folder whose manifest vouches for files it
did not describe. A folder whose manifest matches the source, the order, the
tokenizer version and the files' checksums is up to date and is left alone.

TensorFlow is never imported: the records are encoded by `embedlab.data.wire`,
tokenizing runs on up to two cores (`embedlab.data.encoding`), and all the
input is read and checked before anything is created (not even ``--out``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from embedlab import __version__
from embedlab.data import encoding, order, records, sources, tokenizer
from embedlab.errors import EmbedlabError, first_line

MANIFEST = "manifest.json"
EXPECTED_PER_SPLIT = 25_000
_PARTIAL = ".partial-"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_source(source: Path | None) -> dict:
    """What identifies the input, for the up-to-date check (not a checksum)."""
    if source is None:
        return {"kind": "tensorflow-datasets", "name": "imdb_reviews"}
    if not source.exists():
        raise EmbedlabError(f"{source}: no such file or folder")
    if source.is_dir():
        return {"kind": "folder", "path": str(source.resolve()), "fingerprint": sources.folder_fingerprint(source)}
    stat = source.stat()
    return {"kind": "archive", "path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def is_up_to_date(out: Path, source_description: dict, strict_utf8: bool = False,
                  order_name: str = order.DEFAULT) -> bool:
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict):
        return False
    if manifest.get("source") != source_description or manifest.get("tokenizer_version") != tokenizer.TOKENIZER_VERSION:
        return False
    if manifest.get(order.MANIFEST_KEY) != order_name:
        return False
    if strict_utf8 and manifest.get("non_utf8_reviews"):
        return False  # the data holds replaced bytes that --strict-utf8 must report
    for split in sources.SPLITS:
        entry = manifest.get("splits", {}).get(split, {})
        path = out / entry.get("file", f"{split}.tfrecord")
        if not path.is_file() or path.stat().st_size != entry.get("bytes") or sha256_of(path) != entry.get("sha256"):
            return False
    return True


def check_writable(out: Path) -> None:
    """Fail before the long read if ``out`` cannot be written; creates nothing."""
    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing == out and not out.is_dir():
        raise EmbedlabError(f"{out}: output folder is a file")
    if not existing.is_dir():
        raise EmbedlabError(f"{out}: output folder cannot be created ({existing} is a file)")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".embedlab-write-test-"):
            pass
    except OSError as error:
        where = "output folder is not writable" if existing == out else f"cannot write in {existing}"
        raise EmbedlabError(f"{out}: {where} ({error.strerror or error})") from None


def prepare(
    source: Path | None,
    out: Path,
    force: bool = False,
    strict_utf8: bool = False,
    tfds_data_dir: Path | None = None,
    show_progress: bool = True,
    order_name: str = order.DEFAULT,
    processes: int | None = None,
) -> dict:
    """Build ``train.tfrecord``/``test.tfrecord`` in ``out``; returns the manifest.

    ``show_progress`` shows progress bars on a terminal (never in a log file);
    ``order_name`` is one of `order.ORDERS`; ``processes`` tokenize (None: up
    to two, see `encoding.default_processes`). The bytes written depend on
    neither the processes nor the source's own order.
    """
    key = order.sort_key(order_name)
    if source is None and order_name == order.REVIEW_NUMBER:
        raise EmbedlabError(f"order {order_name!r}: tensorflow-datasets gives no review numbers "
                            f"(use --order {order.SHA256_OF_RECORD}, or --source with the archive)")
    description = describe_source(source)
    if not force and is_up_to_date(out, description, strict_utf8, order_name):
        manifest = json.loads((out / MANIFEST).read_text())
        manifest["up_to_date"] = True
        return manifest
    check_writable(out)

    from tqdm import tqdm

    # None: tqdm shows the bar only on a terminal.
    disable = None if show_progress else True
    report = sources.DecodeReport(strict=strict_utf8)
    by_split: dict[str, list[tuple[object, bytes, float, int]]] = {split: [] for split in sources.SPLITS}
    with tqdm(total=2 * EXPECTED_PER_SPLIT, desc="reading reviews", unit=" reviews",
              disable=disable, file=sys.stderr) as bar:
        if source is None:
            # tensorflow-datasets downloads and prepares its copy before the first review (a minute or more).
            _quiet_tfds(show_progress)
            bar.set_description_str(TFDS_LOADING)
            reviews = sources.read_tfds(tfds_data_dir, report, _reading(bar))
        elif source.is_dir():
            reviews = sources.read_folder(source, report, bar.update)
        else:
            reviews = sources.read_archive(source, report, bar.update)
        for item in encoding.encode_reviews(reviews, processes):
            review = item.review
            by_split[review.split].append(
                (key(review.review_id, review.label, item.record), item.record, review.label, item.terms))

    manifest = {
        "format": "embedlab course TFRecords (tf.train.Example: terms bytes list, labels float list)",
        "source": description,
        order.MANIFEST_KEY: order_name,
        "tokenizer_version": tokenizer.TOKENIZER_VERSION,
        "embedlab_version": __version__,
        "non_utf8_reviews": len(report.replaced),
        "splits": {},
    }
    created = _make_folders(out)
    _remove_stale_partials(out)
    partials: list[Path] = []
    finished = False
    try:
        for split in sources.SPLITS:
            # Equal keys only for identical records (or, by review number, never: sources refuse
            # duplicates): the sorted bytes are the same whatever order the rows arrived in.
            rows = sorted(by_split[split], key=lambda row: row[0])
            final = out / f"{split}.tfrecord"
            partial = out / f".{final.name}{_PARTIAL}{os.getpid()}"
            partials.append(partial)
            with tqdm(total=len(rows), desc=f"writing {final.name}", unit=" records",
                      disable=disable, file=sys.stderr) as bar:
                count = records.write_records(partial, _counting((row[1] for row in rows), bar))
            positives = sum(1 for row in rows if row[2] == 1.0)
            manifest["splits"][split] = {
                "file": final.name,
                "records": count,
                "labels": {"positive": positives, "negative": count - positives},
                "tokens": sum(row[3] for row in rows),
                "bytes": partial.stat().st_size,
                "sha256": sha256_of(partial),
            }
        manifest_partial = out / f".{MANIFEST}{_PARTIAL}{os.getpid()}"
        partials.append(manifest_partial)
        manifest_partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        # The old manifest goes first: until the new one is in place the
        # folder is not up to date, whichever files were already renamed.
        (out / MANIFEST).unlink(missing_ok=True)
        for split, partial in zip(sources.SPLITS, partials):
            os.replace(partial, out / f"{split}.tfrecord")
        os.replace(manifest_partial, out / MANIFEST)
        finished = True
    except OSError as error:
        raise EmbedlabError(f"{out}: could not write the records ({first_line(error)})") from None
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
        if not finished:
            _remove_empty(created)
    manifest["warnings"] = [
        f"{origin}: bytes that are not UTF-8, replaced with U+FFFD" for origin in report.replaced[:5]
    ] + ([f"... and {len(report.replaced) - 5} more such reviews"] if len(report.replaced) > 5 else [])
    return manifest


def _make_folders(out: Path) -> list[Path]:
    """Create ``out`` and missing parents; returns those created, outermost first."""
    missing = []
    folder = out
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EmbedlabError(f"{out}: cannot create the output folder ({error.strerror or error})") from None
    return missing[::-1]


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (someone else wrote there): keep it and its parents


def _remove_stale_partials(out: Path) -> None:
    """Delete temporary files left by runs that were killed (their process is gone)."""
    for partial in out.glob(f".*{_PARTIAL}*"):
        pid = partial.name.rpartition(_PARTIAL)[2]
        if pid.isdigit() and not _process_exists(int(pid)):
            partial.unlink(missing_ok=True)


def _process_exists(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill there would terminate the process, not probe it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but belongs to someone else
    return True



TFDS_LOADING = "tensorflow-datasets: downloading imdb_reviews (80 MB, once) or loading its copy"


def _reading(bar):
    """`bar.update`, that names the bar "reading reviews" from the first review on."""
    named = [False]

    def update(count: int) -> None:
        if not named[0]:
            named[0] = True
            bar.set_description_str("reading reviews", refresh=False)
        bar.update(count)

    return update


def _quiet_tfds(show_progress: bool) -> None:
    """Without progress, tensorflow-datasets' own download bars are off too."""
    if show_progress:
        return
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return  # `sources.read_tfds` says what is missing
    disable = getattr(tfds, "disable_progress_bar", None)  # public since tensorflow-datasets 1.0
    if callable(disable):
        disable()


def _counting(items, bar):
    for item in items:
        bar.update(1)
        yield item
