"""The gated recurrent unit, one step at a time."""

import keras
from keras import ops

from layers.recurrent_dropout import RecurrentDropoutCell, gate_projections, masked_per_gate


@keras.saving.register_keras_serializable(package="seqmodels")
class GRUCell(keras.layers.Layer, RecurrentDropoutCell):
    """One step of a GRU (Cho et al. 2014), for `keras.layers.RNN` and `Bidirectional`.

    With input x_t (B, D) and previous state h_{t-1} (B, H):

        z_t  = sigmoid(x_t W_z + b_z + h_{t-1} U_z + c_z)            update gate
        r_t  = sigmoid(x_t W_r + b_r + h_{t-1} U_r + c_r)            relevance (reset) gate
        h~_t = tanh(x_t W_h + b_h + r_t * (h_{t-1} U_h + c_h))       candidate  (reset_after=True)
        h~_t = tanh(x_t W_h + b_h + (r_t * h_{t-1}) U_h)              candidate  (reset_after=False)
        h_t  = z_t * h_{t-1} + (1 - z_t) * h~_t

    The three gates share one fused kernel W = [W_z | W_r | W_h] (D, 3H) and one
    recurrent kernel U (H, 3H), laid out like `keras.layers.GRUCell`, so weights
    move between the two with `set_weights`. `keras.layers.RNN` handles masks: at
    a masked step the state is carried over unchanged.

    Dropout (training only; Gal & Ghahramani 2016, as `keras.layers.GRUCell`):
    gate g in {z, r, h} sees x_t * m^g_x and h_{t-1} * m^g_h in place of x_t
    and h_{t-1}:

        z_t  = sigmoid((x_t * m^z_x) W_z + b_z + (h_{t-1} * m^z_h) U_z + c_z)
        r_t  = sigmoid((x_t * m^r_x) W_r + b_r + (h_{t-1} * m^r_h) U_r + c_r)
        h~_t = tanh((x_t * m^h_x) W_h + b_h + r_t * ((h_{t-1} * m^h_h) U_h + c_h))   reset_after=True
        h~_t = tanh((x_t * m^h_x) W_h + b_h + (r_t * (h_{t-1} * m^h_h)) U_h)          reset_after=False
        h_t  = z_t * h_{t-1} + (1 - z_t) * h~_t                                       (h_{t-1} unmasked)

    The masks m_x (B, D) and m_h (B, H) are 0 with probability `dropout` /
    `recurrent_dropout` and 1 / (1 - rate) otherwise, sampled once per sequence
    and reused at every step (`layers.recurrent_dropout`). As in Keras, the
    three gates get independent masks when `recurrent_dropout > 0`, and share one
    input mask when only `dropout` is set; with the same `seed`, the masks are
    those of `keras.layers.GRUCell`. At inference every mask is 1.

    Args:
        units: int, H, the size of the state.
        reset_after: bool, apply the relevance gate after the recurrent matmul
            (the cuDNN convention, Keras' default) or before it (the paper's).
            Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
            Default to "glorot_uniform", "orthogonal" and "zeros".
        dropout: float in [0, 1), the rate of the input masks m_x. Defaults to 0.
        recurrent_dropout: float in [0, 1), the rate of the state masks m_h. Defaults to 0.
        seed: int or None, the seed of the dropout masks. Defaults to None.

    Call arguments:
        inputs: (B, D) input at step t.
        states: [h_{t-1}] with h_{t-1} of shape (B, H).
        training: bool, applies dropout when True.

    Returns:
        (h_t, [h_t]), both (B, H).

    Example:
    >>> rnn = keras.layers.RNN(GRUCell(8), return_sequences=True)
    >>> rnn(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        reset_after=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer, got {units!r}")
        self.units = units
        self.reset_after = reset_after
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self._init_dropout(dropout, recurrent_dropout, seed, gates=3)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, 3 * self.units), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, 3 * self.units),
            initializer=self.recurrent_initializer,
        )
        # reset_after: rows [b; c], input and recurrent biases. Otherwise b alone (3H,), as Keras does.
        bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = self.add_weight(name="bias", shape=bias_shape, initializer=self.bias_initializer)

    def call(self, inputs, states, training=None):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        H = self.units
        x_mask, h_mask = self._dropout_masks(inputs, h_tm1, training)

        input_bias = self.bias[0] if self.reset_after else self.bias
        x_z, x_r, x_h = gate_projections(masked_per_gate(inputs, x_mask, 3), self.kernel)  # 3 x (B, H)
        x_z, x_r, x_h = x_z + input_bias[:H], x_r + input_bias[H : 2 * H], x_h + input_bias[2 * H :]
        h_z, h_r, h_h = masked_per_gate(h_tm1, h_mask, 3)  # h_{t-1} * m^g_h

        if self.reset_after:
            rec_z, rec_r, rec_h = gate_projections([h_z, h_r, h_h], self.recurrent_kernel)  # 3 x (B, H)
            recurrent_bias = self.bias[1]
            z = ops.sigmoid(x_z + rec_z + recurrent_bias[:H])
            r = ops.sigmoid(x_r + rec_r + recurrent_bias[H : 2 * H])
            hh = ops.tanh(x_h + r * (rec_h + recurrent_bias[2 * H :]))
        else:
            rec_z, rec_r = gate_projections([h_z, h_r], self.recurrent_kernel[:, : 2 * H])  # 2 x (B, H)
            z = ops.sigmoid(x_z + rec_z)
            r = ops.sigmoid(x_r + rec_r)
            hh = ops.tanh(x_h + ops.matmul(r * h_h, self.recurrent_kernel[:, 2 * H :]))

        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "reset_after": self.reset_after,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config
