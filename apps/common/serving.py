"""The serving pattern shared by the apps: raw inputs in, strings or probabilities out, all in-graph.

Two `tf.Module`s, one per kind of output:

  SequenceServer    generated sequences, joined by the app's rule (words with spaces,
                    characters with nothing, music events with spaces), with their score and
                    per-token outputs (attention). Decoding runs inside the graph through
                    `apps.common.decoding`: beam search (translation, captions) or seeded
                    sampling with a prompt (text, music).
  ClassifierServer  class probabilities and the most probable label, with the model's
                    per-token outputs (attention pooling weights).

Both subclass `Server`, which an app subclasses for signatures of its own (music's servers).

The input kind is the app's `preprocess` with its `input_spec`: strings (`TEXT`), encoded
image bytes (`apps.caption.serving.IMAGE_BYTES`), or a prompt string whose sampling settings are
extra scalar inputs of the `sample` signature. Everything is plain TensorFlow and
`tf.lookup`, so a SavedModel written by `export_server` runs without our code:
`tf.saved_model.load(path).signatures["serving_default"](text=...)`, `saved_model_cli run` and
TF Serving.

Signatures of a SequenceServer:
    beam mode:   serving_default(raw)                  the model's beam (1 = greedy)
                 generate_with_beam(raw, beam_size)
    sample mode: serving_default(raw)                  the model's default settings
                 sample(raw, temperature, top_k, top_p, seed, max_new_tokens)
                 sample_xla(...)                       the same inputs; the loop compiled by XLA
`sample_xla` compiles the sampling loop into one XLA program on its first call (seconds), then
runs each step several times faster than the TensorFlow executor can (no per-op dispatch), which
pays for long texts. XLA draws its random numbers with its own generator, so a seed gives a
different (equally random) text there than through `sample`, the same one on every call. TF
Serving runs it only with XLA enabled (`--xla_cpu_compilation_enabled`); `sample` runs anywhere.
"""

import tensorflow as tf

from apps.common.decoding import BeamSampler, DecodeResult, RandomSampler, decode, suppress_tokens
from apps.common.decoding_defaults import DEFAULT_BEAM_SIZE, DEFAULT_LENGTH_PENALTY

TEXT = tf.TensorSpec([None], tf.string, name="text")
WORDS, CHARACTERS = " ", ""  # separators of `join_tokens`


def join_tokens(tokens, lengths, separator=WORDS, cleanups=()):
    """(B, L) token strings and (B,) lengths -> (B,) strings.

    Args:
        separator: `WORDS` (" ", runs of spaces collapsed, ends stripped) or `CHARACTERS`
            (""), or any string (e.g. " " between music events).
        cleanups: (pattern, rewrite) pairs for `tf.strings.regex_replace`, applied in order
            (e.g. no space before a full stop).
    """
    keep = tf.sequence_mask(lengths, tf.shape(tokens)[1])
    text = tf.strings.reduce_join(tf.where(keep, tokens, ""), axis=-1, separator=separator)
    if separator == WORDS:
        # Empty tokens would leave double spaces.
        text = tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))
    for pattern, rewrite in cleanups:
        text = tf.strings.regex_replace(text, pattern, rewrite)
    return text


def capitalize_first(text):
    """Upper-cases the first character (Unicode-aware) of each string, in a tensor of any shape."""
    length = tf.strings.length(text, unit="UTF8_CHAR")
    first = tf.strings.substr(text, tf.zeros_like(length), tf.minimum(length, 1), unit="UTF8_CHAR")
    rest = tf.strings.substr(text, tf.minimum(length, 1), length, unit="UTF8_CHAR")
    return tf.strings.join([tf.strings.upper(first, encoding="utf-8"), rest])


class Server(tf.Module):
    """The base of every server: the model's weights tracked once, the preprocessing layers.

    `SequenceServer` and `ClassifierServer` below, and an app's own server with other signatures
    (music's `EventServer`, `RollServer`), subclass it.
    """

    def __init__(self, model, preprocess, input_spec, preprocess_layers):
        super().__init__()
        self.preprocess_layers = list(preprocess_layers)
        # The tf.Variables under Keras' variables, tracked directly (as keras.export does), so
        # that TF1-style loaders (saved_model_cli, TF Serving) restore every captured variable.
        # Their order is `model.variables`' order: `ModelDirectory.load_model` relies on it.
        self.model_variables = [getattr(v, "value", v) for v in model.variables]
        self._preprocess = preprocess
        self.input_spec = input_spec


