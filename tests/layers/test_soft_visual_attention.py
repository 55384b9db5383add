import numpy as np

from layers import SoftVisualAttention
from tests.helpers import assert_close, random_array

B, L, C, H, U = 2, 49, 6, 5, 8


def test_context_is_beta_times_the_attention_average():
    layer = SoftVisualAttention(U)
    state, grid = random_array(B, H), random_array(B, L, C, seed=1)
    context, alpha = layer(state, grid)
    alpha = np.asarray(alpha)
    assert alpha.shape == (B, L)
    assert_close(alpha.sum(-1), np.ones(B))
    gate = layer.gate
    beta = 1 / (1 + np.exp(-(state @ np.asarray(gate.kernel) + np.asarray(gate.bias))))  # (B, 1)
    assert np.all((beta > 0) & (beta < 1))
    assert_close(context, beta * np.einsum("bl,blc->bc", alpha, grid))


def test_precomputed_features_give_the_same_result():
    layer = SoftVisualAttention(U)
    state, grid = random_array(B, H), random_array(B, L, C, seed=1)
    context, alpha = layer(state, grid)
    cached_context, cached_alpha = layer(state, grid, projected_features=layer.project_features(grid))
    assert_close(cached_context, context)
    assert_close(cached_alpha, alpha)
