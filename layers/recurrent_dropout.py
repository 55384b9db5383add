"""Variational dropout for recurrent cells: one mask per sequence, reused at every step.

Gal & Ghahramani 2016 ("A Theoretically Grounded Application of Dropout in
Recurrent Neural Networks"): dropping different units at every step destroys
the memory a recurrent network carries; dropping the same input and state units
at every step of a sequence regularises it without that harm.

Keras' `DropoutRNNCell` mixin samples the masks and caches them on the cell;
`keras.layers.RNN` samples them once before its loop and clears them after each
call, so every step of a sequence sees the same masks and the next batch gets
new ones. `RNN` recognises the mixin with `isinstance`, so our cells inherit it
rather than copying it. Keras 3.15 does not export it, hence the `keras.src`
import (keras is pinned in setup.cfg).
"""

import keras
from keras import ops
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell


class RecurrentDropoutCell(DropoutRNNCell):
    """Mixin for a gated cell with `dropout` on its inputs and `recurrent_dropout` on its state.

    The masks are sampled as `keras.layers.GRUCell` / `LSTMCell` sample them,
    so that with the same `seed` both give the same masks: with
    `recurrent_dropout > 0` every gate gets its own input and state masks
    (Keras' `implementation=1`); with input dropout alone, one input mask is
    shared by all gates. A mask keeps a unit with probability 1 - rate and
    scales it by 1 / (1 - rate), so that its expectation is one.

    Outside `keras.layers.RNN`, call `reset_dropout_mask()` and
    `reset_recurrent_dropout_mask()` between sequences.
    """

    def _init_dropout(self, dropout, recurrent_dropout, seed, gates):
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {rate!r}")
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)  # the name the mixin reads
        if recurrent_dropout > 0:
            self.dropout_mask_count = gates  # one mask per gate, as Keras' implementation=1

    def _dropout_masks(self, inputs, h_tm1, training):
        """(input masks, state masks), each None, one mask, or a list of one mask per gate."""
        if not training:
            return None, None
        return self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(h_tm1)


def masked_per_gate(x, mask, gates):
    """`x` as seen by each of the `gates` gates: a list of `gates` tensors x * m_g (B, D).

    `mask` is None (no dropout), one mask shared by the gates or a list of one
    mask per gate. Unmasked entries are the very same tensor, which
    `gate_projections` recognises to fuse the matmuls.
    """
    if mask is None:
        return [x] * gates
    if isinstance(mask, (list, tuple)):
        return [x * m for m in mask]
    return [x * mask] * gates


def gate_projections(xs, kernel):
    """[x_1 K_1, ..., x_n K_n] for the fused kernel K = [K_1 | ... | K_n] (D, nH): n tensors (B, H).

    One matmul when every gate sees the same x (no dropout, or one shared mask).
    """
    if all(x is xs[0] for x in xs):
        return ops.split(ops.matmul(xs[0], kernel), len(xs), axis=-1)
    return [ops.matmul(x, k) for x, k in zip(xs, ops.split(kernel, len(xs), axis=-1), strict=True)]
