"""A trained model's directory: everything `predict`, `eval` and `export` need, no training code.

    <dir>/config.json         architecture, its arguments, token ids, length limits, provenance
    <dir>/model.keras         the Keras model (weights and config; no optimizer state)
    <dir>/*_vocabulary.txt    vocabularies, one token per line
    <dir>/serving/            the exported SavedModel (strings in, strings out)
    <dir>/README.md           the model card
"""

import json
import os
import zipfile

import keras

from apps.common.cli import UserError

CONFIG_FILE, MODEL_FILE, SERVING_DIR = "config.json", "model.keras", "serving"


def read_config(model_dir):
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isdir(model_dir):
        raise UserError(f"model directory {model_dir} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        raise UserError(f"{model_dir} is not a model directory: {CONFIG_FILE} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as error:
        raise UserError(f"{path} is corrupted: {error}") from None
    if not isinstance(config, dict):
        raise UserError(f"{path} is corrupted: expected a JSON object")
    return config


def read_vocabulary(model_dir, name):
    """A vocabulary file of a model directory, one token per line."""
    from datasets.vocabulary import load_vocabulary

    path = os.path.join(model_dir, name)
    try:
        return load_vocabulary(path)
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path} could not be read ({type(error).__name__})") from None


def load_keras_model(model_dir):
    """The trained Keras model; a missing or corrupted file is a `UserError`."""
    path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(path):
        raise UserError(f"{path} is missing")
    try:
        return keras.saving.load_model(path, compile=False)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as error:
        raise UserError(f"{path} could not be loaded ({type(error).__name__}: {error})") from None


def save_keras_model(model, model_dir, example_inputs):
    """Saves architecture and weights without the optimizer state (half the size).

    `example_inputs` build a fresh copy of the model, into which the weights are copied.
    """
    clone = model.__class__.from_config(model.get_config())
    clone(example_inputs)
    clone.set_weights(model.get_weights())
    clone.save(os.path.join(model_dir, MODEL_FILE))


def load_serving(model_dir, optimize=True):
    """The exported SavedModel (what `predict` runs); a missing or broken one is a `UserError`.

    `optimize=False` turns TensorFlow's graph optimiser (Grappler) off for this process: on a
    decode loop's first call it costs seconds, which a command that translates one sentence
    and exits never wins back (measured in benchmarks/translate_cli.py).
    """
    import tensorflow as tf

    if not optimize:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    read_config(model_dir)  # says clearly when the directory is missing or not a model
    path = os.path.join(model_dir, SERVING_DIR)
    if not os.path.isdir(path):
        raise UserError(f"{path} is missing: run `export` for this model first")
    try:
        return tf.saved_model.load(path)
    except Exception as error:  # TF raises many types for a damaged SavedModel
        raise UserError(f"{path} could not be loaded ({type(error).__name__})") from None
