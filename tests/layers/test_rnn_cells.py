"""Our GRU and LSTM cells against keras.layers.GRU / LSTM with the same weights, dropout included."""

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
        ours = keras.layers.RNN(LSTMCell(H, **cell_kwargs), return_sequences=True)
        theirs = keras.layers.LSTM(H, return_sequences=True, **cell_kwargs)
    if bidirectional:
        ours, theirs = keras.layers.Bidirectional(ours), keras.layers.Bidirectional(theirs)
    return ours, theirs


def _same_random_weights(ours, theirs, x):
    """Builds both on `x` and gives them the same random, not initial, weights: biases too,
    so that every term of the equations counts."""
    theirs(x)
    ours(x)
    weights = [random_array(*w.shape, seed=i) * 0.5 for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_keras_builtin(kind, bidirectional, masked):
    ours, theirs = _pair(kind, bidirectional)
    x = random_array(B, T, D)
    mask = padding_mask([7, 4, 1], T) if masked else None
    _same_random_weights(ours, theirs, x)
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))


def test_gru_reset_before_matches_keras():
    ours, theirs = _pair("gru", False, reset_after=False)
    x = random_array(B, T, D)
    _same_random_weights(ours, theirs, x)
    assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_is_off_at_inference_like_keras(kind, bidirectional):
    ours, theirs = _pair(kind, bidirectional, dropout=0.4, recurrent_dropout=0.3, seed=3)
    x = random_array(B, T, D)
    mask = padding_mask([7, 4, 1], T)
    _same_random_weights(ours, theirs, x)
    expected = theirs(x, mask=mask, training=False)
    assert_close(ours(x, mask=mask, training=False), expected)
    assert_close(ours(x, mask=mask), expected)  # training defaults to False outside fit()


# (dropout, recurrent_dropout): one input mask shared by the gates; per-gate state masks;
# per-gate input and state masks (Keras' implementation=1).
RATES = [(0.3, 0.0), (0.0, 0.3), (0.3, 0.2)]


@pytest.mark.parametrize("rates", RATES)
@pytest.mark.parametrize(
    "kind, cell_kwargs", [("gru", {"reset_after": True}), ("gru", {"reset_after": False}), ("lstm", {})]
)
def test_training_dropout_equals_keras_cell_with_the_same_seed(kind, cell_kwargs, rates):
    """Same seed, same masks: our cells sample them exactly as keras.layers.GRUCell / LSTMCell."""
    dropout, recurrent_dropout = rates
    ours_cell, keras_cell = (GRUCell, keras.layers.GRUCell) if kind == "gru" else (LSTMCell, keras.layers.LSTMCell)
    kwargs = dict(dropout=dropout, recurrent_dropout=recurrent_dropout, seed=11, **cell_kwargs)
    ours = keras.layers.RNN(ours_cell(H, **kwargs), return_sequences=True)
    theirs = keras.layers.RNN(keras_cell(H, **kwargs), return_sequences=True)
    x = random_array(B, T, D)
    mask = padding_mask([7, 4, 1], T)
    _same_random_weights(ours, theirs, x)
    # Every call of the RNN draws masks, used or not: call both sides alike to keep the seeds in step.
    inference = np.asarray(ours(x, mask=mask, training=False))
    assert_close(inference, theirs(x, mask=mask, training=False))
    for _ in range(2):  # new masks at every call, still the same ones on both sides
        trained = np.asarray(ours(x, mask=mask, training=True))
        assert_close(trained, theirs(x, mask=mask, training=True))
        assert np.abs(trained - inference).max() > 0.05  # the dropout is really on


def _weights_that_show_the_input_mask(cell):
    """Weights with which h_t = tanh(x_t * m_x) exactly where m_x = 0, for D = H and x_t = 1.

    GRU: W_h = I, every other weight 0 but b_z = -30 (z = 0), so h_t = z h_{t-1} + tanh(x_t m_x);
    h_t is 0 exactly where the input mask drops a unit, tanh(1 / (1 - rate)) where it keeps one.
    LSTM: W_c = I, b_i = b_o = 30 (i = o = 1), b_f = -30 (f = 0): h_t = tanh(tanh(x_t m_x)).
    """
    kernel = np.zeros(cell.kernel.shape, "float32")
    bias = np.zeros(cell.bias.shape, "float32")
    n = cell.units
    if isinstance(cell, GRUCell):
        kernel[:, 2 * n :] = np.eye(n)
        bias[..., :n] = -30.0
    else:
        kernel[:, 2 * n : 3 * n] = np.eye(n)
        bias[:n], bias[n : 2 * n], bias[3 * n :] = 30.0, -30.0, 30.0
    cell.set_weights([kernel, np.zeros(cell.recurrent_kernel.shape, "float32"), bias])


@pytest.mark.parametrize("cell_class", [GRUCell, LSTMCell])
def test_one_input_mask_per_sequence_drops_the_expected_fraction(cell_class):
    rate, batch, units, steps = 0.25, 64, 32, 6
    rnn = keras.layers.RNN(cell_class(units, dropout=rate, seed=5), return_sequences=True)
    x = np.ones((batch, steps, units), "float32")
    rnn(x)
    _weights_that_show_the_input_mask(rnn.cell)

    outputs = np.asarray(rnn(x, training=True))  # (B, T, H)
    dropped = outputs == 0.0
    # The same units of an example are dropped at every step: one mask per sequence.
    assert np.all(dropped == dropped[:, :1])
    # ... a fraction `rate` of them, different units in different examples.
    assert abs(dropped[:, 0].mean() - rate) < 0.05
    assert len({row.tobytes() for row in dropped[:, 0]}) > batch // 2
    # Kept units are scaled by 1 / (1 - rate).
    kept = outputs[~dropped]
    expected = np.tanh(1.0 / (1.0 - rate))
    assert_close(kept, np.full_like(kept, expected if cell_class is GRUCell else np.tanh(expected)))
    # The next call draws a new mask; inference drops nothing.
    assert np.any((np.asarray(rnn(x, training=True)) == 0.0) != dropped)
    assert np.all(np.asarray(rnn(x, training=False)) != 0.0)


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


@pytest.mark.parametrize(
    "cell",
    [
        GRUCell(4, reset_after=False, dropout=0.2, recurrent_dropout=0.1, seed=3),
        LSTMCell(4, unit_forget_bias=False, dropout=0.2, recurrent_dropout=0.1, seed=3),
    ],
)
def test_bidirectional_model_roundtrip(cell, tmp_path):
    inputs = keras.Input((None, D))
    outputs = keras.layers.Bidirectional(keras.layers.RNN(cell, return_sequences=True))(inputs)
    restored = assert_model_roundtrip(keras.Model(inputs, outputs), random_array(2, T, D), tmp_path)
    restored_cell = restored.layers[-1].forward_layer.cell
    for name in ("dropout", "recurrent_dropout", "seed"):
        assert getattr(restored_cell, name) == getattr(cell, name)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive integer, got 0"):
        GRUCell(0)
    with pytest.raises(ValueError, match="`dropout` must be in \\[0, 1\\), got 1.5"):
        GRUCell(4, dropout=1.5)
    with pytest.raises(ValueError, match="`recurrent_dropout` must be in \\[0, 1\\), got -0.1"):
        LSTMCell(4, recurrent_dropout=-0.1)
