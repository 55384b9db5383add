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
        greedy = greedy_search(markov_step, {"count": tf.zeros([2])},
                               {"attention": tf.ones([2, 3])}, START, END, tf.fill([2], 6), 3)
        beam = beam_search(markov_step, {"count": tf.zeros([2])},
                           {"attention": tf.ones([2, 3])}, START, END, tf.fill([2], 6), 3, beam_size=1,
                           length_penalty=0.0)
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
