"""Every layer survives .keras save/reload, also in a fresh Python process (keras#19899)."""

import ast
import inspect
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import layers
from tests.helpers import assert_model_roundtrip, random_array
from tests.layers.all_layers_model import build_model, example_inputs

REPO = pathlib.Path(__file__).resolve().parents[2]


LAYER_NAMES = [name for name in layers.__all__ if isinstance(getattr(layers, name), type)]


# Every constructor argument of every layer, each set to a value other than its default, so that
# an argument that get_config forgets (or from_config drops) cannot go unnoticed.
NON_DEFAULT_ARGUMENTS = {
    "AttentionGRUDecoder": {"units": 6, "attention_units": 5},
    "AttentionPooling": {"units": 7},
    "BahdanauAttention": {"units": 7},
    "GRUCell": {
        "units": 6,
        "reset_after": False,
        "kernel_initializer": keras.initializers.RandomNormal(stddev=0.3, seed=1),
        "recurrent_initializer": "glorot_normal",
        "bias_initializer": keras.initializers.Constant(0.1),
        "dropout": 0.25,
        "recurrent_dropout": 0.15,
        "seed": 7,
    },
    "LSTMCell": {
        "units": 6,
        "unit_forget_bias": False,
        "kernel_initializer": keras.initializers.RandomNormal(stddev=0.3, seed=2),
        "recurrent_initializer": "glorot_normal",
        "bias_initializer": keras.initializers.Constant(0.1),
        "dropout": 0.25,
        "recurrent_dropout": 0.15,
        "seed": 8,
    },
    "MaskedMultiHeadAttention": {
        "num_heads": 3,
        "key_dim": 5,
        "value_dim": 4,
        "dropout": 0.1,
        "use_bias": False,
        "output_dim": 7,
        "kernel_initializer": "he_normal",
    },
    "PositionwiseFeedForward": {"intermediate_dim": 12, "activation": "gelu"},
    "SinusoidalPositionEncoding": {"max_wavelength": 500.0},
    "SoftVisualAttention": {"units": 7},
    "TransformerDecoderBlock": {
        "num_heads": 4,
        "intermediate_dim": 12,
        "dropout": 0.1,
        "layer_norm_epsilon": 1e-3,
        "normalize_first": True,
    },
    "TransformerEncoderBlock": {
        "num_heads": 4,
        "intermediate_dim": 12,
        "dropout": 0.1,
        "layer_norm_epsilon": 1e-3,
        "normalize_first": True,
    },
}


def _serialized(name, value):
    """`value` as get_config should store it."""
    if name.endswith("_initializer"):
        return keras.initializers.serialize(keras.initializers.get(value))
    if name == "activation":
        return keras.activations.serialize(keras.activations.get(value))
    return value


def _assert_arguments_survived(layer, arguments):
    config = layer.get_config()
    for name, value in arguments.items():
        assert config[name] == _serialized(name, value), f"{type(layer).__name__}.{name}"


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_every_constructor_argument_is_covered_with_a_non_default_value(name):
    cls = getattr(layers, name)
    assert cls.__name__ in keras.saving.get_registered_name(cls)
    parameters = {
        p.name: p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    }
    arguments = NON_DEFAULT_ARGUMENTS[name]
    assert set(arguments) == set(parameters)
    for argument, parameter in parameters.items():
        if parameter.default is not inspect.Parameter.empty:
            assert _serialized(argument, arguments[argument]) != _serialized(argument, parameter.default), argument


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_config_roundtrip(name):
    cls = getattr(layers, name)
    arguments = NON_DEFAULT_ARGUMENTS[name]
    layer = cls(**arguments, name="under_test")
    _assert_arguments_survived(layer, arguments)
    clone = cls.from_config(layer.get_config())
    _assert_arguments_survived(clone, arguments)
    assert clone.get_config() == layer.get_config()


def _model_around(name, layer):
    """A functional model around `layer` (the only custom layer in it) and example inputs."""

    def inputs(*shapes):
        return [keras.Input(shape) for shape in shapes], [
            random_array(2, *[7 if n is None else n for n in shape], seed=i) for i, shape in enumerate(shapes)
        ]

    if name in ("GRUCell", "LSTMCell"):
        (x,), data = inputs((None, 5))
        return keras.Model(x, keras.layers.RNN(layer, return_sequences=True)(x)), data
    if name in ("BahdanauAttention", "SoftVisualAttention"):
        (query, keys), data = inputs((5,), (None, 4))
    elif name == "AttentionGRUDecoder":
        (query, keys), data = inputs((None, 3), (None, 4))
    elif name == "MaskedMultiHeadAttention":
        (query, keys), data = inputs((None, 6), (None, 6))
    elif name == "TransformerDecoderBlock":
        (query, keys), data = inputs((None, 8), (None, 8))
    else:  # one input sequence
        (x,), data = inputs((None, 8))
        return keras.Model(x, layer(x)), data
    return keras.Model([query, keys], layer(query, keys)), data


def _find(model, name):
    for layer in model.layers:
        for candidate in (layer, getattr(layer, "cell", None)):
            if candidate is not None and candidate.name == name:
                return candidate
    raise AssertionError(f"no layer named {name!r}")


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_non_default_arguments_survive_keras_save_and_reload(name, tmp_path):
    arguments = NON_DEFAULT_ARGUMENTS[name]
    model, data = _model_around(name, getattr(layers, name)(**arguments, name="under_test"))
    restored = assert_model_roundtrip(model, data, tmp_path)  # identical outputs (training=False)
    _assert_arguments_survived(_find(restored, "under_test"), arguments)


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
