"""The two music models: an LSTM over melody events, an LSTM over piano-roll frames.

EventLSTM (folk melodies), p(e_{t+1} | e_1..e_t) over event tokens (`apps.music.events`):

    x_t     = E e_t                                     embedding of event t, (B, T, E)
    h^1_t   = LSTM_1(x_t, h^1_{t-1})                    (B, T, H)
    h^l_t   = LSTM_l(dropout(h^{l-1}_t), h^l_{t-1})     layers 2..N
    p(e_{t+1} | e_1..e_t) = softmax(W_o dropout(h^N_t) + b_o)          (B, T, V)

RollLSTM (chorales), the next frame of an 88-key piano roll (`apps.music.roll`) as 88 independent
Bernoullis given the frames before, the model of the JSB Chorales benchmark's LSTM row:

    x_t     = W_in v_t + b_in                           frame t (B, T, K) projected, (B, T, E)
    h^l_t   as above
    p(v_{t+1, k} = 1 | v_1..v_t) = sigmoid(W_o dropout(h^N_t) + b_o)_k  (B, T, K)

Both are `apps.common.recurrent_stack.RecurrentStack` (shared with the character language model)
with their own input map: they decode one step at a time (`step`), carrying every layer's state,
so sampling never re-reads the past; `call` is the teacher-forced pass for training and scoring.
Shapes: B batch, T steps, E embedding, H units, V event vocabulary, K keys (88).
"""

import keras
from keras import ops

from apps.common import training
from apps.common.recurrent_stack import RecurrentStack


@keras.saving.register_keras_serializable(package="seqmodels.music")
class EventLSTM(RecurrentStack):
    """p(next event | the events so far) over melody event tokens (module docstring).

    Args:
        vocabulary_size: int, V.
        embedding_dim: int, E. Defaults to 64.
        units: int, H, per layer. Defaults to 256.
        num_layers: int, N >= 1. Defaults to 2.
        dropout: float, between layers and before the output. Defaults to 0.2.

    Call arguments:
        ids: (B, T) int event ids.

    Returns:
        logits (B, T, V) of the event after each position.

    Example:
        >>> import numpy as np
        >>> EventLSTM(30, embedding_dim=8, units=16, num_layers=1)(np.array([[2, 5, 7]])).shape
        TensorShape([1, 3, 30])
    """

    def __init__(self, vocabulary_size, embedding_dim=64, units=256, num_layers=2, dropout=0.2, **kwargs):
        super().__init__(vocabulary_size, embedding_dim, units, num_layers, dropout, **kwargs)
        self.vocabulary_size = vocabulary_size

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


@keras.saving.register_keras_serializable(package="seqmodels.music")
class RollLSTM(RecurrentStack):
    """p(next frame | the frames so far) over an 88-key piano roll, key by key (module docstring).

    Args:
        num_keys: int, K (88).
        embedding_dim: int, E, the frame's projection. Defaults to 64.
        units: int, H, per layer. Defaults to 256.
        num_layers: int, N >= 1. Defaults to 2.
        dropout: float, between layers and before the output. Defaults to 0.2.

    Call arguments:
        frames: (B, T, K) float, 1 where a key sounds.

    Returns:
        logits (B, T, K): sigmoid(logits[:, t, k]) is p(key k sounds in frame t + 1).

    Example:
        >>> import numpy as np
        >>> RollLSTM(88, embedding_dim=8, units=16, num_layers=1)(np.zeros((1, 5, 88))).shape
        TensorShape([1, 5, 88])
    """

    def __init__(self, num_keys, embedding_dim=64, units=256, num_layers=2, dropout=0.2, **kwargs):
        super().__init__(num_keys, embedding_dim, units, num_layers, dropout, **kwargs)
        self.num_keys = num_keys

    def make_input_map(self, output_size, embedding_dim):
        self.projection = keras.layers.Dense(embedding_dim, name="projection")

    def embed(self, frames):
        return self.projection(ops.cast(frames, self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "num_keys": self.num_keys}


def nll_per_frame(frames, logits):
    """Per frame, the summed Bernoulli NLL of its K keys, in nats (`frame_nll`'s equation).

    Args:
        frames: (B, T, K) targets, 0 or 1 (or (B, K): one frame per row).
        logits: the same shape.

    Returns:
        (B, T) (or (B,)), one NLL per frame.
    """
    frames = ops.cast(frames, logits.dtype)
    # max(z, 0) - z v + log(1 + exp(-|z|)): the stable binary cross-entropy from logits.
    per_key = ops.maximum(logits, 0.0) - logits * frames + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(per_key, axis=-1)


def frame_nll(y_true, logits):
    """The JSB protocol's loss: per frame, the summed Bernoulli NLL of its K keys; mean over frames.

        NLL(frame t) = -sum_k [v_tk log sigmoid(z_tk) + (1 - v_tk) log(1 - sigmoid(z_tk))]

    `apps.music.baselines.frame_nll` is its NumPy twin, which `eval` scores with.

    Args:
        y_true: (B, T, K) targets, 0 or 1; a padding frame is -1 in every key and does not count.
        logits: (B, T, K).

    Returns:
        scalar, the mean NLL over real frames, in nats.
    """
    y_true = ops.cast(y_true, logits.dtype)
    real = ops.cast(y_true[..., 0] >= 0, logits.dtype)  # (B, T)
    per_frame = nll_per_frame(ops.maximum(y_true, 0.0), logits)
    return training.batch_mean(per_frame, real)  # over the replicas' frames too, under tf.distribute
