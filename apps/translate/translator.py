"""The translation app's glue: vocabularies, tf.data pipelines, and the string-to-string server."""

import os
from pathlib import Path

import tensorflow as tf

from apps.common import artifacts
from apps.common.export import SequenceServer, capitalize_first
from apps.translate.model import ARCHITECTURES, example_batch
from datasets.pipeline import bucketed_batches, sequence_dataset
from datasets.vocabulary import (
    OOV_TOKEN,
    build_vectorizer,
    save_vocabulary,
    standardize,
    vectorizer_from_vocabulary,
)

START, END = "[start]", "[end]"
SHIPPED = Path(__file__).resolve().parents[2] / "saved_models" / "translate"
MAX_SOURCE_TOKENS = 100  # longer inputs are cut here; the CLI splits paragraphs into sentences first
SOURCE_VOCABULARY, TARGET_VOCABULARY = "source_vocabulary.txt", "target_vocabulary.txt"

# Tokens are joined with spaces, then French typography is restored.
FRENCH_CLEANUPS = (
    (r" ([.,)\]…])", r"\1"),  # no space before . , ) ]
    (r"([(\[]) ", r"\1"),  # none after ( [
    (r"(\pL)' ", r"\1'"),  # elision: "l' homme" -> "l'homme"
    (r"(\pL) - (\pL)", r"\1-\2"),  # "dit - il" -> "dit-il"
    (r"(\pL) - (\pL)", r"\1-\2"),  # again for chains: "va-t - il" -> "va-t-il" (RE2 has no lookahead)
)


def target_text(french):
    return f"{START} {french} {END}"


def build_vocabularies(train_pairs, vocabulary_size):
    """Source and target vectorizers from the training pairs only."""
    source = build_vectorizer([english for english, _ in train_pairs], max_tokens=vocabulary_size)
    target = build_vectorizer([target_text(french) for _, french in train_pairs], max_tokens=vocabulary_size)
    return source, target


def vectorize(vectorizer, texts, batch_size=2048):
    """Python lists of token ids (padding removed), for `sequence_dataset`."""
    rows = []
    for start in range(0, len(texts), batch_size):
        ids = vectorizer(tf.constant(texts[start : start + batch_size])).numpy()
        rows.extend(row[row != 0].tolist() for row in ids)
    return rows


def pair_ids(pairs, source_vectorizer, target_vectorizer):
    """(source ids, "[start] french [end]" ids), lists of id lists, sources cut to MAX_SOURCE_TOKENS."""
    source_ids = [ids[:MAX_SOURCE_TOKENS] for ids in vectorize(source_vectorizer, [e for e, _ in pairs])]
    target_ids = vectorize(target_vectorizer, [target_text(f) for _, f in pairs])
    return source_ids, target_ids


def training_dataset(pairs, source_vectorizer, target_vectorizer, batch_size, shuffle, drop_remainder=False):
    """((source, target_in), target_out) batches, bucketed by length, cached, prefetched.

    `drop_remainder` drops each bucket's last incomplete batch, for multi-replica training.
    """
    data = sequence_dataset(*pair_ids(pairs, source_vectorizer, target_vectorizer))
    batches = bucketed_batches(
        data, batch_size, shuffle_buffer=len(pairs) if shuffle else None, drop_remainder=drop_remainder
    )
    return batches.map(lambda source, target: ((source, target[:, :-1]), target[:, 1:]))


def max_output_lengths(source_lengths):
    """French runs longer than English; allow 2x + 10 tokens (END included)."""
    return tf.minimum(2 * source_lengths + 10, 2 * MAX_SOURCE_TOKENS + 10)


def make_preprocess(source_vectorizer):
    """Raw English strings (B,) -> model inputs, source tokens and length limits, in-graph."""

    def preprocess(text):
        ids = tf.cast(source_vectorizer(text), tf.int32)[:, :MAX_SOURCE_TOKENS]
        tokens = tf.strings.split(standardize(text)).to_tensor("", shape=tf.shape(ids, out_type=tf.int64))
        # One padding column: never zero columns, even for a batch of empty strings.
        ids, tokens = tf.pad(ids, [[0, 0], [0, 1]]), tf.pad(tokens, [[0, 0], [0, 1]], constant_values="")
        lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)
        return {
            "inputs": ids,
            "source_tokens": tokens,
            "max_lengths": max_output_lengths(lengths),
            "is_empty": lengths == 0,
        }

    return preprocess


def build_server(model, source_vectorizer, target_vocabulary, beam_size=4, length_penalty=0.6):
    """The string-to-string `SequenceServer` of a trained translation model."""
    return SequenceServer(
        model,
        make_preprocess(source_vectorizer),
        target_vocabulary,
        start_id=target_vocabulary.index(START),
        end_id=target_vocabulary.index(END),
        input_spec=tf.TensorSpec([None], tf.string, name="text"),
        postprocess=capitalize_first,
        cleanups=FRENCH_CLEANUPS,
        beam_size=beam_size,
        length_penalty=length_penalty,
        preprocess_layers=[source_vectorizer],
        suppressed_ids=(0, target_vocabulary.index(OOV_TOKEN)),  # padding and [UNK] are never outputs
    )


def save_translation_model(model, config, source_vectorizer, target_vectorizer, model_dir):
    """Writes config, vocabularies, the Keras model and the serving SavedModel to `model_dir`."""
    os.makedirs(model_dir, exist_ok=True)
    save_vocabulary(source_vectorizer, os.path.join(model_dir, SOURCE_VOCABULARY))
    save_vocabulary(target_vectorizer, os.path.join(model_dir, TARGET_VOCABULARY))
    artifacts.save_keras_model(model, model_dir, example_batch())
    from apps.common.training import write_json

    write_json(os.path.join(model_dir, artifacts.CONFIG_FILE), config)
    export(model_dir, os.path.join(model_dir, artifacts.SERVING_DIR))


def load_translation_model(model_dir):
    """(model, source vectorizer, target vocabulary, config) from a model directory."""
    config = artifacts.read_config(model_dir)
    if config.get("architecture") not in ARCHITECTURES:
        raise artifacts.UserError(f"{model_dir}/config.json names an unknown architecture")
    model = artifacts.load_keras_model(model_dir)
    source_vectorizer = vectorizer_from_vocabulary(artifacts.read_vocabulary(model_dir, SOURCE_VOCABULARY))
    target_vocabulary = artifacts.read_vocabulary(model_dir, TARGET_VOCABULARY)
    return model, source_vectorizer, target_vocabulary, config


def export(model_dir, out_dir, beam_size=None):
    """Exports the model of `model_dir` as a SavedModel in `out_dir` (beam: the config's by default)."""
    from apps.common.export import export_server

    model, source_vectorizer, target_vocabulary, config = load_translation_model(model_dir)
    server = build_server(
        model,
        source_vectorizer,
        target_vocabulary,
        beam_size=beam_size or config.get("beam_size", 4),
        length_penalty=config.get("length_penalty", 0.6),
    )
    try:
        export_server(server, out_dir)
    except OSError as error:
        raise artifacts.UserError(f"--out {out_dir}: {error.strerror or error}") from None
    return server


def shipped_model_dir(name):
    """The directory of a model shipped in saved_models/translate."""
    return str(SHIPPED / name)
