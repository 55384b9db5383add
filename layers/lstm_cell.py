"""The long short-term memory unit, one step at a time."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqmodels")
class LSTMCell(keras.layers.Layer):
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

    Args:
        units: int, H, the size of h and c.
        unit_forget_bias: bool, initialise b_f to 1 so that memory is kept early
            in training (Jozefowicz et al. 2015). Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.

    Call arguments:
        inputs: (B, D) input at step t.
        states: [h_{t-1}, c_{t-1}], each (B, H).

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
        H = self.units

        gates = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel) + self.bias
        i = ops.sigmoid(gates[:, :H])
        f = ops.sigmoid(gates[:, H : 2 * H])
        cc = ops.tanh(gates[:, 2 * H : 3 * H])
        o = ops.sigmoid(gates[:, 3 * H :])

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
            }
        )
        return config
