"""A GRU decoder that attends over the encoder outputs before each step (Bahdanau et al. 2015)."""

import keras
from keras import ops

from layers.bahdanau_attention import BahdanauAttention
from layers.gru_cell import GRUCell


@keras.saving.register_keras_serializable(package="seqmodels")
class AttentionGRUDecoder(keras.layers.Layer):
    """Attention-GRU decoder: attend with the previous state, then update the state.

    One step, with y_{t-1} the embedding of the previous target token (B, E),
    s_{t-1} the previous decoder state (B, H) and h_1..h_S the encoder outputs (B, S, K):

        c_t, alpha_t = BahdanauAttention(query=s_{t-1}, keys=h)     context (B, K), weights (B, S)
        s_t          = GRUCell([y_{t-1}; c_t], s_{t-1})              new state (B, H)

    `step` runs one such step (for decoding, token by token); `call` runs it
    over a whole teacher-forced target sequence with the same weights. At a
    masked (padded) target step the state is carried over unchanged, as in
    `keras.layers.RNN`. The caller turns (s_t, c_t, y_{t-1}) into logits.

    Args:
        units: int, H, the decoder state size.
        attention_units: int, U, the size of the attention MLP. Defaults to `units`.

    Call arguments:
        inputs: (B, T, E) embeddings of the target tokens shifted right.
        encoder_outputs: (B, S, K).
        initial_state: optional (B, H); zeros in the compute dtype when not given.
        inputs_mask: optional (B, T) bool, False at padded target steps.
        encoder_outputs_mask: optional (B, S) bool, False at padded source tokens.

    Returns:
        (states, contexts, weights): (B, T, H), (B, T, K), (B, T, S).

    Example:
    >>> decoder = AttentionGRUDecoder(8)
    >>> states, contexts, weights = decoder(np.zeros((2, 4, 3)), np.zeros((2, 6, 5)))
    >>> states.shape, contexts.shape, weights.shape
    ((2, 4, 8), (2, 4, 5), (2, 4, 6))
    """

    def __init__(self, units, attention_units=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer, got {units!r}")
        self.units = units
        self.attention_units = attention_units or units
        self.supports_masking = True  # the target padding mask passes on to states, contexts, weights

    def build(self, inputs_shape, encoder_outputs_shape):
        embedding_dim, context_dim = inputs_shape[-1], encoder_outputs_shape[-1]
        self.attention = BahdanauAttention(self.attention_units, dtype=self.dtype_policy, name="attention")
        self.attention.build((None, self.units), encoder_outputs_shape)
        self.cell = GRUCell(self.units, dtype=self.dtype_policy, name="gru_cell")
        self.cell.build((None, embedding_dim + context_dim))

    def call(
        self,
        inputs,
        encoder_outputs,
        initial_state=None,
        inputs_mask=None,
        encoder_outputs_mask=None,
    ):
        batch_size, target_length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        dtype = self.compute_dtype  # of every carry of the scan (float16 under "mixed_float16")
        if initial_state is None:
            initial_state = ops.zeros((batch_size, self.units), dtype=dtype)
        if inputs_mask is None:
            inputs_mask = ops.ones((batch_size, target_length), dtype="bool")
        projected_keys = self.attention.project_keys(encoder_outputs)  # once, not per step

        def one_step(carry, step_inputs):
            state = carry[0]
            y_prev, keep = step_inputs[:, :-1], step_inputs[:, -1:] > 0.5
            new_state, context, weights = self.step(
                y_prev, state, encoder_outputs, encoder_outputs_mask, projected_keys
            )
            new_state = ops.where(keep, new_state, state)  # padded step: carry over
            # Keras' TensorFlow `scan` requires the per-step outputs to mirror the carry.
            new_carry = (new_state, context, weights)
            return new_carry, new_carry

        source_length = ops.shape(encoder_outputs)[1]
        initial_carry = (
            ops.cast(initial_state, dtype),
            ops.zeros((batch_size, encoder_outputs.shape[-1]), dtype=dtype),  # context
            ops.zeros((batch_size, source_length), dtype=dtype),  # weights
        )
        # One scanned tensor, the mask riding along as a last feature: Keras' TensorFlow `scan`
        # fails on several scanned tensors when the time axis length is unknown.
        keep = ops.cast(inputs_mask, dtype)[:, :, None]
        time_major = ops.transpose(ops.concatenate([inputs, keep], axis=-1), (1, 0, 2))  # (T, B, E + 1)
        _, (states, contexts, weights) = ops.scan(one_step, initial_carry, time_major)
        batch_major = lambda x: ops.transpose(x, (1, 0, 2))  # (T, B, .) -> (B, T, .)
        return batch_major(states), batch_major(contexts), batch_major(weights)

    def step(self, inputs, state, encoder_outputs, encoder_outputs_mask=None, projected_keys=None):
        """One decoding step: (B, E), (B, H), (B, S, K) -> state (B, H), context (B, K), weights (B, S).

        All three outputs are in the compute dtype (float16 under "mixed_float16").
        """
        # A plain method, not `__call__`: cast as Keras would, so the state keeps one dtype.
        inputs, state = ops.cast(inputs, self.compute_dtype), ops.cast(state, self.compute_dtype)
        context, weights = self.attention(
            state, encoder_outputs, keys_mask=encoder_outputs_mask, projected_keys=projected_keys
        )
        new_state, _ = self.cell(ops.concatenate([inputs, context], axis=-1), [state])
        return new_state, context, weights

    def compute_mask(self, inputs, mask=None):
        return (mask, mask, mask)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "attention_units": self.attention_units})
        return config
