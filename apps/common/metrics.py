"""Scores for the apps: BLEU and chrF for generated text, perplexity for language models,
accuracy, macro-F1 and calibration for classifiers.

Text scores are SacreBLEU's (13a tokenisation, case-insensitive unless asked) in %, rounded to 2
decimals, as papers print them. The other scores are plain floats: fractions in [0, 1], nats, or a perplexity.

Shape letters: N examples, C classes.

Example:
    >>> corpus_scores(["a cat sits on the mat ."], [["A cat sits on the mat.", "There is a cat."]])
    {'bleu': 100.0, 'chrf': 100.0}
    >>> macro_f1([0, 0, 1, 1], [0, 1, 1, 1])
    0.7333333333333334
"""

import math

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

# --- generated text --------------------------------------------------------------------------


def corpus_scores(hypotheses, references, cased=False):
    """Corpus BLEU (Papineni et al., 2002) and chrF (Popović, 2015), in %.

    Case-insensitive by default: the vocabularies are lower-case, so cased scores would measure
    the capitalisation as well as the words. `cased=True` adds "bleu_cased" and "chrf_cased"
    (SacreBLEU's defaults, as public tables print them), which do.

    Args:
        hypotheses: list of N str, the generated texts.
        references: list of N entries, one per hypothesis: a str (one reference), or a list of
            str (several references, e.g. five captions per image; the number may differ from
            one example to the next). Every reference of an example counts: BLEU clips n-gram
            counts by their maximum over the references and takes the closest reference length;
            chrF takes the best-matching reference.

    Returns:
        dict with "bleu" and "chrf", floats in [0, 100].
    """
    streams = _reference_streams(hypotheses, references)
    scores = {
        "bleu": round(BLEU(lowercase=True).corpus_score(hypotheses, streams).score, 2),
        "chrf": round(CHRF(lowercase=True).corpus_score(hypotheses, streams).score, 2),
    }
    if cased:
        scores["bleu_cased"] = round(BLEU().corpus_score(hypotheses, streams).score, 2)
        scores["chrf_cased"] = round(CHRF().corpus_score(hypotheses, streams).score, 2)
    return scores


def bleu_by_order(hypotheses, references, max_order=4):
    """Cumulative BLEU-1 ... BLEU-`max_order`, as captioning papers report them, in %.

    BLEU-n is the brevity penalty times the geometric mean of the modified 1- to n-gram
    precisions (uniform weights 1/n), over the whole corpus (Papineni et al., 2002; the
    COCO caption evaluation). BLEU-4 equals `corpus_scores(...)["bleu"]`.

    Args:
        hypotheses, references: as for `corpus_scores`.
        max_order: int, the highest n-gram order. Default 4.

    Returns:
        dict {"bleu1": float, ..., "bleu<max_order>": float}, each in [0, 100].

    Example:
        >>> bleu_by_order(["the cat sat down"], [["The cat sat down", "a dog ran"]])
        {'bleu1': 100.0, 'bleu2': 100.0, 'bleu3': 100.0, 'bleu4': 100.0}
    """
    if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, got {max_order!r}")
    streams = _reference_streams(hypotheses, references)
    return {
        f"bleu{n}": round(BLEU(lowercase=True, max_ngram_order=n).corpus_score(hypotheses, streams).score, 2)
        for n in range(1, max_order + 1)
    }


def _reference_streams(hypotheses, references):
    """Per-example references -> SacreBLEU's reference streams (one list per reference slot).

    SacreBLEU wants k streams of N strings each. With a ragged number of references, the short
    examples are padded with None, which SacreBLEU drops; an empty string would not do: it would
    count as a reference of length 0 and change BLEU's brevity penalty.
    """
    if not hypotheses:
        raise ValueError("expected at least one hypothesis to score; got none")
    if len(references) != len(hypotheses):
        raise ValueError(f"expected one entry of references per hypothesis: {len(hypotheses)} hypotheses, "
                         f"{len(references)} references")
    per_example = []
    for index, entry in enumerate(references):
        group = [entry] if isinstance(entry, str) else list(entry)
        if not group or not all(isinstance(reference, str) for reference in group):
            raise ValueError(f"references[{index}] must be a str or a non-empty list of str, got {entry!r}")
        per_example.append(group)
    slots = max(len(group) for group in per_example)
    return [[group[slot] if slot < len(group) else None for group in per_example] for slot in range(slots)]


# --- language models -------------------------------------------------------------------------


def nats_per_token(negative_log_likelihood, token_count):
    """Mean negative log-likelihood per token, in nats (natural log).

    Args:
        negative_log_likelihood: float or array, the summed -log p of the tokens (e.g. one sum
            per batch; all are added up).
        token_count: int or array, how many tokens those sums cover (all are added up).

    Returns:
        float, sum(negative_log_likelihood) / sum(token_count).

    Example:
        >>> nats_per_token([3.0, 1.0], [2, 2])
        1.0
    """
    total = float(np.sum(negative_log_likelihood))
    count = float(np.sum(token_count))
    if not count > 0:
        raise ValueError(f"token_count must add up to a positive number, got {count:g}")
    if not (math.isfinite(total) and total >= 0):
        raise ValueError(f"negative_log_likelihood must add up to a finite number >= 0, got {total:g}")
    return total / count


