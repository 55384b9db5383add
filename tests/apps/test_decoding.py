"""Greedy and beam search on toy models whose best sequence is known, prompts, and real models' caches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.common.decoding import (
    BeamSampler,
    GreedySampler,
    beam_search,
    decode,
    gather_beams,
    sample,
    suppress_tokens,
)
from apps.translate.model import PRESETS, AttentionGRUTranslator, TransformerTranslator, example_batch

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
    """Logits depend on the previous token only; the output marks the hypothesis (its previous token)."""
    previous = tf.one_hot(tokens, 4)
    return tf.gather(LOGITS, tokens), {"count": state["count"] + 1}, {"previous": previous, "index": index + 0 * tokens}


def start_prompt(batch):
    """Translation's prompt: [START] for every row."""
    return tf.fill([batch, 1], START), tf.ones([batch], tf.int32)


def run(sampler, batch=2, max_length=6):
    return decode(
        markov_step, {"count": tf.zeros([batch])}, {}, *start_prompt(batch), END, tf.fill([batch], max_length), sampler
    )


def test_greedy_takes_the_locally_best_token():
    result = run(GreedySampler())
    np.testing.assert_array_equal(result.tokens[0, :2], [A, END])
    np.testing.assert_allclose(result.scores, np.log(0.6 * 0.4), atol=1e-5)
    np.testing.assert_array_equal(result.lengths, [2, 2])


