"""The music SavedModels: a primer and sampling settings in, the continuation out, the loop in the graph.

EventServer (folk melodies), strings of event tokens (`apps.music.events`) in and out:

    sample(primer (B,) string, temperature, top_k, top_p, seed, bars () int32)
        -> {"events": (B,) string, "tokens": (B, L) string, "score": (B,) float32,
            "truncated": (B,) bool}
    serving_default(primer)   the same with temperature 1, no cut, seed 0, 16 bars

    The primer is the tune's beginning after <start> (which the server puts first): the context
    tokens to condition on, then any events, e.g. "<metre:6/8> <key:G> <mode:major> D5:1/2".
    An empty primer lets the model choose the metre and the key too. The continuation has
    exactly `bars` bar lines: the model may not end the tune before (its <end> is suppressed)
    and must end it after. Sampling is `apps.common.decoding`'s, seeded per position, with the
    context tokens allowed only in their own places.

    A call generates at most `events_per_bar(vocabulary)` tokens per bar asked for: room for the
    longest bar of any metre the model knows filled with the shortest notes. Only a model that
    keeps writing notes without bar lines reaches that limit; the tune then ends early, with fewer
    bar lines than asked for, and "truncated" says so.

RollServer (chorales), piano-roll frames as text in and out: a frame is its sounding keys joined
by "+" ("C3+G3+E4+C5"), "." for silence, frames separated by spaces:

    sample(primer (B,) string, temperature, seed, frames () int32)
        -> {"frames": (B,) string, "roll": (B, F, 88) float32, "score": (B,) float32}
    serving_default(primer)   temperature 1, seed 0, 64 frames (8 bars of 4/4 in eighths)

    Each key of each new frame is drawn from its Bernoulli, p = sigmoid(logit / temperature),
    with stateless uniforms seeded by (seed, step), so a seed gives the same piece every time.
    "score" is the model's log-likelihood of the frames drawn (untempered).

Unknown tokens or key names in a primer are an InvalidArgumentError naming the problem. Both are
plain TensorFlow: `tf.saved_model.load(path).signatures["sample"](primer=..., ...)` runs without
this project's code.
"""

import math

import tensorflow as tf

from apps.common.decoding import RandomSampler, decode
from apps.common.serving import Server, join_tokens
from apps.music.model import nll_per_frame

_NEG_INF = -1e9
PRIMER = tf.TensorSpec([None], tf.string, name="primer")


def events_per_bar(vocabulary):
    """The most tokens a well-formed bar holds, for the longest bar of any metre in `vocabulary`:
    its length in the shortest duration (`events.DURATIONS`, notes and rests alike), plus its bar
    line. A 4/4 bar at least, for tunes of no stated metre."""
    from apps.music.events import DURATIONS
    from apps.music.theory import metre_bar_length

    longest = 4.0
    for token in vocabulary:
        if token.startswith("<metre:"):
            try:
                longest = max(longest, metre_bar_length(token[7:-1]))
            except ValueError:  # <metre:?>
                pass
    return math.ceil(longest / float(min(DURATIONS)) - 1e-6) + 1


