"""Shared training set-up: resumable backups, the learning-rate schedule and the label-smoothed loss."""

import csv
import json
import math
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from apps.common import training
from apps.common.cli import UserError

REPO = Path(__file__).resolve().parents[2]


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


# A run of `training_callbacks` that can SIGKILL itself at the end of an epoch: the killer comes
# after them in the list, so that epoch's backup and CSV row are written when the process dies,
# as after a kill at any moment between two backups. No timing is involved. Everything is
# seeded and the batches come in a fixed order, so two runs do the same arithmetic.
RESUMABLE_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    import keras
    import numpy as np
    from apps.common import training

    out, epochs, kill_after_epoch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == kill_after_epoch:
                os.kill(os.getpid(), signal.SIGKILL)  # no clean-up at all, as if the machine went away

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, (32, 3)).astype("float32")
    y = np.sin(x @ np.array([[1.0], [-2.0], [0.5]], "float32"))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    # Adam and the schedule both carry state (moments, iteration count) that the backup must restore.
    model.compile(optimizer=keras.optimizers.Adam(training.WarmupInverseSqrt(0.02, warmup_steps=8)), loss="mse")
    history = model.fit(x, y, validation_data=(x, y), batch_size=8, shuffle=False, epochs=epochs, verbose=0,
                        callbacks=[*training.training_callbacks(out), KillAfter()])
    np.savez(os.path.join(out, "final.npz"), *model.get_weights())
    with open(os.path.join(out, "epochs.json"), "w") as f:
        json.dump(history.epoch, f)
    """
)
EPOCHS = 6


def _resumable_run(out, kill_after_epoch=-1):
    return subprocess.run([sys.executable, "-c", RESUMABLE_RUN, str(out), str(EPOCHS), str(kill_after_epoch)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def _csv_rows(out):
    with open(out / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_run_killed_after_an_epoch_resumes_at_the_next_and_ends_as_if_never_killed(tmp_path):
    killed = _resumable_run(tmp_path / "killed", kill_after_epoch=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert json.loads((tmp_path / "killed" / "backup" / "training_metadata.json").read_text())["epoch"] == 3
    assert [row["epoch"] for row in _csv_rows(tmp_path / "killed")] == ["0", "1", "2"]

    resumed = _resumable_run(tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((tmp_path / "killed" / "epochs.json").read_text()) == [3, 4, 5]  # exactly where it stopped
    assert [row["epoch"] for row in _csv_rows(tmp_path / "killed")] == [str(e) for e in range(EPOCHS)]

    never_killed = _resumable_run(tmp_path / "whole")
    assert never_killed.returncode == 0, never_killed.stderr[-3000:]
    losses = [float(row["val_loss"]) for row in _csv_rows(tmp_path / "whole")]
    # Early stopping restores the best epoch's weights, and its memory of the best does not survive
    # a restart: the comparison below holds because the last epoch is the best.
    assert losses == sorted(losses, reverse=True), losses
    # Same seed, same batches, same operations on one CPU: the same bits, not just close.
    with np.load(tmp_path / "whole" / "final.npz") as whole, np.load(tmp_path / "killed" / "final.npz") as after:
        assert len(whole.files) == len(after.files) == 4
        for name in whole.files:
            np.testing.assert_array_equal(after[name], whole[name], err_msg=name)
    assert [row["val_loss"] for row in _csv_rows(tmp_path / "killed")] == [row["val_loss"] for row in
                                                                            _csv_rows(tmp_path / "whole")]


@pytest.mark.parametrize("iteration, expected", [
    # step = iteration + 1 (the first update is step 1); peak 1e-3 reached at step 4 = warmup_steps.
    (0, 0.25e-3),  # 1/4 of the peak
    (1, 0.50e-3),
    (2, 0.75e-3),
    (3, 1.00e-3),  # the peak
    (4, 1e-3 * math.sqrt(4 / 5)),
    (15, 0.50e-3),  # step 16: sqrt(4 / 16) = 1/2
    (99, 0.20e-3),  # step 100: sqrt(4 / 100) = 1/5
    (399, 0.10e-3),  # step 400: sqrt(4 / 400) = 1/10
])
def test_warmup_inverse_sqrt_by_hand(iteration, expected):
    schedule = training.WarmupInverseSqrt(1e-3, warmup_steps=4)
    assert float(schedule(iteration)) == pytest.approx(expected, rel=1e-6)


def test_warmup_inverse_sqrt_survives_a_saved_optimizer(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(training.WarmupInverseSqrt(1e-3, warmup_steps=4)), loss="mse")
    model.fit(np.ones((12, 3), "float32"), np.ones((12, 1), "float32"), batch_size=2, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 6
    model.save(tmp_path / "model.keras")  # with its optimizer, the default

    restored = keras.saving.load_model(tmp_path / "model.keras")  # no custom_objects: the class is registered
    schedule = restored.optimizer._learning_rate
    assert isinstance(schedule, training.WarmupInverseSqrt)
    assert schedule.get_config() == {"peak": 1e-3, "warmup_steps": 4}
    assert int(restored.optimizer.iterations) == 6
    # The learning rate of the next update (step 7): 1e-3 * sqrt(4 / 7), before and after.
    assert float(restored.optimizer.learning_rate) == float(model.optimizer.learning_rate)
    assert float(restored.optimizer.learning_rate) == pytest.approx(1e-3 * math.sqrt(4 / 7), rel=1e-6)
    for iteration in (0, 3, 50):
        assert float(schedule(iteration)) == float(model.optimizer._learning_rate(iteration))


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


def test_under_two_replicas_the_loss_and_the_clipping_are_those_of_the_whole_batch():
    # Two replicas whose gradients are 3 and 5 (scaled by 1/2, as Keras scales each replica's
    # loss): the batch's gradient is 4, clipped to 1. Keras' own Adam clips each half to 1 and
    # steps on their sum, 2: twice the step of one device.
    script = textwrap.dedent(
        """
        import runtime
        runtime.quiet_tensorflow()
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        from apps.common import training

        def step(optimizer_class, strategy):
            with strategy.scope():
                variable = keras.Variable(np.zeros(1, "float32"))
                # A large epsilon makes Adam's first step grow with the gradient (`first_step`).
                optimizer = optimizer_class(learning_rate=1.0, clipnorm=1.0, epsilon=100.0)
                optimizer.build([variable])

            @tf.function
            def run():
                def replica():
                    index = tf.distribute.get_replica_context().replica_id_in_sync_group
                    gradient = tf.where(index == 0, 3.0, 5.0) / strategy.num_replicas_in_sync
                    optimizer.apply([tf.reshape(gradient, [1])], [variable])
                strategy.run(replica)
            run()
            return float(variable.numpy()[0])

        mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        print("ours", step(training.Adam, mirrored), "keras", step(keras.optimizers.Adam, mirrored))

        # The masked loss: replica 0 holds one real token (loss 1), replica 1 three (loss 5 each).
        @tf.function
        def losses():
            def replica():
                index = tf.distribute.get_replica_context().replica_id_in_sync_group
                y_true = tf.where(index == 0, tf.constant([[7, 0, 0]]), tf.constant([[7, 7, 7]]))
                per_token = tf.where(index == 0, 1.0, 5.0) * tf.ones((1, 3))
                return training._masked_mean(per_token, y_true)
            # The replicas' losses add up (as their gradients do): Keras does not scale a scalar loss.
            return mirrored.reduce("SUM", mirrored.run(replica), axis=None)
        print("loss", float(losses()))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    words = result.stdout.split()
    ours, stock = float(words[words.index("ours") + 1]), float(words[words.index("keras") + 1])

    def first_step(g, beta_1=0.9, beta_2=0.999, epsilon=100.0):  # Keras' Adam, from zero moments
        m, v = (1 - beta_1) * g, (1 - beta_2) * g * g
        return -m * math.sqrt(1 - beta_2) / (1 - beta_1) / (math.sqrt(v) + epsilon)

    assert ours == pytest.approx(first_step(1.0), rel=1e-4)  # the batch's gradient, 4, clipped to 1
    assert stock == pytest.approx(first_step(2.0), rel=1e-4)  # each half clipped to 1, then summed
    # The batch's token mean, (1 + 3 * 5) / 4 = 4, not the sum of the replicas' means, 1 + 5 = 6.
    assert float(words[words.index("loss") + 1]) == pytest.approx(4.0)
