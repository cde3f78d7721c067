"""Exercise 9: colliding terms found as keras.layers.Hashing buckets them, the bucket count asked for, terms
in one bucket indistinguishable to the model, and the comparison with a vocabulary of the same size (the
model's accuracy and AUC are judged by its computation in test_models.py's pass mark).

Every bucket is the grader's own (embedlab.grading.hashing, checked against TensorFlow in
tests/test_hashing.py), computed here."""

import numpy as np
import pytest

from embedlab.grading import hashing, scoring
from embedlab.grading.collectors import ex09_feature_hashing as collector

pytestmark = pytest.mark.exercise("ex09_feature_hashing")

SAME = 1e-6  # two outputs of one float32 model for inputs it cannot tell apart are equal


@pytest.mark.points(1)
def test_colliding_terms_match_keras_hashing(collected):
    """colliding_terms(terms, num_bins) lists the terms that share a Hashing bucket with another term"""
    answers = collected.need("colliding_terms", "colliding_terms")
    for number, (asked, answer) in enumerate(zip(collected.questions["term_lists"], answers)):
        expected = collector.expected_colliding(list(asked["terms"]), asked["num_bins"])
        call = f"colliding_terms({len(asked['terms'])} terms, num_bins={asked['num_bins']})"
        if answer is None:
            collected.need(f"colliding_terms(list {number + 1})")  # fails with the step's own error
        collected.check(isinstance(answer, list), f"{call} returned {answer}; expected a sorted list of str.")
        missing, extra = sorted(set(expected) - set(answer)), sorted(set(answer) - set(expected))
        collected.check(not missing and not extra, (
            f"{call} returned {len(answer)} terms; keras.layers.Hashing({asked['num_bins']}) puts {len(expected)} of "
            f"them in a bucket shared with another term. "
            + (f"Missing: {missing[:3]}. " if missing else "") + (f"Not colliding: {extra[:3]}. " if extra else "")
            + "Hash the distinct terms with keras.layers.Hashing(num_bins) (no salt) and keep those whose bucket "
            "holds more than one of them (a term listed twice does not collide with itself)."))
        collected.check(answer == sorted(answer), f"{call}: the right terms, but not sorted.")
    raised = collected.need("colliding_terms_zero_bins", "colliding_terms(num_bins=0)")
    collected.check(raised == "ValueError",
                    f"colliding_terms(['great', 'bad'], num_bins=0) raised {raised}; expected ValueError.")


@pytest.mark.points(1)
def test_bucket_count_is_what_was_asked(collected):
    """build_hashed_model(num_bins) for a count drawn at grading time has a (num_bins, 1) Dense kernel"""
    asked = collected.questions["sized_bins"]
    weights = collected.need("sized_weights_untrained", "build (sized)", "weights_untrained (sized)")
    shapes = [tuple(np.shape(weight)) for weight in weights]
    tables = [shape for shape in shapes if len(shape) == 2 and shape[0] > 1]
    collected.check(tables == [(asked, 1)], (
        f"build_hashed_model({asked}) has trainable weights {shapes}; expected one Dense kernel ({asked}, 1) and "
        f"its bias (1,): Hashing({asked}, ...) makes {asked} columns. Pass num_bins on to the Hashing layer "
        "instead of a fixed number."))


def pair_outputs(answers, pairs, reviews, num_bins):
    """For each pair of single-term reviews: the two terms, their outputs, whether their buckets are one."""
    rows = []
    for first, second in pairs:
        terms = reviews[first][0], reviews[second][0]
        shared = hashing.bucket(terms[0], num_bins) == hashing.bucket(terms[1], num_bins)
        rows.append((terms, float(answers[first]), float(answers[second]), shared))
    return rows


def judge_pairs(collected, rows, model: str) -> None:
    colliding = [row for row in rows if row[3]]
    apart = [row for row in rows if not row[3]]
    for (a, b), p, q, _ in colliding:
        collected.check(abs(p - q) <= SAME, (
            f"{model} gives p(['{a}'])={p:.6f} but p(['{b}'])={q:.6f}; keras.layers.Hashing puts both terms in "
            "one bucket, so a model over its counts cannot tell them apart. Use Hashing(num_bins, "
            "output_mode='count', sparse=True) without a salt, straight into Dense(1, activation='sigmoid')."))
    told = sum(abs(p - q) > SAME for _, p, q, _ in apart)
    (a, b), p, q, _ = apart[0]
    collected.check(told * 2 >= len(apart), (
        f"{model} gives the same output to {len(apart) - told} of {len(apart)} pairs of terms in different "
        f"buckets (p(['{a}'])={p:.6f}, p(['{b}'])={q:.6f}): every bucket needs its own weight."))


@pytest.mark.points(2)
def test_colliding_terms_give_the_same_output(collected):
    """two terms in one bucket give the same output, terms in different buckets (mostly) do not"""
    reviews = collected.questions["reviews"]
    answers = collected.need("answers", "build", "train", "answers")
    judge_pairs(collected, pair_outputs(answers, collected.questions["pairs"], reviews, collector.NUM_BINS),
                f"the trained {collector.WHAT}")
    asked = collected.questions["sized_bins"]
    sized = collected.questions["sized_reviews"]
    answers = collected.need("sized_answers", "build (sized)", "answers (sized)")
    shapes = [tuple(np.shape(weight)) for weight in collected.get("sized_weights_untrained") or []]
    rows = [shape[0] for shape in shapes if len(shape) == 2 and shape[0] > 1]
    collected.check(rows == [asked], (
        f"build_hashed_model({asked}) has trainable weights {shapes}: its terms do not fall in Hashing({asked})'s "
        "buckets, so its collisions are not Hashing's (see the test of the bucket count)."))
    pairs = [[i, i + 1] for i in range(0, len(sized), 2)]
    judge_pairs(collected, pair_outputs(answers, pairs, sized, asked), f"build_hashed_model({asked}), untrained,")


@pytest.mark.points(0)
def test_hashing_compared_with_a_vocabulary_of_the_same_size(collected, test_labels):
    """hashing into 20,000 buckets against exercise 7's 20,000-term vocabulary (informative)"""
    predictions = collected.test_predictions()
    accuracy, auc = scoring.accuracy(predictions, test_labels), scoring.roc_auc(predictions, test_labels)
    shared = collector.comparison(collected.data_dir, collector.NUM_BINS)
    vocabulary = collector.VOCABULARY_MODEL
    collected.figures.update(
        accuracy=accuracy, auc=auc, vocabulary_accuracy=vocabulary["accuracy"], vocabulary_auc=vocabulary["auc"],
        top_terms_sharing=shared["top_terms_sharing"], informative_sharing=shared["informative_sharing"])
    compared = (f"exercise 7's fastText over the 20,000 most frequent terms: {vocabulary['accuracy']:.4f} / "
                f"{vocabulary['auc']:.4f} (the mean of its calibration runs); {shared['top_terms_sharing']:.0%} of "
                f"those 20,000 terms share one of Hashing's {collector.NUM_BINS:,} buckets with another of them")
    collected.figures["compared"] = compared  # the report prints it with the figures, passed or not
    collected.check(np.isfinite(accuracy) and np.isfinite(auc), (
        f"hashing into {collector.NUM_BINS:,} buckets: test accuracy {accuracy:.4f}, AUC {auc:.4f}; {compared}."))