class SequenceServer(Server):
    """Raw inputs -> generated strings, per-token outputs and scores, in one graph.

    Args:
        model: a Keras model with `encode(inputs, max_output_length) -> (state, constants)` and
            `step(tokens, state, constants, index) -> (logits, state, outputs)`.
        preprocess: tf-traceable function, raw (B,) -> dict with "inputs" (for `encode`),
            "prompt" (B, P) int32, "prompt_lengths" (B,) int32, "max_lengths" (B,) int32 (the
            most generated tokens, END included), "is_empty" (B,) bool (answered with ""), and
            optionally "passthrough": a dict of tensors returned as they are (source tokens).
        vocabulary: list of output tokens; index = token id.
        end_id: int; -1 for a model without END (a character language model), which then
            generates exactly max_lengths (or max_new_tokens) tokens.
        input_spec: tf.TensorSpec of the raw input batch (`TEXT`, caption's `IMAGE_BYTES`).
        separator, cleanups: how tokens are joined (`join_tokens`).
        postprocess: tf-traceable function (B,) joined strings -> (B,) final strings.
        rewrite_tokens: tf-traceable function (ids (B, L) int32, tokens (B, L) strings, the
            step outputs, the passthrough) -> (B, L) strings, before they are joined (e.g. an
            unknown word replaced by the source word it attends to).
        constrain_step: function (step, constants, step_inputs) -> (step, constants), applied
            once per batch before decoding: a step that masks tokens by what the input holds, with
            any per-row tensors it needs added to the constants (tiled per beam with them).
            `step_inputs` is what `preprocess` returns under "step_inputs", else its "inputs".
        mode: "beam" or "sample", which signatures are written (module docstring).
        beam_size, length_penalty: the defaults of beam mode.
        sampling: dict of sample mode's defaults: temperature, top_k, top_p, seed, max_new_tokens
            (the most tokens generated after the prompt, END included, so 1 gives ""; with no END,
            end_id -1, exactly that many).
        preprocess_layers: Keras layers used by `preprocess` (vectorizers), tracked for export.
        suppressed_ids: token ids never to generate (padding, [UNK], START).
    """

    def __init__(self, model, preprocess, vocabulary, end_id, input_spec, separator=WORDS, cleanups=(),
                 postprocess=None, mode="beam", beam_size=DEFAULT_BEAM_SIZE, length_penalty=DEFAULT_LENGTH_PENALTY,
                 sampling=None, preprocess_layers=(), suppressed_ids=(), rewrite_tokens=None, constrain_step=None):
        super().__init__(model, preprocess, input_spec, preprocess_layers)
        if mode not in ("beam", "sample"):
            raise ValueError(f"mode must be 'beam' or 'sample', got {mode!r}")
        # The model's methods, not the model: a tracked Keras model saves its weights a second
        # time beside `model_variables`. Bound methods are not tracked.
        self._encode, self._step = model.encode, model.step
        self._postprocess = postprocess or (lambda text: text)
        self._rewrite_tokens = rewrite_tokens
        self._constrain_step = constrain_step
        self._separator, self._cleanups = separator, tuple(cleanups)
        self.vocabulary = tf.constant(vocabulary)
        self.end_id = int(end_id)
        self.suppressed_ids = tuple(int(i) for i in suppressed_ids)
        self.mode = mode
        self.default_beam_size, self.length_penalty = int(beam_size), float(length_penalty)
        self.sampling = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0, "max_new_tokens": 100,
                         **(sampling or {})}
        scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
        if mode == "beam":
            self.generate_with_beam = tf.function(
                self._generate_with_beam, input_signature=[input_spec, scalar(tf.int32, "beam_size")]
            )

            def serving_default(raw):  # a def, not a lambda: autograph reads the function's source
                # Calls the other tf.function, so the decode graph is stored (and loaded) once.
                return self.generate_with_beam(raw, tf.constant(self.default_beam_size))
        else:
            settings = [input_spec, scalar(tf.float32, "temperature"), scalar(tf.int32, "top_k"),
                        scalar(tf.float32, "top_p"), scalar(tf.int32, "seed"), scalar(tf.int32, "max_new_tokens")]
            self.sample = tf.function(self._sample, input_signature=settings)
            # The encoder and the loop in one XLA program; preprocessing and strings stay outside.
            self._compiled_sampling = tf.function(self._sampled_tokens, jit_compile=True)
            self.sample_xla = tf.function(self._sample_xla, input_signature=settings)

            def serving_default(raw):
                s = self.sampling
                return self.sample(raw, tf.constant(float(s["temperature"])), tf.constant(int(s["top_k"])),
                                   tf.constant(float(s["top_p"])), tf.constant(int(s["seed"])),
                                   tf.constant(int(s["max_new_tokens"])))

        self.serving_default = tf.function(serving_default, input_signature=[input_spec])

    def signatures(self):
        if self.mode == "beam":
            extra = {"generate_with_beam": self.generate_with_beam}
        else:
            extra = {"sample": self.sample, "sample_xla": self.sample_xla}
        return {"serving_default": self.serving_default, **extra}

    def _generate_with_beam(self, raw, beam_size):
        return self.generate(raw, BeamSampler(beam_size, self.length_penalty))  # `decode` checks beam_size

    def _sample(self, raw, temperature, top_k, top_p, seed, max_new_tokens):
        # The sampler checks its settings in the graph; the length is this signature's own.
        tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be > 0")
        return self.generate(raw, RandomSampler(temperature, top_k, top_p, seed), max_new_tokens)

    def _sample_xla(self, raw, temperature, top_k, top_p, seed, max_new_tokens):
        tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be > 0")
        # Checked here: XLA compiles assertions away.
        sampler = RandomSampler(temperature, top_k, top_p, seed).checked()
        return self.generate(raw, sampler, max_new_tokens, decode_tokens=self._compiled_sampling)

    def _sampled_tokens(self, inputs, positions, prompt, prompt_lengths, max_lengths, step_inputs, temperature,
                        top_k, top_p, seed):
        """Encoder and sampling loop, tensors in and out (`sample_xla` compiles this)."""
        # Its assertions compile to nothing; `_sample_xla` checked the settings before.
        sampler = RandomSampler(temperature, top_k, top_p, seed)
        return self._decode(inputs, positions, prompt, prompt_lengths, max_lengths, step_inputs, sampler)

    def _decode(self, inputs, positions, prompt, prompt_lengths, max_lengths, step_inputs, sampler):
        state, constants = self._encode(inputs, positions)
        step = suppress_tokens(self._step, self.suppressed_ids)
        if self._constrain_step is not None:
            step, constants = self._constrain_step(step, constants, step_inputs)
        return tuple(decode(step, state, constants, prompt, prompt_lengths, self.end_id, max_lengths, sampler))

    def generate(self, raw, sampler, max_new_tokens=None, decode_tokens=None):
        """Decodes a raw batch with `sampler`; the dict every signature returns.

        `decode_tokens`: the compiled encoder and loop of `sample_xla` (its sampler's settings
        passed as tensors), or None for the TensorFlow executor's loop.
        """
        prepared = self._preprocess(raw)
        max_lengths = tf.cast(prepared["max_lengths"], tf.int32)
        if max_new_tokens is not None:
            max_lengths = tf.minimum(max_lengths, max_new_tokens)
        if self.end_id < 0:  # no END token: exactly max_lengths tokens, then the decoder's END slot
            max_lengths += 1
        # Positions fed to the model: the prompt, then every generated token but the last.
        positions = tf.reduce_max(prepared["prompt_lengths"]) + tf.reduce_max(max_lengths) - 1
        inputs = (prepared["inputs"], positions, tf.cast(prepared["prompt"], tf.int32),
                  tf.cast(prepared["prompt_lengths"], tf.int32), max_lengths,
                  prepared.get("step_inputs", prepared["inputs"]))
        if decode_tokens is None:
            result = DecodeResult(*self._decode(*inputs, sampler))
        else:
            settings = (sampler.temperature, sampler.top_k, sampler.top_p, sampler.seed)
            result = DecodeResult(*decode_tokens(*inputs, *(tf.convert_to_tensor(x) for x in settings)))
        tokens = tf.gather(self.vocabulary, tf.maximum(result.tokens, 0))  # (B, L); an END of -1 is cut below
        if self._rewrite_tokens is not None:
            tokens = self._rewrite_tokens(result.tokens, tokens, result.outputs, prepared.get("passthrough", {}))
        output_lengths = result.lengths - 1  # without END, which ends every sequence (forced at the limit)
        text = self._postprocess(join_tokens(tokens, output_lengths, self._separator, self._cleanups))
        return _merge_outputs({
            "text": tf.where(prepared["is_empty"], "", text),
            "tokens": tf.where(tf.sequence_mask(output_lengths, tf.shape(tokens)[1]), tokens, ""),
            "score": result.scores,
        }, result.outputs, prepared.get("passthrough", {}))


