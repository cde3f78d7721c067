"""Exercise 1: the input pipeline, checked against the grader's own reader.

The batch size is the exercise's budget in exercises.toml; the reference
(the training file's first batches at that size, its record counts) is
computed by the collector before the submission runs.
"""

import pytest

pytestmark = pytest.mark.exercise("ex01_input_pipeline")


@pytest.fixture
def reference(collected):
    return collected.need("reference")


@pytest.fixture
def batch_size(collected):
    return collected.exercise.budget.batch_size


@pytest.mark.points(2)
def test_yields_features_dict_and_labels(collected):
    """make_dataset returns a tf.data.Dataset of ({'terms': ...}, labels)"""
    dataset = collected.need("dataset", "make_dataset")
    assert dataset["is_dataset"], (
        f"make_dataset(path) returned a {dataset['type']}, not a tf.data.Dataset. "
        f"Build it from tf.data.TFRecordDataset; see 'What to build' in {collected.where()}.")
    assert dataset.get("feature_keys") == ["terms"], (
        f"each element should be a pair ({{'terms': ...}}, labels); the features were {dataset.get('feature_keys')} "
        f"(element structure: {dataset.get('structure')}). The model's input is named 'terms'.")


@pytest.mark.points(2)
def test_terms_are_ragged_strings_with_int64_row_splits(collected):
    """terms: a RaggedTensor of strings, shape [batch, None], int64 row splits"""
    spec = collected.need("dataset", "make_dataset").get("terms_spec") or {}
    assert spec.get("class") == "RaggedTensorSpec" and spec.get("dtype") == "string", (
        f"'terms' came back as {spec.get('class')} of {spec.get('dtype')}; expected a RaggedTensor of strings "
        "(parse it with tf.io.RaggedFeature(tf.string, ...)). See 'Shapes' in the docstring.")
    assert spec.get("row_splits_dtype") == "int64", (
        f"'terms' has {spec.get('row_splits_dtype')} row splits; expected int64 "
        "(row_splits_dtype=tf.int64): StringLookup's count mode fails on int32 ones.")


@pytest.mark.points(1)
def test_labels_are_float32_of_shape_batch_by_1(collected):
    """labels: float32, shape [batch, 1]"""
    spec = collected.need("dataset", "make_dataset").get("labels_spec") or {}
    assert spec.get("dtype") == "float32" and spec.get("shape") == [None, 1], (
        f"labels came back as {spec.get('dtype')} of shape {spec.get('shape')}; expected float32 of shape "
        "[None, 1] (tf.io.FixedLenFeature([1], tf.float32), then batched).")


@pytest.mark.points(2)
def test_unshuffled_batches_match_the_file(collected, reference, batch_size):
    """without shuffle, the first batches hold the file's first reviews, in order"""
    batches = collected.need("first_batches", "make_dataset")
    expected = reference["first_batches"]
    assert len(batches) == len(expected), (
        f"got {len(batches)} batches from take({len(expected)}); expected {len(expected)}")
    for index, (got, want) in enumerate(zip(batches, expected)):
        assert got["terms"] == want["terms"], (
            f"batch {index} of make_dataset(train, batch_size={batch_size}, shuffle=False) holds other reviews "
            f"than the file's reviews {batch_size * index}..{batch_size * index + batch_size - 1} (first terms: "
            f"{got['terms'][0][:8]} vs {want['terms'][0][:8]}). Shuffle only when shuffle=True.")
        assert got["labels"] == want["labels"], (
            f"batch {index}: labels {got['labels'][:8]}... vs {want['labels'][:8]}...")


@pytest.mark.points(1)
def test_one_epoch_holds_every_review_once(collected, reference, batch_size):
    """one epoch: 25,000 reviews in batches of 25, half of them positive"""
    epoch = collected.need("epoch", "make_dataset")
    assert epoch["examples"] == reference["train_records"] and epoch["batch_sizes"] == [batch_size], (
        f"one pass over make_dataset(train, batch_size={batch_size}) gave {epoch['examples']} reviews in batches "
        f"of {epoch['batch_sizes']}; expected {reference['train_records']} in batches of {batch_size} "
        "(num_epochs=1).")
    assert epoch["positives"] == reference["train_positive"]
    seven = collected.need("batch_size_7", "batch_size_7_take")
    assert seven[0]["labels_shape"] == [7, 1], f"batch_size=7 gave labels of shape {seven[0]['labels_shape']}"


@pytest.mark.points(1)
def test_shuffle_is_seeded_and_complete(collected, reference, batch_size):
    """shuffle=True reorders reviews, the same way for the same seed, losing none"""
    first = collected.need("shuffled_first", "shuffled")[0]
    again = collected.need("shuffled_again_first", "shuffled_again")[0]
    assert first["terms"] != reference["first_batches"][0]["terms"], (
        f"make_dataset(..., shuffle=True) gave the file's first {batch_size} reviews in order: it does not shuffle.")
    assert first["terms"] == again["terms"], (
        "two datasets made with shuffle=True and the same seed start with different reviews: "
        "pass the seed to Dataset.shuffle(..., seed=seed).")
    epoch = collected.need("shuffled_epoch")
    assert epoch["examples"] == reference["train_records"] and epoch["positives"] == reference["train_positive"], (
        f"one shuffled epoch gave {epoch['examples']} reviews ({epoch['positives']} positive); expected "
        f"{reference['train_records']} ({reference['train_positive']}). Shuffle before batching, repeat after.")


@pytest.mark.points(1)
def test_num_epochs_none_repeats(collected):
    """num_epochs=None repeats the data forever"""
    count = collected.need("repeat_batches_1001", "repeat")
    assert count == 1001, (
        f"take(1001) on make_dataset(num_epochs=None) gave {count} batches; expected 1001 (repeat(None)).")


@pytest.mark.points(0)
def test_bad_batch_size_is_a_value_error(collected):
    """batch_size=0 raises ValueError (not graded: good manners)"""
    raised = collected.need("batch_size_0")
    assert raised == "ValueError", f"make_dataset(path, batch_size=0) raised {raised}; expected ValueError."
