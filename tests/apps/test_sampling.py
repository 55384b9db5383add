"""Random sampling: its limits (greedy), its reproducibility, and the distributions it draws from."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from apps.common.decoding import GreedySampler, RandomSampler, decode

# A Markov toy with distinct random logits over 12 tokens; END is token 1.
END, VOCAB = 1, 12
MARKOV_LOGITS = tf.constant(np.random.default_rng(0).normal(scale=2.0, size=(VOCAB, VOCAB)), tf.float32)
PROMPTS, PROMPT_LENGTHS = [[2, 5, 7], [3, 0, 0], [4, 9, 0], [6, 0, 0]], [3, 1, 2, 1]


def markov_step(tokens, state, constants, index):
    return tf.gather(MARKOV_LOGITS, tokens), state, {"token": tokens}


def generate(sampler, max_length=10):
    max_lengths = tf.fill([len(PROMPTS)], max_length)
    return decode(markov_step, {}, {}, PROMPTS, PROMPT_LENGTHS, END, max_lengths, sampler)


def assert_same(a, b):
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
    np.testing.assert_array_equal(a.outputs["token"], b.outputs["token"])


@pytest.mark.parametrize(
    "sampler",
    [RandomSampler(top_k=1, seed=3), RandomSampler(temperature=1e-4, seed=3), RandomSampler(top_p=1e-6, seed=3)],
    ids=["top_k=1", "temperature=1e-4", "top_p=1e-6"],
)
def test_degenerate_sampling_is_greedy(sampler):
    greedy = generate(GreedySampler())
    assert np.any(greedy.lengths.numpy() > 1)  # something was generated, not END at once
    assert_same(generate(sampler), greedy)


def test_scores_are_the_models_log_probabilities_not_the_tempered_ones():
    result = generate(RandomSampler(temperature=3.0, top_k=5, seed=1))
    log_probs = np.asarray(tf.nn.log_softmax(MARKOV_LOGITS))
    for b, (prompt, prompt_length) in enumerate(zip(PROMPTS, PROMPT_LENGTHS, strict=True)):
        tokens = result.tokens[b, : result.lengths[b]].numpy()
        previous = np.concatenate([[prompt[prompt_length - 1]], tokens[:-1]])
        np.testing.assert_allclose(result.scores[b], log_probs[previous, tokens].sum(), atol=1e-5)


def test_a_seed_gives_the_same_text_eagerly_and_compiled():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)] * 2)
    def compiled(seed, top_k):
        return generate(RandomSampler(temperature=2.0, top_k=top_k, top_p=0.95, seed=seed))

    eager = generate(RandomSampler(temperature=2.0, top_k=8, top_p=0.95, seed=11))
    assert_same(generate(RandomSampler(temperature=2.0, top_k=8, top_p=0.95, seed=11)), eager)
    assert_same(compiled(tf.constant(11), tf.constant(8)), eager)
    assert_same(compiled(tf.constant(11), tf.constant(8)), eager)


def uniform_step(tokens, state, constants, index):
    """The most uncertain model: every one of 50 tokens equally likely."""
    return tf.zeros([tf.shape(tokens)[0], 50]), state, {}


def test_different_seeds_give_different_text():
    def text(seed):
        # END -1 is no token: every row runs to its limit (where the -1 is forced).
        prompt, lengths, max_lengths = tf.fill([4, 1], 2), tf.ones([4], tf.int32), tf.fill([4], 20)
        return decode(uniform_step, {}, {}, prompt, lengths, -1, max_lengths, RandomSampler(seed=seed)).tokens

    assert not np.array_equal(text(1), text(2))
    np.testing.assert_array_equal(text(1), text(1))
    np.testing.assert_array_equal(text(1)[:, -1], [-1] * 4)
    # Each position draws afresh (the seed is combined with it): no row is one token repeated.
    assert all(len(set(row)) > 1 for row in text(1).numpy()[:, :5])


# Known next-token probabilities: the first generated token of 20,000 rows, one batch.
PROBS = np.array([0.05, 0.1, 0.15, 0.3, 0.4])
ROWS = 20_000


def one_step(tokens, state, constants, index):
    return tf.tile(tf.math.log(tf.constant(PROBS, tf.float32))[None], [tf.shape(tokens)[0], 1]), state, {}


def renormalised(probs):
    return probs / probs.sum()


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({}, PROBS),
        ({"top_k": 2}, renormalised(PROBS * [0, 0, 0, 1, 1])),
        ({"top_p": 0.75}, renormalised(PROBS * [0, 0, 1, 1, 1])),  # 0.4 + 0.3 < 0.75 <= 0.4 + 0.3 + 0.15
        ({"temperature": 2.0}, renormalised(PROBS**0.5)),
        # Top-p cuts the tempered distribution: p ** 2 renormalised is [.01, .04, .08, .32, .56],
        # so 0.8 keeps two tokens (on the untempered one it would keep three).
        ({"temperature": 0.5, "top_p": 0.8}, renormalised(PROBS**2 * [0, 0, 0, 1, 1])),
        # Top-p cuts the top-k renormalised: [4/7, 3/7] keeps one token (of [.4, .3] it would keep two).
        ({"top_k": 2, "top_p": 0.5}, PROBS * 0 + [0, 0, 0, 0, 1]),
    ],
    ids=["full", "top_k", "top_p", "temperature", "temperature_top_p", "top_k_top_p"],
)
def test_sample_frequencies_match_the_distribution(arguments, expected):
    prompt, lengths = tf.fill([ROWS, 1], 0), tf.ones([ROWS], tf.int32)
    sampler = RandomSampler(seed=5, **arguments)
    # END (token 0) forced at the second token, so the first is a free draw.
    first = decode(one_step, {}, {}, prompt, lengths, 0, tf.fill([ROWS], 2), sampler).tokens[:, 0].numpy()
    frequencies = np.bincount(first, minlength=len(PROBS)) / ROWS
    # Each frequency within 4 standard errors sqrt(p (1 - p) / n) of its probability (a chance
    # of about 6e-5 per token to fail by bad luck; the seed is fixed, so the test is too).
    tolerance = 4 * np.sqrt(expected * (1 - expected) / ROWS)
    assert np.all(np.abs(frequencies - expected) <= tolerance), (frequencies, expected)
    np.testing.assert_array_equal(frequencies[expected == 0], 0.0)  # cut tokens never come out


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"temperature": 0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_invalid_python_arguments_are_rejected_by_name(arguments, message):
    with pytest.raises(ValueError, match=message):
        RandomSampler(**arguments)


def test_invalid_tensor_temperature_fails_in_the_graph():
    compiled = tf.function(lambda temperature: generate(RandomSampler(temperature=temperature)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature must be > 0"):
        compiled(tf.constant(0.0))


class Sampling(tf.Module):
    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.int32, name="seed"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.float32, name="top_p"),
        ]
    )
    def generate(self, seed, temperature, top_k, top_p):
        return generate(RandomSampler(temperature, top_k, top_p, seed)).tokens


def test_a_seed_gives_the_same_text_through_a_saved_model_in_a_fresh_process(tmp_path):
    arguments = (7, 1.5, 6, 0.9)
    expected = generate(RandomSampler(temperature=1.5, top_k=6, top_p=0.9, seed=7)).tokens.numpy()
    tf.saved_model.save(Sampling(), str(tmp_path))
    np.testing.assert_array_equal(tf.saved_model.load(str(tmp_path)).generate(*arguments), expected)
    script = (
        "import json, sys, tensorflow as tf; "
        f"tokens = tf.saved_model.load(sys.argv[1]).generate(*{arguments!r}); "
        "print(json.dumps(tokens.numpy().tolist()))"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    np.testing.assert_array_equal(json.loads(run.stdout.strip().splitlines()[-1]), expected)
