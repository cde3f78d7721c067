"""`embedlab prepare`: build the course's TFRecords from the IMDB reviews.

Output, in ``--out`` (default ``tfrecords/``):

* ``train.tfrecord`` and ``test.tfrecord``, 25,000 records each, in the schema
  of `embedlab.records`, ordered by (review number, label) so that positive
  and negative reviews alternate and the same input always gives the same
  bytes;
* ``manifest.json``: counts per split and label, the source, the tokenizer
  version, and each file's size and sha256.

Files are written under temporary names and renamed into place, the manifest
last, so an interrupted run never leaves a file that a later step would take
for finished data. A folder whose manifest matches the source, the tokenizer
version and the files' checksums is up to date and is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from embedlab import sources, tokenizer
from embedlab.errors import EmbedlabError

MANIFEST = "manifest.json"
EXPECTED_PER_SPLIT = 25_000


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
    stat = source.stat()
    kind = "folder" if source.is_dir() else "archive"
    return {"kind": kind, "path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def is_up_to_date(out: Path, source_description: dict) -> bool:
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("source") != source_description or manifest.get("tokenizer_version") != tokenizer.TOKENIZER_VERSION:
        return False
    for split in sources.SPLITS:
        entry = manifest.get("splits", {}).get(split, {})
        path = out / entry.get("file", f"{split}.tfrecord")
        if not path.is_file() or path.stat().st_size != entry.get("bytes") or sha256_of(path) != entry.get("sha256"):
            return False
    return True


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as error:
        raise EmbedlabError(f"{out}: output folder is not writable ({error.strerror or error})") from None


def prepare(
    source: Path | None,
    out: Path,
    force: bool = False,
    strict_utf8: bool = False,
    tfds_data_dir: Path | None = None,
    show_progress: bool = True,
) -> dict:
    """Build ``train.tfrecord``/``test.tfrecord`` in ``out``; returns the manifest."""
    description = describe_source(source)
    if not force and is_up_to_date(out, description):
        manifest = json.loads((out / MANIFEST).read_text())
        manifest["up_to_date"] = True
        return manifest
    check_writable(out)

    import threading

    from tqdm import tqdm

    # Importing TensorFlow takes seconds; do it while the archive is read.
    importer = threading.Thread(target=_import_tensorflow, daemon=True)
    importer.start()

    report = sources.DecodeReport(strict=strict_utf8)
    by_split: dict[str, list[tuple[int, float, list[str]]]] = {split: [] for split in sources.SPLITS}
    with tqdm(total=2 * EXPECTED_PER_SPLIT, desc="reading reviews", unit=" reviews",
              disable=not show_progress, file=sys.stderr) as bar:
        if source is None:
            reviews = sources.read_tfds(tfds_data_dir, report, bar.update)
        elif source.is_dir():
            reviews = sources.read_folder(source, report, bar.update)
        else:
            reviews = sources.read_archive(source, report, bar.update)
        for review in reviews:
            by_split[review.split].append((review.review_id, review.label, tokenizer.tokenize(review.text)))

    importer.join()
    from embedlab import records

    manifest = {
        "format": "embedlab course TFRecords (tf.train.Example: terms bytes list, labels float list)",
        "source": description,
        "tokenizer_version": tokenizer.TOKENIZER_VERSION,
        "non_utf8_reviews": len(report.replaced),
        "splits": {},
    }
    partials: list[Path] = []
    try:
        for split in sources.SPLITS:
            rows = sorted(by_split[split], key=lambda row: (row[0], row[1]))
            final = out / f"{split}.tfrecord"
            partial = out / f".{split}.tfrecord.partial-{os.getpid()}"
            partials.append(partial)
            serialized = (records.serialize(terms, label) for _, label, terms in rows)
            with tqdm(total=len(rows), desc=f"writing {final.name}", unit=" records",
                      disable=not show_progress, file=sys.stderr) as bar:
                count = records.write_records(partial, _counting(serialized, bar))
            positives = sum(1 for _, label, _ in rows if label == 1.0)
            manifest["splits"][split] = {
                "file": final.name,
                "records": count,
                "labels": {"positive": positives, "negative": count - positives},
                "tokens": sum(len(terms) for _, _, terms in rows),
                "bytes": partial.stat().st_size,
                "sha256": sha256_of(partial),
            }
        for split, partial in zip(sources.SPLITS, partials):
            os.replace(partial, out / f"{split}.tfrecord")
        manifest_partial = out / f".{MANIFEST}.partial-{os.getpid()}"
        partials.append(manifest_partial)
        manifest_partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.replace(manifest_partial, out / MANIFEST)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
    manifest["warnings"] = [
        f"{origin}: bytes that are not UTF-8, replaced with U+FFFD" for origin in report.replaced[:5]
    ] + ([f"... and {len(report.replaced) - 5} more such reviews"] if len(report.replaced) > 5 else [])
    return manifest


def _import_tensorflow() -> None:
    import tensorflow  # noqa: F401


def _counting(items, bar):
    for item in items:
        bar.update(1)
        yield item
