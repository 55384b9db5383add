"""Shared test helpers: tolerances, deterministic inputs and a save/reload check."""

import keras
import numpy as np

ATOL = 1e-5  # float32 agreement between two implementations of the same math


def random_array(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def padding_mask(lengths, max_length):
    """(B, max_length) bool, True for the first `lengths[b]` positions."""
    return np.arange(max_length)[None, :] < np.asarray(lengths)[:, None]


def assert_close(actual, expected, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=atol, rtol=1e-4)


def assert_model_roundtrip(model, inputs, tmp_path):
    """Saves `model` as .keras, reloads it, and checks the outputs are identical."""
    path = str(tmp_path / "model.keras")
    expected = model(inputs, training=False)
    model.save(path)
    restored = keras.saving.load_model(path)
    actual = restored(inputs, training=False)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), atol=1e-6)
    return restored
