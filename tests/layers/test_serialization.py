"""Every layer survives .keras save/reload, also in a fresh Python process (keras#19899)."""

import ast
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import layers
from tests.helpers import assert_model_roundtrip
from tests.layers.all_layers_model import build_model, example_inputs

REPO = pathlib.Path(__file__).resolve().parents[2]


LAYER_NAMES = [name for name in layers.__all__ if isinstance(getattr(layers, name), type)]


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_config_roundtrip(name):
    cls = getattr(layers, name)
    assert cls.__name__ in keras.saving.get_registered_name(cls)
    args = {
        "AttentionGRUDecoder": (8,),
        "BahdanauAttention": (8,),
        "GRUCell": (8,),
        "LSTMCell": (8,),
        "MaskedMultiHeadAttention": (2, 4),
        "PositionwiseFeedForward": (16,),
        "SinusoidalPositionEncoding": (),
        "SoftVisualAttention": (8,),
        "TransformerDecoderBlock": (2, 16),
        "TransformerEncoderBlock": (2, 16),
    }[name]
    layer = cls(*args)
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_model_of_every_layer_reloads_in_process(tmp_path):
    assert_model_roundtrip(build_model(), example_inputs(), tmp_path)


def test_model_of_every_layer_reloads_in_a_fresh_process(tmp_path):
    model = build_model()
    inputs = example_inputs()
    expected = np.asarray(model(inputs, training=False))
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "io.npz", *inputs, expected=expected)
    script = textwrap.dedent(
        """
        import sys, numpy as np, keras
        import layers  # registers our classes, nothing else
        data = np.load(sys.argv[2])
        model = keras.saving.load_model(sys.argv[1])
        out = np.asarray(model([data["arr_0"], data["arr_1"], data["arr_2"]], training=False))
        np.testing.assert_allclose(out, data["expected"], atol=1e-6)
        print("same outputs")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.keras"), str(tmp_path / "io.npz")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same outputs" in result.stdout


def test_layers_import_no_tensorflow():
    """layers/ is written with keras.ops only, so it runs on any Keras backend."""
    for path in (REPO / "layers").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("tensorflow", "tf_keras"), f"{path.name} imports {name}"
