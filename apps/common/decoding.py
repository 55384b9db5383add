"""Greedy, random and beam-search decoding over a model's `step` function, each one compiled loop.

Every sequence model of the suite (translation, captioning, text and music generation) decodes
through `decode`. A model provides

    step(tokens, state, constants, index) -> (logits, state, outputs)

    tokens:    (N,) int32, the previous token of each row: a prompt token or a generated one.
    state:     nested tensors with leading dimension N that change from step to step (a GRU
               state, a Transformer's key/value caches); beam search reorders them.
    constants: nested tensors with leading dimension N that never change (encoder outputs,
               their projections, the source mask); tiled once per beam, never reordered,
               since all beams of one example share them.
    index:     scalar int32, the position of `tokens` in the sequence (0 for the first prompt
               token), for caches and position encodings.
    logits:    (N, V), the scores of the token at position index + 1.
    outputs:   a dict, possibly empty, of per-token tensors with leading dimension N, e.g.
               {"attention": (N, S)}. The decoder stacks each into (B, L, ...), aligned with the
               generated tokens; beam search reorders them with their hypotheses.

Each row starts from its prompt, read inside the same loop as generation: while index + 1 is
within the row's prompt, the next token is the prompt's (it is not scored and not returned),
so rows with shorter prompts start generating earlier. Translation prompts with [START];
text generation with, say, the characters of "ROMEO:".

A sampler chooses the next token: `GreedySampler` and `RandomSampler` share one loop and differ
only in that choice; `BeamSampler` runs beam search, its own loop.

N is B for greedy and random sampling, B * K for a beam of K. Shapes: B batch, K beams,
P prompt length, L the most generated tokens (the largest of `max_lengths`), V vocabulary.

Example:
    state, constants = model.encode(source, max_output_length)
    result = decode(model.step, state, constants, tf.fill([batch, 1], START), tf.ones([batch], tf.int32),
                    END, tf.fill([batch], max_output_length), BeamSampler(beam_size=4))
    result.tokens  # (B, L)
"""

from typing import NamedTuple

import tensorflow as tf

_NEG_INF = -1e9


class DecodeResult(NamedTuple):
    tokens: tf.Tensor  # (B, L) int32, the generated tokens, END then END-padding after each
    outputs: dict  # name -> (B, L, ...), the step's `outputs` for each generated token
    lengths: tf.Tensor  # (B,) int32, generated tokens up to and including END
    scores: tf.Tensor  # (B,) log-probability of the generated tokens; over the length penalty for beams


class GreedySampler:
    """Chooses the most probable next token."""

    def next_token(self, log_probs, index):
        """(N, V) log-probabilities, scalar position -> (N,) int32 tokens."""
        return tf.argmax(log_probs, axis=-1, output_type=tf.int32)

    def checked(self):
        """Nothing to validate."""
        return self


