"""Attention pooling: a learnt weighted average over time, for many-to-one models."""

import keras
from keras import ops

from layers.masking import masked_softmax


@keras.saving.register_keras_serializable(package="seqmodels")
class AttentionPooling(keras.layers.Layer):
    """Additive self-attention pooling of a sequence into one vector (Yang et al. 2016,
    "Hierarchical Attention Networks for Document Classification"; Bahdanau-style scores against
    a learnt query vector u):

        u_t     = tanh(W h_t + b)                  (B, T, U)
        alpha_t = softmax_t(v^T u_t)               (B, T), exactly 0 at padded steps
        c       = sum_t alpha_t h_t                (B, H)

    Unlike reading the last state of a recurrent layer, every step reaches the output through
    one weight, and `alpha` says which words decided. A sequence with no real step gets all-zero
    weights and c = 0 (not NaN).

    Args:
        units: int, U, the size of the score MLP's hidden layer.

    Call arguments:
        sequence: (B, T, H).
        mask: optional (B, T) bool, False at padding; filled from the implicit Keras mask.

    Returns:
        (pooled, weights): (B, H) and (B, T).

    Example:
    >>> pooled, weights = AttentionPooling(8)(np.ones((2, 5, 4)), mask=np.array([[1, 1, 1, 0, 0]] * 2, bool))
    >>> pooled.shape, weights.shape
    ((2, 4), (2, 5))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer, got {units!r}")
        self.units = units
        self.supports_masking = True

    def build(self, sequence_shape):
        self.projection = keras.layers.Dense(self.units, activation="tanh", dtype=self.dtype_policy, name="W")
        self.projection.build(sequence_shape)
        self.score_vector = keras.layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="v")
        self.score_vector.build((None, self.units))

    def call(self, sequence, mask=None):
        scores = ops.squeeze(self.score_vector(self.projection(sequence)), axis=-1)  # (B, T)
        weights = masked_softmax(scores, mask)  # (B, T)
        pooled = ops.sum(weights[:, :, None] * sequence, axis=1)  # (B, H)
        return pooled, weights

    def compute_mask(self, sequence, mask=None):
        return None  # one vector per sequence: nothing left to mask

    def get_config(self):
        return {**super().get_config(), "units": self.units}

    def compute_output_shape(self, sequence_shape):
        return (sequence_shape[0], sequence_shape[2]), (sequence_shape[0], sequence_shape[1])
