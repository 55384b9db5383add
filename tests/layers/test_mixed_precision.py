"""Under mixed precision, caches, initial states and key projections are in the compute dtype (float16),
and incremental decoding still equals the full pass within float16 accuracy."""

import keras
import numpy as np
import pytest

from layers import (
    AttentionGRUDecoder,
    BahdanauAttention,
    GRUCell,
    LSTMCell,
    MaskedMultiHeadAttention,
    SoftVisualAttention,
    TransformerDecoderBlock,
)
from tests.helpers import padding_mask, random_array

B, T, S, D, HEADS, FF = 2, 5, 6, 8, 2, 16
FLOAT16_ATOL = 2e-2  # float16 keeps ~3 decimal digits; errors add up over a few layers


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def assert_float16_close(actual, expected):
    assert _dtype(actual) == "float16"
    np.testing.assert_allclose(
        np.asarray(actual, "float32"), np.asarray(expected, "float32"), atol=FLOAT16_ATOL, rtol=1e-2
    )


def _cached_decoding(block, target, source, source_mask):
    """Token by token through `call_with_cache`; checks every cache is float16 on the way."""
    self_cache = block.empty_self_attention_cache(B, T)
    cross_cache = None if source is None else block.cross_attention_cache(source)
    for part in (*self_cache, *(cross_cache or ())):
        assert _dtype(part) == "float16"
    steps, step_weights = [], []
    for t in range(T):
        y, weights, self_cache = block.call_with_cache(
            target[:, t : t + 1], self_cache, t, cross_cache, encoder_sequence_mask=source_mask
        )
        assert all(_dtype(part) == "float16" for part in self_cache)
        steps.append(np.asarray(y, "float32")[:, 0])
        assert _dtype(y) == "float16"
        if weights is not None:
            step_weights.append(np.asarray(weights, "float32")[:, :, 0])
    return np.stack(steps, 1), (np.stack(step_weights, 2) if step_weights else None)


@pytest.mark.parametrize("with_encoder", [True, False])
@pytest.mark.parametrize("normalize_first", [False, True])
def test_decoder_block_cache_is_float16_and_equals_the_full_pass(mixed_float16, with_encoder, normalize_first):
    block = TransformerDecoderBlock(HEADS, FF, normalize_first=normalize_first)
    target = random_array(B, T, D)
    source = random_array(B, S, D, seed=1) if with_encoder else None
    source_mask = padding_mask([6, 3], S) if with_encoder else None
    full, full_weights = block(target, source, encoder_sequence_mask=source_mask)
    assert block.compute_dtype == "float16" and block.self_attention.compute_dtype == "float16"

    steps, step_weights = _cached_decoding(block, target, source, source_mask)
    assert_float16_close(full, steps)
    if with_encoder:
        assert_float16_close(full_weights, step_weights)


def test_decoder_block_with_its_own_mixed_policy(tmp_path):
    """A per-layer policy (the global one stays float32) reaches the sublayers and the caches."""
    block = TransformerDecoderBlock(HEADS, FF, dtype="mixed_float16")
    target, source = random_array(B, T, D), random_array(B, S, D, seed=1)
    full, _ = block(target, source)
    for sublayer in (block.self_attention, block.cross_attention, block.feed_forward, block.feed_forward_norm):
        assert sublayer.compute_dtype == "float16", sublayer.name
    steps, _ = _cached_decoding(block, target, source, None)
    assert_float16_close(full, steps)


def test_multi_head_attention_cache_is_float16(mixed_float16):
    layer = MaskedMultiHeadAttention(HEADS, D // HEADS)
    x = random_array(B, T, D)
    full, _ = layer(x, x, use_causal_mask=True)
    cache = layer.empty_cache(B, T)
    memory = layer.project_key_value(random_array(B, S, D, seed=1))
    assert all(_dtype(part) == "float16" for part in (*cache, *memory))
    for t in range(T):
        step, _, cache = layer.call_with_cache(x[:, t : t + 1], cache, cache_update_index=t)
        assert all(_dtype(part) == "float16" for part in cache)
        assert_float16_close(step[:, 0], np.asarray(full, "float32")[:, t])
    # An explicit dtype still wins.
    assert all(_dtype(part) == "float32" for part in layer.empty_cache(B, T, dtype="float32"))


def test_attention_gru_decoder_states_are_float16_and_steps_equal_the_full_pass(mixed_float16):
    decoder = AttentionGRUDecoder(8)
    targets, memory = random_array(B, T, 4), random_array(B, S, 7, seed=1)
    memory_mask = padding_mask([6, 2], S)
    states, contexts, weights = decoder(targets, memory, encoder_outputs_mask=memory_mask)
    for output in (states, contexts, weights):
        assert _dtype(output) == "float16"

    keys = decoder.attention.project_keys(memory)
    assert _dtype(keys) == "float16"
    state = decoder.cell.get_initial_state(B)[0]
    assert _dtype(state) == "float16"
    for t in range(T):
        state, context, w = decoder.step(targets[:, t], state, memory, memory_mask, keys)
        assert _dtype(state) == "float16"
        assert_float16_close(state, np.asarray(states, "float32")[:, t])
        assert_float16_close(context, np.asarray(contexts, "float32")[:, t])
        assert_float16_close(w, np.asarray(weights, "float32")[:, t])


def test_projected_keys_and_features_are_float16(mixed_float16):
    query, keys = random_array(B, 5), random_array(B, S, 4, seed=1)
    attention = BahdanauAttention(8)
    context, _ = attention(query, keys)
    projected = attention.project_keys(keys)
    assert _dtype(projected) == "float16"
    assert_float16_close(attention(query, keys, projected_keys=projected)[0], context)

    visual = SoftVisualAttention(8)
    context, _ = visual(query, keys)
    features = visual.project_features(keys)
    assert _dtype(features) == "float16"
    assert_float16_close(visual(query, keys, projected_features=features)[0], context)


@pytest.mark.parametrize("cell_class", [GRUCell, LSTMCell])
def test_cells_keep_float16_states_with_dropout(mixed_float16, cell_class):
    cell = cell_class(6, dropout=0.2, recurrent_dropout=0.2, seed=1)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, *states = rnn(random_array(B, T, 4), training=True)
    assert all(_dtype(x) == "float16" for x in (outputs, *states, *cell.get_initial_state(B)))
    assert np.all(np.isfinite(np.asarray(outputs, "float32")))
