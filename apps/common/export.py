"""The serving pattern shared by the apps: raw inputs in, strings out, the whole decode in-graph.

`SequenceServer` wraps a trained model that has the `encode` / `step` interface of
`apps.common.decoding`, an app's `preprocess` (raw strings or image bytes -> model inputs) and
the output vocabulary. Its `generate` tf.function runs preprocessing, the compiled greedy or beam
search and detokenisation, so the SavedModel written by `export_server` needs none of our Python
code: `tf.saved_model.load(path).signatures["serving_default"](text=...)` works in a bare
process, as does `saved_model_cli run` and TF Serving (plain TF ops and `tf.lookup` only).
"""

import tensorflow as tf

from apps.common.decoding import decode, suppress_tokens


def join_tokens(tokens, lengths, cleanups=()):
    """(B, L) token strings and (B,) lengths -> (B,) strings, tokens separated by spaces.

    `cleanups` are (pattern, rewrite) pairs for `tf.strings.regex_replace`, applied in order
    (e.g. no space before a full stop).
    """
    keep = tf.sequence_mask(lengths, tf.shape(tokens)[1])
    words = tf.where(keep, tokens, "")
    text = tf.strings.strip(tf.strings.regex_replace(tf.strings.reduce_join(words, axis=-1, separator=" "),
                                                     r"\s+", " "))
    for pattern, rewrite in cleanups:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    return text


def capitalize_first(text):
    """Upper-cases the first character (Unicode-aware) of each string."""
    length = tf.strings.length(text, unit="UTF8_CHAR")
    first = tf.strings.substr(text, tf.zeros_like(length), tf.minimum(length, 1), unit="UTF8_CHAR")
    rest = tf.strings.substr(text, tf.minimum(length, 1), length, unit="UTF8_CHAR")
    return tf.strings.join([tf.strings.upper(first, encoding="utf-8"), rest])


class SequenceServer(tf.Module):
    """Raw inputs -> generated strings, attention weights and scores, in one graph.

    Args:
        model: a Keras model with `encode(inputs, max_output_length)` and `step(...)`.
        preprocess: tf-traceable function raw (B,) -> dict with "inputs" (model inputs),
            "source_tokens" (B, S) strings (for attention plots), "max_lengths" (B,) int32,
            "is_empty" (B,) bool (inputs to answer with "").
        vocabulary: list of output tokens; index = token id.
        start_id, end_id: int.
        postprocess: tf-traceable function (B,) joined strings -> (B,) final strings.
        cleanups: regex rewrites for `join_tokens`.
        beam_size: int, the default beam of `serving_default`. length_penalty: float.
        input_spec: tf.TensorSpec of the raw input batch.
        preprocess_layers: Keras layers used by `preprocess` (vectorizers), tracked for export.
        suppressed_ids: token ids never to generate (padding, [UNK]); START is always added.
    """

    def __init__(self, model, preprocess, vocabulary, start_id, end_id, input_spec, postprocess=None,
                 cleanups=(), beam_size=4, length_penalty=0.6, preprocess_layers=(), suppressed_ids=()):
        super().__init__()
        # The model's methods, not the model: a tracked Keras model saves its weights a second
        # time beside `model_variables`. Bound methods are not tracked.
        self._encode, self._step = model.encode, model.step
        self.preprocess_layers = list(preprocess_layers)
        # The tf.Variables under Keras' variables, tracked directly (as keras.export does), so
        # that TF1-style loaders (saved_model_cli, TF Serving) restore every captured variable.
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        self._preprocess = preprocess
        self._postprocess = postprocess or (lambda text: text)
        self._cleanups = tuple(cleanups)
        self.vocabulary = tf.constant(vocabulary)
        self.start_id, self.end_id = int(start_id), int(end_id)
        self.suppressed_ids = (*suppressed_ids, self.start_id)  # START is never an output
        self.default_beam_size, self.length_penalty = int(beam_size), float(length_penalty)
        self.generate_with_beam = tf.function(
            self.generate, input_signature=[input_spec, tf.TensorSpec([], tf.int32)]
        )

        def serving_default(raw):  # a def, not a lambda: autograph reads the function's source
            # Calls the other tf.function, so the decode graph is stored (and loaded) once.
            return self.generate_with_beam(raw, tf.constant(self.default_beam_size))

        self.serving_default = tf.function(serving_default, input_signature=[input_spec])

    def generate(self, raw, beam_size):
        prepared = self._preprocess(raw)
        source_tokens = prepared["source_tokens"]
        max_lengths = prepared["max_lengths"]
        state, constants = self._encode(prepared["inputs"], tf.reduce_max(max_lengths))
        result = decode(
            suppress_tokens(self._step, self.suppressed_ids),
            state,
            constants,
            self.start_id,
            self.end_id,
            max_lengths,
            attention_length=tf.shape(source_tokens)[1],
            beam_size=beam_size,
            length_penalty=self.length_penalty,
        )
        words = tf.gather(self.vocabulary, result.tokens)  # (B, L)
        output_lengths = result.lengths - 1  # without END
        text = self._postprocess(join_tokens(words, output_lengths, self._cleanups))
        text = tf.where(prepared["is_empty"], "", text)
        return {
            "text": text,
            "tokens": tf.where(tf.sequence_mask(output_lengths, tf.shape(words)[1]), words, ""),
            "source_tokens": source_tokens,
            "attention": result.attention,
            "score": result.scores,
        }


def export_server(server, path):
    """Writes `server` as a SavedModel with `serving_default` and `generate_with_beam` signatures."""
    tf.saved_model.save(
        server,
        path,
        signatures={
            "serving_default": server.serving_default.get_concrete_function(),
            "generate_with_beam": server.generate_with_beam.get_concrete_function(),
        },
    )
