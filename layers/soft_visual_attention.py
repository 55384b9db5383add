"""Soft attention of a caption decoder over the locations of a CNN feature grid."""

import keras

from layers.bahdanau_attention import BahdanauAttention


@keras.saving.register_keras_serializable(package="seqmodels")
class SoftVisualAttention(keras.layers.Layer):
    """Deterministic soft attention of Xu et al. 2015, "Show, Attend and Tell", section 4.2.

    With decoder state h_{t-1} (B, H) and annotation vectors a_1..a_L (B, L, C)
    (a CNN grid of L = rows x columns locations):

        e_ti    = v^T tanh(W_a a_i + W_h h_{t-1} + b)     (the Bahdanau score)
        alpha_t = softmax_i(e_ti)                          (B, L), sums to 1
        beta_t  = sigmoid(w_b . h_{t-1} + b_b)             gating scalar, (B, 1)
        z_t     = beta_t * sum_i alpha_ti a_i              context, (B, C)

    The gate lets the decoder turn the image down when emitting words such as
    "a" or "of". Training adds the doubly stochastic penalty
    lambda * sum_i (1 - sum_t alpha_ti)^2 to the loss (in the captioning app).

    Args:
        units: int, the size of the attention MLP.

    Call arguments:
        state: (B, H) or (B, T, H), the previous decoder state(s).
        features: (B, L, C), the feature grid flattened over locations.
        features_mask: optional (B, L) bool, False at locations to ignore.
        projected_features: optional, `project_features(features)` computed once per image.

    Returns:
        (context, weights): (B, C) and (B, L) for a (B, H) state; with a time
        axis, (B, T, C) and (B, T, L).

    Example:
    >>> context, alpha = SoftVisualAttention(16)(np.zeros((2, 8)), np.zeros((2, 49, 32)))
    >>> context.shape, alpha.shape
    ((2, 32), (2, 49))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True  # a mask on the queries (target steps) passes on to the outputs

    def build(self, state_shape, features_shape):
        self.attention = BahdanauAttention(self.units, dtype=self.dtype_policy, name="attention")
        self.attention.build(state_shape, features_shape)
        self.gate = keras.layers.Dense(1, activation="sigmoid", dtype=self.dtype_policy, name="beta")
        self.gate.build(state_shape)

    def call(self, state, features, features_mask=None, projected_features=None):
        context, weights = self.attention(
            state, features, keys_mask=features_mask, projected_keys=projected_features
        )
        beta = self.gate(state)  # (B, 1) or (B, T, 1)
        return beta * context, weights

    def project_features(self, features):
        """W_a a_i + b for every location, query-independent: compute once per image."""
        return self.attention.project_keys(features)

    def compute_mask(self, state, mask=None):
        return (mask, mask)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
