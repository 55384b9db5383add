"""A small model that uses every layer in `layers/`, for the save-and-reload tests."""

import keras
import numpy as np

from layers import (
    AttentionGRUDecoder,
    AttentionPooling,
    GRUCell,
    LSTMCell,
    SinusoidalPositionEncoding,
    SoftVisualAttention,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

VOCAB, WIDTH = 20, 8


def build_model():
    source = keras.Input((None,), dtype="int32", name="source")
    target = keras.Input((None,), dtype="int32", name="target")
    image = keras.Input((9, 6), name="image_grid")

    source_embedded = keras.layers.Embedding(VOCAB, WIDTH, mask_zero=True)(source)
    target_embedded = keras.layers.Embedding(VOCAB, WIDTH, mask_zero=True)(target)

    # Recurrent path: bidirectional GRU and LSTM encoders, attention-GRU decoder.
    gru = keras.layers.Bidirectional(keras.layers.RNN(GRUCell(WIDTH // 2), return_sequences=True))
    lstm = keras.layers.RNN(LSTMCell(WIDTH), return_sequences=True)
    memory = lstm(gru(source_embedded))
    states, contexts, _ = AttentionGRUDecoder(WIDTH)(target_embedded, memory)

    # Transformer path: positions, encoder block, decoder block.
    positions = SinusoidalPositionEncoding()
    encoded = TransformerEncoderBlock(2, 16)(source_embedded + positions(source_embedded))
    decoded, _ = TransformerDecoderBlock(2, 16)(target_embedded + positions(target_embedded), encoded)

    # Visual attention path, queried by the decoder states.
    visual_context, _ = SoftVisualAttention(8)(states, image)

    features = keras.layers.Concatenate()([states, contexts, decoded, visual_context])
    logits = keras.layers.Dense(VOCAB)(features)

    # Many-to-one path: the source memory pooled by attention, added to every step's logits.
    pooled, _ = AttentionPooling(8)(memory)
    logits = logits + keras.layers.Dense(VOCAB)(pooled)[:, None, :]
    return keras.Model([source, target, image], logits)


def example_inputs():
    rng = np.random.default_rng(0)
    source = rng.integers(1, VOCAB, size=(2, 7))
    source[1, 4:] = 0  # padding
    target = rng.integers(1, VOCAB, size=(2, 5))
    image = rng.normal(size=(2, 9, 6)).astype("float32")
    return [source, target, image]
