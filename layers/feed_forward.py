"""The position-wise feed-forward sublayer and the residual wrapper of a Transformer block."""

import keras


@keras.saving.register_keras_serializable(package="seqmodels")
class PositionwiseFeedForward(keras.layers.Layer):
    """FFN(x) = max(0, x W1 + b1) W2 + b2, applied to every position alone (Vaswani et al. 2017, 3.3).

    Args:
        intermediate_dim: int, the width of the hidden layer (d_ff).
        activation: activation of the hidden layer. Defaults to "relu".

    Call arguments:
        inputs: (B, T, D).

    Returns:
        (B, T, D).
    """

    def __init__(self, intermediate_dim, activation="relu", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(intermediate_dim, int) or intermediate_dim <= 0:
            raise ValueError(f"`intermediate_dim` must be a positive integer, got {intermediate_dim!r}")
        self.intermediate_dim = intermediate_dim
        self.activation = keras.activations.get(activation)
        self.supports_masking = True

    def build(self, inputs_shape):
        self.inner = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, dtype=self.dtype_policy, name="inner"
        )
        self.inner.build(inputs_shape)
        self.outer = keras.layers.Dense(inputs_shape[-1], dtype=self.dtype_policy, name="outer")
        self.outer.build((None, self.intermediate_dim))

    def call(self, inputs):
        return self.outer(self.inner(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
            }
        )
        return config


def residual(inputs, sublayer, norm, dropout, normalize_first, training=None):
    """x + Dropout(sublayer(x)), normalised after (post-LN, the paper) or before (pre-LN).

    post-LN: LayerNorm(x + Dropout(sublayer(x)))
    pre-LN:  x + Dropout(sublayer(LayerNorm(x)))   (trains without warm-up; Xiong et al. 2020)
    """
    if normalize_first:
        return inputs + dropout(sublayer(norm(inputs)), training=training)
    return norm(inputs + dropout(sublayer(inputs), training=training))
