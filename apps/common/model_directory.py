"""A trained model's directory: everything `predict`, `eval` and `export` need, no training code.

    <dir>/config.json         architecture, its arguments, decoding settings, provenance
    <dir>/*_vocabulary.txt    vocabularies, one token per line
    <dir>/serving/            the exported SavedModel (raw inputs in, strings out), which also
                              holds the weights: they are stored once, there
    <dir>/history.csv         the training curves (Keras CSVLogger)
    <dir>/README.md           the model card

`load_model` rebuilds the Keras model from `config.json` and reads its weights back from the
SavedModel's checkpoint, in `model.variables` order (the server tracks them as
`model_variables`). A directory written before that layout, with a `model.keras` file, still loads.
"""

import glob
import itertools
import json
import os
import re
import shutil
import zipfile

from apps.common.cli import UserError

CONFIG_FILE, SERVING_DIR, HISTORY_FILE, LEGACY_MODEL_FILE = "config.json", "serving", "history.csv", "model.keras"
MISSING_SERVING = "it holds the model and its weights; restore the directory or train the model again"
_VARIABLE_KEY = "model_variables/{}/.ATTRIBUTES/VARIABLE_VALUE"


def vocabulary_file(name):
    return f"{name}_vocabulary.txt"


class ModelDirectory:
    """Reads and writes one model directory; every damaged part is a one-line `UserError`.

    Args:
        path: str, the directory.
        vocabulary_names: the vocabularies the app keeps, e.g. ("source", "target") for
            source_vocabulary.txt and target_vocabulary.txt.
        optional_names: vocabularies a directory may lack (a model of an older version, or one
            trained without them): `vocabularies()` holds those present, and writes those given.
    """

    def __init__(self, path, vocabulary_names=(), optional_names=()):
        self.path = str(path)
        self.vocabulary_names = tuple(vocabulary_names)
        self.optional_names = tuple(optional_names)

    def file(self, name):
        return os.path.join(self.path, name)

    # --- reading -------------------------------------------------------------------------------

    def config(self):
        if not os.path.isdir(self.path):
            raise UserError(f"model directory {self.path} does not exist")
        path = self.file(CONFIG_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                config = json.load(f)
        except FileNotFoundError:
            raise UserError(f"{self.path} is not a model directory: {CONFIG_FILE} is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as error:
            raise UserError(f"{path} is corrupted: {error}") from None
        if not isinstance(config, dict):
            raise UserError(f"{path} is corrupted: expected a JSON object")
        return config

    def vocabulary(self, name):
        """One vocabulary, a list of tokens (index = id)."""
        from datasets.vocabulary_files import load_vocabulary

        path = self.file(vocabulary_file(name))
        try:
            vocabulary = load_vocabulary(path)
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"{path} could not be read ({type(error).__name__})") from None
        if not vocabulary:
            raise UserError(f"{path} is empty")
        return vocabulary

    def vocabularies(self):
        present = [name for name in self.optional_names if os.path.isfile(self.file(vocabulary_file(name)))]
        return {name: self.vocabulary(name) for name in (*self.vocabulary_names, *present)}

    def check(self):
        """Raises a `UserError` naming the first missing or damaged part; returns the config."""
        config = self.config()
        for name in self.vocabulary_names:
            self.vocabulary(name)
        serving = self.file(SERVING_DIR)
        variables = os.path.join(serving, "variables")
        for part in (os.path.join(serving, "saved_model.pb"), os.path.join(variables, "variables.index")):
            if not os.path.isfile(part):
                raise UserError(f"{part} is missing: {MISSING_SERVING}")
        if not glob.glob(os.path.join(variables, "variables.data-*")):
            raise UserError(f"{variables} holds no weights (variables.data-*): {MISSING_SERVING}")
        return config

    def load_serving(self, optimize=True):
        """The exported SavedModel (what `predict` and `eval` run).

        `optimize=False` turns TensorFlow's graph optimiser (Grappler) off for this process: on a
        decode loop's first call it costs seconds, which a command that handles a few inputs
        and exits never wins back (measured in benchmarks/translate_cli.py).
        """
        import tensorflow as tf

        if not optimize:
            tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
        self.config()  # says clearly when the directory is missing or not a model
        path = self.file(SERVING_DIR)
        if not os.path.isdir(path):
            raise UserError(f"{path} is missing: {MISSING_SERVING}")
        try:
            return tf.saved_model.load(path)
        except Exception as error:  # TF raises many types for a damaged SavedModel
            raise UserError(f"{path} could not be loaded ({type(error).__name__})") from None

    def load_model(self, build):
        """The trained Keras model: `build(config, vocabularies)` makes it, the weights are read back.

        `build` must return a built model (every variable created) of the directory's architecture.
        """
        config = self.check() if not os.path.isfile(self.file(LEGACY_MODEL_FILE)) else self.config()
        model = build(config, self.vocabularies())
        if os.path.isfile(self.file(LEGACY_MODEL_FILE)):
            self._load_legacy_weights(model)
            return model
        # The weights are matched by position; their names, recorded at export, catch a model
        # whose layers now create them in another order (same shapes would load silently).
        recorded, built = config.get("weights"), weight_names(model)
        if recorded is not None and recorded != built:
            first = next(i for i, pair in enumerate(itertools.zip_longest(recorded, built)) if pair[0] != pair[1])
            name = lambda names: names[first] if first < len(names) else "(none)"
            raise UserError(f"{self.path}: weight {first} is {name(recorded)} in the SavedModel, "
                            f"{name(built)} in the model config.json describes")
        self._load_serving_weights(model)
        return model

    def _load_serving_weights(self, model):
        """Assigns the SavedModel's `model_variables` to `model.variables`, in order.

        Weights (floating point) and random-seed states (integers, e.g. a dropout layer's) are
        matched separately, so a layer that gained a seed generator still loads older exports;
        seed states only matter to training, so a count mismatch there is not an error.
        """
        import tensorflow as tf

        prefix = os.path.join(self.file(SERVING_DIR), "variables", "variables")
        try:
            reader = tf.train.load_checkpoint(prefix)
        except Exception as error:  # a damaged checkpoint raises several TF error types
            raise UserError(f"{prefix} could not be read ({type(error).__name__})") from None
        dtypes = reader.get_variable_to_dtype_map()
        saved = [_VARIABLE_KEY.format(i) for i in range(len(dtypes)) if _VARIABLE_KEY.format(i) in dtypes]
        saved_weights = [key for key in saved if dtypes[key].is_floating]
        saved_seeds = [key for key in saved if not dtypes[key].is_floating]
        weights = [v for v in model.variables if _is_floating(v)]
        seeds = [v for v in model.variables if not _is_floating(v)]
        if len(saved_weights) != len(weights):
            raise UserError(
                f"{self.path}: the SavedModel holds {len(saved_weights)} weights, but config.json "
                f"describes a model with {len(weights)}"
            )
        pairs = list(zip(weights, saved_weights, strict=True))
        if len(seeds) == len(saved_seeds):
            pairs += zip(seeds, saved_seeds, strict=True)
        for variable, key in pairs:
            try:
                value = reader.get_tensor(key)
            except (tf.errors.OpError, IndexError, ValueError) as error:  # a truncated or damaged data file
                raise UserError(f"{prefix} is damaged ({type(error).__name__}): {MISSING_SERVING}") from None
            if tuple(value.shape) != tuple(variable.shape):
                raise UserError(
                    f"{self.path}: {variable.path} has shape {tuple(value.shape)} in the SavedModel, "
                    f"{tuple(variable.shape)} in the model config.json describes"
                )
            variable.assign(value)

    def _load_legacy_weights(self, model):
        import keras

        path = self.file(LEGACY_MODEL_FILE)
        try:
            saved = keras.saving.load_model(path, compile=False)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError) as error:
            raise UserError(f"{path} could not be loaded ({type(error).__name__}: {error})") from None
        model.set_weights(saved.get_weights())

    # --- writing -------------------------------------------------------------------------------

    def create(self, option="--out"):
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise UserError(f"{option} {self.path}: {error.strerror or error}") from None

    def write_config(self, config):
        write_json(self.file(CONFIG_FILE), config)

    def write_vocabularies(self, vocabularies):
        from datasets.vocabulary_files import save_vocabulary

        for name in self.vocabulary_names:
            save_vocabulary(vocabularies[name], self.file(vocabulary_file(name)))
        for name in self.optional_names:  # one left from an earlier model in this directory goes
            path = self.file(vocabulary_file(name))
            if name in vocabularies:
                save_vocabulary(vocabularies[name], path)
            elif os.path.exists(path):
                os.remove(path)

    def has_vocabularies(self):
        return bool(self.vocabulary_names) and all(
            os.path.isfile(self.file(vocabulary_file(name))) for name in self.vocabulary_names
        )

    def save(self, config, vocabularies, server):
        """Writes vocabularies, the SavedModel (with the weights) and, last, the config.

        The SavedModel is written beside the old one and swapped in only once complete, so a
        failed export (a full disk, Ctrl-C) never destroys the only copy of trained weights.
        """
        self.create()
        self.write_vocabularies(vocabularies)
        serving, fresh = self.file(SERVING_DIR), self.file(SERVING_DIR + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        export_to(server, fresh)
        shutil.rmtree(serving, ignore_errors=True)
        os.replace(fresh, serving)
        legacy = self.file(LEGACY_MODEL_FILE)
        if os.path.isfile(legacy):  # the weights now live in serving/ only
            os.remove(legacy)
        self.write_config(config)


def weight_names(model):
    """The names of a model's weights in `model.variables` order, without the model's own name.

    Keras numbers unnamed layers per process ("gru_cell_2"), so those numbers are left out.
    """
    return [re.sub(r"_\d+(?=/|$)", "", v.path.split("/", 1)[-1]) for v in model.variables if _is_floating(v)]


def _is_floating(variable):
    return "float" in str(variable.dtype)


def export_to(server, path, option="--out"):
    """Writes `server` as a SavedModel; an unwritable path is a `UserError`."""
    from apps.common.serving import export_server

    try:
        export_server(server, path)
    except OSError as error:
        raise UserError(f"{option} {path}: {error.strerror or error}") from None


def write_json(path, data):
    """`data` as indented JSON, through `output_files.write_file`: whole or not at all (config.json,
    metrics.json and the portable trainer's files), and one error line when it cannot be written."""
    from apps.common.output_files import write_file

    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")

    write_file(os.fspath(path), write)
