"""Our Transformer blocks against keras-hub's TransformerEncoder / TransformerDecoder, same weights."""

import keras_hub
import numpy as np

from layers import TransformerDecoderBlock, TransformerEncoderBlock
from tests.helpers import assert_close, padding_mask, random_array

B, T, S, D, HEADS, FF = 2, 5, 6, 8, 2, 16


def _copy_attention(theirs, ours):
    # keras-hub (Keras MHA) keeps (D, h, d) / (h, d, D) kernels; ours fuse the heads.
    for dense_theirs, dense_ours in (
        (theirs._query_dense, ours.query_dense),
        (theirs._key_dense, ours.key_dense),
        (theirs._value_dense, ours.value_dense),
        (theirs._output_dense, ours.output_dense),
    ):
        dense_ours.set_weights(
            [w.reshape(v.shape) for w, v in zip(dense_theirs.get_weights(), dense_ours.get_weights(), strict=True)]
        )


def _copy_common(theirs, ours):
    _copy_attention(theirs._self_attention_layer, ours.self_attention)
    ours.self_attention_norm.set_weights(theirs._self_attention_layer_norm.get_weights())
    ours.feed_forward.inner.set_weights(theirs._feedforward_intermediate_dense.get_weights())
    ours.feed_forward.outer.set_weights(theirs._feedforward_output_dense.get_weights())
    ours.feed_forward_norm.set_weights(theirs._feedforward_layer_norm.get_weights())


def _randomize(layer):
    layer.set_weights([random_array(*w.shape, seed=i) * 0.3 for i, w in enumerate(layer.get_weights())])


def test_encoder_block_matches_keras_hub():
    theirs = keras_hub.layers.TransformerEncoder(FF, HEADS, activation="relu", layer_norm_epsilon=1e-5)
    ours = TransformerEncoderBlock(HEADS, FF, layer_norm_epsilon=1e-5)
    x, mask = random_array(B, S, D), padding_mask([6, 3], S)
    theirs(x)
    ours(x)
    _randomize(theirs)
    _copy_common(theirs, ours)
    expected = np.asarray(theirs(x, padding_mask=mask))
    assert_close(np.asarray(ours(x, mask=mask))[mask], expected[mask])


def test_decoder_block_matches_keras_hub():
    theirs = keras_hub.layers.TransformerDecoder(FF, HEADS, activation="relu", layer_norm_epsilon=1e-5)
    ours = TransformerDecoderBlock(HEADS, FF, layer_norm_epsilon=1e-5)
    target, source = random_array(B, T, D), random_array(B, S, D, seed=1)
    target_mask, source_mask = padding_mask([5, 3], T), padding_mask([6, 2], S)
    theirs(target, source)
    ours(target, source)
    _randomize(theirs)
    _copy_common(theirs, ours)
    _copy_attention(theirs._cross_attention_layer, ours.cross_attention)
    ours.cross_attention_norm.set_weights(theirs._cross_attention_layer_norm.get_weights())
    expected = np.asarray(theirs(target, source, decoder_padding_mask=target_mask, encoder_padding_mask=source_mask))
    actual, _ = ours(target, source, decoder_sequence_mask=target_mask, encoder_sequence_mask=source_mask)
    assert_close(np.asarray(actual)[target_mask], expected[target_mask])
