"""The order of the records in a prepared split, and its name in ``manifest.json``.

Training reads the records in file order (shuffled with a seed, or not), so
the pass marks hold for one order only. Each source lists the reviews its
own way: the authors' archive by file name (``<number>_<rating>.txt``, in
whatever order the tar or the folder lists them), tensorflow-datasets by its
own index (a hash of each file's name), without the numbers, and with the
text stripped of surrounding white space. The orders:

* ``sha256-of-record`` (the default): by the sha256 of each serialized
  record. It depends only on the records themselves (a review's terms and
  its label), so every source gives the same bytes, and anyone can check a
  file's order without its source. Reviews whose records are identical
  (the dataset holds a few duplicates) are interchangeable.
* ``review-number``: by (review number, label), the order of the files the
  pass marks were first calibrated on. Only the archive and folder sources
  have review numbers.

The folder's order is ``manifest.json``'s ``"order"``; one prepared before
orders had names has none, and `require` refuses it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from pathlib import Path

from embedlab.errors import EmbedlabError

SHA256_OF_RECORD = "sha256-of-record"
REVIEW_NUMBER = "review-number"
DEFAULT = SHA256_OF_RECORD
ORDERS = (SHA256_OF_RECORD, REVIEW_NUMBER)
MANIFEST_KEY = "order"


def sort_key(order: str) -> Callable[[int, float, bytes], object]:
    """``key(review_number, label, record)`` that sorts a split into ``order``."""
    if order == SHA256_OF_RECORD:
        return lambda _number, _label, record: hashlib.sha256(record).digest()
    if order == REVIEW_NUMBER:
        return lambda number, label, _record: (number, label)
    raise EmbedlabError(f"order {order!r}: unknown (known: {', '.join(ORDERS)})")


def is_in_order(records, order: str = SHA256_OF_RECORD) -> bool:
    """Whether serialized records (in file order) are sorted by ``order``; ``sha256-of-record`` only.

    >>> is_in_order([b"b", b"a"]), is_in_order([b"a", b"b"])  # sha256(b"b") is 3e23..., sha256(b"a") ca97...
    (True, False)
    """
    if order != SHA256_OF_RECORD:
        raise ValueError(f"order {order!r} cannot be checked from the records alone")
    digests = [hashlib.sha256(record).digest() for record in records]
    return all(a <= b for a, b in zip(digests, digests[1:]))


def require(tfrecords_dir: Path, accepted: Collection[str] = (DEFAULT,)) -> str:
    """The order named in ``tfrecords_dir``'s manifest; `EmbedlabError` (one line) unless it is ``accepted``."""
    path = Path(tfrecords_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except OSError as error:
        raise EmbedlabError(f"{path}: cannot read ({error.strerror or error}); run `embedlab prepare`") from None
    except ValueError:
        raise EmbedlabError(f"{path}: not valid JSON; run `embedlab prepare --force`") from None
    found = manifest.get(MANIFEST_KEY) if isinstance(manifest, dict) else None
    if found not in accepted:
        what = "names no order of its records" if found is None else f"records in order {found!r}"
        raise EmbedlabError(
            f"{path}: {what}, but grading needs {' or '.join(map(repr, accepted))}; "
            f"run `embedlab prepare --force --order {next(iter(accepted))}`"
        )
    return found
