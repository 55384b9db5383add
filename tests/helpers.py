"""Shared test helpers: tolerances, deterministic inputs and a save/reload check."""

import json
import os
import subprocess
import sys
import textwrap

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


_WITHOUT_PROJECT_CODE = """
import sys, json
class NoProjectCode:  # any import of our packages fails: the SavedModel must not need them
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("layers", "apps", "datasets", "runtime"):
            raise ImportError("project code imported: " + name)
sys.meta_path.insert(0, NoProjectCode())
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
"""


def run_saved_model_without_project_code(script, saved_model, *args, cwd=None):
    """Runs `script` in a fresh process where importing our packages fails; returns its last line as JSON.

    The script sees `loaded` (the SavedModel at `saved_model`), `tf`, `json` and `sys.argv[2:]`
    (`args`), and prints one JSON line.
    """
    command = [sys.executable, "-c", _WITHOUT_PROJECT_CODE + textwrap.dedent(script), str(saved_model), *map(str, args)]
    result = subprocess.run(command, cwd=cwd or str(saved_model), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def full_disk(monkeypatch):
    """Makes every file the apps write fail at its last step, as on a full disk (ENOSPC)."""
    import errno

    from apps.common import output_files

    def rename(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output_files, "_rename", rename)


def assert_output_failures_reported(status, err, paths):
    """The command printed its results, then one `error:` line per unwritten file (naming it and
    the reason), exited with status 1, and left neither the files nor a temporary copy behind."""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 1, err
    assert lines == [f"error: cannot write {path}: No space left on device" for path in paths], err
    assert "Traceback" not in err
    for path in paths:
        assert not os.path.exists(path)
        assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".")], "a temporary file"
