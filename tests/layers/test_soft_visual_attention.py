import numpy as np
import pytest

from layers import SoftVisualAttention
from tests.helpers import assert_close, random_array

B, L, C, H, U = 4, 49, 6, 5, 8


def _reference(layer, state, grid):
    """Show, Attend and Tell's soft attention in NumPy, from the layer's weights: (context, alpha, beta).

    e_i = v^T tanh(W_a a_i + W_h h + b), alpha = softmax(e), beta = sigmoid(w_b . h + b_b),
    z = beta * sum_i alpha_i a_i, for a (B, H) state.
    """
    attention = layer.attention
    w_h = np.asarray(attention.query_projection.kernel)
    w_a, b = np.asarray(attention.key_projection.kernel), np.asarray(attention.key_projection.bias)
    v = np.asarray(attention.score_vector.kernel)[:, 0]
    scores = np.tanh((state @ w_h)[:, None, :] + grid @ w_a + b) @ v  # (B, L)
    alpha = np.exp(scores - scores.max(-1, keepdims=True))
    alpha /= alpha.sum(-1, keepdims=True)
    beta = 1 / (1 + np.exp(-(state @ np.asarray(layer.gate.kernel) + np.asarray(layer.gate.bias))))  # (B, 1)
    return beta * np.einsum("bl,blc->bc", alpha, grid), alpha, beta


def _layer_with_a_known_gate(state, grid):
    layer = SoftVisualAttention(U)
    layer(state, grid)  # builds
    # Known, non-trivial gate weights, so that beta is neither 0 nor 1 nor the same for every example.
    layer.gate.set_weights([np.array([[0.9], [-0.7], [0.5], [-0.3], [0.2]], "float32"), np.array([0.2], "float32")])
    return layer


def test_context_is_beta_times_the_attention_average():
    state, grid = random_array(B, H), random_array(B, L, C, seed=1)
    layer = _layer_with_a_known_gate(state, grid)
    expected_context, expected_alpha, beta = _reference(layer, state, grid)
    assert np.all((beta > 0.1) & (beta < 0.9)) and np.ptp(beta) > 0.2, beta.ravel()

    context, alpha = layer(state, grid)
    assert alpha.shape == (B, L)
    assert_close(np.asarray(alpha).sum(-1), np.ones(B))
    assert_close(alpha, expected_alpha)
    assert_close(context, expected_context)
    # The gate really counts: the ungated average, or one beta for the whole batch, is far off.
    ungated = expected_context / beta
    assert np.abs(np.asarray(context) - ungated).min(-1).max() > 1e-2
    assert np.abs(np.asarray(context) - beta.mean() * ungated).max() > 1e-2


@pytest.mark.parametrize("steps", [1, 3])
def test_a_time_axis_equals_one_state_at_a_time(steps):
    state, grid = random_array(B, steps, H), random_array(B, L, C, seed=1)
    layer = _layer_with_a_known_gate(state[:, 0], grid)
    contexts, alphas = layer(state, grid)
    assert contexts.shape == (B, steps, C) and alphas.shape == (B, steps, L)
    for t in range(steps):
        expected_context, expected_alpha, _ = _reference(layer, state[:, t], grid)
        assert_close(contexts[:, t], expected_context)
        assert_close(alphas[:, t], expected_alpha)


def test_precomputed_features_give_the_same_result():
    layer = SoftVisualAttention(U)
    state, grid = random_array(B, H), random_array(B, L, C, seed=1)
    context, alpha = layer(state, grid)
    cached_context, cached_alpha = layer(state, grid, projected_features=layer.project_features(grid))
    assert_close(cached_context, context)
    assert_close(cached_alpha, alpha)