class EventServer(Server):
    """Serves an `EventLSTM` (module docstring).

    Args:
        model: a built `apps.music.model.EventLSTM`.
        vocabulary: list of tokens; index = id (`data.event_vocabulary`'s layout).
        default_bars: int, the bars of `serving_default`.
        max_bars: int, the most bars one call may ask for.
    """

    def __init__(self, model, vocabulary, default_bars=16, max_bars=64):
        super().__init__(model, preprocess=None, input_spec=PRIMER, preprocess_layers=())
        from apps.music.events import BAR, CONTEXT_LENGTH, END, START, UNKNOWN, is_context

        # Bound methods, not the model: a tracked Keras model would save its weights a second time.
        self._encode, self._step = model.encode, model.step
        self.default_bars, self.max_bars = int(default_bars), int(max_bars)
        self.vocabulary = tf.constant(vocabulary)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(vocabulary), tf.range(len(vocabulary), dtype=tf.int32)),
            default_value=-1)
        self.start_id, self.end_id, self.bar_id = (vocabulary.index(t) for t in (START, END, BAR))
        self.unknown_id = vocabulary.index(UNKNOWN)
        # allowed[p, v]: may token v stand at position p? 0 <start>, 1 metre, 2 key, 3 mode, then events.
        kinds = ["<start>", "<metre:", "<key:", "<mode:"]
        rows = []
        for position in range(CONTEXT_LENGTH + 1):
            if 0 < position < CONTEXT_LENGTH:
                rows.append([token.startswith(kinds[position]) for token in vocabulary])
            else:
                rows.append([bool(token) and token not in (START, UNKNOWN) and not is_context(token)
                             for token in vocabulary])
        self.allowed = tf.constant(rows)  # (CONTEXT_LENGTH + 1, V)
        self.context_length = CONTEXT_LENGTH
        self.events_per_bar = events_per_bar(vocabulary)
        scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
        self.sample = tf.function(self._sample, input_signature=[
            PRIMER, scalar(tf.float32, "temperature"), scalar(tf.int32, "top_k"), scalar(tf.float32, "top_p"),
            scalar(tf.int32, "seed"), scalar(tf.int32, "bars")])

        def serving_default(primer):
            return self.sample(primer, tf.constant(1.0), tf.constant(0), tf.constant(1.0), tf.constant(0),
                               tf.constant(self.default_bars))

        self.serving_default = tf.function(serving_default, input_signature=[PRIMER])

    def signatures(self):
        return {"serving_default": self.serving_default, "sample": self.sample}

    def _sample(self, primer, temperature, top_k, top_p, seed, bars):
        checks = [tf.debugging.assert_positive(bars, message="bars must be > 0"),
                  tf.debugging.assert_less_equal(bars, self.max_bars, message=f"bars must be at most {self.max_bars}")]
        words = tf.strings.split(tf.strings.join([tf.fill(tf.shape(primer), "<start>"), primer], " "))
        ids = self.table.lookup(words)
        checks.append(tf.debugging.assert_non_negative(
            ids.flat_values, message="the primer holds a token outside the model's vocabulary"))
        with tf.control_dependencies(checks):
            ids = tf.identity(ids.to_tensor(default_value=0))  # (B, P)
        lengths = tf.cast(words.row_lengths(), tf.int32)
        batch_size = tf.shape(lengths)[0]
        state, _ = self._encode(tf.zeros([batch_size, 1], tf.int32))
        constants = {"prompt_lengths": lengths, "bars": tf.fill([batch_size], bars)}
        # The context an empty primer leaves to the model, the bars, and <end>.
        max_lengths = tf.fill([batch_size], bars * self.events_per_bar + self.context_length + 1)
        result = decode(self._bar_step, {"model": state, "bars": tf.zeros([batch_size], tf.int32)}, constants,
                        ids, lengths, self.end_id, max_lengths, RandomSampler(temperature, top_k, top_p, seed))
        tokens = tf.gather(self.vocabulary, tf.maximum(result.tokens, 0))
        output_lengths = result.lengths - 1  # without <end>
        keep = tf.sequence_mask(output_lengths, tf.shape(tokens)[1])
        bar_lines = tf.reduce_sum(tf.cast(keep & tf.equal(result.tokens, self.bar_id), tf.int32), axis=1)
        return {"events": join_tokens(tokens, output_lengths), "tokens": tf.where(keep, tokens, ""),
                "score": result.scores, "truncated": bar_lines < bars}

    def _bar_step(self, tokens, state, constants, index):
        """The model's step, with the tokens a position allows and the bar count enforced."""
        logits, model_state, outputs = self._step(tokens, state["model"], {}, index)
        generated = index >= constants["prompt_lengths"]  # (N,): `tokens` was drawn, not read
        bars = state["bars"] + tf.cast(generated & tf.equal(tokens, self.bar_id), tf.int32)
        allowed = self.allowed[tf.minimum(index + 1, self.context_length)][None]  # (1, V)
        is_end = tf.equal(tf.range(tf.shape(logits)[-1]), self.end_id)[None]  # (1, V)
        done = (bars >= constants["bars"])[:, None]  # (N, 1)
        allowed = tf.where(done, is_end, allowed & ~is_end)
        logits = tf.where(allowed, logits, tf.cast(_NEG_INF, logits.dtype))
        return logits, {"model": model_state, "bars": bars}, outputs


