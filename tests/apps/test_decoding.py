"""Greedy and beam search on a toy model whose best sequence is known."""

import numpy as np
import pytest
import tensorflow as tf

from apps.common.decoding import beam_search, decode, gather_beams, greedy_search

START, END, A, B = 0, 1, 2, 3
# p(next | previous). From START, A looks best (0.6) but every continuation of A is weak;
# B then END has probability 0.4 * 0.99 = 0.396 > the best A path 0.6 * 0.4 = 0.24.
TRANSITIONS = np.array(
    [
        [1e-9, 1e-9, 0.6, 0.4],  # from START
        [1e-9, 1.0, 1e-9, 1e-9],  # from END (unused)
        [1e-9, 0.4, 0.3, 0.3],  # from A
        [1e-9, 0.99, 0.005, 0.005],  # from B
    ]
)
LOGITS = tf.constant(np.log(TRANSITIONS / TRANSITIONS.sum(1, keepdims=True)), tf.float32)


def markov_step(tokens, state, constants, index):
    """Logits depend on the previous token only; the attention is a fixed marker per source."""
    attention = constants["attention"]
    return tf.gather(LOGITS, tokens), attention, {"count": state["count"] + 1}


def run(beam_size, batch=2, max_length=6):
    state = {"count": tf.zeros([batch])}
    constants = {"attention": tf.tile(tf.constant([[1.0, 0.0, 0.0]]), [batch, 1])}
    max_lengths = tf.fill([batch], max_length)
    return decode(markov_step, state, constants, START, END, max_lengths, 3, beam_size=beam_size)


def test_greedy_takes_the_locally_best_token():
    result = run(beam_size=1)
    np.testing.assert_array_equal(result.tokens[0, :2], [A, END])
    np.testing.assert_allclose(result.scores, np.log(0.6 * 0.4), atol=1e-5)
    np.testing.assert_array_equal(result.lengths, [2, 2])


def test_beam_finds_the_more_probable_sequence():
    result = run(beam_size=2)
    np.testing.assert_array_equal(result.tokens[:, :2], [[B, END], [B, END]])
    penalty = ((5 + 2) / 6) ** 0.6
    np.testing.assert_allclose(result.scores, np.log(0.4 * 0.99) / penalty, atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_beam_of_one_equals_greedy(compiled):
    def both():
        greedy = greedy_search(
            markov_step, {"count": tf.zeros([2])}, {"attention": tf.ones([2, 3])}, START, END, tf.fill([2], 6), 3
        )
        beam = beam_search(
            markov_step,
            {"count": tf.zeros([2])},
            {"attention": tf.ones([2, 3])},
            START,
            END,
            tf.fill([2], 6),
            3,
            beam_size=1,
            length_penalty=0.0,
        )
        return greedy, beam

    greedy, beam = tf.function(both)() if compiled else both()
    np.testing.assert_array_equal(greedy.tokens, beam.tokens)
    np.testing.assert_allclose(greedy.scores, beam.scores, atol=1e-5)


def test_end_is_forced_at_each_examples_length_limit():
    never_end = tf.constant(np.log([[1e-9, 1e-9, 1.0, 1e-9]] * 4), tf.float32)

    def step(tokens, state, constants, index):
        return tf.gather(never_end, tokens), tf.zeros([tf.shape(tokens)[0], 1]), state

    for beam in (1, 3):
        result = decode(step, {}, {}, START, END, tf.constant([3, 5]), 1, beam_size=beam)
        np.testing.assert_array_equal(result.lengths, [3, 5])
        np.testing.assert_array_equal(result.tokens[0, :3], [A, A, END])
        np.testing.assert_array_equal(result.tokens[1, :5], [A, A, A, A, END])


def test_gather_beams_picks_within_each_example():
    x = tf.constant([[10], [11], [12], [20], [21], [22]])  # B=2, K=3
    picked = gather_beams(x, tf.constant([[2, 0], [1, 1]]))
    np.testing.assert_array_equal(picked[:, 0], [12, 10, 21, 21])


def test_beam_attention_follows_the_chosen_beam():
    result = run(beam_size=3)
    np.testing.assert_allclose(result.attention[:, 0], [[1.0, 0.0, 0.0]] * 2)


def counting_step(tokens, state, constants, index):
    """p(next | previous, number of B so far). Short [A, END]: 0.45. Long [B, B, B, END]: 0.441.

    The state (the count) must follow each hypothesis through beam reordering, and the
    attention (a one-hot of the previous token) must follow the chosen hypothesis.
    """
    count = state["count"] + tf.cast(tf.equal(tokens, B), tf.int32)
    tiny = 1e-9
    from_start = tf.constant([tiny, tiny, 0.45, 0.55])
    from_a = tf.constant([tiny, 1.0, tiny, tiny])
    from_b_more = tf.constant([tiny, 0.1, tiny, 0.9])
    from_b_done = tf.constant([tiny, 0.99, tiny, 0.01])
    probs = tf.where(
        tf.equal(tokens, START)[:, None],
        from_start,
        tf.where(tf.equal(tokens, A)[:, None], from_a, tf.where((count < 3)[:, None], from_b_more, from_b_done)),
    )
    return tf.math.log(probs), tf.one_hot(tokens, 4), {"count": count}


def run_counting(length_penalty, beam_size=2):
    return decode(
        counting_step,
        {"count": tf.zeros([1], tf.int32)},
        {},
        START,
        END,
        tf.constant([8]),
        4,
        beam_size=beam_size,
        length_penalty=length_penalty,
    )


def test_length_penalty_decides_between_short_and_long_hypotheses():
    short = run_counting(length_penalty=0.0)
    np.testing.assert_array_equal(short.tokens[0, :2], [A, END])
    np.testing.assert_allclose(short.scores, np.log(0.45), atol=1e-5)
    long = run_counting(length_penalty=1.0)
    np.testing.assert_array_equal(long.tokens[0, :4], [B, B, B, END])
    np.testing.assert_array_equal(long.lengths, [4])
    np.testing.assert_allclose(long.scores, np.log(0.55 * 0.9 * 0.9 * 0.99) / (9 / 6), atol=1e-5)


def test_state_and_attention_follow_the_chosen_hypothesis():
    result = run_counting(length_penalty=1.0, beam_size=3)
    tokens = result.tokens[0].numpy()[: result.lengths[0]]
    previous = np.concatenate([[START], tokens[:-1]])
    np.testing.assert_array_equal(np.argmax(result.attention[0, : len(tokens)], -1), previous)


def test_forced_end_keeps_its_own_probability():
    result = decode(
        markov_step,
        {"count": tf.zeros([1])},
        {"attention": tf.ones([1, 3])},
        START,
        END,
        tf.constant([1]),
        3,
        beam_size=1,
    )
    np.testing.assert_allclose(result.scores, np.log(1e-9 / (1 + 2e-9)), rtol=1e-3)  # END from START: ~1e-9
