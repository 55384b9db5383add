"""A character-level language model: stacked GRU or LSTM layers from `layers/`, with dropout.

    x_t     = E c_t                                     embedding of character t, (B, T, E)
    h^1_t   = Cell_1(x_t, h^1_{t-1})                    first recurrent layer, (B, T, H)
    h^l_t   = Cell_l(dropout(h^{l-1}_t), h^l_{t-1})     layers 2..N
    p(c_{t+1} | c_1..c_t) = softmax(W_o dropout(h^N_t) + b_o)

Decoding carries every layer's state from step to step (`step`), so sampling never re-reads the
prefix; `call` is the teacher-forced pass over whole windows, for training and scoring. Shapes: B
batch, T characters, E embedding, H units, V vocabulary.
"""

import keras
from keras import ops

from layers import GRUCell, LSTMCell

CELLS = {"gru": GRUCell, "lstm": LSTMCell}


@keras.saving.register_keras_serializable(package="seqmodels.generate")
class CharLanguageModel(keras.Model):
    """p(next character | the characters so far), one recurrent stack.

    Args:
        vocabulary_size: int, V.
        embedding_dim: int, E. Defaults to 64.
        units: int, H, per layer. Defaults to 256.
        num_layers: int, N >= 1. Defaults to 2.
        cell: "gru" or "lstm". Defaults to "gru".
        dropout: float, between layers and before the output. Defaults to 0.1.

    Call arguments:
        ids: (B, T) int character ids.

    Returns:
        logits (B, T, V) of the character after each position.
    """

    def __init__(self, vocabulary_size, embedding_dim=64, units=256, num_layers=2, cell="gru", dropout=0.1,
                 **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        self.vocabulary_size, self.embedding_dim, self.units = vocabulary_size, embedding_dim, units
        self.num_layers, self.cell_name, self.dropout_rate = num_layers, cell, dropout
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        self.rnns = [
            keras.layers.RNN(CELLS[cell](units), return_sequences=True, name=f"{cell}_{index}")
            for index in range(num_layers)
        ]
        self.dropout = keras.layers.Dropout(dropout)
        self.logits = keras.layers.Dense(vocabulary_size, name="logits")

    def call(self, ids, training=None):
        x = self.embedding(ids)
        for index, rnn in enumerate(self.rnns):
            x = rnn(self.dropout(x, training=training) if index else x, training=training)
        return self.logits(self.dropout(x, training=training))

    def encode(self, inputs, max_output_length=None):
        """Zero states for the (B, P) prompt batch `inputs`: a language model has no encoder."""
        batch_size = ops.shape(inputs)[0]
        return {"layers": [rnn.cell.get_initial_state(batch_size) for rnn in self.rnns]}, {}

    def step(self, tokens, state, constants, index):
        """(N,) previous characters -> logits (N, V) of the next, every layer's state carried."""
        x, states = self.embedding(tokens), []
        for rnn, layer_state in zip(self.rnns, state["layers"], strict=True):
            x, new_state = rnn.cell(x, layer_state, training=False)
            states.append(new_state)
        return self.logits(x), {"layers": states}, {}

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell_name,
            "dropout": self.dropout_rate,
        }