def perplexity(negative_log_likelihood, token_count):
    """exp(nats per token): the effective number of equally likely choices per token.

    Args:
        negative_log_likelihood, token_count: as for `nats_per_token`.

    Returns:
        float >= 1.

    Example:
        >>> perplexity(2 * math.log(4.0), 2)
        4.0
    """
    return math.exp(nats_per_token(negative_log_likelihood, token_count))


# --- classifiers -----------------------------------------------------------------------------


def accuracy(labels, predictions):
    """Fraction of examples whose predicted class is the true class.

    Args:
        labels, predictions: sequences of N int class ids.

    Returns:
        float in [0, 1].
    """
    labels, predictions = _class_ids(labels, predictions)
    return float(np.mean(labels == predictions))


def confusion_matrix(labels, predictions, num_classes=None):
    """Counts of (true class, predicted class) pairs.

    Args:
        labels, predictions: sequences of N int class ids in [0, C).
        num_classes: int C, or None (default) for 1 + the largest id seen.

    Returns:
        (C, C) int64 array; entry [i, j] counts examples of class i predicted as j, so rows sum
        to the class frequencies and the diagonal holds the correct predictions.

    Example:
        >>> confusion_matrix([0, 0, 1], [0, 1, 1]).tolist()
        [[1, 1], [0, 1]]
    """
    labels, predictions = _class_ids(labels, predictions)
    seen = int(max(labels.max(), predictions.max())) + 1
    if num_classes is None:
        num_classes = seen
    elif seen > num_classes:
        raise ValueError(f"class id {seen - 1} is out of range for num_classes={num_classes}")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def macro_f1(labels, predictions, num_classes=None):
    """Unweighted mean over classes of F1 = 2 TP / (2 TP + FP + FN).

    Every class weighs the same, so a classifier that ignores a rare class is penalised where
    accuracy would hide it. A class that is neither present nor predicted scores 0 (as
    scikit-learn's `f1_score(average="macro", zero_division=0)` with all labels listed).

    Args:
        labels, predictions: sequences of N int class ids in [0, C).
        num_classes: int C, or None (default): the classes seen in labels or predictions.

    Returns:
        float in [0, 1].
    """
    matrix = confusion_matrix(labels, predictions, num_classes)
    true_positives = np.diag(matrix).astype(np.float64)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)  # (2 TP + FP + FN) per class
    if num_classes is None:
        present = denominator > 0  # ids in the gaps of the seen range are not classes here
        true_positives, denominator = true_positives[present], denominator[present]
    f1 = np.divide(2 * true_positives, denominator, out=np.zeros_like(true_positives), where=denominator > 0)
    return float(np.mean(f1))


def expected_calibration_error(probabilities, labels, bins=15):
    """Expected calibration error (Guo et al., 2017, "On Calibration of Modern Neural Networks").

    Examples are grouped by confidence (the probability of the predicted class) into `bins`
    equal-width bins over [0, 1]; ECE = sum over bins of (bin size / N) * |accuracy - mean
    confidence| in the bin. 0 means the confidences match the observed accuracy.

    Args:
        probabilities: (N, C) array of class probabilities, or (N,) array of P(class 1) for a
            binary classifier.
        labels: sequence of N int class ids.
        bins: int, number of confidence bins. Default 15, as in the paper.

    Returns:
        float in [0, 1].

    Example:
        >>> round(expected_calibration_error([0.95, 0.95, 0.25, 0.25], [1, 0, 0, 0], bins=10), 6)
        0.35
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        probabilities = np.stack([1.0 - probabilities, probabilities], axis=-1)  # (N, 2)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        raise ValueError(f"probabilities must have shape (N,) or (N, C) with N > 0, got {probabilities.shape}")
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    predictions = probabilities.argmax(axis=-1)
    labels, predictions = _class_ids(labels, predictions)
    confidence = probabilities.max(axis=-1)  # (N,)
    correct = (labels == predictions).astype(np.float64)
    # Bin b holds confidences in (b / bins, (b + 1) / bins]; a confidence of 0 goes to bin 0.
    bin_ids = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    sizes = np.bincount(bin_ids, minlength=bins)
    gaps = np.bincount(bin_ids, weights=correct, minlength=bins) - np.bincount(
        bin_ids, weights=confidence, minlength=bins
    )  # per bin: size * (accuracy - mean confidence)
    return float(np.sum(np.abs(gaps)) / sizes.sum())


def _class_ids(labels, predictions):
    """Checks and converts two sequences of class ids to int64 arrays of the same length N."""
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    for name, ids in (("labels", labels), ("predictions", predictions)):
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"{name} must be a non-empty sequence of class ids, got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{name} must be integer class ids, got dtype {ids.dtype}")
        if ids.min() < 0:
            raise ValueError(f"{name} must be class ids >= 0, got {int(ids.min())}")
    if labels.shape != predictions.shape:
        raise ValueError(f"labels and predictions differ in length: {labels.size} and {predictions.size}")
    return labels.astype(np.int64), predictions.astype(np.int64)
