"""Exercise 1: the input pipeline, checked against the grader's own reader.

The batch size is the exercise's budget in exercises.toml; a second, small
one and the shuffle seed are drawn at grading time (`collected.questions`).
The reference (the training file's first batches, its record counts) is the
grader's own (`collected.reference`), read where no student code runs.
Each test asks for the student's result first: a missing file or a failing
step is named before anything else.
"""

import pytest

pytestmark = pytest.mark.exercise("ex01_input_pipeline")


@pytest.fixture
def batch_size(collected):
    return collected.exercise.budget.batch_size


def reads_the_file(collected) -> None:
    """What the worker says about the dataset counts only if the dataset yields the file's reviews.

    Its first review must be the file's first (the grader's own reader, whatever the batch size).
    """
    batches = collected.need("first_batches", "make_dataset", kind=list)
    first = collected.reference("first_batches")[0]["terms"][0]
    got = batches[0].get("terms", [[]])[0] if batches and isinstance(batches[0], dict) else None
    collected.check(got == first, (
        f"make_dataset(path, shuffle=False) does not start with the file's first review (its first terms are "
        f"{first[:5]}, the dataset's {str(got)[:80]}): read the records in order, batch, then parse."))


@pytest.mark.points(2)
def test_yields_features_dict_and_labels(collected):
    """make_dataset returns a tf.data.Dataset of ({'terms': ...}, labels)"""
    dataset = collected.need("dataset", "make_dataset", "describe", kind=dict)
    collected.check(dataset.get("is_dataset"), (
        f"make_dataset(path) returned a {dataset.get('type')}, not a tf.data.Dataset. "
        "Build it from tf.data.TFRecordDataset; see 'What to build' in the docstring."))
    collected.check(dataset.get("feature_keys") == ["terms"], (
        f"each element should be a pair ({{'terms': ...}}, labels); the features were {dataset.get('feature_keys')} "
        f"(element structure: {dataset.get('structure')}). The model's input is named 'terms'."))
    reads_the_file(collected)


@pytest.mark.points(2)
def test_terms_are_ragged_strings_with_int64_row_splits(collected):
    """terms: a RaggedTensor of strings, shape [batch, None], int64 row splits"""
    spec = collected.need("dataset", "make_dataset", "describe", kind=dict).get("terms_spec") or {}
    collected.check(spec.get("class") == "RaggedTensorSpec" and spec.get("dtype") == "string", (
        f"'terms' came back as {spec.get('class')} of {spec.get('dtype')}; expected a RaggedTensor of strings "
        "(parse it with tf.io.RaggedFeature(tf.string, ...)). See 'Shapes' in the docstring."))
    collected.check(spec.get("row_splits_dtype") == "int64", (
        f"'terms' has {spec.get('row_splits_dtype')} row splits; expected int64 "
        "(row_splits_dtype=tf.int64): StringLookup's count mode fails on int32 ones."))
    reads_the_file(collected)


@pytest.mark.points(1)
def test_labels_are_float32_of_shape_batch_by_1(collected):
    """labels: float32, shape [batch, 1]"""
    spec = collected.need("dataset", "make_dataset", "describe", kind=dict).get("labels_spec") or {}
    collected.check(spec.get("dtype") == "float32" and spec.get("shape") == [None, 1], (
        f"labels came back as {spec.get('dtype')} of shape {spec.get('shape')}; expected float32 of shape "
        "[None, 1] (tf.io.FixedLenFeature([1], tf.float32), then batched)."))
    reads_the_file(collected)


@pytest.mark.points(2)
def test_unshuffled_batches_match_the_file(collected, batch_size):
    """without shuffle, the first batches hold the file's first reviews, in order"""
    batches = collected.need("first_batches", "make_dataset", kind=list)
    expected = collected.reference("first_batches")
    collected.check(len(batches) == len(expected),
                    f"take({len(expected)}) on make_dataset(train) gave {len(batches)} batches.")
    for index, (got, want) in enumerate(zip(batches, expected)):
        collected.check(got["terms"] == want["terms"], (
            f"batch {index} of make_dataset(train, batch_size={batch_size}, shuffle=False) holds other reviews "
            f"than the file's reviews {batch_size * index}..{batch_size * index + batch_size - 1} (first terms: "
            f"{got['terms'][0][:8] if got['terms'] else []} vs {want['terms'][0][:8]}). "
            "Shuffle only when shuffle=True."))
        collected.check(got["labels"] == want["labels"], (
            f"batch {index} of make_dataset(train, shuffle=False) has labels {got['labels'][:8]}...; "
            f"the file's are {want['labels'][:8]}..."))


