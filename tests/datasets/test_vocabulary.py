import keras
import numpy as np
import pytest
import tensorflow as tf

from datasets.translation import load_translation_pairs
from datasets.vocabulary import (
    build_string_lookup,
    build_vectorizer,
    load_vocabulary,
    save_vocabulary,
    standardize,
    tokenize,
    vectorizer_from_vocabulary,
)


@pytest.mark.parametrize("text, tokens", [
    ("Hello, world!", ["hello", ",", "world", "!"]),
    ("L\u2019homme qu'il ÉTAIT", ["l'", "homme", "qu'", "il", "était"]),
    ("dit-il : « oui »", ["dit", "-", "il", ":", "«", "oui", "»"]),
    ("[start] Va ! [end]", ["[start]", "va", "!", "[end]"]),
    ("  ", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_standardize_takes_tensors_numpy_and_python():
    batch = standardize(tf.constant([["Un Été."], ["Deux"]]))
    assert batch.shape == (2, 1) and batch.dtype == tf.string
    assert standardize(np.array(["Un Été."]))[0].numpy().decode() == "un été ."
    assert standardize("Un Été.").numpy().decode() == "un été ."


def test_vocabulary_comes_from_train_only(bundled_cache):
    train = [fr for _, fr in load_translation_pairs("tuxpaint", "train")]
    test = [fr for _, fr in load_translation_pairs("tuxpaint", "test")]
    train_words = {t for text in train for t in tokenize(text)}
    test_only = sorted({t for text in test for t in tokenize(text)} - train_words)
    assert test_only, "expected some test words never seen in training"
    vectorizer = build_vectorizer(train)
    assert set(vectorizer.get_vocabulary()[2:]) == train_words
    ids = vectorizer(tf.constant(test_only[:5])).numpy()
    assert (ids[:, 0] == 1).all()  # [UNK]


def test_vocabulary_file_roundtrip(tmp_path):
    vectorizer = build_vectorizer(["le chat dort", "le chien"], max_tokens=10)
    path = tmp_path / "vocab.txt"
    save_vocabulary(vectorizer, path)
    vocabulary = load_vocabulary(path)
    assert vocabulary[:3] == ["", "[UNK]", "le"] and sorted(vocabulary[3:]) == ["chat", "chien", "dort"]
    restored = vectorizer_from_vocabulary(path)
    assert restored.get_vocabulary() == load_vocabulary(path)
    text = tf.constant(["le chat mange"])
    np.testing.assert_array_equal(restored(text), vectorizer(text))


def test_vectorizer_survives_a_keras_save(tmp_path):
    vectorizer = build_vectorizer(["l'homme dit : bonjour !"], output_sequence_length=6)
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, vectorizer(inputs))
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    text = tf.constant(["L\u2019homme dit bonsoir !"])
    np.testing.assert_array_equal(restored(text), model(text))


def test_string_lookup_from_train_tokens():
    lookup = build_string_lookup(["C4", "E4", "C4", "G4"])
    assert lookup.get_vocabulary() == ["", "[UNK]", "C4", "E4", "G4"]
    assert lookup(tf.constant(["B9"])).numpy().tolist() == [1]


def test_exported_savedmodel_uses_only_core_tensorflow_ops(tmp_path):
    """TF Serving and TFLite have no TF-Text ops: every op in the export must be a core op."""
    from tensorflow.core.protobuf import saved_model_pb2

    vectorizer = build_vectorizer(["l'homme dit : bonjour !"])
    inputs = keras.Input(shape=(), dtype="string")
    keras.Model(inputs, vectorizer(inputs)).export(str(tmp_path), verbose=False)
    served = tf.saved_model.load(str(tmp_path)).serve(tf.constant(["L\u2019homme dit bonsoir !"]))
    assert served.numpy().tolist() == [[2, 3, 4, 1, 7]]
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((tmp_path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    functions = {f.signature.name for f in graph.library.function}
    ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert not ops - functions - set(dir(tf.raw_ops))


def test_a_character_vocabulary_with_newline_and_backslash_round_trips(tmp_path):
    characters = ["", "[UNK]", "\n", "\\", "a", "\\n", "b"]  # "\\n" here is a backslash then n
    path = tmp_path / "characters.txt"
    save_vocabulary(characters, path)
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(characters)
    assert load_vocabulary(path) == characters