class RandomSampler:
    """Draws the next token from the model's distribution, tempered, optionally cut to top-k / top-p.

    Top-k keeps the k most probable tokens; top-p (nucleus sampling, Holtzman et al. 2020) keeps
    the smallest set of most probable tokens whose probability reaches p, at least one. Both cut
    the tempered distribution and renormalise it, top-k first (top-p then cuts what top-k left).
    The draws are stateless: the one at position `index` is seeded with (seed, index), so a seed
    gives the same text every time, in a `tf.function` or a reloaded SavedModel alike.

    Every argument may be a Python number or a scalar tensor (e.g. a SavedModel signature's input).
    Row r of a batch draws from its own stream, whatever the other rows are: N copies of one
    prompt in one batch give N different samples, and a prompt gives the same text at the same
    row of any batch with the same seed, on any machine.

    Args:
        temperature: float > 0, divides the log-probabilities: below 1 sharpens, above 1
            flattens. Defaults to 1.0.
        top_k: int >= 0, 0 keeps every token. Defaults to 0.
        top_p: float in (0, 1], 1.0 keeps every token. Defaults to 1.0.
        seed: int. Defaults to 0.

    Example:
        decode(step, state, constants, prompt, prompt_lengths, END, max_lengths,
               RandomSampler(temperature=0.8, top_p=0.9, seed=7))
    """

    def __init__(self, temperature=1.0, top_k=0, top_p=1.0, seed=0):
        _check_number("temperature", temperature, lambda t: t > 0, "a number > 0")
        _check_number("top_k", top_k, lambda k: k >= 0, "an integer >= 0 (0 keeps every token)")
        _check_number("top_p", top_p, lambda p: 0 < p <= 1, "a number in (0, 1]")
        self.temperature, self.top_k, self.top_p, self.seed = temperature, top_k, top_p, seed

    def next_token(self, log_probs, index):
        """(N, V) log-probabilities, scalar position -> (N,) int32 tokens."""
        logits = log_probs / tf.cast(self.temperature, log_probs.dtype)
        vocab_size = tf.shape(logits)[-1]
        sorted_logits, order = tf.math.top_k(logits, k=vocab_size)  # (N, V), most probable first
        rank = tf.range(vocab_size)[None]
        top_k = tf.cast(self.top_k, tf.int32)
        keep = (rank < top_k) | (top_k <= 0)
        probs = tf.nn.softmax(tf.where(keep, sorted_logits, -float("inf")))
        more_probable = tf.math.cumsum(probs, axis=-1, exclusive=True)  # (N, V), 0 for the first
        # 1.0 must keep every token, even those the rounded cumulative sum already puts at 1.
        top_p = tf.cast(self.top_p, probs.dtype)
        keep &= (more_probable < top_p) | (top_p >= 1.0)
        seed = tf.stack([tf.cast(self.seed, tf.int32), index])
        # Gumbel-max: argmax(logits + G), G = -log(-log U), draws from softmax(logits). Uniform
        # number (r, v) depends only on (seed, index, r, v), so a row's draw does not depend on
        # the other rows, the batch size or the number of CPU threads. -inf (not _NEG_INF) gives
        # cut tokens probability exactly 0, whatever the temperature.
        uniform = tf.random.stateless_uniform(tf.shape(sorted_logits), seed, minval=1e-20, maxval=1.0)
        gumbel = -tf.math.log(-tf.math.log(uniform))
        choice = tf.argmax(tf.where(keep, sorted_logits, -float("inf")) + gumbel, axis=-1, output_type=tf.int32)
        return tf.gather(order, choice, batch_dims=1)

    def checked(self):
        """This sampler, its arguments only usable once valid (Python numbers are checked on construction).

        A graph runs ops that do not depend on each other in any order, so the draws must depend
        on the assertions for these to fail first.
        """
        assertions = [
            tf.debugging.assert_positive(self.temperature, message="temperature must be > 0"),
            tf.debugging.assert_non_negative(self.top_k, message="top_k must be >= 0 (0 keeps every token)"),
            tf.debugging.assert_positive(self.top_p, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(tf.cast(self.top_p, tf.float32), 1.0, message="top_p must be in (0, 1]"),
        ]
        valid = lambda x: _after(assertions, x)
        return RandomSampler(valid(self.temperature), valid(self.top_k), valid(self.top_p), valid(self.seed))


class BeamSampler:
    """Beam search (see `beam_search`): K hypotheses per example, the best finished one returned.

    Args:
        beam_size: int or scalar int32 tensor, K >= 1. 1 is greedy search: a Python 1 runs the
            greedy loop, a tensor the beam loop, whose K = 1 is exactly greedy (see `beam_search`),
            so a SavedModel holds one decoding loop. Defaults to 4.
        length_penalty: alpha of the GNMT penalty ((5 + length) / 6) ** alpha that ranks
            finished hypotheses; 0 ranks by total log-probability. Defaults to 0.6.
        rank: int or scalar int32 tensor in 0..K-1, which finished hypothesis to return: 0 the best
            (the default), 1 the second best, ...: the n-best list is ranks 0..K-1 of the same
            search (it is deterministic). A rank with no finished hypothesis has score -inf.
    """

    def __init__(self, beam_size=4, length_penalty=0.6, rank=0):
        _check_number("beam_size", beam_size, lambda k: k >= 1, "an integer >= 1")
        _check_number("rank", rank, lambda r: r >= 0, "an integer >= 0")
        self.beam_size, self.length_penalty, self.rank = beam_size, length_penalty, rank


def decode(step, state, constants, prompt, prompt_lengths, end_id, max_lengths, sampler):
    """Reads each row's prompt, then generates with `sampler`. See the module docstring.

    Args:
        step: the model's step function.
        state, constants: the model's decoding state and constants for B rows.
        prompt: (B, P) int32, each row's prompt, padded beyond its length.
        prompt_lengths: (B,) int32 >= 1.
        end_id: int, the END token. One outside the vocabulary (e.g. -1) never ends a row before
            its limit.
        max_lengths: (B,) int32, the most tokens (END included) each row may generate after its
            prompt, e.g. relative to its source length; END is forced at the last one.
        sampler: `GreedySampler`, `RandomSampler` or `BeamSampler`.

    Returns:
        `DecodeResult` of the generated tokens, their step outputs, lengths and scores.
    """
    inputs = (step, state, constants, prompt, prompt_lengths, end_id, max_lengths)
    if not isinstance(sampler, BeamSampler):
        return sample(*inputs, sampler)
    beam_size = sampler.beam_size
    rank = sampler.rank
    greedy = lambda: sample(*inputs, GreedySampler())
    beam = lambda: beam_search(*inputs, beam_size, sampler.length_penalty, rank)
    if not tf.is_tensor(beam_size) and not tf.is_tensor(rank):
        if rank >= beam_size:
            raise ValueError(f"rank must be below beam_size ({beam_size}); got {rank}")
        return greedy() if beam_size == 1 else beam()
    beam_size = _after(
        [tf.debugging.assert_positive(beam_size, message="beam_size must be a positive integer"),
         tf.debugging.assert_less(rank, beam_size, message="rank must be below beam_size")], beam_size
    )
    return beam_search(*inputs, beam_size, sampler.length_penalty, rank)


def sample(step, state, constants, prompt, prompt_lengths, end_id, max_lengths, sampler):
    """Greedy or random sampling: `sampler.next_token` chooses each token, until END or the limit."""
    prompt, prompt_lengths, max_lengths = _as_int32(prompt, prompt_lengths, max_lengths)
    end_id = tf.cast(end_id, tf.int32)
    sampler = sampler.checked()
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(max_lengths)
    num_steps = tf.reduce_max(prompt_lengths - 1 + max_lengths)
    tokens = tf.fill([batch_size, max_length], end_id)
    finished = tf.zeros([batch_size], tf.bool)
    lengths = tf.zeros([batch_size], tf.int32)
    scores = tf.zeros([batch_size])

    def body(index, previous, state, tokens, outputs, finished, lengths, scores):
        logits, state, step_outputs = step(previous, state, constants, index)
        if outputs is None:  # the first step, before the loop: buffers in the shapes of its outputs
            outputs = _empty_buffers(step_outputs, batch_size, max_length)
        log_probs = tf.nn.log_softmax(logits)
        column = index + 1 - prompt_lengths  # (B,) where the next token goes; < 0 within the prompt
        reading = column < 0
        token = sampler.next_token(log_probs, index)
        token = tf.where(column >= max_lengths - 1, end_id, token)  # END at the limit, at its own log p
        token = tf.where(finished, end_id, token)
        token = tf.where(reading, _next_prompt_token(prompt, index), token)
        generating = ~(finished | reading)
        scores += tf.where(generating, _log_prob_of(token, log_probs), 0.0)
        lengths += tf.cast(generating, tf.int32)
        tokens = _write_column(tokens, column, token)
        # Outputs stay zero after END, as beam search's do, whatever the rest of the batch does.
        output_column = tf.where(generating, column, -1)
        outputs = tf.nest.map_structure(lambda x, new: _write_column(x, output_column, new), outputs, step_outputs)
        finished |= tf.equal(token, end_id) & ~reading
        return index + 1, token, state, tokens, outputs, finished, lengths, scores

    def not_done(index, previous, state, tokens, outputs, finished, *_):
        return tf.logical_and(index < num_steps, ~tf.reduce_all(finished))

    first = body(0, prompt[:, 0], state, tokens, None, finished, lengths, scores)
    _, _, _, tokens, outputs, _, lengths, scores = _while_loop(not_done, body, first)
    return DecodeResult(tokens, outputs, lengths, scores)


def beam_search(step, state, constants, prompt, prompt_lengths, end_id, max_lengths, beam_size, length_penalty=0.6,
                rank=0):
    """K live hypotheses per example, and the K best finished ones ranked by penalised score.

    Each step extends every live hypothesis and takes the 2K best extensions: those ending in
    END join the finished set (scored log p / ((5 + length) / 6) ** alpha, as in GNMT), the best
    K others stay live. An example is done when no live hypothesis can still beat its worst
    finished one, or at its length limit, where END is forced. Beams are folded into the batch
    (N = B * K) and reordered with `gather_beams`. Within the prompt, the prompt's next token
    is the only choice, at log-probability 0, so the prompt does not count in the scores.

    K = 1 is greedy search (up to float rounding of near-ties): a single hypothesis finishes only
    when END is its best extension (an END in second place does not finish it) and is ranked without
    length penalty. With the rules above it would not be: the second-best extension, an END, would
    finish and could beat, after the penalty, the hypothesis greedy search goes on to write.
    """
    if not tf.is_tensor(end_id) and end_id < 0:
        raise ValueError("beam search needs an END token in the vocabulary (end_id >= 0): hypotheses finish on it")
    prompt, prompt_lengths, max_lengths = _as_int32(prompt, prompt_lengths, max_lengths)
    end_id = tf.cast(end_id, tf.int32)
    beam_size = tf.cast(beam_size, tf.int32)
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(max_lengths)
    num_steps = tf.reduce_max(prompt_lengths - 1 + max_lengths)
    greedy = tf.equal(beam_size, 1)
    length_penalty = tf.where(greedy, 0.0, tf.cast(length_penalty, tf.float32))
    # (1, 2K): which of the 2K ranked candidates may finish, if they end: all, or with K = 1 the best only.
    may_finish = ~greedy | (tf.range(2 * beam_size) < beam_size)[None]
    penalty = lambda length: ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** length_penalty

    tile = lambda x: tf.repeat(x, beam_size, axis=0)  # (B, ...) -> (B * K, ...)
    state = tf.nest.map_structure(tile, state)
    constants = tf.nest.map_structure(tile, constants)
    beam_prompt, beam_max_lengths = tile(prompt), tile(max_lengths)

    # Live beams. Only beam 0 is live at first, so the K beams do not start as K copies.
    scores = tf.tile(tf.concat([[0.0], tf.fill([beam_size - 1], _NEG_INF)], axis=0)[None], [batch_size, 1])
    tokens = tf.fill([batch_size * beam_size, max_length], end_id)
    # Finished hypotheses, (B * K, ...) like the live ones; penalised scores, -inf = empty slot.
    finished = _Finished(
        tokens, None, tf.fill([batch_size, beam_size], _NEG_INF), tf.zeros([batch_size, beam_size], tf.int32)
    )

    def body(index, previous, state, tokens, outputs, scores, finished):
        logits, state, step_outputs = step(previous, state, constants, index)
        if outputs is None:  # the first step, before the loop: buffers in the shapes of its outputs
            outputs = _empty_buffers(step_outputs, batch_size * beam_size, max_length)
            finished = finished._replace(outputs=outputs)
        vocab_size = tf.shape(logits)[-1]
        column = index + 1 - prompt_lengths  # (B,) where the next token goes; < 0 within the prompt
        beam_column = tile(column)
        log_probs = _force_end_at_limit(tf.nn.log_softmax(logits), beam_column, beam_max_lengths, end_id)
        log_probs = _force_prompt_token(log_probs, beam_column < 0, _next_prompt_token(beam_prompt, index))
        candidates = scores[:, :, None] + tf.reshape(log_probs, [batch_size, beam_size, vocab_size])
        top_scores, flat_index = tf.math.top_k(tf.reshape(candidates, [batch_size, -1]), k=2 * beam_size)
        parent = flat_index // vocab_size  # (B, 2K): the live beam each candidate extends
        token = flat_index % vocab_size
        is_end = tf.equal(token, end_id) & (column >= 0)[:, None]
        ends = is_end & may_finish  # the candidates that finish

        # Every candidate's history: the parent's tokens and outputs, plus this step.
        candidate_column = tf.repeat(column, 2 * beam_size)
        history = lambda x, new: _write_column(gather_beams(x, parent), candidate_column, gather_beams(new, parent))
        history_tokens = _write_column(gather_beams(tokens, parent), candidate_column, tf.reshape(token, [-1]))
        history_outputs = tf.nest.map_structure(history, outputs, step_outputs)

        # The K best candidates that do not end stay live.
        live_scores = tf.where(is_end, _NEG_INF, top_scores)
        scores, keep = tf.math.top_k(live_scores, k=beam_size)  # (B, K)
        pick = lambda x: gather_beams(x, keep)
        tokens, outputs = pick(history_tokens), tf.nest.map_structure(pick, history_outputs)
        state = tf.nest.map_structure(lambda x: gather_beams(x, tf.gather(parent, keep, batch_dims=1)), state)
        previous = tf.reshape(tf.gather(token, keep, batch_dims=1), [-1])

        # Candidates that end join the finished set, which keeps its K best by penalised score.
        length = tf.maximum(column + 1, 1)[:, None]  # (B, 1); 1 within the prompt, where nothing ends
        ended_scores = tf.where(ends, top_scores / penalty(length), _NEG_INF)
        pool_scores = tf.concat([finished.scores, ended_scores], axis=1)  # (B, 3K)
        finished_scores, best = tf.math.top_k(pool_scores, k=beam_size)
        pool = lambda old, new: gather_beams(_interleave(old, new, batch_size), best)
        ended_lengths = tf.broadcast_to(length, tf.shape(ended_scores))
        finished = _Finished(
            pool(finished.tokens, history_tokens),
            tf.nest.map_structure(pool, finished.outputs, history_outputs),
            finished_scores,
            tf.gather(tf.concat([finished.lengths, ended_lengths], 1), best, batch_dims=1),
        )
        return index + 1, previous, state, tokens, outputs, scores, finished

    def not_done(index, previous, state, tokens, outputs, scores, finished):
        # A live score can only fall; its penalised value is at best score / penalty(max length).
        best_live = tf.reduce_max(scores, axis=1) / penalty(max_lengths)
        worst_finished = tf.reduce_min(finished.scores, axis=1)
        return tf.logical_and(index < num_steps, tf.reduce_any(best_live > worst_finished))

    first = body(0, beam_prompt[:, 0], state, tokens, None, scores, finished)
    finished = _while_loop(not_done, body, first)[-1]
    if isinstance(rank, int) and rank == 0:
        best = tf.argmax(finished.scores, axis=-1, output_type=tf.int32)  # (B,)
    else:  # the rank-th best; a stable sort ranks ties as argmax does
        best = tf.gather(tf.argsort(finished.scores, axis=-1, direction="DESCENDING", stable=True), rank, axis=1)
    return DecodeResult(
        gather_beams(finished.tokens, best[:, None]),
        tf.nest.map_structure(lambda x: gather_beams(x, best[:, None]), finished.outputs),
        tf.gather(finished.lengths, best, batch_dims=1),
        tf.gather(finished.scores, best, batch_dims=1),
    )


class _Finished(NamedTuple):
    tokens: tf.Tensor  # (B * K, L)
    outputs: dict  # name -> (B * K, L, ...)
    scores: tf.Tensor  # (B, K) penalised; _NEG_INF for an empty slot
    lengths: tf.Tensor  # (B, K)


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
        logits, state, outputs = step(tokens, state, constants, index)
        banned = tf.reduce_any(tf.equal(tf.range(tf.shape(logits)[-1])[:, None], token_ids), axis=-1)
        return tf.where(banned[None], tf.cast(_NEG_INF, logits.dtype), logits), state, outputs

    return suppressed_step


def _while_loop(condition, body, loop_vars):
    """tf.while_loop whose variables may change any dimension's static size between iterations.

    Gathering beams or a dynamic beam size loses static sizes known on entry; shapes do not
    actually change.
    """
    loop_vars = tf.nest.map_structure(tf.convert_to_tensor, loop_vars)
    invariants = tf.nest.map_structure(lambda x: tf.TensorShape([None] * x.shape.rank), loop_vars)
    return tf.while_loop(condition, body, loop_vars, shape_invariants=invariants)


def _check_number(name, value, is_valid, expected):
    """Raises ValueError for an invalid Python number; tensors are checked in the graph."""
    if not tf.is_tensor(value) and not is_valid(value):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def _after(assertions, x):
    """x, available only once the assertions pass."""
    with tf.control_dependencies(assertions):
        return tf.identity(x)


def _as_int32(*tensors):
    return [tf.cast(x, tf.int32) for x in tensors]


def _empty_buffers(outputs, rows, length):
    """Zeros (rows, L, ...) for each (rows, ...) output."""
    return tf.nest.map_structure(lambda x: tf.zeros(tf.concat([[rows, length], tf.shape(x)[1:]], 0), x.dtype), outputs)


def _log_prob_of(token, log_probs):
    """(N,) log_probs[n, token[n]]; 0 for an END outside the vocabulary (-1, which never ends)."""
    is_token = tf.equal(tf.range(tf.shape(log_probs)[-1])[None], token[:, None])
    return tf.reduce_sum(tf.where(is_token, log_probs, 0.0), axis=-1)


def _next_prompt_token(prompt, index):
    """(N,) the prompt token at position index + 1 (clipped to the prompt; used only within it)."""
    return tf.gather(prompt, tf.minimum(index + 1, tf.shape(prompt)[1] - 1), axis=1)


def _force_prompt_token(log_probs, reading, prompt_token):
    """Within the prompt, its next token is the only choice, at log-probability 0."""
    is_token = tf.equal(tf.range(tf.shape(log_probs)[-1])[None], prompt_token[:, None])
    forced = tf.where(is_token, 0.0, _NEG_INF)
    return tf.where(reading[:, None], forced, log_probs)


def _force_end_at_limit(log_probs, column, max_lengths, end_id):
    """At an example's last allowed position, END is its only choice, at its own log-probability."""
    at_limit = column >= max_lengths - 1  # (N,)
    is_end = tf.equal(tf.range(tf.shape(log_probs)[-1]), end_id)[None]
    return tf.where(at_limit[:, None] & ~is_end, _NEG_INF, log_probs)


def _write_column(buffer, column, values):
    """buffer[n, column[n]] = values[n], for (N, L, ...) buffers inside a while loop.

    Rows whose column is outside [0, L) (still within the prompt, or past their limit) are left
    unchanged.
    """
    length = tf.shape(buffer)[1]
    is_column = tf.equal(tf.range(length)[None], column[:, None])  # (N, L)
    for _ in range(len(buffer.shape) - 2):
        is_column = is_column[..., None]  # (N, L, 1, ...)
    return tf.where(is_column, tf.expand_dims(values, 1), buffer)