def _merge_outputs(*parts):
    """One dict of signature outputs; a name given twice is a programming error, not an overwrite."""
    merged = {}
    for part in parts:
        clash = set(merged) & set(part)
        if clash:
            raise ValueError(f"output names given twice: {sorted(clash)}")
        merged.update(part)
    return merged


class ClassifierServer(Server):
    """Raw inputs -> class probabilities and labels, in one graph.

    Args:
        model: a Keras model; `model(inputs)` returns logits (B, C), or a dict with "logits" and
            other per-example outputs (attention weights), returned as they are.
        call: what to call instead of `model` (e.g. `model.explain`, which adds attention
            weights to the logits); default `model.__call__`.
        preprocess: tf-traceable function raw (B,) -> dict with "inputs" and optionally
            "passthrough" (tokens, for showing weights).
        labels: list of C class names.
        input_spec: tf.TensorSpec of the raw input batch.
        preprocess_layers: Keras layers used by `preprocess`, tracked for export.

    Signature: serving_default(raw) -> {"probabilities" (B, C), "label" (B,), ...}.
    """

    def __init__(self, model, preprocess, labels, input_spec, preprocess_layers=(), call=None):
        super().__init__(model, preprocess, input_spec, preprocess_layers)
        self._call = call or model.__call__
        self.labels = tf.constant(labels)

        def serving_default(raw):
            return self.classify(raw)

        self.serving_default = tf.function(serving_default, input_signature=[input_spec])

    def signatures(self):
        return {"serving_default": self.serving_default}

    def classify(self, raw):
        prepared = self._preprocess(raw)
        outputs = self._call(prepared["inputs"], training=False)
        outputs = dict(outputs) if isinstance(outputs, dict) else {"logits": outputs}
        probabilities = tf.nn.softmax(outputs.pop("logits"), axis=-1)
        label = tf.gather(self.labels, tf.argmax(probabilities, axis=-1))
        return _merge_outputs({"probabilities": probabilities, "label": label}, outputs,
                              prepared.get("passthrough", {}))


