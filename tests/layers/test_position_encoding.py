import keras_hub
import numpy as np
import pytest

from layers import SinusoidalPositionEncoding
from tests.helpers import assert_close, random_array


@pytest.mark.parametrize("depth", [8, 9, 64])
def test_matches_keras_hub(depth):
    x = random_array(2, 11, depth)
    expected = keras_hub.layers.SinePositionEncoding()(x)
    assert_close(SinusoidalPositionEncoding()(x), expected)


def test_start_index_encodes_later_positions():
    layer = SinusoidalPositionEncoding()
    full = np.asarray(layer(np.zeros((1, 10, 16))))
    assert_close(layer(np.zeros((1, 1, 16)), start_index=7), full[:, 7:8])
    assert_close(layer(np.zeros((1, 3, 16)), start_index=4), full[:, 4:7])


def test_sin_on_even_cos_on_odd():
    encoding = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, 5, 4))))[0]
    position = np.arange(5)
    assert_close(encoding[:, 0], np.sin(position))
    assert_close(encoding[:, 1], np.cos(position))
    assert_close(encoding[:, 2], np.sin(position / 10000 ** (2 / 4)))
    assert_close(encoding[:, 3], np.cos(position / 10000 ** (2 / 4)))
