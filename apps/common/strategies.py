"""The `tf.distribute` strategies a training run can use, by name (`train --strategy`).

Apart from `apps/common/training.py`, so that a command which only reads its arguments (`predict`
builds the full parser) does not import Keras for the strategy names.
"""

import os

from apps.common.cli import UserError

STRATEGIES = ("default", "mirrored", "multi-worker")


def make_strategy(name):
    """A `tf.distribute` strategy by name.

    default: one device. mirrored: synchronous data parallelism over the local devices (GPUs,
    or logical CPUs). multi-worker: the same over the machines described by `TF_CONFIG`.
    """
    import tensorflow as tf  # here: every command imports this module for its parser

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # The GPUs if any, else every logical CPU device (tests split the CPU into two).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy multi-worker needs the TF_CONFIG environment variable (cluster spec)")
        return _multi_worker_strategy(tf)
    raise UserError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {name!r}")


def _multi_worker_strategy(tf):
    """`tf.distribute.MultiWorkerMirroredStrategy` that takes the two `reduce` calls of Keras' `fit`.

    With two or more workers, Keras 3.15's `fit` (TensorFlow 2.21) fails on its first batch with
    the stock strategy, in two places:
    - To build the model it averages the first batch, a nest `(x, y)` of per-replica values, and
      reads the shapes and dtypes of the result (`_maybe_symbolic_build`). `MirroredStrategy`
      averages a nest leaf by leaf over its replicas; the multi-worker strategy tries to make one
      tensor of it ("Attempt to convert a value (PerReplica...)"). Here a nest is averaged the
      way `MirroredStrategy` does it, over this worker's replicas, with no communication:
      averaging across workers would fail whenever their batches differ in shape, as
      length-bucketed batches do.
    - It averages each log (the loss and metrics, scalars) over replicas with `axis=0`, which a
      scalar does not have ("Invalid reduction dimension 0 for input with 0 dimensions"). Here
      a scalar is averaged over the replicas of all workers.
    Everything else is the stock strategy.
    """

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            if isinstance(reduce_op, str):
                reduce_op = tf.distribute.ReduceOp(reduce_op.upper())
            if tf.nest.is_nested(value) and reduce_op == tf.distribute.ReduceOp.MEAN:
                return tf.nest.map_structure(self._local_mean, value)
            if axis is not None and self.experimental_local_results(value)[0].shape.rank == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

        def _local_mean(self, value):
            if not isinstance(value, tf.distribute.DistributedValues):
                return value
            return tf.reduce_mean(tf.stack(self.experimental_local_results(value)), axis=0)

    return MultiWorkerMirroredStrategy()