def test_beam_finds_the_more_probable_sequence():
    result = run(BeamSampler(beam_size=2))
    np.testing.assert_array_equal(result.tokens[:, :2], [[B, END], [B, END]])
    penalty = ((5 + 2) / 6) ** 0.6
    np.testing.assert_allclose(result.scores, np.log(0.4 * 0.99) / penalty, atol=1e-5)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_the_n_best_list_is_the_ranks_of_one_search_best_first(as_tensor):
    """Rank 0 is the best (B END), rank 1 the runner-up (A END): 0.396 > 0.24 in probability."""
    ranked = [run(BeamSampler(beam_size=2, length_penalty=0.0, rank=tf.constant(r) if as_tensor else r))
              for r in (0, 1)]
    np.testing.assert_array_equal(ranked[0].tokens[:, :2], [[B, END], [B, END]])
    np.testing.assert_array_equal(ranked[1].tokens[:, :2], [[A, END], [A, END]])
    np.testing.assert_allclose(ranked[0].scores, np.log(0.4 * 0.99), atol=1e-5)
    np.testing.assert_allclose(ranked[1].scores, np.log(0.6 * 0.4), atol=1e-5)
    np.testing.assert_array_equal(ranked[0].tokens, run(BeamSampler(beam_size=2, length_penalty=0.0)).tokens)
    with pytest.raises(ValueError, match="rank must be below beam_size"):
        run(BeamSampler(beam_size=2, rank=2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank must be below beam_size"):
        run(BeamSampler(beam_size=tf.constant(2), rank=2))


@pytest.mark.parametrize("compiled", [False, True])
def test_beam_of_one_equals_greedy(compiled):
    def both():
        inputs = (markov_step, {"count": tf.zeros([2])}, {}, *start_prompt(2), END, tf.fill([2], 6))
        return sample(*inputs, GreedySampler()), beam_search(*inputs, beam_size=1, length_penalty=0.0)

    greedy, beam = tf.function(both)() if compiled else both()
    np.testing.assert_array_equal(greedy.tokens, beam.tokens)
    np.testing.assert_allclose(greedy.scores, beam.scores, atol=1e-5)


def test_beam_size_must_be_positive():
    with pytest.raises(ValueError, match="beam_size"):
        BeamSampler(beam_size=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="beam_size must be a positive integer"):
        run(BeamSampler(beam_size=tf.constant(0)))
    with pytest.raises(ValueError, match="END token"):  # nothing could finish
        decode(markov_step, {"count": tf.zeros([2])}, {}, *start_prompt(2), -1, tf.fill([2], 6),
               BeamSampler(beam_size=tf.constant(1)))


def test_end_is_forced_at_each_examples_length_limit():
    never_end = tf.constant(np.log([[1e-9, 1e-9, 1.0, 1e-9]] * 4), tf.float32)

    def step(tokens, state, constants, index):
        return tf.gather(never_end, tokens), state, {}

    for sampler in (GreedySampler(), BeamSampler(3)):
        result = decode(step, {}, {}, *start_prompt(2), END, tf.constant([3, 5]), sampler)
        np.testing.assert_array_equal(result.lengths, [3, 5])
        np.testing.assert_array_equal(result.tokens[0, :3], [A, A, END])
        np.testing.assert_array_equal(result.tokens[1, :5], [A, A, A, A, END])
        assert result.outputs == {}


def test_gather_beams_picks_within_each_example():
    x = tf.constant([[10], [11], [12], [20], [21], [22]])  # B=2, K=3
    picked = gather_beams(x, tf.constant([[2, 0], [1, 1]]))
    np.testing.assert_array_equal(picked[:, 0], [12, 10, 21, 21])


@pytest.mark.parametrize("sampler, first", [(GreedySampler(), A), (BeamSampler(3), B)], ids=["greedy", "beam"])
def test_outputs_follow_the_chosen_hypothesis(sampler, first):
    # Greedy returns A END, beam B END: the second output must be the one-hot of that hypothesis'
    # first token, which beam search only gets right by reordering the outputs with the beams.
    result = run(sampler)
    np.testing.assert_array_equal(result.outputs["previous"][:, :2], [[np.eye(4)[START], np.eye(4)[first]]] * 2)
    np.testing.assert_array_equal(result.outputs["index"][:, :2], [[0, 1]] * 2)


def counting_step(tokens, state, constants, index):
    """p(next | previous, number of B so far). Short [A, END]: 0.45. Long [B, B, B, END]: 0.441.

    The state (the count) must follow each hypothesis through beam reordering, and the
    output (a one-hot of the previous token) must follow the chosen hypothesis.
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
    return tf.math.log(probs), {"count": count}, {"previous": tf.one_hot(tokens, 4)}


def run_counting(length_penalty, beam_size=2):
    sampler = BeamSampler(beam_size=beam_size, length_penalty=length_penalty)
    return decode(counting_step, {"count": tf.zeros([1], tf.int32)}, {}, *start_prompt(1), END, [8], sampler)


def test_length_penalty_decides_between_short_and_long_hypotheses():
    short = run_counting(length_penalty=0.0)
    np.testing.assert_array_equal(short.tokens[0, :2], [A, END])
    np.testing.assert_allclose(short.scores, np.log(0.45), atol=1e-5)
    long = run_counting(length_penalty=1.0)
    np.testing.assert_array_equal(long.tokens[0, :4], [B, B, B, END])
    np.testing.assert_array_equal(long.lengths, [4])
    np.testing.assert_allclose(long.scores, np.log(0.55 * 0.9 * 0.9 * 0.99) / (9 / 6), atol=1e-5)


def test_state_and_outputs_follow_the_chosen_hypothesis():
    result = run_counting(length_penalty=1.0, beam_size=3)
    tokens = result.tokens[0].numpy()[: result.lengths[0]]
    previous = np.concatenate([[START], tokens[:-1]])
    np.testing.assert_array_equal(np.argmax(result.outputs["previous"][0, : len(tokens)], -1), previous)


def test_forced_end_keeps_its_own_probability():
    result = decode(markov_step, {"count": tf.zeros([1])}, {}, *start_prompt(1), END, [1], GreedySampler())
    np.testing.assert_allclose(result.scores, np.log(1e-9 / (1 + 2e-9)), rtol=1e-3)  # END from START: ~1e-9


# Prompts. A counting model over tokens 0..7: from t in 2..6 the next token is t + 1 with
# probability 0.7, from 7 END with 0.9; the rest is spread evenly. A prompt may contain any
# transition, likely or not: it is read, not scored.
COUNT_END, COUNT_VOCAB = 1, 8


def _counting_logits():
    probs = np.full((COUNT_VOCAB, COUNT_VOCAB), 0.3 / (COUNT_VOCAB - 1))
    for t in range(COUNT_VOCAB):
        probs[t, COUNT_END if t in (0, 1, 7) else t + 1] = 0.7 if t < 7 else 0.9
    probs[7] = np.where(np.arange(COUNT_VOCAB) == COUNT_END, 0.9, 0.1 / (COUNT_VOCAB - 1))
    return np.log(probs / probs.sum(1, keepdims=True)).astype("float32")


COUNT_LOGITS = _counting_logits()


def count_step(tokens, state, constants, index):
    """Outputs the position of `tokens` and the row's constant, to check alignment and order."""
    outputs = {"index": index + 0 * tokens, "row": constants["row"]}
    return tf.gather(COUNT_LOGITS, tokens), {"seen": state["seen"] + 1}, outputs


def decode_prompts(prompts, sampler, max_length=6, rows=None):
    lengths = [len(p) for p in prompts]
    padded = [p + [0] * (max(lengths) - len(p)) for p in prompts]
    rows = tf.range(len(prompts)) if rows is None else tf.constant(rows)
    state, constants = {"seen": tf.zeros([len(prompts)], tf.int32)}, {"row": rows}
    return decode(
        count_step, state, constants, padded, lengths, COUNT_END, tf.fill([len(prompts)], max_length), sampler
    )


PROMPTS = [[2, 3], [2, 6], [5], [2, 3, 4, 5]]


@pytest.mark.parametrize("sampler", [GreedySampler(), BeamSampler(3)], ids=["greedy", "beam"])
def test_generation_continues_after_each_rows_own_prompt(sampler):
    result = decode_prompts(PROMPTS, sampler)
    end = COUNT_END
    expected = [
        [4, 5, 6, 7, end, end],
        [7, end, end, end, end, end],
        [6, 7, end, end, end, end],
        [6, 7, end] + [end] * 3,
    ]
    np.testing.assert_array_equal(result.tokens, expected)
    np.testing.assert_array_equal(result.lengths, [5, 2, 3, 3])
    # Only the generated tokens count: not 2 -> 6 of the second prompt (probability 0.04).
    log_p = np.log([0.7**4 * 0.9, 0.7 * 0.9, 0.7**2 * 0.9, 0.7**2 * 0.9])
    if isinstance(sampler, BeamSampler):
        log_p /= ((5 + np.array([5, 2, 3, 3])) / 6) ** 0.6
    np.testing.assert_allclose(result.scores, log_p, atol=1e-5)
    # The outputs of generated token g of row b come from the step at position len(prompt b) - 1 + g.
    for b, prompt in enumerate(PROMPTS):
        np.testing.assert_array_equal(result.outputs["index"][b, :2], [len(prompt) - 1, len(prompt)])
    np.testing.assert_array_equal(result.outputs["row"][:, 0], [0, 1, 2, 3])


@pytest.mark.parametrize("sampler", [GreedySampler(), BeamSampler(3)], ids=["greedy", "beam"])
def test_a_row_decodes_alone_as_beside_a_longer_prompt(sampler):
    alone = decode_prompts([[2, 6]], sampler, rows=[1])
    batch = decode_prompts([[2, 3, 4, 5], [2, 6]], sampler, rows=[0, 1])
    for name, value in alone._asdict().items():
        tf.nest.map_structure(lambda a, b: np.testing.assert_array_equal(a[0], b[1]), value, batch._asdict()[name])


def test_prompts_compile_with_an_unknown_batch_size_and_a_tensor_beam_size():
    spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)]

    @tf.function(input_signature=spec)
    def generate(prompt, prompt_lengths, beam_size):
        batch = tf.shape(prompt)[0]
        state, constants = {"seen": tf.zeros([batch], tf.int32)}, {"row": tf.range(batch)}
        max_lengths = tf.fill([batch], 6)
        return decode(
            count_step, state, constants, prompt, prompt_lengths, COUNT_END, max_lengths, BeamSampler(beam_size)
        )

    for beam_size in (1, 2):
        result = generate(tf.constant([[2, 3, 4, 5], [5, 0, 0, 0]]), tf.constant([4, 1]), tf.constant(beam_size))
        np.testing.assert_array_equal(result.tokens[:, :3], [[6, 7, COUNT_END], [6, 7, COUNT_END]])
        np.testing.assert_array_equal(result.outputs["index"][:, 0], [3, 0])


