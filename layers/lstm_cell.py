"""The long short-term memory unit, one step at a time."""

import keras
from keras import ops

from layers.recurrent_dropout import RecurrentDropoutCell, gate_projections, masked_per_gate


@keras.saving.register_keras_serializable(package="seqmodels")
class LSTMCell(keras.layers.Layer, RecurrentDropoutCell):
    """One step of an LSTM (Hochreiter & Schmidhuber 1997, with a forget gate), for `keras.layers.RNN`.

    With input x_t (B, D), previous output h_{t-1} (B, H) and memory c_{t-1} (B, H):

        i_t  = sigmoid(x_t W_i + h_{t-1} U_i + b_i)      update (input) gate
        f_t  = sigmoid(x_t W_f + h_{t-1} U_f + b_f)      forget gate
        c~_t = tanh(x_t W_c + h_{t-1} U_c + b_c)         candidate memory
        o_t  = sigmoid(x_t W_o + h_{t-1} U_o + b_o)      output gate
        c_t  = f_t * c_{t-1} + i_t * c~_t
        h_t  = o_t * tanh(c_t)

    The four gates share one fused kernel W = [W_i | W_f | W_c | W_o] (D, 4H),
    recurrent kernel U (H, 4H) and bias (4H,), laid out like
    `keras.layers.LSTMCell`. `keras.layers.RNN` handles masks: at a masked step
    both states are carried over unchanged.

    Dropout (training only; Gal & Ghahramani 2016, as `keras.layers.LSTMCell`):
    gate g in {i, f, c, o} sees x_t * m^g_x and h_{t-1} * m^g_h in place of x_t
    and h_{t-1}:

        i_t  = sigmoid((x_t * m^i_x) W_i + (h_{t-1} * m^i_h) U_i + b_i)
        f_t  = sigmoid((x_t * m^f_x) W_f + (h_{t-1} * m^f_h) U_f + b_f)
        c~_t = tanh((x_t * m^c_x) W_c + (h_{t-1} * m^c_h) U_c + b_c)
        o_t  = sigmoid((x_t * m^o_x) W_o + (h_{t-1} * m^o_h) U_o + b_o)

    and c_t, h_t as above. The masks m_x (B, D) and m_h (B, H) are 0 with
    probability `dropout` / `recurrent_dropout` and 1 / (1 - rate) otherwise,
    sampled once per sequence and reused at every step
    (`layers.recurrent_dropout`). As in Keras, the four gates get independent
    masks when `recurrent_dropout > 0`, and share one input mask when only
    `dropout` is set; with the same `seed`, the masks are those of
    `keras.layers.LSTMCell`. At inference every mask is 1.

    Args:
        units: int, H, the size of h and c.
        unit_forget_bias: bool, initialise b_f to 1 so that memory is kept early
            in training (Jozefowicz et al. 2015). Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
            Default to "glorot_uniform", "orthogonal" and "zeros".
        dropout: float in [0, 1), the rate of the input masks m_x. Defaults to 0.
        recurrent_dropout: float in [0, 1), the rate of the state masks m_h. Defaults to 0.
        seed: int or None, the seed of the dropout masks. Defaults to None.

    Call arguments:
        inputs: (B, D) input at step t.
        states: [h_{t-1}, c_{t-1}], each (B, H).
        training: bool, applies dropout when True.

    Returns:
        (h_t, [h_t, c_t]), each (B, H).

    Example:
    >>> rnn = keras.layers.RNN(LSTMCell(8))
    >>> rnn(np.zeros((2, 5, 3))).shape
    (2, 8)
    """

    def __init__(
        self,
        units,
        unit_forget_bias=True,
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
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self._init_dropout(dropout, recurrent_dropout, seed, gates=4)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        H = self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, 4 * H), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(H, 4 * H), initializer=self.recurrent_initializer
        )

        bias_initializer = self.bias_initializer
        if self.unit_forget_bias:

            def bias_initializer(shape, dtype=None):
                base = self.bias_initializer((H,), dtype=dtype)
                return ops.concatenate(
                    [base, ops.ones((H,), dtype=dtype), self.bias_initializer((2 * H,), dtype=dtype)]
                )

        self.bias = self.add_weight(name="bias", shape=(4 * H,), initializer=bias_initializer)

    def call(self, inputs, states, training=None):
        h_tm1, c_tm1 = states
        x_mask, h_mask = self._dropout_masks(inputs, h_tm1, training)

        # Each gate: x_t W_g + h_{t-1} U_g + b_g, with the gate's dropout masks.
        x_i, x_f, x_c, x_o = gate_projections(masked_per_gate(inputs, x_mask, 4), self.kernel)  # 4 x (B, H)
        h_i, h_f, h_c, h_o = gate_projections(masked_per_gate(h_tm1, h_mask, 4), self.recurrent_kernel)
        b_i, b_f, b_c, b_o = ops.split(self.bias, 4)
        i = ops.sigmoid(x_i + h_i + b_i)
        f = ops.sigmoid(x_f + h_f + b_f)
        cc = ops.tanh(x_c + h_c + b_c)
        o = ops.sigmoid(x_o + h_o + b_o)

        c = f * c_tm1 + i * cc
        h = o * ops.tanh(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [zeros, zeros]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config
