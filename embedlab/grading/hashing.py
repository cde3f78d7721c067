"""A term's hash bucket without TensorFlow: the grader's own copy of what ``keras.layers.Hashing`` does.

Without a salt, ``keras.layers.Hashing(num_bins)`` sends a string to
``tf.strings.to_hash_bucket_fast``: the bucket is FarmHash's 64-bit
fingerprint of the string's UTF-8 bytes (``Fingerprint64``, which is
farmhash-na's ``Hash64``, Pike & Alakuijala, 2014), modulo ``num_bins``.
The grader needs every term's bucket in its own process, where TensorFlow is
never imported, so `fingerprint64` is that function written out in Python
(tests/test_hashing.py checks it against TensorFlow on every term of both
splits and on strings of every byte length up to 400).

>>> fingerprint64(b"")
11160318154034397263
>>> bucket("great", 1000) == fingerprint64("great".encode("utf-8")) % 1000
True
>>> [bucket(term, 10) for term in ("great", "awful", "film")]
[0, 0, 8]
>>> buckets(["great", "awful", "film"], 10).tolist()
[0, 0, 8]
>>> shared_buckets(["a", "b", "c", "d"], [0, 1, 0, 2])
[('a', 'c')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

MASK = (1 << 64) - 1
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F
SEED = 81


def _fetch64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 8], "little")


def _fetch32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def _rotate(value: int, shift: int) -> int:
    """Rotate right, as FarmHash's Rotate64."""
    return value if shift == 0 else ((value >> shift) | (value << (64 - shift))) & MASK


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _hash16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _hash0to16(data: bytes, length: int) -> int:
    if length >= 8:
        mul = K2 + length * 2
        a = (_fetch64(data, 0) + K2) & MASK
        b = _fetch64(data, length - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash16(c, d, mul)
    if length >= 4:
        mul = K2 + length * 2
        a = _fetch32(data, 0)
        return _hash16((length + (a << 3)) & MASK, _fetch32(data, length - 4), mul)
    if length > 0:
        a, b, c = data[0], data[length >> 1], data[length - 1]
        y = (a + (b << 8)) & 0xFFFFFFFF
        z = (length + (c << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _hash17to32(data: bytes, length: int) -> int:
    mul = K2 + length * 2
    a = (_fetch64(data, 0) * K1) & MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, length - 8) * mul) & MASK
    d = (_fetch64(data, length - 16) * K2) & MASK
    return _hash16((_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
                   (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)


def _hash33to64(data: bytes, length: int) -> int:
    mul = K2 + length * 2
    a = (_fetch64(data, 0) * K2) & MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, length - 8) * mul) & MASK
    d = (_fetch64(data, length - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_fetch64(data, 16) * mul) & MASK
    f = _fetch64(data, 24)
    g = ((y + _fetch64(data, length - 32)) * mul) & MASK
    h = ((z + _fetch64(data, length - 24)) * mul) & MASK
    return _hash16((_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
                   (e + _rotate((f + a) & MASK, 18) + g) & MASK, mul)


def _weak32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_fetch64(data, at + offset) for offset in (0, 8, 16, 24))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data: bytes) -> int:
    """FarmHash's Fingerprint64 of `data` (farmhash-na Hash64), an unsigned 64-bit integer."""
    length = len(data)
    if length <= 16:
        return _hash0to16(data, length)
    if length <= 32:
        return _hash17to32(data, length)
    if length <= 64:
        return _hash33to64(data, length)
    x = SEED
    y = (SEED * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v0 = v1 = w0 = w1 = 0
    x = (x * K2 + _fetch64(data, 0)) & MASK
    end = ((length - 1) // 64) * 64
    last64 = length - 64
    at = 0
    while True:
        x = (_rotate((x + y + v0 + _fetch64(data, at + 8)) & MASK, 37) * K1) & MASK
        y = (_rotate((y + v1 + _fetch64(data, at + 48)) & MASK, 42) * K1) & MASK
        x ^= w1
        y = (y + v0 + _fetch64(data, at + 40)) & MASK
        z = (_rotate((z + w0) & MASK, 33) * K1) & MASK
        v0, v1 = _weak32(data, at, (v1 * K1) & MASK, (x + w0) & MASK)
        w0, w1 = _weak32(data, at + 32, (z + w1) & MASK, (y + _fetch64(data, at + 16)) & MASK)
        z, x = x, z
        at += 64
        if at == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    at = last64
    w0 = (w0 + ((length - 1) & 63)) & MASK
    v0 = (v0 + w0) & MASK
    w0 = (w0 + v0) & MASK
    x = (_rotate((x + y + v0 + _fetch64(data, at + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v1 + _fetch64(data, at + 48)) & MASK, 42) * mul) & MASK
    x ^= (w1 * 9) & MASK
    y = (y + v0 * 9 + _fetch64(data, at + 40)) & MASK
    z = (_rotate((z + w0) & MASK, 33) * mul) & MASK
    v0, v1 = _weak32(data, at, (v1 * mul) & MASK, (x + w0) & MASK)
    w0, w1 = _weak32(data, at + 32, (z + w1) & MASK, (y + _fetch64(data, at + 16)) & MASK)
    z, x = x, z
    return _hash16((_hash16(v0, w0, mul) + _shift_mix(y) * K0 + z) & MASK,
                   (_hash16(v1, w1, mul) + x) & MASK, mul)


def bucket(term: str, num_bins: int) -> int:
    """The bucket ``keras.layers.Hashing(num_bins)`` gives `term` (no salt)."""
    return fingerprint64(term.encode("utf-8")) % int(num_bins)


def fingerprints(terms: Iterable[str]) -> np.ndarray:
    """Every term's fingerprint (uint64): hashed once, then any number of bucket counts is one modulo."""
    return np.fromiter((fingerprint64(term.encode("utf-8")) for term in terms), dtype=np.uint64)


def buckets(terms: Iterable[str], num_bins: int) -> np.ndarray:
    """Every term's bucket at `num_bins` (int64)."""
    return buckets_of(fingerprints(terms), num_bins)


def buckets_of(prints: np.ndarray, num_bins: int) -> np.ndarray:
    """The buckets at `num_bins` (int64) of fingerprints already computed (`fingerprints`)."""
    return (prints % np.uint64(num_bins)).astype(np.int64)


def shared_buckets(terms: Sequence[str], term_buckets: Sequence[int]) -> list[tuple[str, str]]:
    """The pairs of distinct terms that land in one bucket, in the order of `terms` (first, second)."""
    first_in: dict[int, list[str]] = {}
    pairs = []
    for term, number in zip(terms, term_buckets):
        for earlier in first_in.get(int(number), []):
            if earlier != term:
                pairs.append((earlier, term))
        first_in.setdefault(int(number), []).append(term)
    return pairs
