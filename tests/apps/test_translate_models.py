"""Each translation model decodes step by step (with its caches) exactly as it trains."""

import numpy as np
import pytest

from apps.translate.model import ARCHITECTURES, PRESETS

SOURCE = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 0, 0, 0]])
TARGET_IN = np.array([[2, 12, 13, 14, 15], [2, 16, 17, 0, 0]])


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_step_by_step_logits_equal_the_teacher_forced_ones(name):
    model = ARCHITECTURES[name](20, 30, **PRESETS[name]["tiny"])
    full = np.asarray(model([SOURCE, TARGET_IN], training=False))
    state, constants = model.encode(SOURCE, TARGET_IN.shape[1])
    for t in range(TARGET_IN.shape[1]):
        logits, attention, state = model.step(TARGET_IN[:, t], state, constants, t)
        real = TARGET_IN[:, t] != 0
        np.testing.assert_allclose(np.asarray(logits)[real], full[real, t], atol=1e-5)
        np.testing.assert_allclose(np.asarray(attention).sum(-1), 1.0, atol=1e-5)
        assert np.all(np.asarray(attention)[1, 3:] == 0.0)  # padded source positions


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_config_roundtrip(name):
    model = ARCHITECTURES[name](20, 30, **PRESETS[name]["tiny"])
    clone = ARCHITECTURES[name].from_config(model.get_config())
    assert clone.get_config() == model.get_config()


def test_tied_transformer_projects_with_its_target_embedding():
    arguments = {**PRESETS["transformer"]["tiny"], "tie_embeddings": True}
    tied = ARCHITECTURES["transformer"](20, 30, **arguments)
    untied = ARCHITECTURES["transformer"](20, 30, **{**arguments, "tie_embeddings": False})
    tied([SOURCE, TARGET_IN]), untied([SOURCE, TARGET_IN])
    width = arguments["width"]
    assert untied.count_params() - tied.count_params() == width * 30 + 30  # the output kernel and bias
    before = np.asarray(tied([SOURCE, TARGET_IN], training=False))
    embeddings = tied.target_embedding.embeddings
    embeddings.assign(embeddings * 2.0)  # the embedding is the output projection: logits move
    assert not np.allclose(np.asarray(tied([SOURCE, TARGET_IN], training=False)), before)