# A real model's caches: tiny untrained translators, random weights, target vocabulary 30.
SOURCE = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 0, 0, 0], [4, 12, 13, 14, 15, 16]])
MODEL_START, MODEL_END, MAX_LENGTHS = 2, 3, [7, 5, 9]
SUPPRESSED = (0, MODEL_START)  # padding would be masked in the teacher-forced pass; START never comes out


@pytest.fixture(scope="module", params=[TransformerTranslator, AttentionGRUTranslator], ids=lambda c: c.__name__)
def translator(request):
    keras.utils.set_random_seed(3)
    name = {TransformerTranslator: "transformer", AttentionGRUTranslator: "attention-gru"}[request.param]
    model = request.param(20, 30, **PRESETS[name]["tiny"])
    model(example_batch())
    return model


def decode_translator(model, search):
    state, constants = model.encode(SOURCE, max(MAX_LENGTHS))
    step = suppress_tokens(model.step, SUPPRESSED)
    prompt, prompt_lengths = tf.fill([len(SOURCE), 1], MODEL_START), tf.ones([len(SOURCE)], tf.int32)
    return search(step, state, constants, prompt, prompt_lengths, MODEL_END, tf.constant(MAX_LENGTHS))


def teacher_forced_log_prob(model, tokens, lengths):
    """Sum of log p(token) up to and including END, from one full teacher-forced pass."""
    target_in = np.concatenate([np.full((len(tokens), 1), MODEL_START), tokens[:, :-1]], axis=1)
    logits = np.array(model([SOURCE, target_in], training=False))
    logits[..., list(SUPPRESSED)] = -1e9  # as suppress_tokens does for decoding
    log_probs = np.asarray(tf.nn.log_softmax(logits))
    picked = np.take_along_axis(log_probs, tokens[..., None], axis=-1)[..., 0]
    return np.sum(np.where(np.arange(tokens.shape[1]) < lengths[:, None], picked, 0.0), axis=1)