def _epoch_message(epoch: dict, call: str, records: int, sizes: list) -> str:
    return (f"one pass over {call} gave {epoch['examples']} reviews in batches of {epoch['batch_sizes']}; "
            f"expected {records} in batches of {sizes} (num_epochs=1, no review dropped).")


@pytest.mark.points(1)
def test_one_epoch_holds_every_review_once(collected, batch_size):
    """one epoch holds every review once, in batches of batch_size (the last one may be smaller)"""
    epoch = collected.need("epoch", "make_dataset", kind=dict)
    small = collected.questions["small_batch_size"]
    small_first = collected.need("small_first", "small_batch", kind=list)
    small_epoch = collected.need("small_epoch", "small_batch", kind=dict)
    records, positives = collected.reference("train_records"), collected.reference("train_positive")
    sizes = collected.reference("batch_sizes")
    collected.check(epoch["examples"] == records and epoch["batch_sizes"] == sizes,
                    _epoch_message(epoch, f"make_dataset(train, batch_size={batch_size})", records, sizes))
    collected.check(epoch["positives"] == positives,
                    f"one epoch holds {epoch['positives']:.0f} positive reviews; the file has {positives}.")
    collected.check(small_first and small_first[0]["labels_shape"] == [small, 1],
                    f"batch_size={small} gave labels of shape {small_first[0]['labels_shape'] if small_first else '?'}"
                    f"; expected [{small}, 1].")
    small_sizes = sorted({small, records % small} - {0})
    collected.check(small_epoch["examples"] == records and small_epoch["batch_sizes"] == small_sizes,
                    _epoch_message(small_epoch, f"make_dataset(train, batch_size={small})", records, small_sizes))


@pytest.mark.points(1)
def test_shuffle_is_seeded_and_complete(collected, batch_size):
    """shuffle=True reorders reviews, the same way for the same seed, losing none"""
    first = collected.need("shuffled_first", "shuffled", kind=list)[0]
    again = collected.need("shuffled_again_first", "shuffled_again", kind=list)[0]
    epoch = collected.need("shuffled_epoch", "shuffled", kind=dict)
    records, positives = collected.reference("train_records"), collected.reference("train_positive")
    collected.check(first["terms"] != collected.reference("first_batches")[0]["terms"], (
        f"make_dataset(..., shuffle=True) gave the file's first {batch_size} reviews in order: it does not shuffle."))
    collected.check(first["terms"] == again["terms"], (
        "two datasets made with shuffle=True and the same seed start with different reviews: "
        "pass the seed to Dataset.shuffle(..., seed=seed)."))
    collected.check(epoch["examples"] == records and epoch["positives"] == positives, (
        f"one shuffled epoch gave {epoch['examples']} reviews ({epoch['positives']:.0f} positive); expected "
        f"{records} ({positives}). Shuffle before batching, repeat after."))


@pytest.mark.points(1)
def test_num_epochs_none_repeats(collected, batch_size):
    """num_epochs=None repeats the data forever"""
    count = collected.need("repeat_batches", "repeat", "repeat_take", kind=int)
    wanted = -(-collected.questions["train_records"] // batch_size) + 1  # one more than an epoch has
    collected.check(count == wanted, (
        f"take({wanted}) on make_dataset(num_epochs=None) gave {count} batches (one epoch has {wanted - 1}); "
        f"expected {wanted}: repeat(None) repeats forever."))


@pytest.mark.points(0)
def test_bad_batch_size_is_a_value_error(collected):
    """batch_size=0 raises ValueError (not graded: good manners)"""
    raised = collected.need("batch_size_0", kind=str)
    collected.check(raised == "ValueError", f"make_dataset(path, batch_size=0) raised {raised}; expected ValueError.")
