"""The backend-portable trainer: pack -> fit -> adopt on a tiny corpus (TensorFlow backend here;
the same `fit` runs on JAX, which CI does not install)."""

import json

import numpy as np
import pytest
import tensorflow as tf

from apps.common.cli import UserError
from apps.common.model_directory import ModelDirectory
from apps.common.portable_training import BucketedBatches, _unflatten, load_packed
from apps.common.runner import Runner
from apps.translate.__main__ import main
from apps.translate.task import TranslationTask
from datasets.translation import load_translation_pairs

PAIRS = [("I am cold.", "J'ai froid."), ("The dog sleeps.", "Le chien dort.")] + [
    (f"Number {i} is here.", f"Le numéro {i} est ici.") for i in range(60)
]
TASK = TranslationTask()


def test_training_batches_are_full_fixed_shape_and_every_example_gets_its_turn():
    rng = np.random.default_rng(0)
    sources = [rng.integers(1, 50, n) for n in rng.integers(1, 30, 203)]
    targets = [rng.integers(1, 50, n) for n in rng.integers(2, 30, 203)]
    batches = BucketedBatches((sources, targets), TASK.model_batch, batch_size=8, shuffle=True, multiple=8)
    seen_in_any_epoch, epochs = set(), []
    for _ in range(6):
        seen = []
        for index in range(len(batches.batches)):
            (source, target_in), target_out = batches.batch(index)
            length, rows = batches.batches[index]
            assert source.shape == (8, length + 1) and target_in.shape == target_out.shape == (8, length)
            assert length % 8 == 0
            for row, i in enumerate(rows):
                assert list(source[row][source[row] != 0]) == list(sources[i])
                full_target = np.concatenate([target_in[row][:1], target_out[row]])
                assert list(full_target[full_target != 0]) == list(targets[i])
            seen += list(rows)
        assert len(seen) == len(set(seen)) == 200  # all but 203 % 8 examples, each once
        seen_in_any_epoch |= set(seen)
        epochs.append([list(rows) for _, rows in batches.batches])
        batches.plan_batches()
    assert seen_in_any_epoch == set(range(203))  # the examples left out change from epoch to epoch
    assert epochs[0] != epochs[1]  # reshuffled


def test_validation_batches_keep_every_example_in_order():
    sources, targets = [np.array([5, 6])] * 5, [np.array([2, 7, 3])] * 5
    batches = BucketedBatches((sources, targets), TASK.model_batch, batch_size=2, shuffle=False)
    assert [list(rows) for _, rows in batches.batches] == [[0, 1], [2, 3], [4]]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    root = tmp_path_factory.mktemp("portable-training")
    anki = root / "fra.txt"
    anki.write_text("".join(f"{en}\t{fr}\tCC-BY 2.0 (France)\n" for en, fr in PAIRS), encoding="utf-8")
    assert main(["pack", "--data", str(anki), "--out", str(root / "packed")]) == 0
    return root / "packed"


def test_pack_keeps_the_ids_of_every_pair(packed):
    vocabularies = ModelDirectory(packed, TASK.vocabulary_names).vocabularies()
    for split in ("train", "validation"):
        pairs = load_translation_pairs(str(packed.parent / "fra.txt"), split)
        expected = TASK.encode(pairs, vocabularies)
        # The first pair of every split, by hand: "[start] ... [end]" ids around the French words.
        assert expected[1][0][0] == vocabularies["target"].index("[start]")
        assert expected[1][0][-1] == vocabularies["target"].index("[end]")
        for packed_ids, expected_ids in zip(load_packed(packed, split, 2), expected, strict=True):
            assert len(packed_ids) == len(expected_ids) == len(pairs) > 0
            for got, want in zip(packed_ids, expected_ids, strict=True):
                assert list(got) == list(want)


def test_an_empty_split_unpacks_to_no_examples():
    assert _unflatten(np.zeros(0, np.int32), np.zeros(0, np.int32)) == []


def test_too_little_data_or_a_foreign_directory_is_a_clear_error(packed, tmp_path):
    with pytest.raises(UserError, match="fewer training pairs than one batch"):
        main(["fit", "--data", str(packed), "--model", "transformer", "--size", "tiny", "--batch-size", "4096",
              "--out", str(tmp_path / "fitted")])
    with pytest.raises(UserError, match="not written by `fit`"):
        (tmp_path / "fit.json").write_text("{}")
        main(["adopt", "--fitted", str(tmp_path), "--out", str(tmp_path / "model")])
    with pytest.raises(UserError, match="not valid JSON"):
        (tmp_path / "fit.json").write_text("{")
        main(["adopt", "--fitted", str(tmp_path), "--out", str(tmp_path / "model")])


def test_fit_then_adopt_gives_a_model_directory_with_the_fitted_weights(packed, tmp_path):
    fitted, model_dir = tmp_path / "fitted", tmp_path / "model"
    assert main(["fit", "--data", str(packed), "--model", "transformer", "--size", "tiny", "--epochs", "1",
                 "--steps-per-epoch", "3", "--batch-size", "8", "--out", str(fitted)]) == 0
    assert main(["adopt", "--fitted", str(fitted), "--out", str(model_dir)]) == 0

    config = json.loads((model_dir / "config.json").read_text())
    assert config["architecture"] == "transformer" and config["training"]["epochs_this_run"] == 1
    directory = ModelDirectory(model_dir, TASK.vocabulary_names)
    adopted = Runner(TASK).load_model(directory)
    fitted_model = TASK.build_model("transformer", config["arguments"], directory.vocabularies())
    fitted_model.load_weights(fitted / "model.weights.h5")
    np.testing.assert_allclose(adopted(TASK.example_batch()), fitted_model(TASK.example_batch()), atol=1e-6)
    serving = tf.saved_model.load(str(model_dir / "serving"))
    text = serving.signatures["serving_default"](text=tf.constant(["I am cold."]))["text"]
    assert text.shape == (1,)
