"""Our masked multi-head attention against keras.layers.MultiHeadAttention, masks and cache."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from layers import MaskedMultiHeadAttention
from layers.multi_head_attention import write_steps
from tests.helpers import assert_close, padding_mask, random_array

B, T, S, D, HEADS, KEY_DIM = 3, 5, 7, 12, 3, 4


def _ours_and_keras(**kwargs):
    ours = MaskedMultiHeadAttention(HEADS, KEY_DIM, **kwargs)
    theirs = keras.layers.MultiHeadAttention(HEADS, KEY_DIM, **kwargs)
    query, value = random_array(B, T, D), random_array(B, S, D, seed=1)
    ours(query, value)
    theirs(query, value)
    # Keras keeps (D, h, d) / (h, d, D) kernels; ours fuse the heads: (D, h*d) / (h*d, D).
    weights = [random_array(*w.shape, seed=i) * 0.3 for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights([w.reshape(v.shape) for w, v in zip(weights, ours.get_weights(), strict=True)])
    return ours, theirs, query, value


@pytest.mark.parametrize("masks", ["none", "padding", "causal", "all"])
def test_matches_keras_multi_head_attention(masks):
    ours, theirs, query, _ = _ours_and_keras()
    value = random_array(B, T, D, seed=1)  # self-attention shapes, so a causal mask applies
    kwargs = {}
    real_queries = np.ones((B, T), bool)
    if masks in ("padding", "all"):
        real_queries = padding_mask([5, 3, 2], T)
        kwargs.update(query_mask=real_queries, value_mask=padding_mask([5, 4, 1], T))
    if masks in ("causal", "all"):
        kwargs.update(use_causal_mask=True)
    out, weights = ours(query, value, **kwargs)
    expected_out, expected_weights = theirs(query, value, return_attention_scores=True, **kwargs)
    # Keras 3.15 replaces an explicit `query_mask` by the query's implicit mask, so its padded
    # query rows still attend; ours give them no weight. Padded rows are don't-care: compare real ones.
    assert_close(np.asarray(out)[real_queries], np.asarray(expected_out)[real_queries])
    heads_first = lambda w: np.asarray(w).transpose(0, 2, 1, 3)  # noqa: E731  (B, T, h, S)
    assert_close(heads_first(weights)[real_queries], heads_first(expected_weights)[real_queries])
    assert np.all(heads_first(weights)[~real_queries] == 0.0)


def test_cross_attention_matches_keras_and_zeroes_padded_keys():
    ours, theirs, query, value = _ours_and_keras()
    value_mask = padding_mask([7, 4, 2], S)
    out, weights = ours(query, value, value_mask=value_mask)
    expected_out, expected_weights = theirs(
        query, value, value_mask=value_mask, return_attention_scores=True
    )
    assert_close(out, expected_out)
    assert_close(weights, expected_weights)
    padded_keys = np.broadcast_to(~value_mask[:, None, None, :], np.shape(weights))
    assert np.all(np.asarray(weights)[padded_keys] == 0.0)


def test_padding_the_keys_further_changes_nothing():
    layer = MaskedMultiHeadAttention(HEADS, KEY_DIM)
    query, value = random_array(B, T, D), random_array(B, S, D, seed=1)
    lengths = [7, 4, 2]
    out, _ = layer(query, value, value_mask=padding_mask(lengths, S))
    longer = np.concatenate([value, random_array(B, 5, D, seed=9)], axis=1)
    longer_out, _ = layer(query, longer, value_mask=padding_mask(lengths, S + 5))
    assert_close(longer_out, out)


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_future_tokens_cannot_reach_the_past(dropout):
    """Perturbing steps > t leaves outputs <= t unchanged, and their gradients are exactly zero,
    with dropout on and with the weights returned (keras#23038)."""
    layer = MaskedMultiHeadAttention(HEADS, KEY_DIM, dropout=dropout)
    x = random_array(B, T, D)
    t = 2
    out, weights = layer(x, x, use_causal_mask=True)
    perturbed = x.copy()
    perturbed[:, t + 1 :] += random_array(B, T - t - 1, D, seed=5)
    perturbed_out, _ = layer(perturbed, perturbed, use_causal_mask=True)
    assert_close(perturbed_out[:, : t + 1], out[:, : t + 1])
    assert np.all(np.triu(np.ones((T, T)), k=1)[None, None] * np.asarray(weights) == 0)

    x_var = tf.Variable(x)
    with tf.GradientTape() as tape:
        out, weights = layer(x_var, x_var, use_causal_mask=True, training=True)
        past = tf.reduce_sum(out[:, : t + 1] ** 2) + tf.reduce_sum(weights[:, :, : t + 1] ** 2)
    gradient = tape.gradient(past, x_var).numpy()
    assert np.all(gradient[:, t + 1 :] == 0.0)
    assert np.any(gradient[:, : t + 1] != 0.0)


def test_cached_self_attention_equals_full_causal_pass():
    layer = MaskedMultiHeadAttention(HEADS, KEY_DIM)
    x = random_array(B, T, D)
    full, full_weights = layer(x, x, use_causal_mask=True)
    cache = layer.empty_cache(B, T)
    for t in range(T):
        step, step_weights, cache = layer.call_with_cache(x[:, t : t + 1], cache, cache_update_index=t)
        assert_close(step[:, 0], full[:, t])
        assert_close(step_weights[:, :, 0], full_weights[:, :, t])


@pytest.mark.parametrize("start, steps", [(0, 1), (4, 1), (6, 1), (2, 3), (0, 7)])
def test_write_steps_writes_exactly_the_new_positions(start, steps):
    cache, new = random_array(B, S, HEADS, KEY_DIM), random_array(B, steps, HEADS, KEY_DIM, seed=1)
    expected = cache.copy()
    expected[:, start : start + steps] = new
    np.testing.assert_array_equal(write_steps(cache, new, start), expected)  # bit for bit


def test_a_compiled_cache_write_needs_no_xla():
    # On a SavedModel's first call TensorFlow compiles XlaDynamicUpdateSlice (what `ops.slice_update`
    # becomes), a second of a one-sentence translation's start; `write_steps` avoids it.
    spec = tf.TensorSpec([None, S, HEADS, KEY_DIM]), tf.TensorSpec([None, 1, HEADS, KEY_DIM])
    write = tf.function(write_steps).get_concrete_function(*spec, tf.TensorSpec([], tf.int32))
    assert not [op.type for op in write.graph.get_operations() if op.type.startswith("Xla")]
    cache, new = random_array(B, S, HEADS, KEY_DIM), random_array(B, 1, HEADS, KEY_DIM, seed=1)
    expected = cache.copy()
    expected[:, 3:4] = new
    np.testing.assert_array_equal(write(cache, new, tf.constant(3)), expected)


def test_cached_cross_attention_equals_full_pass():
    layer = MaskedMultiHeadAttention(HEADS, KEY_DIM)
    query, memory = random_array(B, T, D), random_array(B, S, D, seed=1)
    memory_mask = padding_mask([7, 4, 2], S)
    full, _ = layer(query, memory, value_mask=memory_mask)
    cache = layer.project_key_value(memory)
    step, _, _ = layer.call_with_cache(query[:, 2:3], cache, value_mask=memory_mask)
    assert_close(step[:, 0], full[:, 2])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_heads.*got 0"):
        MaskedMultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="dropout"):
        MaskedMultiHeadAttention(2, 4, dropout=1.5)
