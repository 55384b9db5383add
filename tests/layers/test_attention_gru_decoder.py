import numpy as np

from layers import AttentionGRUDecoder
from tests.helpers import assert_close, padding_mask, random_array

B, T, S, E, K, H = 3, 5, 6, 4, 7, 8


def test_teacher_forced_pass_equals_step_by_step():
    decoder = AttentionGRUDecoder(H)
    targets, memory = random_array(B, T, E), random_array(B, S, K, seed=1)
    memory_mask = padding_mask([6, 4, 2], S)
    initial = random_array(B, H, seed=2)
    states, contexts, weights = decoder(targets, memory, initial, encoder_outputs_mask=memory_mask)
    state = initial
    for t in range(T):
        state, context, w = decoder.step(targets[:, t], state, memory, memory_mask)
        assert_close(states[:, t], state)
        assert_close(contexts[:, t], context)
        assert_close(weights[:, t], w)


def test_future_targets_do_not_change_the_past():
    decoder = AttentionGRUDecoder(H)
    targets, memory = random_array(B, T, E), random_array(B, S, K, seed=1)
    states, _, _ = decoder(targets, memory)
    perturbed = targets.copy()
    perturbed[:, 3:] = random_array(B, T - 3, E, seed=4)
    perturbed_states, _, _ = decoder(perturbed, memory)
    assert_close(perturbed_states[:, :3], states[:, :3])


def test_source_padding_changes_nothing_and_gets_no_weight():
    decoder = AttentionGRUDecoder(H)
    targets, memory = random_array(B, T, E), random_array(B, S, K, seed=1)
    lengths = [6, 4, 2]
    states, _, weights = decoder(targets, memory, encoder_outputs_mask=padding_mask(lengths, S))
    longer = np.concatenate([memory, random_array(B, 3, K, seed=5)], axis=1)
    longer_states, _, longer_weights = decoder(
        targets, longer, encoder_outputs_mask=padding_mask(lengths, S + 3)
    )
    assert_close(longer_states, states)
    assert np.all(np.asarray(longer_weights)[2, :, 2:] == 0.0)
    assert_close(np.asarray(weights).sum(-1), np.ones((B, T)))


def test_padded_target_steps_carry_the_state_over():
    decoder = AttentionGRUDecoder(H)
    targets, memory = random_array(B, T, E), random_array(B, S, K, seed=1)
    states, _, _ = decoder(targets, memory, inputs_mask=padding_mask([5, 2, 1], T))
    assert_close(states[1, 2:], np.repeat(np.asarray(states)[1, 1:2], T - 2, axis=0))
