"""The grader's FarmHash (embedlab.grading.hashing) gives the buckets of keras.layers.Hashing and
tf.strings.to_hash_bucket_fast: on strings of every byte length up to 300 (each branch of Fingerprint64) and on
every distinct term of both real splits."""

import numpy as np
import pytest

from embedlab.grading import hashing

from data_fixtures import prepared_data  # noqa: F401 - a fixture

BIG = 2**62  # to_hash_bucket_fast's num_buckets is an int64 attribute: the fingerprint's low 62 bits


def random_strings(rng: np.random.Generator) -> list[str]:
    """Strings of ASCII, 2-, 3- and 4-byte UTF-8 characters, five of each length 0..300 (in characters)."""
    ranges = [(32, 127), (0x80, 0x800), (0x800, 0xD800), (0x10000, 0x110000)]
    strings = []
    for length in range(301):
        for _ in range(5):
            low, high = ranges[int(rng.integers(len(ranges)))]
            strings.append("".join(chr(int(code)) for code in rng.integers(low, high, size=length)))
    return strings


def test_fingerprint_matches_tensorflow_on_every_length():
    tf = pytest.importorskip("tensorflow")
    strings = random_strings(np.random.default_rng(9))
    strings += ["".join(chr(97 + i % 26) for i in range(length)) for length in range(400)]  # every byte length
    expected = tf.strings.to_hash_bucket_fast(strings, BIG).numpy()
    mine = np.array([hashing.fingerprint64(text.encode("utf-8")) % BIG for text in strings])
    wrong = [(len(text.encode("utf-8")), text[:20]) for text, a, b in zip(strings, expected, mine) if a != b]
    assert not wrong, f"{len(wrong)} strings hash differently, such as {wrong[:3]}"


def test_buckets_match_keras_hashing_on_every_real_term(prepared_data):  # noqa: F811
    keras = pytest.importorskip("keras")
    from embedlab.grading import data as grading_data

    data_dir = grading_data.ensure(prepared_data)
    for split in ("train", "test"):
        terms = list(grading_data.terms(data_dir, split).terms)
        fingerprints = hashing.fingerprints(terms)
        for num_bins in (1_000, 20_000, 100_003):
            expected = np.asarray(keras.layers.Hashing(num_bins)(np.array(terms, dtype=object))).reshape(-1)
            mine = hashing.buckets_of(fingerprints, num_bins)
            assert np.array_equal(mine, expected), (
                f"{split}: {int((mine != expected).sum())} of {len(terms)} terms in another bucket at {num_bins}")