def export_server(server, path):
    """Writes `server` as a SavedModel with every signature it has.

    The signatures go in as tf.functions, traced by `save` itself: a concrete function traced
    before `save` is a different trace from the one `save` makes of the same attribute, and the
    SavedModel then holds (and every load reads) each decode graph twice.
    """
    tf.saved_model.save(server, path, signatures=server.signatures())


def run_in_batches(signature, inputs, batch_size, input_name, progress=None, keep=None, **settings):
    """Runs a SavedModel signature over `inputs` in batches; a list of per-input dicts of NumPy values.

    Args:
        signature: a loaded signature (`serving.signatures[...]`).
        inputs: list of raw inputs (str or bytes).
        input_name: the signature's input name ("text", "image_bytes").
        progress: None, or a label: a progress bar on stderr.
        keep: the output names to keep (all by default); attention maps of a large input weigh.
        **settings: scalar inputs of the signature (beam_size, temperature, ...).
    """
    import sys

    from tqdm import tqdm

    constants = {name: tf.constant(value) for name, value in settings.items()}
    starts = range(0, len(inputs), batch_size)
    if progress:
        starts = tqdm(starts, desc=progress, unit="batch", file=sys.stderr)
    rows = []
    for start in starts:
        batch = inputs[start : start + batch_size]
        outputs = signature(**{input_name: tf.constant(batch)}, **constants)
        out = {k: v.numpy() for k, v in outputs.items() if keep is None or k in keep}
        rows.extend({k: v[i] for k, v in out.items()} for i in range(len(batch)))
    return rows


def token_list(row):
    """The non-empty token strings of one row of a "tokens" output."""
    return [t.decode("utf-8") for t in row if t]
