"""The backend-portable trainer: pack -> fit -> adopt on a tiny corpus (TensorFlow backend here;
the same `fit` runs on JAX, which CI does not install)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.translate.jax_training import BucketedPairs, load_packed, main
from apps.translate.model import example_batch

PAIRS = [("I am cold.", "J'ai froid."), ("The dog sleeps.", "Le chien dort.")] + [
    (f"Number {i} is here.", f"Le numéro {i} est ici.") for i in range(60)
]


def test_bucketed_pairs_are_full_fixed_shape_batches_of_each_pair_at_most_once():
    rng = np.random.default_rng(0)
    sources = [rng.integers(1, 50, n) for n in rng.integers(1, 30, 200)]
    targets = [rng.integers(1, 50, n) for n in rng.integers(2, 30, 200)]
    pairs = BucketedPairs(sources, targets, batch_size=8, shuffle=True, multiple=8)
    seen = []
    for index in range(len(pairs.batches)):
        (source, target_in), target_out = pairs.batch(index)
        length, rows = pairs.batches[index]
        assert source.shape == (8, length) and target_in.shape == target_out.shape == (8, length)
        assert length % 8 == 0
        for row, i in enumerate(rows):
            assert list(source[row][source[row] != 0]) == list(sources[i])
            full_target = np.concatenate([target_in[row][:1], target_out[row]])
            assert list(full_target[full_target != 0]) == list(targets[i])
        seen += list(rows)
    assert len(seen) == len(set(seen)) > 150  # only each bucket's incomplete last batch is dropped
    first_epoch = [list(rows) for _, rows in pairs.batches]
    pairs.plan_batches()
    assert [list(rows) for _, rows in pairs.batches] != first_epoch  # reshuffled


def test_validation_batches_keep_every_pair_in_order():
    sources, targets = [np.array([5, 6])] * 5, [np.array([2, 7, 3])] * 5
    pairs = BucketedPairs(sources, targets, batch_size=2, shuffle=False)
    assert [list(rows) for _, rows in pairs.batches] == [[0, 1], [2, 3], [4]]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    root = tmp_path_factory.mktemp("jax-training")
    anki = root / "fra.txt"
    anki.write_text("".join(f"{en}\t{fr}\tCC-BY 2.0 (France)\n" for en, fr in PAIRS), encoding="utf-8")
    assert main(["pack", "--data", str(anki), "--out", str(root / "packed")]) == 0
    return root / "packed"


def test_pack_keeps_the_ids_of_every_pair(packed):
    info = json.loads((packed / "pack.json").read_text())
    sources, targets = load_packed(packed, "train")
    assert len(sources) == len(targets) == info["pairs"]["train"] > 0
    assert all(len(t) >= 2 for t in targets)  # at least [start] and [end]


def test_fit_then_adopt_gives_a_model_directory_with_the_fitted_weights(packed, tmp_path):
    fitted, model_dir = tmp_path / "fitted", tmp_path / "model"
    assert main(["fit", "--data", str(packed), "--model", "transformer", "--size", "tiny", "--epochs", "1",
                 "--steps-per-epoch", "3", "--batch-size", "8", "--out", str(fitted)]) == 0
    assert main(["adopt", "--fitted", str(fitted), "--out", str(model_dir)]) == 0

    config = json.loads((model_dir / "config.json").read_text())
    assert config["architecture"] == "transformer" and config["training"]["backend"] == keras.backend.backend()
    adopted = keras.saving.load_model(model_dir / "model.keras", compile=False)
    fitted_model = adopted.__class__.from_config(adopted.get_config())
    fitted_model(example_batch())
    fitted_model.load_weights(fitted / "model.weights.h5")
    np.testing.assert_allclose(adopted(example_batch()), fitted_model(example_batch()), atol=1e-6)
    serving = tf.saved_model.load(str(model_dir / "serving"))
    text = serving.signatures["serving_default"](text=tf.constant(["I am cold."]))["text"]
    assert text.shape == (1,)
