"""A character-level language model: stacked GRU or LSTM layers from `layers/`, with dropout.

    x_t     = E c_t                                     embedding of character t, (B, T, E)
    h^1_t   = Cell_1(x_t, h^1_{t-1})                    first recurrent layer, (B, T, H)
    h^l_t   = Cell_l(dropout(h^{l-1}_t), h^l_{t-1})     layers 2..N
    p(c_{t+1} | c_1..c_t) = softmax(W_o dropout(h^N_t) + b_o)

The stack, its teacher-forced `call` and its step-by-step decoding are `apps.common.recurrent_stack`'s,
shared with the music models; this model's input map is a character embedding. Shapes: B batch,
T characters, E embedding, H units, V vocabulary.
"""

import keras

from apps.common.recurrent_stack import RecurrentStack


@keras.saving.register_keras_serializable(package="seqmodels.generate")
class CharLanguageModel(RecurrentStack):
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

    input_map_first = True  # as the shipped model was made: its weights are read back in this order

    def __init__(self, vocabulary_size, embedding_dim=64, units=256, num_layers=2, cell="gru", dropout=0.1,
                 **kwargs):
        super().__init__(vocabulary_size, embedding_dim, units, num_layers, dropout, cell=cell, **kwargs)
        self.vocabulary_size = vocabulary_size

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "cell": self.cell_name}
