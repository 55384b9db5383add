import numpy as np

from layers import AttentionPooling
from tests.helpers import assert_close, padding_mask, random_array

B, T, H, U = 3, 6, 5, 7


def _reference(layer, sequence, mask):
    """alpha = softmax(v^T tanh(W h + b)) over real steps, c = sum alpha h, in NumPy."""
    w, b = np.asarray(layer.projection.kernel), np.asarray(layer.projection.bias)
    v = np.asarray(layer.score_vector.kernel)[:, 0]
    scores = np.where(mask, np.tanh(sequence @ w + b) @ v, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bt,bth->bh", weights, sequence), weights


def test_matches_numpy_reference_padding_gets_exactly_zero_and_weights_sum_to_one():
    layer = AttentionPooling(U)
    sequence, mask = random_array(B, T, H), padding_mask([6, 3, 1], T)
    pooled, weights = layer(sequence, mask=mask)
    expected_pooled, expected_weights = _reference(layer, sequence, mask)
    assert_close(pooled, expected_pooled)
    assert_close(weights, expected_weights)
    weights = np.asarray(weights)
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_changing_padded_steps_changes_nothing():
    layer = AttentionPooling(U)
    sequence, mask = random_array(B, T, H), padding_mask([6, 3, 1], T)
    pooled, weights = layer(sequence, mask=mask)
    perturbed = np.where(mask[:, :, None], sequence, 100.0 * random_array(B, T, H, seed=3))
    perturbed_pooled, perturbed_weights = layer(perturbed, mask=mask)
    assert_close(perturbed_pooled, pooled)
    assert_close(perturbed_weights, weights)
    # ...while a real step does move the output.
    assert not np.allclose(np.asarray(layer(sequence + 1.0, mask=mask)[0]), np.asarray(pooled))


def test_a_sequence_with_no_real_step_pools_to_zero_not_nan():
    pooled, weights = AttentionPooling(U)(random_array(2, T, H), mask=np.zeros((2, T), bool))
    assert np.all(np.asarray(pooled) == 0.0) and np.all(np.asarray(weights) == 0.0)


def test_the_implicit_keras_mask_is_used():
    import keras

    ids = np.array([[3, 4, 5, 0, 0]])
    embedded = keras.layers.Embedding(10, H, mask_zero=True)
    layer = AttentionPooling(U)
    _, implicit = layer(embedded(ids))
    _, explicit = layer(embedded(ids), mask=ids != 0)
    assert_close(implicit, explicit)
    assert np.all(np.asarray(implicit)[0, 3:] == 0.0)
