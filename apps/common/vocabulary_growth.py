"""Growing a trained model's vocabularies for fine-tuning on new data (`train --init-from --add-words`).

A model trained on one corpus maps every word of a new corpus that it never saw to [UNK]. Fine-tuning
with the old vocabularies leaves those words unknown for ever; training afresh throws away what the
model knows. Growing the vocabularies keeps both: the new words are appended after the old ones, so
every old id and weight keeps its place, and each new word's embedding row and output column start
as [UNK]'s. The grown model then computes what the old one did on every input (new source words
read as [UNK] did), except that the output probability of [UNK] is shared evenly between [UNK] and
the new words: with k new words, each output bias is b_unk - log(k + 1), so

    p(new word) = p(UNK) = p_old(UNK) / (k + 1),

where the output layer has a bias (a tied output embedding has none: the new words then start with
[UNK]'s logit each).
"""

import collections

import numpy as np


def grown_vocabulary(vocabulary, tokenized_texts, count, min_count=2):
    """`vocabulary` followed by up to `count` new tokens, the most frequent first.

    Args:
        vocabulary: the old list of tokens (ids are positions).
        tokenized_texts: lists of tokens from the new training data.
        count: how many tokens to add at most.
        min_count: a token seen fewer times is not added (it could not be learned).
    """
    known = set(vocabulary)
    counts = collections.Counter(token for tokens in tokenized_texts for token in tokens if token not in known)
    # Ties are broken alphabetically, so the same data always gives the same vocabulary (a resumed run).
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return list(vocabulary) + [token for token, seen in ranked[:count] if seen >= min_count]


def grow_weights(weights, shapes, unknown_index):
    """The old model's `weights` (NumPy arrays) reshaped to a grown model's weight `shapes`.

    A weight whose shape is unchanged is copied. A weight that grew along one axis (a vocabulary
    axis: embedding rows, output kernel columns, output bias) keeps its old values in front, and its
    new slices are copies of the [UNK] slice at `unknown_index`. A grown 1-D weight is an output
    bias: [UNK]'s probability is split evenly between [UNK] and the new words (module docstring).

    Raises:
        ValueError: if a weight shrank, changed rank, or grew along more than one axis.
    """
    grown = []
    for old, shape in zip(weights, shapes, strict=True):
        old, shape = np.asarray(old), tuple(shape)
        if old.shape == shape:
            grown.append(old)
            continue
        if len(shape) != old.ndim:
            raise ValueError(f"cannot grow a weight of shape {old.shape} to {shape}")
        changed = [axis for axis, (was, now) in enumerate(zip(old.shape, shape, strict=True)) if was != now]
        if len(changed) != 1 or shape[changed[0]] < old.shape[changed[0]]:
            raise ValueError(f"cannot grow a weight of shape {old.shape} to {shape}")
        axis = changed[0]
        added = shape[axis] - old.shape[axis]
        unknown = np.take(old, [unknown_index], axis=axis)
        value = np.concatenate([old, np.repeat(unknown, added, axis=axis)], axis=axis)
        if old.ndim == 1:
            share = np.log(added + 1.0).astype(value.dtype)
            value[unknown_index] -= share
            value[old.shape[0]:] -= share
        grown.append(value)
    return grown
