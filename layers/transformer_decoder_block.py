"""One Transformer decoder layer: causal self-attention, cross-attention, feed-forward."""

import keras
from keras import ops

from layers.feed_forward import PositionwiseFeedForward, residual
from layers.multi_head_attention import MaskedMultiHeadAttention


@keras.saving.register_keras_serializable(package="seqmodels")
class TransformerDecoderBlock(keras.layers.Layer):
    """Transformer decoder block (Vaswani et al. 2017, section 3.1), with a key/value cache.

        y = Residual(y, MultiHeadSelfAttention(y, causal mask + target padding mask))
        y = Residual(y, MultiHeadCrossAttention(query=y, keys=x, source padding mask))
        y = Residual(y, FFN(y))

    Cross-attention is skipped when no encoder sequence is given (a decoder-only
    language model). Step t never sees target tokens after t, and no query
    ever sees a padded source or target token.

    Masks: the implicit Keras masks of `decoder_sequence` and
    `encoder_sequence` (from `Embedding(mask_zero=True)`, ...) fill
    `decoder_sequence_mask` and `encoder_sequence_mask` (without an encoder
    sequence, Keras fills the self-attention's query and key masks from the
    former). The implicit target padding mask passes on to the outputs (not to
    the weights), so a following Keras layer sees it; an explicit
    `decoder_sequence_mask` is honoured but not attached to the outputs, as
    Keras propagates implicit masks only.

    `call_with_cache` runs the same block on new steps only: the self-attention
    keys/values of earlier steps come from a fixed-size cache, those of the
    encoder from `cross_attention_cache(encoder_sequence)`, computed once. Both
    caches hold the block's compute dtype (float16 under "mixed_float16").

    Args:
        num_heads: int, h; must divide the model width D.
        intermediate_dim: int, d_ff of the feed-forward network.
        dropout: float, on attention weights and on each sublayer's output.
        layer_norm_epsilon: float. Defaults to 1e-5.
        normalize_first: bool, pre-LN instead of the paper's post-LN. Defaults to False.

    Call arguments:
        decoder_sequence: (B, T, D), target embeddings shifted right.
        encoder_sequence: optional (B, S, D), the encoder outputs.
        decoder_sequence_mask: optional (B, T) target padding mask.
        encoder_sequence_mask: optional (B, S) source padding mask.
        training: bool.

    Returns:
        (outputs, cross_attention_weights): (B, T, D) and (B, h, T, S), or None
        for the weights when there is no encoder sequence.

    Example:
    >>> block = TransformerDecoderBlock(2, 16)
    >>> out, weights = block(np.zeros((1, 4, 8)), np.zeros((1, 6, 8)))
    >>> out.shape, weights.shape
    ((1, 4, 8), (1, 2, 4, 6))
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
        self.supports_masking = True  # the target padding mask passes on to the outputs

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        width = decoder_sequence_shape[-1]
        if width % self.num_heads:
            raise ValueError(
                f"The model width ({width}) must be divisible by `num_heads`, got {self.num_heads}"
            )
        head_dim = width // self.num_heads

        def norm(name):
            layer = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
            )
            layer.build(decoder_sequence_shape)
            return layer

        self.self_attention = MaskedMultiHeadAttention(
            self.num_heads, head_dim, dropout=self.dropout, dtype=self.dtype_policy, name="self_attention"
        )
        self.self_attention.build(decoder_sequence_shape, decoder_sequence_shape)
        self.self_attention_norm = norm("self_attention_norm")
        self.cross_attention = None
        if encoder_sequence_shape is not None:
            self.cross_attention = MaskedMultiHeadAttention(
                self.num_heads, head_dim, dropout=self.dropout, dtype=self.dtype_policy, name="cross_attention"
            )
            self.cross_attention.build(decoder_sequence_shape, encoder_sequence_shape)
            self.cross_attention_norm = norm("cross_attention_norm")
        self.feed_forward = PositionwiseFeedForward(
            self.intermediate_dim, dtype=self.dtype_policy, name="feed_forward"
        )
        self.feed_forward.build(decoder_sequence_shape)
        self.feed_forward_norm = norm("feed_forward_norm")
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name="output_dropout")

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_sequence_mask=None,
        encoder_sequence_mask=None,
        training=None,
    ):
        def self_attend(y):
            return self.self_attention(
                y,
                y,
                query_mask=decoder_sequence_mask,
                value_mask=decoder_sequence_mask,
                use_causal_mask=True,
                training=training,
            )[0]

        def cross_attend(y):
            return self.cross_attention(
                y,
                encoder_sequence,
                query_mask=decoder_sequence_mask,
                value_mask=encoder_sequence_mask,
                training=training,
            )

        y = self._residual(decoder_sequence, self_attend, self.self_attention_norm, training)
        return self._cross_attention_and_feed_forward(
            y, cross_attend if encoder_sequence is not None else None, training
        )

    def call_with_cache(
        self,
        decoder_sequence,
        self_attention_cache,
        cache_update_index,
        cross_attention_cache=None,
        encoder_sequence_mask=None,
        training=None,
    ):
        """The block on new steps only.

        Args:
            decoder_sequence: (B, T_new, D), embeddings of the new steps.
            self_attention_cache: from `empty_self_attention_cache` or a previous call.
            cache_update_index: position of the first new step.
            cross_attention_cache: from `cross_attention_cache(encoder_sequence)`, or None.
            encoder_sequence_mask: optional (B, S) source padding mask.

        Returns:
            (outputs, cross_attention_weights, self_attention_cache).
        """
        # A plain method, not `__call__`: cast as Keras would, so residuals stay in the compute dtype.
        decoder_sequence = ops.cast(decoder_sequence, self.compute_dtype)
        new_cache = []

        def self_attend(y):
            output, _, cache = self.self_attention.call_with_cache(
                y, self_attention_cache, cache_update_index, training=training
            )
            new_cache.append(cache)
            return output

        def cross_attend(y):
            output, weights, _ = self.cross_attention.call_with_cache(
                y, cross_attention_cache, value_mask=encoder_sequence_mask, training=training
            )
            return output, weights

        y = self._residual(decoder_sequence, self_attend, self.self_attention_norm, training)
        outputs, weights = self._cross_attention_and_feed_forward(
            y, cross_attend if cross_attention_cache is not None else None, training
        )
        return outputs, weights, new_cache[0]

    def empty_self_attention_cache(self, batch_size, max_length, dtype=None):
        """Zero self-attention keys and values, ((B, L, h, d), (B, L, h, d)), in the compute dtype."""
        return self.self_attention.empty_cache(batch_size, max_length, dtype or self.compute_dtype)

    def cross_attention_cache(self, encoder_sequence):
        """Keys and values of the encoder outputs, projected once per source sentence."""
        return self.cross_attention.project_key_value(encoder_sequence)

    def _cross_attention_and_feed_forward(self, y, cross_attend, training):
        weights = None
        if cross_attend is not None:
            attended = []

            def cross_sublayer(z):
                output, w = cross_attend(z)
                attended.append(w)
                return output

            y = self._residual(y, cross_sublayer, self.cross_attention_norm, training)
            weights = attended[0]
        y = self._residual(y, self.feed_forward, self.feed_forward_norm, training)
        return y, weights

    def _residual(self, inputs, sublayer, norm, training):
        return residual(inputs, sublayer, norm, self.output_dropout, self.normalize_first, training)

    def compute_mask(self, decoder_sequence, mask=None):
        return (mask, None)  # (outputs, cross-attention weights)

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
