"""Shared training set-up: resumable backups and the label-smoothed loss."""

import keras
import numpy as np
import pytest

from apps.common import training
from apps.common.cli import UserError


class _StopAfter(keras.callbacks.Callback):
    """Raises after `epochs` epochs, as a killed process would stop (the backup is left behind)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def _tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _fit(model, out_dir, epochs, extra=()):
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    callbacks = [*training.training_callbacks(str(out_dir)), *extra]
    return model.fit(x, y, validation_data=(x, y), epochs=epochs, verbose=0, callbacks=callbacks)


def test_a_backup_torn_by_a_kill_resumes_from_the_epoch_before(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(_tiny_model(), tmp_path, epochs=10, extra=[_StopAfter(3)])
    latest = tmp_path / "backup" / "latest.weights.h5"
    assert latest.exists()
    latest.write_bytes(latest.read_bytes()[:100])  # killed in the middle of writing epoch 3's backup

    history = _fit(_tiny_model(), tmp_path, epochs=5)
    assert history.epoch == [2, 3, 4]  # epoch 3 (index 2) is trained again; epochs 1-2 are not


def test_label_smoothing_zero_is_the_plain_loss_and_smoothing_raises_a_confident_loss():
    y_true = np.array([[3, 1, 0]])  # the last position is padding
    logits = np.zeros((1, 3, 5), "float32")
    logits[0, 0, 3] = logits[0, 1, 1] = 8.0  # confident and right
    plain = float(training.masked_loss(y_true, logits))
    assert float(training.smoothed_masked_loss(0.0)(y_true, logits)) == plain
    smoothed = float(training.smoothed_masked_loss(0.1)(y_true, logits))
    # By hand: -log p(right) = log(1 + 4e^-8); -mean log p = 8 * 4/5 + log(1 + 4e^-8).
    right = np.log1p(4 * np.exp(-8.0))
    np.testing.assert_allclose(smoothed, 0.9 * right + 0.1 * (8 * 4 / 5 + right), rtol=1e-5)
    assert smoothed > plain
    with pytest.raises(UserError, match="label-smoothing"):
        training.smoothed_masked_loss(1.0)
