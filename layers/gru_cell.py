"""The gated recurrent unit, one step at a time."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqmodels")
class GRUCell(keras.layers.Layer):
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

    Args:
        units: int, H, the size of the state.
        reset_after: bool, apply the relevance gate after the recurrent matmul
            (the cuDNN convention, Keras' default) or before it (the paper's).
            Defaults to True.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.

    Call arguments:
        inputs: (B, D) input at step t.
        states: [h_{t-1}] with h_{t-1} of shape (B, H).

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

        input_bias = self.bias[0] if self.reset_after else self.bias
        x = ops.matmul(inputs, self.kernel) + input_bias  # (B, 3H): all gates at once
        x_z, x_r, x_h = x[:, :H], x[:, H : 2 * H], x[:, 2 * H :]

        if self.reset_after:
            rec = ops.matmul(h_tm1, self.recurrent_kernel) + self.bias[1]  # (B, 3H)
            z = ops.sigmoid(x_z + rec[:, :H])
            r = ops.sigmoid(x_r + rec[:, H : 2 * H])
            hh = ops.tanh(x_h + r * rec[:, 2 * H :])
        else:
            rec_zr = ops.matmul(h_tm1, self.recurrent_kernel[:, : 2 * H])  # (B, 2H)
            z = ops.sigmoid(x_z + rec_zr[:, :H])
            r = ops.sigmoid(x_r + rec_zr[:, H:])
            hh = ops.tanh(x_h + ops.matmul(r * h_tm1, self.recurrent_kernel[:, 2 * H :]))

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
            }
        )
        return config
