"""A model directory stores the weights once (in its SavedModel), reads them back, and names what is damaged."""

import json
import os

import numpy as np
import pytest

from apps.common.cli import UserError
from apps.common.model_directory import ModelDirectory
from apps.common.runner import Runner
from apps.translate.task import PRESETS, TranslationTask

TASK = TranslationTask()
VOCABULARIES = {"source": ["", "[UNK]", "a", "b", "c"], "target": ["", "[UNK]", "[start]", "[end]", "x", "y"],
                "cased_target": ["", "[UNK]", "[start]", "[end]", "X", "y"]}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny untrained model written as a model directory, and its weights."""
    runner = Runner(TASK)
    model = TASK.build_model("attention-gru", PRESETS["attention-gru"]["tiny"], VOCABULARIES)
    config = runner.model_config("attention-gru", PRESETS["attention-gru"]["tiny"], model, {"command": "test"})
    path = tmp_path_factory.mktemp("model")
    runner.save(ModelDirectory(path, TASK.vocabulary_names), model, config, VOCABULARIES)
    return path, model.get_weights()


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def copy_of(saved, tmp_path):
    import shutil

    shutil.copytree(saved[0], tmp_path / "copy")
    return tmp_path / "copy"


def load(path):
    return Runner(TASK).load_model(ModelDirectory(path, TASK.vocabulary_names))


def test_the_weights_are_stored_once_and_read_back(saved):
    path, weights = saved
    assert sorted(os.listdir(path)) == ["cased_target_vocabulary.txt", "config.json", "serving",
                                        "source_vocabulary.txt", "target_vocabulary.txt"]
    for loaded, expected in zip(load(path).get_weights(), weights, strict=True):
        np.testing.assert_array_equal(loaded, expected)
    assert ModelDirectory(path, TASK.vocabulary_names).check()["architecture"] == "attention-gru"


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: os.remove(p / "target_vocabulary.txt"), "target_vocabulary.txt could not be read"),
        (lambda p: (p / "source_vocabulary.txt").write_text(""), "source_vocabulary.txt is empty"),
        (lambda p: os.remove(p / "serving" / "variables" / "variables.index"), "variables.index is missing"),
        (lambda p: os.remove(p / "config.json"), "config.json is missing"),
        (lambda p: _truncate(next((p / "serving" / "variables").glob("variables.data-*"))), "is damaged"),
        (lambda p: [os.remove(f) for f in (p / "serving" / "variables").glob("variables.data-*")], "holds no weights"),
        (lambda p: (p / "config.json").write_text("[1, 2]"), "expected a JSON object"),
        (lambda p: (p / "config.json").write_text(json.dumps({"architecture": "rnn"})), "unknown architecture"),
    ],
    ids=["no-vocabulary", "empty-vocabulary", "no-variables", "no-config", "truncated-weights", "no-weights",
         "config-not-an-object", "architecture"],
)
def test_a_damaged_directory_is_one_clear_error(saved, tmp_path, damage, message):
    path = copy_of(saved, tmp_path)
    damage(path)
    with pytest.raises(UserError, match=message):
        load(path)


def test_weights_saved_in_another_order_are_refused_by_name(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text())
    weights = config["weights"]
    assert weights[0] == "source_embedding/embeddings"
    config["weights"] = [weights[1], weights[0], *weights[2:]]  # as if two layers had swapped places
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="weight 0 is encoder/"):
        load(path)


def test_weights_that_do_not_fit_the_config_are_refused(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["arguments"]["units"] = 48  # the SavedModel holds a 32-unit model
    del config["weights"]  # as in directories exported before weight names were recorded
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="has shape"):
        load(path)


def test_a_directory_with_the_older_model_keras_file_still_loads(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    model = load(path)
    for variable in model.weights:  # weights that only model.keras holds
        variable.assign(np.full(variable.shape, 0.5, "float32"))
    model.save(path / "model.keras")
    assert all(np.all(w == 0.5) for w in load(path).get_weights())
