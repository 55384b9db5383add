import numpy as np
import pytest

from datasets.pipeline import bucketed_batches, sequence_dataset


def test_batches_are_bucketed_by_length_and_padded_with_zero():
    sequences = [[1] * n for n in (1, 9, 2, 10, 3, 11)]
    batches = list(bucketed_batches(sequence_dataset(sequences), batch_size=3, boundaries=(5,)))
    widths = sorted(b.shape[1] for b in batches)
    assert widths == [3, 11]  # short ones together, long ones together
    seen = sorted(int(n) for b in batches for n in np.count_nonzero(b.numpy(), axis=1))
    assert seen == sorted(len(s) for s in sequences)  # every example exactly once


def test_pairs_are_bucketed_by_their_longest_side():
    source = [[1, 2], [3] * 7, [4]]
    target = [[5] * 8, [6], [7]]
    batches = list(bucketed_batches(sequence_dataset(source, target), batch_size=4, boundaries=(4,)))
    assert sorted(len(b[0]) for b in batches) == [1, 2]
    for src, tgt in batches:
        assert src.shape[0] == tgt.shape[0]


def test_shuffle_is_repeatable_with_a_seed():
    data = sequence_dataset([[i + 1] for i in range(50)])
    first = [b.numpy().tolist() for b in bucketed_batches(data, 8, shuffle_buffer=50, seed=3)]
    again = [b.numpy().tolist() for b in bucketed_batches(data, 8, shuffle_buffer=50, seed=3)]
    assert first == again


def test_bad_arguments_name_the_value():
    data = sequence_dataset([[1]])
    with pytest.raises(ValueError, match="batch_size.*0"):
        bucketed_batches(data, 0)
    with pytest.raises(ValueError, match=r"boundaries.*\[8, 4\]"):
        bucketed_batches(data, 2, boundaries=(8, 4))
    with pytest.raises(ValueError, match="same length"):
        sequence_dataset([[1]], [[1], [2]])


def test_from_a_ragged_vectorizer():
    from datasets.vocabulary import build_vectorizer

    vectorizer = build_vectorizer(["le chat dort", "le chien"], ragged=True)
    ids = vectorizer(["le chat", "le chien dort bien"])
    batches = list(bucketed_batches(sequence_dataset(ids), batch_size=2, boundaries=(3,)))
    assert sorted(tuple(b.shape) for b in batches) == [(1, 2), (1, 4)]
