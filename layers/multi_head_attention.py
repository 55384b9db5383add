"""Scaled dot-product attention and masked multi-head attention with a key/value cache."""

import math

import keras
from keras import ops

from layers.masking import causal_mask, masked_softmax, merge_attention_masks


def write_steps(cache, steps, start):
    """`cache` with `steps` written at positions start .. start + T_new - 1 of its time axis.

    cache (B, S, h, d), steps (B, T_new, h, d), start a scalar. A one-hot placement matrix
    P[t, s] = [s == start + t] moves the steps into place (exact: each sum has one nonzero term)
    rather than `ops.slice_update`, which TensorFlow runs as `XlaDynamicUpdateSlice`, an op XLA
    compiles on a SavedModel's first call: about a second of a one-sentence translation's start.
    """
    positions = ops.arange(ops.shape(cache)[1])
    targets = start + ops.arange(ops.shape(steps)[1])
    placement = ops.cast(ops.equal(targets[:, None], positions[None, :]), steps.dtype)  # (T_new, S)
    placed = ops.einsum("ts,bthd->bshd", placement, steps)
    written = ops.any(placement > 0, axis=0)[None, :, None, None]
    return ops.where(written, placed, cache)


def scaled_dot_product_attention(query, key, value, mask=None, dropout=None, training=None):
    """softmax(Q K^T / sqrt(d_k)) V, per head.

    Args:
        query: (B, T, h, d_k). key: (B, S, h, d_k). value: (B, S, h, d_v).
        mask: optional bool, broadcastable to (B, h, T, S); False = may not attend.
        dropout: optional `keras.layers.Dropout` applied to the attention weights.

    Returns:
        (output, weights): (B, T, h, d_v) and (B, h, T, S).
    """
    query = query * ops.cast(1.0 / math.sqrt(query.shape[-1]), query.dtype)
    scores = ops.einsum("bthd,bshd->bhts", query, key)  # (B, h, T, S)
    weights = masked_softmax(scores, mask)
    dropped = weights if dropout is None else dropout(weights, training=training)
    output = ops.einsum("bhts,bshd->bthd", dropped, value)  # (B, T, h, d_v)
    return output, weights


