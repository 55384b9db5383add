"""Learning, not just running: tiny seq2seq models built from our layers learn to reverse digits.

Accuracy is measured with greedy decoding through the incremental paths (the GRU decoder's
`step`, the Transformer's key/value cache) on held-out sequences, so this also checks that
the step-by-step paths agree with the teacher-forced ones the models were trained with.
"""

import keras
import numpy as np
from keras import ops

from layers import (
    AttentionGRUDecoder,
    GRUCell,
    SinusoidalPositionEncoding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

PAD, START, END = 0, 1, 2
DIGITS = 10
VOCAB = 3 + DIGITS
MIN_LEN, MAX_LEN = 3, 8


def reversal_data(count, seed):
    """Source: random digits of random length, right-padded. Target: START + reversed + END."""
    rng = np.random.default_rng(seed)
    source = np.zeros((count, MAX_LEN), "int32")
    target = np.zeros((count, MAX_LEN + 2), "int32")
    for i in range(count):
        digits = rng.integers(3, 3 + DIGITS, size=rng.integers(MIN_LEN, MAX_LEN + 1))
        source[i, : len(digits)] = digits
        target[i, : len(digits) + 2] = [START, *digits[::-1], END]
    return source, target


def train(model, source, target, epochs, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD),
    )
    model.fit([source, target[:, :-1]], target[:, 1:], batch_size=64, epochs=epochs, verbose=0)


def token_accuracy(predicted, target):
    """Fraction of reference tokens (reversed digits and END) predicted at their position."""
    reference = target[:, 1:]
    real = reference != PAD
    return float(np.mean(predicted[real] == reference[real]))


def build_attention_gru(units=64):
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    source_embedding = keras.layers.Embedding(VOCAB, 32, mask_zero=True)
    target_embedding = keras.layers.Embedding(VOCAB, 32, mask_zero=True)
    encoder = keras.layers.Bidirectional(keras.layers.RNN(GRUCell(units // 2), return_sequences=True))
    decoder = AttentionGRUDecoder(units)
    readout = keras.layers.Dense(VOCAB)

    memory = encoder(source_embedding(source))
    embedded = target_embedding(target_in)
    states, contexts, _ = decoder(embedded, memory)
    logits = readout(ops.concatenate([states, contexts, embedded], axis=-1))
    model = keras.Model([source, target_in], logits)

    def greedy(source_ids):
        memory = encoder(source_embedding(source_ids))
        source_mask = source_ids != PAD
        keys = decoder.attention.project_keys(memory)
        state = ops.zeros((len(source_ids), units))
        token = np.full((len(source_ids),), START)
        output = []
        for _ in range(MAX_LEN + 1):
            embedded = target_embedding(token)
            state, context, _ = decoder.step(embedded, state, memory, source_mask, keys)
            token = np.argmax(readout(ops.concatenate([state, context, embedded], -1)), -1)
            output.append(token)
        return np.stack(output, 1)

    return model, greedy


def build_transformer(width=64, heads=4, ff=128):
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    source_embedding = keras.layers.Embedding(VOCAB, width, mask_zero=True)
    target_embedding = keras.layers.Embedding(VOCAB, width, mask_zero=True)
    positions = SinusoidalPositionEncoding()
    encoder = TransformerEncoderBlock(heads, ff)
    decoder = TransformerDecoderBlock(heads, ff)
    readout = keras.layers.Dense(VOCAB)

    def embed(embedding, ids, start_index=0):
        x = embedding(ids)
        return x + positions(x, start_index=start_index)

    # Explicit padding masks: `x + positions(x)` is a keras.ops add, which drops implicit masks.
    source_mask, target_mask = ops.not_equal(source, PAD), ops.not_equal(target_in, PAD)
    memory = encoder(embed(source_embedding, source), mask=source_mask)
    decoded, _ = decoder(
        embed(target_embedding, target_in),
        memory,
        decoder_sequence_mask=target_mask,
        encoder_sequence_mask=source_mask,
    )
    model = keras.Model([source, target_in], readout(decoded))

    def greedy(source_ids):
        source_mask = source_ids != PAD
        memory = encoder(embed(source_embedding, source_ids), mask=source_mask)
        cross_cache = decoder.cross_attention_cache(memory)
        self_cache = decoder.empty_self_attention_cache(len(source_ids), MAX_LEN + 1)
        token = np.full((len(source_ids), 1), START)
        output = []
        for t in range(MAX_LEN + 1):
            y, _, self_cache = decoder.call_with_cache(
                embed(target_embedding, token, start_index=t), self_cache, t, cross_cache, source_mask
            )
            token = np.argmax(readout(y), -1)
            output.append(token[:, 0])
        return np.stack(output, 1)

    return model, greedy


def _learns_to_reverse(build, epochs, learning_rate):
    keras.utils.set_random_seed(0)
    model, greedy = build()
    train_source, train_target = reversal_data(6000, seed=1)
    train(model, train_source, train_target, epochs, learning_rate)
    test_source, test_target = reversal_data(300, seed=2)  # held out: a different seed
    accuracy = token_accuracy(greedy(test_source), test_target)
    print(f"{build.__name__}: held-out greedy token accuracy {accuracy:.3f}")
    assert accuracy >= 0.95, f"held-out greedy token accuracy {accuracy:.3f}"


def test_attention_gru_learns_to_reverse_digits():
    _learns_to_reverse(build_attention_gru, epochs=6, learning_rate=5e-3)


def test_transformer_learns_to_reverse_digits():
    _learns_to_reverse(build_transformer, epochs=5, learning_rate=2e-3)
