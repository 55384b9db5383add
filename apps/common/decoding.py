"""Greedy and beam search over a model's `step` function: one compiled `tf.while_loop` each.

Every sequence model of the suite (translation, captioning, generation) decodes through here.
A model provides

    step(tokens, state, constants, index) -> (logits, attention, state)

    tokens:    (N,) int32, the previous token of each hypothesis.
    state:     nested tensors with leading dimension N that change from step to step (a GRU
               state, a Transformer's key/value caches); beam search reorders them.
    constants: nested tensors with leading dimension N that never change (encoder outputs,
               their projections, the source mask); tiled once per beam, never reordered,
               since all beams of one example share them.
    index:     scalar int32, the position of the new token (for caches and positions).
    logits:    (N, V).  attention: (N, S), the weights over the source (zeros if none).

N is B for greedy search and B * K for a beam of K. Shapes: B batch, K beams, L maximum
output length, S source length, V vocabulary.
"""

from typing import NamedTuple

import tensorflow as tf

_NEG_INF = -1e9


class DecodeResult(NamedTuple):
    tokens: tf.Tensor  # (B, L) int32, END then END-padding after each hypothesis
    attention: tf.Tensor  # (B, L, S) the attention weights of each output token
    lengths: tf.Tensor  # (B,) int32, tokens up to and including END
    scores: tf.Tensor  # (B,) log-probability, divided by the length penalty for beams


def decode(step, state, constants, start_id, end_id, max_lengths, attention_length, beam_size=1, length_penalty=0.6):
    """Greedy search when `beam_size` is 1, else beam search. See the module docstring.

    Args:
        max_lengths: (B,) int32, the most tokens (END included) each example may produce,
            e.g. relative to its source length; END is forced at the last one.
        attention_length: scalar int32, S.
        beam_size: int or scalar int32 tensor, K >= 1. A tensor equal to 1 also runs greedy search.
        length_penalty: alpha of the GNMT penalty ((5 + length) / 6) ** alpha that ranks
            finished beams; 0 ranks by total log-probability.
    """
    greedy = lambda: greedy_search(step, state, constants, start_id, end_id, max_lengths, attention_length)
    beam = lambda: beam_search(
        step, state, constants, start_id, end_id, max_lengths, attention_length, beam_size, length_penalty
    )
    if isinstance(beam_size, int):
        return greedy() if beam_size == 1 else beam()
    tf.debugging.assert_positive(beam_size, message="beam_size must be a positive integer")
    return DecodeResult(*tf.cond(tf.equal(beam_size, 1), lambda: tuple(greedy()), lambda: tuple(beam())))


