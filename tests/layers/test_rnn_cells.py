"""Our GRU and LSTM cells against keras.layers.GRU / LSTM with the same weights."""

import keras
import numpy as np
import pytest

from layers import GRUCell, LSTMCell
from tests.helpers import assert_close, assert_model_roundtrip, padding_mask, random_array

B, T, D, H = 3, 7, 5, 6


def _pair(kind, bidirectional, **cell_kwargs):
    """(ours, keras') recurrent layers of the same architecture."""
    if kind == "gru":
        ours = keras.layers.RNN(GRUCell(H, **cell_kwargs), return_sequences=True)
        theirs = keras.layers.GRU(H, return_sequences=True, **cell_kwargs)
    else:
        ours = keras.layers.RNN(LSTMCell(H), return_sequences=True)
        theirs = keras.layers.LSTM(H, return_sequences=True)
    if bidirectional:
        ours, theirs = keras.layers.Bidirectional(ours), keras.layers.Bidirectional(theirs)
    return ours, theirs


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_keras_builtin(kind, bidirectional, masked):
    ours, theirs = _pair(kind, bidirectional)
    x = random_array(B, T, D)
    mask = padding_mask([7, 4, 1], T) if masked else None
    theirs(x)
    ours(x)
    # Random, not initial, weights: biases too, so that every term of the equations counts.
    weights = [random_array(*w.shape, seed=i) * 0.5 for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))


def test_gru_reset_before_matches_keras():
    ours, theirs = _pair("gru", False, reset_after=False)
    x = random_array(B, T, D)
    theirs(x)
    ours(x)
    weights = [random_array(*w.shape, seed=i) * 0.5 for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    assert_close(ours(x), theirs(x))


def test_masked_steps_carry_state_over():
    rnn = keras.layers.RNN(GRUCell(H), return_sequences=True, return_state=True)
    x = random_array(2, T, D)
    mask = padding_mask([3, 3], T)
    _, final = rnn(x, mask=mask)
    _, prefix_final = rnn(x[:, :3])
    assert_close(final, prefix_final)


def test_lstm_forget_bias_starts_at_one():
    cell = LSTMCell(4)
    cell.build((None, 3))
    bias = np.asarray(cell.bias)
    assert np.all(bias[4:8] == 1.0) and np.all(bias[:4] == 0.0) and np.all(bias[8:] == 0.0)


@pytest.mark.parametrize("cell", [GRUCell(4), LSTMCell(4)])
def test_bidirectional_model_roundtrip(cell, tmp_path):
    inputs = keras.Input((None, D))
    outputs = keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))(inputs)
    assert_model_roundtrip(keras.Model(inputs, outputs), random_array(2, T, D), tmp_path)


def test_rejects_bad_units():
    with pytest.raises(ValueError, match="positive integer, got 0"):
        GRUCell(0)
