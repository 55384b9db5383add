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
        logits, state, outputs = model.step(TARGET_IN[:, t], state, constants, t)
        attention = outputs["attention"]
        real = TARGET_IN[:, t] != 0
        np.testing.assert_allclose(np.asarray(logits)[real], full[real, t], atol=1e-5)
        np.testing.assert_allclose(np.asarray(attention).sum(-1), 1.0, atol=1e-5)
        assert np.all(np.asarray(attention)[1, 3:] == 0.0)  # padded source positions


# Every constructor argument away from its default, so a value get_config forgets is caught.
NON_DEFAULT = {
    "attention-gru": {"embedding_dim": 12, "units": 24, "dropout": 0.35},
    "transformer": {"width": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 40, "dropout": 0.25,
                    "tie_embeddings": True},
    "tutorial-baseline": {"units": 20},
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_config_roundtrip_keeps_every_argument_through_a_saved_file(name, tmp_path):
    import inspect

    from tests.helpers import assert_model_roundtrip

    parameters = inspect.signature(ARCHITECTURES[name].__init__).parameters
    arguments = NON_DEFAULT[name]
    assert set(arguments) == {p for p in parameters if p not in ("self", "kwargs", "source_vocab_size",
                                                                  "target_vocab_size")}
    assert all(arguments[p] != parameters[p].default for p in arguments)
    model = ARCHITECTURES[name](21, 31, **arguments)
    restored = assert_model_roundtrip(model, [SOURCE, TARGET_IN], tmp_path)  # same outputs after reload
    config = restored.get_config()
    assert {k: config[k] for k in arguments} == arguments
    assert (config["source_vocab_size"], config["target_vocab_size"]) == (21, 31)


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
