"""`make_strategy("multi-worker")` for real: two worker processes on localhost, collectives over gRPC.

Each worker is its own Python process with its own `TF_CONFIG`, as on two machines. They read the
same dataset, which `tf.distribute` shards between them, so each worker computes gradients on
different examples: only the all-reduce can make their weights agree at the end.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2
GLOBAL_BATCH = 8
STEPS = 6
LEARNING_RATE = 0.1
TIMEOUT_S = 90  # for both workers together; they start, connect and train in about 20 s

# One worker: a linear model trained a few SGD steps on a fixed regression problem. The seed
# differs per worker on purpose: the strategy broadcasts worker 0's initial weights.
WORKER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import runtime
    runtime.quiet_tensorflow()
    import keras
    import numpy as np
    import tensorflow as tf
    from apps.common.strategies import make_strategy

    out, batch, steps, learning_rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    strategy = make_strategy("multi-worker")  # first, before any other TensorFlow op
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    keras.utils.set_random_seed(index)

    x = np.linspace(-1.0, 1.0, batch * steps * 4, dtype="float32").reshape(-1, 4)
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.25
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).with_options(options)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    initial = model.get_weights()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    np.savez(out, x=x, y=y, initial_kernel=initial[0], initial_bias=initial[1],
             kernel=model.get_weights()[0], bias=model.get_weights()[1])
    """
)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start_workers(tmp_path, command_of):
    """Starts one process per worker, `command_of(index)`, each with its TF_CONFIG; [(process, log)]."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(WORKERS)]}
    processes = []
    for index in range(WORKERS):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "CUDA_VISIBLE_DEVICES": "",  # CPU only: the collectives go over gRPC on localhost
            "KERAS_BACKEND": "tensorflow",
        }
        log = open(tmp_path / f"worker{index}.log", "w+b")  # a file, so a chatty worker never blocks on a pipe
        processes.append((subprocess.Popen(command_of(index), cwd=REPO, env=env, stdout=log,
                                           stderr=subprocess.STDOUT), log))
    return processes


def _run_workers(tmp_path, command_of, timeout):
    """Runs the workers to the end; fails naming the worker and its output if one fails or hangs."""
    processes = _start_workers(tmp_path, command_of)
    try:
        deadline = time.monotonic() + timeout
        for index, (process, log) in enumerate(processes):
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"worker {index} still running after {timeout} s:\n{_output(log)}") from None
            assert process.returncode == 0, f"worker {index} exited {process.returncode}:\n{_output(log)}"
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


def _output(log):
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def test_two_workers_train_in_lockstep(tmp_path):
    def command_of(index):
        return [sys.executable, "-c", WORKER_SCRIPT, str(tmp_path / f"worker{index}.npz"), str(GLOBAL_BATCH),
                str(STEPS), str(LEARNING_RATE)]

    _run_workers(tmp_path, command_of, TIMEOUT_S)

    first, second = (dict(np.load(tmp_path / f"worker{index}.npz")) for index in range(WORKERS))
    # Seeds 0 and 1 give different draws; worker 0's initial weights were broadcast to both.
    np.testing.assert_array_equal(first["initial_kernel"], second["initial_kernel"])
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(first[name], second[name], rtol=0, atol=1e-6)
    assert np.abs(first["kernel"] - first["initial_kernel"]).max() > 1e-2  # it trained

    # Synchronous data parallelism is large-batch SGD: each step averages the gradients of the
    # two half batches, so one process taking the same steps on whole batches ends in the same place.
    kernel, bias = first["initial_kernel"].astype("float64"), first["initial_bias"].astype("float64")
    x, y = first["x"].astype("float64"), first["y"].astype("float64")
    for step in range(STEPS):
        xb, yb = x[step * GLOBAL_BATCH : (step + 1) * GLOBAL_BATCH], y[step * GLOBAL_BATCH : (step + 1) * GLOBAL_BATCH]
        error = xb @ kernel + bias - yb  # (B, 1)
        kernel -= LEARNING_RATE * 2 * xb.T @ error / len(xb)
        bias -= LEARNING_RATE * 2 * error.mean(axis=0)
    np.testing.assert_allclose(first["kernel"], kernel, atol=1e-5)
    np.testing.assert_allclose(first["bias"], bias, atol=1e-5)


def test_two_workers_run_the_translate_train_command_to_the_same_model(tmp_path):
    # The whole command on both workers, export included: about a minute on two CPU cores.
    data = tmp_path / "fra.txt"
    pairs = [("I am cold.", "J'ai froid."), ("You are sad.", "Tu es triste.")]
    pairs += [(f"Number {i} is here.", f"Le numéro {i} est ici.") for i in range(40)]
    data.write_text("".join(f"{en}\t{fr}\tCC-BY 2.0 (France)\n" for en, fr in pairs), encoding="utf-8")

    def command_of(index):
        return [sys.executable, "-m", "apps.translate", "train", "--data", str(data), "--model", "attention-gru",
                "--size", "tiny", "--epochs", "1", "--batch-size", "8", "--strategy", "multi-worker",
                "--out", str(tmp_path / f"out{index}")]

    _run_workers(tmp_path, command_of, timeout=240)
    first, second = (_saved_variables(tmp_path / f"out{index}") for index in range(WORKERS))
    assert first.keys() == second.keys() and len(first) > 5
    for name, value in first.items():
        np.testing.assert_allclose(second[name], value, rtol=0, atol=1e-6, err_msg=name)
    assert (tmp_path / "out0" / "history.csv").read_text() == (tmp_path / "out1" / "history.csv").read_text()


def _saved_variables(model_dir):
    """The floating-point variables of the SavedModel a `train` run wrote, by checkpoint name."""
    import tensorflow as tf

    index = next(model_dir.glob("**/variables/variables.index"))
    reader = tf.train.load_checkpoint(str(index.with_suffix("")))
    values = {name: np.asarray(reader.get_tensor(name)) for name in reader.get_variable_to_shape_map()}
    return {name: value for name, value in values.items() if value.dtype.kind == "f"}
