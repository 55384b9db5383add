"""Additive (Bahdanau) attention: the score is a small MLP of query and key."""

import keras
from keras import ops

from layers.masking import masked_softmax


@keras.saving.register_keras_serializable(package="seqmodels")
class BahdanauAttention(keras.layers.Layer):
    """Additive attention of Bahdanau et al. 2015 ("Neural Machine Translation by Jointly Learning
    to Align and Translate").

        score(q, k_j) = v^T tanh(W1 q + W2 k_j + b)
        alpha_j       = softmax_j(score(q, k_j))       (0 where key j is padding)
        context       = sum_j alpha_j k_j

    Not `keras.layers.AdditiveAttention`, which scores with
    `sum(tanh(q + k))` (no W1/W2 projections, a learned scale instead of v).
    W2 k_j does not depend on the query, so a decoder can compute it once per
    source sentence with `project_keys` and pass it to every step.

    Args:
        units: int, U, the size of the hidden layer of the score MLP.

    Call arguments:
        query: (B, H) one query per example, or (B, T, H) one per target step.
        keys: (B, S, K) the encoder outputs (they are also the values).
        keys_mask: optional (B, S) bool, False at padded keys. Filled from the
            implicit Keras mask of `keys` when not given.
        projected_keys: optional (B, S, U), `project_keys(keys)` computed earlier.

    Returns:
        (context, weights): (B, K) and (B, S) for a (B, H) query;
        (B, T, K) and (B, T, S) for a (B, T, H) query.

    Example:
    >>> attention = BahdanauAttention(16)
    >>> context, weights = attention(np.zeros((2, 8)), np.zeros((2, 5, 4)))
    >>> context.shape, weights.shape
    ((2, 4), (2, 5))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer, got {units!r}")
        self.units = units
        self.supports_masking = True  # a mask on the queries (target steps) passes on to the outputs

    def build(self, query_shape, keys_shape):
        self.query_projection = keras.layers.Dense(
            self.units, use_bias=False, dtype=self.dtype_policy, name="W1"
        )
        self.query_projection.build(query_shape)
        self.key_projection = keras.layers.Dense(self.units, use_bias=True, dtype=self.dtype_policy, name="W2")
        self.key_projection.build(keys_shape)
        self.score_vector = keras.layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="v")
        self.score_vector.build((None, self.units))

    def call(self, query, keys, keys_mask=None, projected_keys=None):
        single_query = len(query.shape) == 2
        if single_query:
            query = query[:, None, :]  # (B, 1, H)
        if projected_keys is None:
            projected_keys = self.project_keys(keys)  # (B, S, U)

        hidden = ops.tanh(
            self.query_projection(query)[:, :, None, :] + projected_keys[:, None, :, :]
        )  # (B, T, S, U)
        scores = ops.squeeze(self.score_vector(hidden), axis=-1)  # (B, T, S)
        mask = None if keys_mask is None else ops.cast(keys_mask, "bool")[:, None, :]
        weights = masked_softmax(scores, mask)  # (B, T, S)
        context = ops.matmul(weights, keys)  # (B, T, K)

        if single_query:
            return context[:, 0], weights[:, 0]
        return context, weights

    def project_keys(self, keys):
        """W2 k + b for every key: (B, S, K) -> (B, S, U). Query-independent, so cacheable."""
        return self.key_projection(keys)

    def compute_mask(self, query, mask=None):
        return (mask, mask)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
