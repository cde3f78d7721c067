"""The bytes of the course's records, written without TensorFlow.

A record is a ``tf.train.Example`` (tensorflow/core/example/example.proto and
feature.proto)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }
    Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; ... } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }

`encode_example` writes exactly what TensorFlow's
``example.SerializeToString(deterministic=True)`` writes for the course's two
features: map entries sorted by key (``labels`` before ``terms``), each entry
with its key and its value, a ``terms`` list present even when empty. A
TFRecord file is, per record: the data's length (uint64, little-endian), the
masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data.
tests/test_records.py compares whole files with TensorFlow's own writer.

Nothing here imports TensorFlow (nor protobuf): ``embedlab prepare`` writes
its files in a fraction of the time TensorFlow takes to import.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import google_crc32c

_MASK_DELTA = 0xA282EAD8


def varint(value: int) -> bytes:
    """A non-negative integer in protobuf's base-128 varint encoding.

    >>> varint(1).hex(), varint(300).hex()
    ('01', 'ac02')
    """
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Tag of field 1 with wire type 2 (length-delimited) is 0x0a, then the length.
# A term of up to 16,383 bytes has a one- or two-byte length: look it up.
_TERM_HEADERS = [b"\x0a" + varint(length) for length in range(1 << 14)]
_TERMS_KEY = b"\x0a\x05terms\x12"  # map entry: key = 1 ("terms"), then the tag of value = 2
_LABELS_ENTRY = b"\x0a\x12\x0a\x06labels\x12\x08\x12\x06\x0a\x04"  # up to the float's 4 bytes


def encode_example(terms: Sequence[bytes], label: float) -> bytes:
    """The serialized ``tf.train.Example`` of one review: ``terms`` (UTF-8 bytes) and its label."""
    try:
        headers = map(_TERM_HEADERS.__getitem__, map(len, terms))
        parts: list[bytes] = [b""] * (2 * len(terms))
        parts[::2] = headers
    except IndexError:  # a term longer than the table: no review of the dataset has one
        parts = [b""] * (2 * len(terms))
        parts[::2] = [b"\x0a" + varint(len(term)) for term in terms]
    parts[1::2] = terms
    bytes_list = b"".join(parts)
    feature = b"\x0a" + varint(len(bytes_list)) + bytes_list  # Feature.bytes_list
    entry = _TERMS_KEY + varint(len(feature)) + feature
    features = _LABELS_ENTRY + struct.pack("<f", label) + b"\x0a" + varint(len(entry)) + entry
    return b"\x0a" + varint(len(features)) + features  # Example.features


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    """One record as it is stored in a TFRecord file."""
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", masked_crc32c(length)) + record + struct.pack("<I", masked_crc32c(record))


def write_records(path: Path, records: Iterable[bytes]) -> int:
    """Write serialized records to ``path`` as a TFRecord file; returns how many were written."""
    count = 0
    with open(path, "wb") as handle:
        for record in records:
            handle.write(frame(record))
            count += 1
    return count