def greedy_search(step, state, constants, start_id, end_id, max_lengths, attention_length):
    """The most probable next token at each step, until END or the length limit."""
    max_lengths = tf.cast(max_lengths, tf.int32)
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(max_lengths)
    tokens = tf.fill([batch_size, max_length], tf.cast(end_id, tf.int32))
    attention = tf.zeros([batch_size, max_length, attention_length])
    previous = tf.fill([batch_size], tf.cast(start_id, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    lengths = tf.zeros([batch_size], tf.int32)
    scores = tf.zeros([batch_size])

    def body(index, previous, state, tokens, attention, finished, lengths, scores):
        logits, weights, state = step(previous, state, constants, index)
        log_probs = _force_end_at_limit(tf.nn.log_softmax(logits), index, max_lengths, end_id)
        token = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        token = tf.where(finished, end_id, token)
        scores += tf.where(finished, 0.0, tf.reduce_max(log_probs, axis=-1))
        lengths += tf.cast(~finished, tf.int32)
        tokens = _write_column(tokens, index, token)
        attention = _write_column(attention, index, weights)
        finished = finished | tf.equal(token, end_id)
        return index + 1, token, state, tokens, attention, finished, lengths, scores

    def not_done(index, previous, state, tokens, attention, finished, *_):
        return tf.logical_and(index < max_length, ~tf.reduce_all(finished))

    loop = _while_loop(not_done, body, (0, previous, state, tokens, attention, finished, lengths, scores))
    _, _, _, tokens, attention, _, lengths, scores = loop
    return DecodeResult(tokens, attention, lengths, scores)


def beam_search(step, state, constants, start_id, end_id, max_lengths, attention_length, beam_size, length_penalty=0.6):
    """K live hypotheses per example, and the K best finished ones ranked by penalised score.

    Each step extends every live hypothesis and takes the 2K best extensions: those ending in
    END join the finished set (scored log p / ((5 + length) / 6) ** alpha, as in GNMT), the best
    K others stay live. An example is done when no live hypothesis can still beat its worst
    finished one, or at its length limit, where END is forced. Beams are folded into the batch
    (N = B * K) and reordered with `gather_beams`.
    """
    max_lengths = tf.cast(max_lengths, tf.int32)
    beam_size = tf.cast(beam_size, tf.int32)
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(max_lengths)
    penalty = lambda length: ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** length_penalty

    tile = lambda x: tf.repeat(x, beam_size, axis=0)  # (B, ...) -> (B * K, ...)
    state = tf.nest.map_structure(tile, state)
    constants = tf.nest.map_structure(tile, constants)
    beam_max_lengths = tile(max_lengths)

    # Live beams. Only beam 0 is live at first, so the K beams do not start as K copies.
    scores = tf.tile(tf.concat([[0.0], tf.fill([beam_size - 1], _NEG_INF)], axis=0)[None], [batch_size, 1])
    tokens = tf.fill([batch_size * beam_size, max_length], tf.cast(end_id, tf.int32))
    attention = tf.zeros([batch_size * beam_size, max_length, attention_length])
    previous = tf.fill([batch_size * beam_size], tf.cast(start_id, tf.int32))
    # Finished hypotheses, (B * K, ...) like the live ones; penalised scores, -inf = empty slot.
    finished = (
        tokens,
        attention,
        tf.fill([batch_size, beam_size], _NEG_INF),
        tf.zeros([batch_size, beam_size], tf.int32),
    )

    def body(index, previous, state, tokens, attention, scores, finished):
        logits, weights, state = step(previous, state, constants, index)
        vocab_size = tf.shape(logits)[-1]
        log_probs = _force_end_at_limit(tf.nn.log_softmax(logits), index, beam_max_lengths, end_id)
        candidates = scores[:, :, None] + tf.reshape(log_probs, [batch_size, beam_size, vocab_size])
        top_scores, flat_index = tf.math.top_k(tf.reshape(candidates, [batch_size, -1]), k=2 * beam_size)
        parent = flat_index // vocab_size  # (B, 2K): the live beam each candidate extends
        token = flat_index % vocab_size
        ends = tf.equal(token, end_id)

        # Every candidate's history: the parent's tokens and attention, plus this step.
        history_tokens = _write_column(gather_beams(tokens, parent), index, tf.reshape(token, [-1]))
        history_attention = _write_column(gather_beams(attention, parent), index, gather_beams(weights, parent))

        # The K best candidates that do not end stay live.
        live_scores = tf.where(ends, _NEG_INF, top_scores)
        scores, keep = tf.math.top_k(live_scores, k=beam_size)  # (B, K)
        pick = lambda x: gather_beams(x, keep)
        tokens, attention = pick(history_tokens), pick(history_attention)
        state = tf.nest.map_structure(lambda x: gather_beams(x, tf.gather(parent, keep, batch_dims=1)), state)
        previous = tf.reshape(tf.gather(token, keep, batch_dims=1), [-1])

        # Candidates that end join the finished set, which keeps its K best by penalised score.
        ended_scores = tf.where(ends, top_scores / penalty(index + 1), _NEG_INF)
        finished_tokens, finished_attention, finished_scores, finished_lengths = finished
        pool_scores = tf.concat([finished_scores, ended_scores], axis=1)  # (B, 3K)
        finished_scores, best = tf.math.top_k(pool_scores, k=beam_size)
        pool = lambda old, new: gather_beams(_interleave(old, new, batch_size), best)
        finished = (
            pool(finished_tokens, history_tokens),
            pool(finished_attention, history_attention),
            finished_scores,
            tf.gather(tf.concat([finished_lengths, tf.fill(tf.shape(ended_scores), index + 1)], 1), best, batch_dims=1),
        )
        return index + 1, previous, state, tokens, attention, scores, finished

    def not_done(index, previous, state, tokens, attention, scores, finished):
        # A live score can only fall; its penalised value is at best score / penalty(max length).
        best_live = tf.reduce_max(scores, axis=1) / penalty(max_lengths)
        worst_finished = tf.reduce_min(finished[2], axis=1)
        return tf.logical_and(index < max_length, tf.reduce_any(best_live > worst_finished))

    loop = _while_loop(not_done, body, (0, previous, state, tokens, attention, scores, finished))
    finished_tokens, finished_attention, finished_scores, finished_lengths = loop[-1]
    best = tf.argmax(finished_scores, axis=-1, output_type=tf.int32)  # (B,)
    return DecodeResult(
        gather_beams(finished_tokens, best[:, None]),
        gather_beams(finished_attention, best[:, None]),
        tf.gather(finished_lengths, best, batch_dims=1),
        tf.gather(finished_scores, best, batch_dims=1),
    )


def _interleave(old, new, batch_size):
    """Concatenates, per example, old (B * K, ...) and new (B * 2K, ...) rows: (B * 3K, ...)."""
    old = tf.reshape(old, tf.concat([[batch_size, -1], tf.shape(old)[1:]], 0))
    new = tf.reshape(new, tf.concat([[batch_size, -1], tf.shape(new)[1:]], 0))
    both = tf.concat([old, new], axis=1)
    return tf.reshape(both, tf.concat([[-1], tf.shape(both)[2:]], 0))


def gather_beams(x, beam_indices):
    """Selects, for each example b, the beams `beam_indices[b]` from x of shape (B * K, ...).

    Args:
        x: (B * K, ...) with the K beams of example b at rows b * K .. b * K + K - 1.
        beam_indices: (B, K') int32 in [0, K).

    Returns:
        (B * K', ...).
    """
    batch_size, new_beams = tf.shape(beam_indices)[0], tf.shape(beam_indices)[1]
    old_beams = tf.shape(x)[0] // batch_size
    rows = tf.range(batch_size)[:, None] * old_beams + beam_indices  # (B, K')
    return tf.gather(x, tf.reshape(rows, [batch_size * new_beams]))


def suppress_tokens(step, token_ids):
    """`step` whose logits give the `token_ids` (padding, START) no chance of being chosen."""
    token_ids = list(token_ids)

    def suppressed_step(tokens, state, constants, index):
        logits, attention, state = step(tokens, state, constants, index)
        banned = tf.reduce_any(tf.equal(tf.range(tf.shape(logits)[-1])[:, None], token_ids), axis=-1)
        return tf.where(banned[None], tf.cast(_NEG_INF, logits.dtype), logits), attention, state

    return suppressed_step


def _while_loop(condition, body, loop_vars):
    """tf.while_loop whose variables may change any dimension's static size between iterations.

    Gathering beams or a dynamic beam size loses static sizes known on entry; shapes do not
    actually change.
    """
    loop_vars = tf.nest.map_structure(tf.convert_to_tensor, loop_vars)
    invariants = tf.nest.map_structure(lambda x: tf.TensorShape([None] * x.shape.rank), loop_vars)
    return tf.while_loop(condition, body, loop_vars, shape_invariants=invariants)


def _force_end_at_limit(log_probs, index, max_lengths, end_id):
    """At an example's last allowed position, END is its only choice, at its own log-probability."""
    at_limit = index >= max_lengths - 1  # (N,)
    is_end = tf.equal(tf.range(tf.shape(log_probs)[-1]), end_id)[None]
    return tf.where(at_limit[:, None] & ~is_end, _NEG_INF, log_probs)


def _write_column(buffer, index, values):
    """buffer[:, index] = values, for (N, L, ...) buffers inside a while loop."""
    length = tf.shape(buffer)[1]
    is_index = tf.equal(tf.range(length), index)
    is_index = tf.reshape(is_index, [1, length] + [1] * (len(buffer.shape) - 2))
    return tf.where(is_index, tf.expand_dims(values, 1), buffer)
