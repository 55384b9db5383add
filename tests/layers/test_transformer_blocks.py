"""Transformer blocks: no peeking at the future, no reading padding, cache equals full pass, masks pass on."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

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


class PaddingMasker(keras.layers.Layer):
    """Returns `inputs` with `mask` attached as their implicit Keras mask, as Embedding(mask_zero=True)
    does for token ids, but for any content under the padding."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return ops.copy(inputs)


# Left padding in the first example, right padding in the second: causality alone hides neither
# from a bidirectional encoder, nor left padding from a causal decoder.
TARGET_MASK = np.array([[False, False, True, True, True, True], [True, True, True, True, False, False]])


def _padded_content(x, mask, seed):
    noisy = x.copy()
    noisy[~mask] = random_array(int((~mask).sum()), x.shape[-1], seed=seed)
    return noisy


def _masked_mean(x, mask):
    return (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


@pytest.mark.parametrize("with_encoder", [False, True])
def test_decoder_output_carries_the_target_mask_to_the_next_keras_layer(with_encoder):
    embedding = keras.layers.Embedding(20, D, mask_zero=True)
    block = TransformerDecoderBlock(HEADS, FF)
    pooling = keras.layers.GlobalAveragePooling1D()  # averages over unmasked steps only
    ids = np.where(TARGET_MASK, np.arange(1, T + 1)[None, :], 0)
    source_ids = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]])

    decoded, _ = block(embedding(ids), embedding(source_ids) if with_encoder else None)
    np.testing.assert_array_equal(np.asarray(decoded._keras_mask), TARGET_MASK)
    expected = _masked_mean(np.asarray(decoded), TARGET_MASK)
    assert_close(pooling(decoded), expected)
    assert np.abs(np.asarray(decoded).mean(1) - expected).max() > 1e-3  # a mask-blind average differs

    if with_encoder:  # in a functional model too (decoder-only, the block returns None weights)
        target_input, source_input = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
        symbolic, _ = block(embedding(target_input), embedding(source_input))
        assert symbolic._keras_mask is not None
        model = keras.Model([target_input, source_input], pooling(symbolic))
        assert_close(model([ids, source_ids]), expected)


@pytest.mark.parametrize("with_encoder", [False, True])
def test_decoder_padded_target_content_changes_no_real_output(with_encoder):
    block = TransformerDecoderBlock(HEADS, FF)
    target, noisy = random_array(B, T, D), _padded_content(random_array(B, T, D), TARGET_MASK, seed=3)
    source = random_array(B, S, D, seed=1) if with_encoder else None

    def decode(x):
        out, _ = block(PaddingMasker()(x, mask=TARGET_MASK), source)
        np.testing.assert_array_equal(np.asarray(out._keras_mask), TARGET_MASK)
        return np.asarray(out)

    assert_close(decode(noisy)[TARGET_MASK], decode(target)[TARGET_MASK])
    # Without the mask the padded content does reach real positions: the check above can fail.
    unmasked_difference = np.asarray(block(noisy, source)[0]) - np.asarray(block(target, source)[0])
    assert np.abs(unmasked_difference[TARGET_MASK]).max() > 1e-3


def test_encoder_implicit_mask_is_honoured_and_passes_on():
    encoder = TransformerEncoderBlock(HEADS, FF)
    x, noisy = random_array(B, T, D), _padded_content(random_array(B, T, D), TARGET_MASK, seed=4)

    def encode(x):
        out = encoder(PaddingMasker()(x, mask=TARGET_MASK))
        np.testing.assert_array_equal(np.asarray(out._keras_mask), TARGET_MASK)
        return np.asarray(out)

    assert_close(encode(noisy)[TARGET_MASK], encode(x)[TARGET_MASK])
    assert np.abs(np.asarray(encoder(noisy) - encoder(x))[TARGET_MASK]).max() > 1e-3


def test_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible by `num_heads`, got 3"):
        TransformerEncoderBlock(3, FF)(random_array(1, 2, D))
