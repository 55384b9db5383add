"""One Transformer encoder layer: self-attention, then a feed-forward network."""

import keras

from layers.feed_forward import PositionwiseFeedForward, residual
from layers.multi_head_attention import MaskedMultiHeadAttention


@keras.saving.register_keras_serializable(package="seqmodels")
class TransformerEncoderBlock(keras.layers.Layer):
    """Transformer encoder block (Vaswani et al. 2017, section 3.1).

        x = Residual(x, MultiHeadSelfAttention(x, padding mask))
        x = Residual(x, FFN(x))

    with `Residual` the add-dropout-LayerNorm of `layers.feed_forward.residual`.
    Padded positions are never attended to; the padding mask passes through to
    the output, so a decoder's cross-attention receives it implicitly.

    Args:
        num_heads: int, h; must divide the model width D.
        intermediate_dim: int, d_ff of the feed-forward network.
        dropout: float, on attention weights and on each sublayer's output.
        layer_norm_epsilon: float. Defaults to 1e-5.
        normalize_first: bool, pre-LN instead of the paper's post-LN. Defaults to False.

    Call arguments:
        inputs: (B, S, D).
        mask: optional (B, S) bool padding mask (filled from the implicit Keras mask).
        training: bool.
        return_attention_scores: bool, also return the self-attention weights, as Keras'
            `MultiHeadAttention` does. Defaults to False.

    Returns:
        (B, S, D); with `return_attention_scores`, ((B, S, D), weights (B, h, S, S)).

    Example:
    >>> TransformerEncoderBlock(2, 16)(np.zeros((1, 5, 8))).shape
    (1, 5, 8)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.supports_masking = True

    def build(self, inputs_shape):
        width = inputs_shape[-1]
        if width % self.num_heads:
            raise ValueError(
                f"The model width ({width}) must be divisible by `num_heads`, got {self.num_heads}"
            )
        self.self_attention = MaskedMultiHeadAttention(
            self.num_heads,
            width // self.num_heads,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="self_attention_norm"
        )
        self.self_attention_norm.build(inputs_shape)
        self.feed_forward = PositionwiseFeedForward(
            self.intermediate_dim, dtype=self.dtype_policy, name="feed_forward"
        )
        self.feed_forward.build(inputs_shape)
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="feed_forward_norm"
        )
        self.feed_forward_norm.build(inputs_shape)
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name="output_dropout")

    def call(self, inputs, mask=None, training=None, return_attention_scores=False):
        attended = []

        def self_attend(x):
            output, weights = self.self_attention(x, x, query_mask=mask, value_mask=mask, training=training)
            attended.append(weights)
            return output

        x = residual(
            inputs, self_attend, self.self_attention_norm, self.output_dropout, self.normalize_first, training
        )
        x = residual(
            x, self.feed_forward, self.feed_forward_norm, self.output_dropout, self.normalize_first, training
        )
        return (x, attended[0]) if return_attention_scores else x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalize_first": self.normalize_first,
            }
        )
        return config
