import keras
import numpy as np

from layers import BahdanauAttention
from tests.helpers import assert_close, assert_model_roundtrip, padding_mask, random_array

B, S, H, K, U = 3, 6, 5, 4, 7


def _reference(layer, query, keys, mask):
    """score = v^T tanh(W1 q + W2 k + b), in NumPy."""
    w1 = np.asarray(layer.query_projection.kernel)
    w2, b = np.asarray(layer.key_projection.kernel), np.asarray(layer.key_projection.bias)
    v = np.asarray(layer.score_vector.kernel)[:, 0]
    scores = np.tanh((query @ w1)[:, None, :] + keys @ w2 + b) @ v  # (B, S)
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bs,bsk->bk", weights, keys), weights


def test_matches_numpy_reference_and_ignores_padding():
    layer = BahdanauAttention(U)
    query, keys = random_array(B, H), random_array(B, S, K, seed=1)
    mask = padding_mask([6, 3, 1], S)
    context, weights = layer(query, keys, keys_mask=mask)
    expected_context, expected_weights = _reference(layer, query, keys, mask)
    assert_close(context, expected_context)
    assert_close(weights, expected_weights)
    assert np.all(np.asarray(weights)[~mask] == 0.0)


def test_more_padding_changes_nothing():
    layer = BahdanauAttention(U)
    query, keys = random_array(B, H), random_array(B, S, K, seed=1)
    mask = padding_mask([6, 3, 1], S)
    context, weights = layer(query, keys, keys_mask=mask)
    longer_keys = np.concatenate([keys, random_array(B, 4, K, seed=2)], axis=1)
    longer_context, longer_weights = layer(query, longer_keys, keys_mask=padding_mask([6, 3, 1], S + 4))
    assert_close(longer_context, context)
    assert_close(np.asarray(longer_weights)[:, :S], weights)


def test_query_sequence_equals_one_query_at_a_time():
    layer = BahdanauAttention(U)
    queries, keys = random_array(B, 3, H), random_array(B, S, K, seed=1)
    contexts, weights = layer(queries, keys)
    for t in range(3):
        context_t, weights_t = layer(queries[:, t], keys)
        assert_close(contexts[:, t], context_t)
        assert_close(weights[:, t], weights_t)


def test_implicit_keras_mask_reaches_the_keys(tmp_path):
    tokens = keras.Input((None,), dtype="int32")
    query = keras.Input((H,))
    keys = keras.layers.Embedding(10, K, mask_zero=True)(tokens)
    context, weights = BahdanauAttention(U)(query, keys)
    model = keras.Model([tokens, query], [context, weights])
    ids = np.array([[3, 4, 0, 0], [5, 6, 7, 0]])
    _, w = model([ids, random_array(2, H)])
    assert np.all(np.asarray(w)[ids == 0] == 0.0)
    assert_model_roundtrip(model, [ids, random_array(2, H)], tmp_path)
