"""A stack of recurrent layers between an input map and an output map, decoded one step at a time.

    x_t     = In(u_t)                                   the input map, (B, T, E): an embedding of
                                                        token ids, or a projection of frames
    h^1_t   = Cell_1(x_t, h^1_{t-1})                    first recurrent layer, (B, T, H)
    h^l_t   = Cell_l(dropout(h^{l-1}_t), h^l_{t-1})     layers 2..N
    z_t     = W_o dropout(h^N_t) + b_o                  logits of what comes after step t, (B, T, V)

Cell is `layers.GRUCell` or `layers.LSTMCell`. Decoding carries every layer's state from step to
step (`step`, the interface of `apps.common.decoding`), so sampling never re-reads the past;
`call` is the teacher-forced pass over whole sequences, for training and scoring. The character
language model (`apps.generate.model`) and both music models (`apps.music.model`) are this stack;
the chorale model's input map is a projection of piano-roll frames instead of an embedding.
Shapes: B batch, T steps, E input map width, H units, V outputs.
"""

import keras
from keras import ops

from layers import GRUCell, LSTMCell

CELLS = {"gru": GRUCell, "lstm": LSTMCell}


class RecurrentStack(keras.Model):
    """An input map, N recurrent layers with dropout between, an output map (module docstring).

    The input map is an embedding of ids (`make_input_map`, `embed`), which a subclass may replace
    (a projection of frames); a subclass adds its own arguments to `get_config`.

    Args:
        output_size: int, V: the width of the output map (logits).
        embedding_dim: int, E: the width of the input map.
        units: int, H, per layer.
        num_layers: int, N >= 1.
        dropout: float in [0, 1), between layers and before the output.
        cell: "gru" or "lstm". Defaults to "lstm".
    """

    # The order the layers are made in is the order of `variables`, by which a model directory's
    # weights are read back (`ModelDirectory.load_model`): a subclass whose input map was made
    # before the recurrent layers when its models were saved sets this to True.
    input_map_first = False

    def __init__(self, output_size, embedding_dim, units, num_layers, dropout, cell="lstm", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.embedding_dim, self.units, self.num_layers, self.dropout_rate = embedding_dim, units, num_layers, dropout
        self.cell_name = cell
        if self.input_map_first:
            self.make_input_map(output_size, embedding_dim)
        self.rnns = [keras.layers.RNN(CELLS[cell](units), return_sequences=True, name=f"{cell}_{index}")
                     for index in range(num_layers)]
        self.dropout = keras.layers.Dropout(dropout)
        self.logits = keras.layers.Dense(output_size, name="logits")
        if not self.input_map_first:
            self.make_input_map(output_size, embedding_dim)

    def make_input_map(self, output_size, embedding_dim):
        """Makes the input map's layer(s), E wide: by default a language model's, an embedding of the
        V ids it predicts (`self.embedding`)."""
        self.embedding = keras.layers.Embedding(output_size, embedding_dim, name="embedding")

    def embed(self, inputs):
        """(B, T) ids or (B, T, K) frames -> (B, T, E); also (N,) or (N, K) for one step."""
        return self.embedding(inputs)

    def call(self, inputs, training=None):
        """The teacher-forced pass over whole sequences.

        Args:
            inputs: (B, T) int ids, or (B, T, K) float frames.
            training: bool, dropout on.

        Returns:
            (B, T, V) logits of what comes after each step.
        """
        x = self.embed(inputs)
        for index, rnn in enumerate(self.rnns):
            x = rnn(self.dropout(x, training=training) if index else x, training=training)
        return self.logits(self.dropout(x, training=training))

    def encode(self, inputs, max_output_length=None):
        """Zero states for a batch of B rows (`inputs`' first dimension): nothing to encode.

        Returns:
            (state, constants): {"layers": one state per layer ([h (B, H)] for a GRU, [h, c] for
            an LSTM)}, and {}.
        """
        batch_size = ops.shape(inputs)[0]
        return {"layers": [rnn.cell.get_initial_state(batch_size) for rnn in self.rnns]}, {}

    def step(self, inputs, state, constants, index):
        """One decoding step, every layer's state carried (`apps.common.decoding`'s `step`).

        Args:
            inputs: (N,) int ids, or (N, K) float frames: what step `index` reads.
            state: {"layers": one state per layer}, from `encode` or the last step.
            constants: unused ({}).
            index: int scalar, the step's position (unused: a recurrent cell needs none).

        Returns:
            (logits, state, outputs): (N, V) logits of what comes next, the new state (as
            `state`), and {} (no per-step outputs).
        """
        x, states = self.embed(inputs), []
        for rnn, layer_state in zip(self.rnns, state["layers"], strict=True):
            x, new_state = rnn.cell(x, layer_state, training=False)
            states.append(new_state)
        return self.logits(x), {"layers": states}, {}

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "dropout": self.dropout_rate,
        }
