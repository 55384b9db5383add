"""Training set-up shared by the apps: callbacks, schedules, masked metrics.

Backend-agnostic (`keras.ops`); the `tf.distribute` strategies are in `apps/common/strategies.py`.
"""

import os

import keras
from keras import ops

from apps.common.cli import UserError


def training_callbacks(out_dir, patience=3, max_minutes=None, tensorboard=True):
    """Resumable, observable training: backups, logs, early stopping on validation loss.

    A killed run restarts from its last finished epoch when the same command is run again:
    `BackupAndRestore` writes a backup after every epoch and keeps the one before, so a kill in
    the middle of a write resumes from the previous epoch instead of failing on a truncated
    file. Early stopping restores the best weights; `max_minutes` stops after that much wall
    time; TensorBoard logs go to `<out_dir>/logs` (not on the portable trainer's machine).
    """
    from apps.common.model_directory import HISTORY_FILE

    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"), double_checkpoint=True),
        *([keras.callbacks.TensorBoard(os.path.join(out_dir, "logs"))] if tensorboard else []),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(os.path.join(out_dir, HISTORY_FILE), append=True),
    ]
    if max_minutes:
        callbacks.append(TimeBudget(max_minutes))
    return callbacks


def run_record(command, history, started, **details):
    """The provenance of one training run, for config.json's "training"."""
    import math
    import time

    return {
        "command": command,
        **details,
        "epochs_this_run": len(history.epoch),
        "wall_time_seconds_this_run": round(time.time() - started),
        "final_validation_loss": float(min(history.history.get("val_loss", [math.nan]))),
    }


@keras.saving.register_keras_serializable(package="seqmodels")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose `clipnorm` bounds the gradient of the whole batch under a
    multi-replica `tf.distribute` strategy, as on one device.

    Keras 3 (TensorFlow backend) clips each replica's gradient and then sums them over the
    replicas (`_backend_apply_gradients` clips, `_backend_update_step` all-reduces), so with two
    replicas each half-batch's gradient is clipped to `clipnorm` and their sum may reach twice
    it: a mirrored run took other steps than one device (tensorflow/tensorflow#33929 calls
    clipping before aggregation "usually wrong"). Here the replicas sum first, the sum is
    clipped, and each replica passes on its share, 1/replicas of it, which the optimizer's own
    all-reduce adds back up. One device, or another backend, is plain Adam.
    """

    def _clip_gradients(self, grads):
        if not (self.clipnorm or self.global_clipnorm or self.clipvalue):
            return super()._clip_gradients(grads)
        import tensorflow as tf

        context = _multi_replica_context()
        if context is None:
            return super()._clip_gradients(grads)
        replicas = context.num_replicas_in_sync
        present = [i for i, g in enumerate(grads) if g is not None]
        summed = list(grads)
        for i, g in zip(present, context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present]),
                        strict=True):
            summed[i] = g
        clipped = super()._clip_gradients(summed)
        return [None if g is None else _scaled(g, 1.0 / replicas) for g in clipped]


def _scaled(gradient, factor):
    """`gradient * factor`, for a dense gradient or an embedding's `tf.IndexedSlices`."""
    import tensorflow as tf

    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values * factor, gradient.indices, gradient.dense_shape)
    return gradient * factor


@keras.saving.register_keras_serializable(package="seqmodels")
class WarmupInverseSqrt(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then peak * sqrt(warmup_steps / step).

    The Transformer recipe (Vaswani et al. 2017, 5.3), with the peak given directly.
    """

    def __init__(self, peak, warmup_steps):
        self.peak, self.warmup_steps = peak, warmup_steps

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = ops.cast(self.warmup_steps, "float32")
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def masked_loss(y_true, y_pred):
    """Cross-entropy over real target tokens; id 0 (padding) does not count."""
    loss = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
    return _masked_mean(loss, y_true)


def smoothed_masked_loss(label_smoothing):
    """`masked_loss` against targets smoothed towards uniform (Szegedy et al. 2016).

        loss = (1 - eps) * -log p(y) + eps * mean_v(-log p(v))

    The Transformer recipe uses eps = 0.1: the model is kept from growing over-confident,
    which helps beam search and BLEU at some cost in perplexity. eps = 0 is `masked_loss`.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise UserError(f"--label-smoothing must be in [0, 1), got {label_smoothing}")
    if label_smoothing == 0.0:
        return masked_loss

    def smoothed_loss(y_true, y_pred):
        log_probs = ops.log_softmax(y_pred, axis=-1)
        true_log_probs = ops.take_along_axis(log_probs, ops.cast(y_true, "int32")[..., None], axis=-1)[..., 0]
        loss = -(1.0 - label_smoothing) * true_log_probs - label_smoothing * ops.mean(log_probs, axis=-1)
        return _masked_mean(loss, y_true)

    return smoothed_loss


def _masked_mean(loss, y_true):
    """The mean of `loss` over the real (not padding) tokens of the whole batch."""
    return batch_mean(loss, ops.cast(ops.not_equal(y_true, 0), loss.dtype))


def batch_mean(values, weights=None):
    """The (weighted) mean of `values` over the whole batch, as a loss function returns it.

    Under a multi-replica strategy each replica sees part of the batch and the replicas'
    gradients are summed. Keras divides a loss by the replica count only when it reduces the loss
    itself, never a scalar returned by the loss function (`keras.losses.loss.reduce_values`): a
    replica's own mean made the step R times too large, and weighed an element of a small part
    more than one of a large part. So each replica divides its sum by the batch's count (or total
    weight), summed over the replicas: the replicas' gradients add up to one device's.
    """
    weights = ops.ones_like(values) if weights is None else ops.cast(weights, values.dtype)
    return ops.sum(values * weights) / ops.maximum(_summed_over_replicas(ops.sum(weights)), 1e-12)


def _summed_over_replicas(value):
    """`value` summed over the replicas inside a multi-replica `tf.distribute` step; `value`
    elsewhere (one device, another backend)."""
    context = _multi_replica_context()
    if context is None:
        return value
    import tensorflow as tf

    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _multi_replica_context():
    """The replica context of a `tf.distribute` step with several replicas, else None (one
    device, outside a step, or a backend other than TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context if context is not None and context.num_replicas_in_sync > 1 else None


def masked_accuracy(y_true, y_pred):
    """Token accuracy over real target tokens (teacher-forced)."""
    y_true = ops.cast(y_true, "int32")
    correct = ops.cast(ops.equal(y_true, ops.cast(ops.argmax(y_pred, axis=-1), "int32")), "float32")
    mask = ops.cast(ops.not_equal(y_true, 0), "float32")
    return ops.sum(correct * mask) / ops.maximum(ops.sum(mask), 1.0)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after `minutes` of wall time (checked after every batch).

    Gives two models the same compute budget on the same machine.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = minutes * 60.0

    def on_train_begin(self, logs=None):
        import time

        self._clock, self._start = time.monotonic, time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self._clock() - self._start > self.seconds:
            self.model.stop_training = True
