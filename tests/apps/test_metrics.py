"""Scores against values worked out by hand."""

import math

import numpy as np
import pytest
import sacrebleu

from apps.common.metrics import (
    accuracy,
    bleu_by_order,
    confusion_matrix,
    corpus_scores,
    expected_calibration_error,
    macro_f1,
    nats_per_token,
    perplexity,
)

# --- BLEU and chrF ---------------------------------------------------------------------------


def test_metrics_are_case_insensitive_and_reject_empty_input():
    assert corpus_scores(["tom est là ."], ["Tom est là."])["bleu"] == 100.0
    with pytest.raises(ValueError, match="at least one"):
        corpus_scores([], [])


def test_a_hypothesis_equal_to_one_of_three_references_scores_100():
    references = [["a dog runs in the park", "A cat sits on the mat.", "there is a cat"]]
    assert corpus_scores(["a cat sits on the mat ."], references) == {"bleu": 100.0, "chrf": 100.0}
    assert bleu_by_order(["a cat sits on the mat ."], references) == {f"bleu{n}": 100.0 for n in range(1, 5)}


def test_cumulative_bleu_by_order_matches_hand_computed_precisions():
    # Closest reference length 6 = hypothesis length, so no brevity penalty. Clipped matches
    # against both references: 1-grams 5/6 ("the" twice), 2-grams 3/5 (the cat, on the,
    # the mat), 3-grams 1/4 (on the mat).
    scores = bleu_by_order(
        ["the cat sat on the mat"], [["the cat is on the mat", "there is a cat on the mat"]], max_order=3
    )
    assert scores == {
        "bleu1": round(100 * 5 / 6, 2),
        "bleu2": round(100 * math.sqrt(5 / 6 * 3 / 5), 2),
        "bleu3": 50.0,  # (5/6 * 3/5 * 1/4) ** (1/3) = 0.125 ** (1/3)
    }


def test_bleu_applies_the_brevity_penalty_against_the_closest_reference():
    # 2 words against references of 6 and 7: BP = exp(1 - 6/2); every unigram matches.
    scores = bleu_by_order(["the cat"], [["the cat sat on the mat", "a cat sat on a red mat"]], max_order=1)
    assert scores == {"bleu1": round(100 * math.exp(1 - 6 / 2), 2)}


def test_bleu4_equals_corpus_bleu():
    hypotheses = ["a man rides a horse on the beach", "two dogs play in the snow"]
    references = [["a man riding a horse on a beach", "a person on a horse"], ["two dogs playing in snow"]]
    assert bleu_by_order(hypotheses, references)["bleu4"] == corpus_scores(hypotheses, references)["bleu"]


def test_one_reference_as_a_string_or_as_a_list_scores_the_same():
    hypotheses = ["the house is small", "he reads a book"]
    references = ["the house is very small", "he is reading a book"]
    assert corpus_scores(hypotheses, references) == corpus_scores(hypotheses, [[r] for r in references])


def test_ragged_references_score_as_if_every_example_had_them_all():
    hypotheses = ["a cat on a mat", "a dog", "a red car"]
    ragged = [
        ["a cat sits on the mat", "the cat is on a mat", "a small cat"],
        ["a dog runs in a big green park"],
        ["a red car parked", "the red car"],
    ]
    # Repeating an example's own reference changes neither BLEU's clipped counts or closest
    # length nor chrF's best match: the score a ragged corpus must get.
    repeated = [group + [group[0]] * (3 - len(group)) for group in ragged]
    scores = corpus_scores(hypotheses, ragged)
    assert scores == corpus_scores(hypotheses, repeated)
    assert bleu_by_order(hypotheses, ragged) == bleu_by_order(hypotheses, repeated)
    # Padding with '' instead would add references of length 0; for "a dog" that is closer
    # than its 8-word reference, which would lift the brevity penalty.
    empty_padded = [[group[slot] if slot < len(group) else "" for group in ragged] for slot in range(3)]
    assert sacrebleu.corpus_bleu(hypotheses, empty_padded, lowercase=True).score > scores["bleu"] + 1


@pytest.mark.parametrize(
    "hypotheses, references, message",
    [
        (["a"], ["a", "b"], "one entry of references per hypothesis"),
        (["a"], [[]], "non-empty list of str"),
        (["a"], [[None]], "non-empty list of str"),
    ],
)
def test_bad_references_are_rejected(hypotheses, references, message):
    with pytest.raises(ValueError, match=message):
        corpus_scores(hypotheses, references)


# --- language models -------------------------------------------------------------------------


def test_nats_per_token_and_perplexity():
    assert nats_per_token([3.0, 1.0], [2, 2]) == 1.0
    assert perplexity([3.0, 1.0], [2, 2]) == pytest.approx(math.e)
    # A uniform guess over 4 tokens: -log(1/4) nats each, perplexity 4.
    assert perplexity(5 * math.log(4.0), 5) == pytest.approx(4.0)
    assert perplexity(np.array([0.0]), np.array([7])) == 1.0


@pytest.mark.parametrize("nll, count", [(1.0, 0), (-1.0, 2), (float("nan"), 2)])
def test_nats_per_token_rejects_impossible_sums(nll, count):
    with pytest.raises(ValueError):
        nats_per_token(nll, count)


# --- classifiers -----------------------------------------------------------------------------

LABELS = [0, 0, 1, 1, 2, 2]
PREDICTIONS = [0, 1, 1, 1, 2, 0]


def test_accuracy_and_confusion_matrix():
    assert accuracy(LABELS, PREDICTIONS) == pytest.approx(4 / 6)
    np.testing.assert_array_equal(confusion_matrix(LABELS, PREDICTIONS), [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    assert confusion_matrix([0, 1], [1, 1], num_classes=3).shape == (3, 3)
    with pytest.raises(ValueError, match="out of range"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_macro_f1_averages_per_class_f1():
    # F1 = 2TP / (2TP + FP + FN): class 0 2/4, class 1 4/5, class 2 2/3.
    assert macro_f1(LABELS, PREDICTIONS) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    # A listed class that never occurs scores 0 and still counts.
    assert macro_f1(LABELS, PREDICTIONS, num_classes=4) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 4)
    # Always predicting the majority class: accuracy 0.75 but macro-F1 only (6/7 + 0) / 2.
    assert macro_f1([1, 1, 1, 0], [1, 1, 1, 1]) == pytest.approx(3 / 7)


@pytest.mark.parametrize(
    "labels, predictions, message",
    [([0, 1], [0], "differ in length"), ([], [], "non-empty"), ([0.5], [0], "integer"), ([-1], [0], ">= 0")],
)
def test_classifier_scores_reject_bad_ids(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        accuracy(labels, predictions)


def test_expected_calibration_error_by_hand():
    # Bin (0.9, 1]: confidence 0.95, accuracy 1/2; bin (0.7, 0.8]: confidence 0.75, accuracy 1.
    # ECE = 2/4 * 0.45 + 2/4 * 0.25.
    binary = [0.95, 0.95, 0.25, 0.25]
    assert expected_calibration_error(binary, [1, 0, 0, 0], bins=10) == pytest.approx(0.35)
    two_columns = [[1 - p, p] for p in binary]
    assert expected_calibration_error(two_columns, [1, 0, 0, 0], bins=10) == pytest.approx(0.35)
    # 75% confident and right 3 times out of 4: perfectly calibrated.
    assert expected_calibration_error([[0.75, 0.25]] * 4, [0, 0, 0, 1]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [1])
