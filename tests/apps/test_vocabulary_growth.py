"""Growing vocabularies for fine-tuning: old ids keep their weights, new words start as [UNK]."""

import keras
import numpy as np
import pytest

from apps.common.vocabulary_growth import grow_weights, grown_vocabulary

UNK = 1


def test_new_words_come_after_the_old_ones_most_frequent_first_and_seen_twice():
    old = ["", "[UNK]", "the", "dog"]
    texts = [["the", "robot", "runs"], ["a", "robot", "runs"], ["robot", "zebra"], ["a"]]
    assert grown_vocabulary(old, texts, count=10) == old + ["robot", "a", "runs"]
    assert grown_vocabulary(old, texts, count=1) == old + ["robot"]
    assert grown_vocabulary(old, texts, count=10, min_count=1) == old + ["robot", "a", "runs", "zebra"]


def _language_model(vocabulary_size):
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(vocabulary_size, 8)(inputs)
    hidden = keras.layers.Dense(8, activation="tanh")(hidden)
    return keras.Model(inputs, keras.layers.Dense(vocabulary_size)(hidden))


def _probabilities(model, ids):
    return keras.ops.convert_to_numpy(keras.ops.softmax(model(np.array([ids]))))[0]


def test_the_grown_model_computes_what_the_old_one_did_with_unk_shared_among_the_new_words():
    keras.utils.set_random_seed(0)
    old_model, grown_model = _language_model(6), _language_model(9)
    old_weights = old_model.get_weights()
    for weight in old_weights:  # a trained model's biases are not zero
        weight += np.random.default_rng(1).normal(size=weight.shape).astype(weight.dtype)
    old_model.set_weights(old_weights)
    grown_model.set_weights(grow_weights(old_weights, [w.shape for w in grown_model.weights], UNK))

    old, grown = _probabilities(old_model, [2, 1, 5]), _probabilities(grown_model, [2, 1, 5])
    np.testing.assert_allclose(grown[:, [0, 2, 3, 4, 5]], old[:, [0, 2, 3, 4, 5]], rtol=1e-5)
    for token in (UNK, 6, 7, 8):  # [UNK]'s old probability, split four ways
        np.testing.assert_allclose(grown[:, token], old[:, UNK] / 4, rtol=1e-5)
    # A new source word reads as [UNK] did.
    np.testing.assert_allclose(_probabilities(grown_model, [2, 7, 5]), grown, rtol=1e-5)


def test_weights_that_cannot_be_grown_are_refused():
    with pytest.raises(ValueError, match="cannot grow"):
        grow_weights([np.zeros((4, 3))], [(5, 4)], UNK)
    with pytest.raises(ValueError, match="cannot grow"):
        grow_weights([np.zeros((4, 3))], [(3, 3)], UNK)
