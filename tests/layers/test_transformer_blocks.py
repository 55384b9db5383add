"""Transformer blocks: no peeking at the future, no reading padding, cache equals full pass."""

import numpy as np
import pytest
import tensorflow as tf

from layers import TransformerDecoderBlock, TransformerEncoderBlock
from tests.helpers import assert_close, padding_mask, random_array

B, T, S, D, HEADS, FF = 2, 6, 5, 8, 2, 16


def _decoder_stack(dropout=0.0, normalize_first=False):
    return [
        TransformerDecoderBlock(HEADS, FF, dropout=dropout, normalize_first=normalize_first) for _ in range(2)
    ]


def _run_stack(blocks, target, source, source_mask=None, training=False):
    weights = None
    for block in blocks:
        target, weights = block(target, source, encoder_sequence_mask=source_mask, training=training)
    return target, weights


@pytest.mark.parametrize("normalize_first", [False, True])
def test_decoder_future_tokens_do_not_change_the_past(normalize_first):
    blocks = _decoder_stack(normalize_first=normalize_first)
    target, source = random_array(B, T, D), random_array(B, S, D, seed=1)
    out, weights = _run_stack(blocks, target, source)
    for t in range(T - 1):
        perturbed = target.copy()
        perturbed[:, t + 1 :] = random_array(B, T - t - 1, D, seed=10 + t)
        perturbed_out, perturbed_weights = _run_stack(blocks, perturbed, source)
        assert_close(perturbed_out[:, : t + 1], out[:, : t + 1])
        assert_close(perturbed_weights[:, :, : t + 1], weights[:, :, : t + 1])


def test_decoder_future_gradients_are_zero_with_dropout_on():
    blocks = _decoder_stack(dropout=0.3)
    target = tf.Variable(random_array(B, T, D))
    source = random_array(B, S, D, seed=1)
    t = 2
    with tf.GradientTape() as tape:
        out, weights = _run_stack(blocks, target, source, training=True)
        past = tf.reduce_sum(out[:, : t + 1] ** 2) + tf.reduce_sum(weights[:, :, : t + 1] ** 2)
    gradient = tape.gradient(past, target).numpy()
    assert np.all(gradient[:, t + 1 :] == 0.0)
    assert np.any(gradient[:, : t + 1] != 0.0)


def test_source_padding_changes_nothing_and_gets_no_weight():
    encoder = TransformerEncoderBlock(HEADS, FF)
    blocks = _decoder_stack()
    target, source = random_array(B, T, D), random_array(B, S, D, seed=1)
    lengths = [5, 3]

    def translate(src, length):
        mask = padding_mask(lengths, length)
        memory = encoder(src, mask=mask)
        return _run_stack(blocks, target, memory, source_mask=mask)

    out, weights = translate(source, S)
    longer = np.concatenate([source, random_array(B, 4, D, seed=7)], axis=1)
    longer[1, 3:S] = random_array(2, D, seed=8)  # different content under the padding too
    longer_out, longer_weights = translate(longer, S + 4)
    assert_close(longer_out, out)
    assert np.all(np.asarray(longer_weights)[1, :, :, 3:] == 0.0)


def test_encoder_padding_changes_no_real_position():
    encoder = TransformerEncoderBlock(HEADS, FF)
    x = random_array(B, S, D)
    mask = padding_mask([5, 2], S)
    out = np.asarray(encoder(x, mask=mask))
    noisy = x.copy()
    noisy[1, 2:] = random_array(3, D, seed=3)
    assert_close(np.asarray(encoder(noisy, mask=mask))[mask], out[mask])


@pytest.mark.parametrize("with_encoder", [True, False])
def test_cached_decoding_equals_full_causal_pass(with_encoder):
    blocks = _decoder_stack()
    target = random_array(B, T, D)
    source = random_array(B, S, D, seed=1) if with_encoder else None
    source_mask = padding_mask([5, 3], S) if with_encoder else None
    full, full_weights = _run_stack(blocks, target, source, source_mask)

    self_caches = [block.empty_self_attention_cache(B, T) for block in blocks]
    cross_caches = [block.cross_attention_cache(source) if with_encoder else None for block in blocks]
    for t in range(T):
        y = target[:, t : t + 1]
        for i, block in enumerate(blocks):
            y, weights, self_caches[i] = block.call_with_cache(
                y, self_caches[i], t, cross_caches[i], encoder_sequence_mask=source_mask
            )
        assert_close(y[:, 0], full[:, t])
        if with_encoder:
            assert_close(weights[:, :, 0], full_weights[:, :, t])


def test_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible by `num_heads`, got 3"):
        TransformerEncoderBlock(3, FF)(random_array(1, 2, D))