@pytest.mark.parametrize("as_tensor", [False, True], ids=["python", "tensor"])
def test_beam_of_one_equals_greedy_on_a_real_model(translator, as_tensor):
    # A beam of one is greedy search, also as a tensor (the SavedModel's input), through the beam loop
    # itself, with the default length penalty: here an END comes second (row 2) that greedy search
    # passes over, and that a plain K = 1 beam search would finish and keep.
    @tf.function
    def both(beam_size):
        greedy = decode_translator(translator, lambda *inputs: decode(*inputs, GreedySampler()))
        beam = decode_translator(translator, lambda *inputs: beam_search(*inputs, beam_size, length_penalty=0.6))
        return greedy, beam

    greedy, beam = both(tf.constant(1) if as_tensor else 1)
    assert np.all(greedy.lengths.numpy() > 1)
    if not isinstance(translator, AttentionGRUTranslator):
        return
    # There, the case the rule is for happens: before greedy search's END, END is a step's runner-up.
    tokens, lengths = greedy.tokens.numpy(), greedy.lengths.numpy()
    target_in = np.concatenate([np.full((len(tokens), 1), MODEL_START), tokens[:, :-1]], axis=1)
    logits = np.array(translator([SOURCE, target_in], training=False))
    logits[..., list(SUPPRESSED)] = -1e9
    runner_up = np.argsort(-logits, axis=-1)[..., 1]  # (B, L)
    assert np.any((runner_up == MODEL_END) & (np.arange(tokens.shape[1]) < lengths[:, None] - 1))
    np.testing.assert_array_equal(greedy.tokens, beam.tokens)
    np.testing.assert_array_equal(greedy.lengths, beam.lengths)
    np.testing.assert_allclose(greedy.scores, beam.scores, rtol=1e-6)
    np.testing.assert_array_equal(greedy.outputs["attention"], beam.outputs["attention"])


def test_a_tensor_beam_size_compiles_one_decoding_loop():
    spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)]
    generate = tf.function(lambda prompt, lengths, beam_size: decode(
        count_step, {"seen": tf.zeros([tf.shape(prompt)[0]], tf.int32)}, {"row": tf.range(tf.shape(prompt)[0])},
        prompt, lengths, COUNT_END, tf.fill([tf.shape(prompt)[0]], 6), BeamSampler(beam_size)), input_signature=spec)
    graph = generate.get_concrete_function().graph.as_graph_def()
    loops = [node for node in graph.node if node.op in ("While", "StatelessWhile")]
    assert len(loops) == 1


def test_beam_score_is_the_penalised_teacher_forced_log_probability(translator):
    result = decode_translator(translator, lambda *inputs: beam_search(*inputs, beam_size=3, length_penalty=0.6))
    tokens, lengths = result.tokens.numpy(), result.lengths.numpy()
    assert np.all(tokens[np.arange(len(tokens)), lengths - 1] == MODEL_END)
    expected = teacher_forced_log_prob(translator, tokens, lengths) / ((5 + lengths) / 6) ** 0.6
    np.testing.assert_allclose(result.scores, expected, atol=1e-4)