class RollServer(Server):
    """Serves a `RollLSTM` (module docstring).

    Args:
        model: a built `apps.music.model.RollLSTM`.
        key_names: the roll's 88 column names (`roll.key_names()`).
        default_frames: int, the frames of `serving_default`.
        max_frames: int, the most frames one call may ask for.
    """

    def __init__(self, model, key_names, default_frames=64, max_frames=4096):
        super().__init__(model, preprocess=None, input_spec=PRIMER, preprocess_layers=())
        # Bound methods, not the model: a tracked Keras model would save its weights a second time.
        self._encode, self._step = model.encode, model.step
        self.num_keys = len(key_names)
        self.default_frames, self.max_frames = int(default_frames), int(max_frames)
        self.key_names = tf.constant(key_names)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(key_names), tf.range(len(key_names), dtype=tf.int32)),
            default_value=-1)
        scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
        self.sample = tf.function(self._sample, input_signature=[
            PRIMER, scalar(tf.float32, "temperature"), scalar(tf.int32, "seed"), scalar(tf.int32, "frames")])

        def serving_default(primer):
            return self.sample(primer, tf.constant(1.0), tf.constant(0), tf.constant(self.default_frames))

        self.serving_default = tf.function(serving_default, input_signature=[PRIMER])

    def signatures(self):
        return {"serving_default": self.serving_default, "sample": self.sample}

    def parse(self, primer):
        """(B,) primer strings -> (B, P + 1, K) frames (a silent frame after each primer) and (B,) lengths P_b."""
        frames = tf.strings.split(primer)  # (B, None) frame texts
        keys = tf.strings.split(frames, "+")  # (B, None, None) key names
        ids = tf.ragged.map_flat_values(self.table.lookup, keys)
        named = tf.not_equal(keys.flat_values, ".")
        check = tf.debugging.assert_equal(
            tf.reduce_all(tf.logical_or(ids.flat_values >= 0, ~named)), True,
            message="the primer holds a key name outside the roll (A0 .. C8, e.g. C4, F#3, Bb2) or a bad frame")
        with tf.control_dependencies([check]):
            hot = tf.reduce_max(tf.one_hot(ids, self.num_keys), axis=2)  # (B, None, K) ragged; -1 is all zeros
        lengths = tf.cast(frames.row_lengths(), tf.int32)
        batch_size = tf.shape(lengths)[0]
        dense = hot.to_tensor(shape=[None, None, self.num_keys])
        return tf.concat([dense, tf.zeros([batch_size, 1, self.num_keys])], axis=1), lengths

    def _sample(self, primer, temperature, seed, frames):
        checks = [tf.debugging.assert_positive(temperature, message="temperature must be > 0"),
                  tf.debugging.assert_positive(frames, message="frames must be > 0"),
                  tf.debugging.assert_less_equal(frames, self.max_frames,
                                                 message=f"frames must be at most {self.max_frames}")]
        with tf.control_dependencies(checks):
            frames = tf.identity(frames)
        primer_frames, lengths = self.parse(primer)
        roll, score = self.sample_frames(primer_frames, lengths, frames, temperature, seed)
        return {"frames": self.frame_text(roll), "roll": roll, "score": score}

    def sample_frames(self, primer, lengths, frames, temperature, seed):
        """Reads each row's primer, then draws `frames` frames; (B, frames, K) and their log-likelihood (B,).

        Step i reads frame i - 1 (a silent start frame at i = 0) and predicts frame i: within
        row b's primer (i < P_b) the primer's frame is kept, after it one is drawn. Each step's
        frame goes into a TensorArray, and each row's drawn frames are gathered from it once at
        the end, so a step costs the same however long the piece already is.
        """
        batch_size = tf.shape(lengths)[0]
        state, _ = self._encode(tf.zeros([batch_size, 1], tf.int32))
        steps = tf.reduce_max(lengths) + frames
        temperature = tf.cast(temperature, tf.float32)
        every_frame = tf.TensorArray(tf.float32, size=steps, element_shape=[None, self.num_keys])

        def body(index, previous, state, every_frame, score):
            logits, state, _ = self._step(previous, state, {}, index)
            logits = tf.cast(logits, tf.float32)
            uniform = tf.random.stateless_uniform([batch_size, self.num_keys], tf.stack([seed, index]))
            drawn = tf.cast(uniform < tf.sigmoid(logits / temperature), tf.float32)
            column = index - lengths  # (B,) where frame `index` goes; < 0 within the primer
            reading = column < 0
            frame = tf.where(reading[:, None], tf.gather(primer, tf.minimum(index, tf.shape(primer)[1] - 1),
                                                         axis=1), drawn)  # (B, K)
            writing = (column >= 0) & (column < frames)
            score += tf.where(writing, -nll_per_frame(frame, logits), 0.0)
            return index + 1, frame, state, every_frame.write(index, frame), score

        _, _, _, every_frame, score = tf.while_loop(
            lambda index, *_: index < steps, body,
            (tf.constant(0), tf.zeros([batch_size, self.num_keys]), state, every_frame, tf.zeros([batch_size])))
        every_frame = tf.transpose(every_frame.stack(), [1, 0, 2])  # (B, steps, K)
        columns = lengths[:, None] + tf.range(frames)[None]  # (B, F): row b's frames after its primer
        return tf.gather(every_frame, columns, batch_dims=1), score

    def frame_text(self, roll):
        """(B, F, K) frames -> (B,) strings: keys joined by "+", "." for silence, frames by spaces."""
        on = roll > 0.5
        names = tf.where(on, tf.broadcast_to(self.key_names, tf.shape(roll)), "")
        joined = tf.strings.reduce_join(names, axis=-1, separator="+")  # with "+" between empty names too
        joined = tf.strings.regex_replace(joined, r"\++", "+")
        joined = tf.strings.regex_replace(joined, r"^\+|\+$", "")
        joined = tf.where(tf.strings.length(joined) > 0, joined, ".")
        return tf.strings.reduce_join(joined, axis=-1, separator=" ")