@keras.saving.register_keras_serializable(package="seqmodels")
class MaskedMultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (Vaswani et al. 2017) with padding, causal and explicit masks.

        head_i = softmax((Q W_i^Q)(K W_i^K)^T / sqrt(d_k)) (V W_i^V)
        output = [head_1; ...; head_h] W^O

    Masks are merged in one place (`layers.masking`): a query may attend to a
    key only if the key is not padding, the explicit `attention_mask` allows
    it and, with `use_causal_mask`, the key is not in its future. Weights over
    masked keys are exactly zero. Dropout acts on the weights after masking,
    so it can never re-open a masked key.

    Incremental decoding uses `call_with_cache`: self-attention writes the new
    step's key/value into a fixed-size cache at `cache_update_index` and
    attends over positions <= that index; cross-attention reuses keys/values
    projected once with `project_key_value`.

    Args:
        num_heads: int, h.
        key_dim: int, d_k, the size of each query/key head.
        value_dim: int, d_v, the size of each value head. Defaults to `key_dim`.
        dropout: float, dropout rate on the attention weights. Defaults to 0.
        use_bias: bool, biases in the four projections. Defaults to True.
        output_dim: int, size of the output. Defaults to the query's last dimension.
        kernel_initializer: initializer of the projections.

    Call arguments:
        query: (B, T, D_q). value: (B, S, D_v). key: optional (B, S, D_k), defaults to `value`.
        query_mask: optional (B, T) padding mask of the queries.
        value_mask: optional (B, S) padding mask of the keys/values.
        key_mask: optional (B, S), defaults to `value_mask`.
        attention_mask: optional (B, T, S) explicit mask.
        use_causal_mask: bool, query t sees only keys <= t.
        training: bool, enables dropout.

    Returns:
        (output, weights): (B, T, output_dim) and (B, h, T, S).

    Example:
    >>> mha = MaskedMultiHeadAttention(num_heads=2, key_dim=4)
    >>> out, w = mha(np.zeros((1, 3, 8)), np.zeros((1, 5, 8)))
    >>> out.shape, w.shape
    ((1, 3, 8), (1, 2, 3, 5))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {dropout!r}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True  # the queries' padding mask passes on to the output

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = key_shape or value_shape
        h = self.num_heads

        def projection(units, name, input_shape):
            dense = keras.layers.Dense(
                units,
                use_bias=self.use_bias,
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name=name,
            )
            dense.build(input_shape)
            return dense

        self.query_dense = projection(h * self.key_dim, "query", query_shape)  # W^Q
        self.key_dense = projection(h * self.key_dim, "key", key_shape)  # W^K
        self.value_dense = projection(h * self.value_dim, "value", value_shape)  # W^V
        self.output_dense = projection(
            self.output_dim or query_shape[-1], "attention_output", (None, h * self.value_dim)
        )  # W^O
        self.weights_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="weights_dropout"
        )

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        training=None,
    ):
        key = value if key is None else key
        key_mask = value_mask if key_mask is None else key_mask
        mask = merge_attention_masks(
            query_mask,
            key_mask,
            attention_mask,
            use_causal_mask,
            query_length=ops.shape(query)[1],
            key_length=ops.shape(key)[1],
        )
        q = self._split_heads(self.query_dense(query), self.key_dim)  # (B, T, h, d_k)
        k = self._split_heads(self.key_dense(key), self.key_dim)  # (B, S, h, d_k)
        v = self._split_heads(self.value_dense(value), self.value_dim)  # (B, S, h, d_v)
        return self._attend(q, k, v, mask, training)

    def call_with_cache(
        self, query, cache, cache_update_index=None, value_mask=None, training=None
    ):
        """Attention for one or more new query steps against cached keys and values.

        Args:
            query: (B, T_new, D_q), the new decoder steps.
            cache: (keys, values), each (B, S_cache, h, d).
                Self-attention: a fixed-size buffer (see `empty_cache`) that this
                call fills at positions cache_update_index .. + T_new - 1.
                Cross-attention: `project_key_value(encoder_outputs)`, used as is.
            cache_update_index: int or scalar tensor, the position of the first
                new step for self-attention; None for cross-attention.
            value_mask: optional (B, S_cache) padding mask of the cached keys.

        Returns:
            (output, weights, cache): (B, T_new, D), (B, h, T_new, S_cache) and
            the updated (keys, values).
        """
        q = self._split_heads(self.query_dense(query), self.key_dim)  # (B, T_new, h, d_k)
        cached_keys, cached_values = cache
        mask = None if value_mask is None else ops.cast(value_mask, "bool")[:, None, None, :]

        if cache_update_index is not None:
            new_keys = self._split_heads(self.key_dense(query), self.key_dim)
            new_values = self._split_heads(self.value_dense(query), self.value_dim)
            cached_keys = write_steps(cached_keys, new_keys, cache_update_index)
            cached_values = write_steps(cached_values, new_values, cache_update_index)
            # Positions after the newest step are empty slots or the future.
            causal = causal_mask(ops.shape(q)[1], ops.shape(cached_keys)[1], cache_update_index)
            mask = causal[None, None] if mask is None else ops.logical_and(mask, causal[None, None])

        output, weights = self._attend(q, cached_keys, cached_values, mask, training)
        return output, weights, (cached_keys, cached_values)

    def project_key_value(self, value, key=None):
        """Keys and values of a fixed memory (encoder outputs), for `call_with_cache`."""
        key = value if key is None else key
        return (
            self._split_heads(self.key_dense(key), self.key_dim),
            self._split_heads(self.value_dense(value), self.value_dim),
        )

    def empty_cache(self, batch_size, max_length, dtype=None):
        """A zero self-attention cache of `max_length` positions: ((B, L, h, d_k), (B, L, h, d_v)).

        `dtype` defaults to the layer's compute dtype (float16 under "mixed_float16"),
        that of the keys and values `call_with_cache` writes into it.
        """
        dtype = dtype or self.compute_dtype
        return (
            ops.zeros((batch_size, max_length, self.num_heads, self.key_dim), dtype=dtype),
            ops.zeros((batch_size, max_length, self.num_heads, self.value_dim), dtype=dtype),
        )

    def _attend(self, q, k, v, mask, training):
        if mask is not None and len(mask.shape) == 3:
            mask = mask[:, None, :, :]  # (B, 1, T, S): the same mask for every head
        heads, weights = scaled_dot_product_attention(
            q, k, v, mask, self.weights_dropout, training
        )  # (B, T, h, d_v), (B, h, T, S)
        shape = ops.shape(heads)
        concatenated = ops.reshape(heads, (shape[0], shape[1], self.num_heads * self.value_dim))
        return self.output_dense(concatenated), weights

    def _split_heads(self, x, head_dim):
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], self.num_heads, head_dim))  # (B, T, h, d)

    def compute_mask(self, query, mask=None):
        return (mask, None)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
