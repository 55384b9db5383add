"""The text-generation app on a toy periodic text: train, generate, score, eval, export, bad input."""

import io
import json
import re

import numpy as np
import pytest

from apps.common.cli import UserError
from apps.common.model_directory import ModelDirectory
from apps.common.runner import Runner
from apps.generate.task import GenerationTask, character_log_probabilities
from tests.helpers import run_saved_model_without_project_code

PERIOD = "abcdefg"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    blocks = ["\n".join([PERIOD * 6] * 3) for _ in range(120)]  # blank-line blocks, split by hash
    (root / "toy.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    runner = Runner(GenerationTask())
    assert runner.main(["train", "--data", str(root / "toy.txt"), "--model", "gru", "--size", "tiny", "--epochs",
                        "12", "--window", "40", "--batch-size", "16", "--learning-rate", "0.01",
                        "--out", str(root / "model")]) == 0
    return runner, root


def generate(runner, model_dir, capsys, *args):
    assert runner.main(["--model-dir", str(model_dir), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_generation_continues_the_period(trained, capsys):
    runner, root = trained
    [record] = generate(runner, root / "model", capsys, "--prompt", "abc", "--length", "25", "--top-k", "1")
    assert record["text"] == (PERIOD * 5)[3:28]
    # Top-k 1 leaves the seed nothing to choose.
    assert generate(runner, root / "model", capsys, "--prompt", "abc", "--length", "25", "--top-k", "1",
                    "--seed", "5") == [record]


def test_top_k_1_is_greedy_and_length_is_not_capped(trained, capsys):
    runner, root = trained
    [top_1] = generate(runner, root / "model", capsys, "--length", "350", "--top-k", "1", "--seed", "3", "gab")
    [cold] = generate(runner, root / "model", capsys, "--length", "350", "--temperature", "0.0001", "gab")
    assert top_1["text"] == cold["text"] and len(top_1["text"]) == 350


def test_the_lstm_steps_as_it_trains():
    from apps.generate.model import CharLanguageModel

    model = CharLanguageModel(9, embedding_dim=4, units=6, num_layers=2, cell="lstm")
    ids = np.array([[2, 5, 3, 8, 1]])
    full = np.asarray(model(ids))
    state, constants = model.encode(ids)
    for index in range(ids.shape[1]):
        logits, state, _ = model.step(ids[:, index], state, constants, index)
        np.testing.assert_allclose(np.asarray(logits), full[:, index], atol=1e-5)


def test_a_seed_gives_the_same_samples_in_process_and_through_the_saved_model(trained, capsys, tmp_path):
    runner, root = trained
    args = ("--length", "40", "--temperature", "3.0", "--seed", "11", "--samples", "3", "abc")
    first = generate(runner, root / "model", capsys, *args)
    assert first == generate(runner, root / "model", capsys, *args)
    assert len({r["text"] for r in first}) == 3  # three samples of one prompt differ (temperature 3)
    assert all(len(r["text"]) == 40 for r in first)

    assert runner.main(["export", "--model-dir", str(root / "model"), "--out", str(tmp_path / "exported")]) == 0
    script = """
        settings = dict(temperature=tf.constant(3.0), top_k=tf.constant(0), top_p=tf.constant(1.0),
                        seed=tf.constant(11), max_new_tokens=tf.constant(40))
        out = loaded.signatures["sample"](text=tf.constant(["abc"] * 3), **settings)
        print(json.dumps([t.decode() for t in out["text"].numpy()]))
    """
    assert run_saved_model_without_project_code(script, tmp_path / "exported") == [r["text"] for r in first]


def test_streaming_writes_the_same_text_as_the_in_graph_sampler(trained, capsys):
    runner, root = trained
    args = ["--length", "30", "--temperature", "3.0", "--seed", "4", "--prompt", "abc"]
    [record] = generate(runner, root / "model", capsys, *args)
    assert runner.main(["--model-dir", str(root / "model"), "--stream", *args]) == 0
    assert capsys.readouterr().out == "abc" + record["text"] + "\n"


def test_score_is_the_teacher_forced_log_probability_and_the_step_by_step_one(trained, capsys):
    runner, root = trained
    directory = ModelDirectory(root / "model", ("characters",))
    model, characters = runner.load_model(directory), directory.vocabulary("characters")
    text = "abcdefgab\ncd"
    forced = character_log_probabilities(model, characters, text)
    # The recurrent path, one character at a time from a newline, as sampling runs it.
    ids = [characters.index(c) for c in "\n" + text]
    state, constants = model.encode(np.array([[ids[0]]]))
    stepped = []
    for index, (token, following) in enumerate(zip(ids[:-1], ids[1:], strict=True)):
        logits, state, _ = model.step(np.array([token]), state, constants, index)
        logits = np.asarray(logits)[0]
        stepped.append(float(logits[following] - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max()))
    np.testing.assert_allclose(forced, stepped, atol=1e-4)

    assert runner.main(["score", "--model-dir", str(root / "model"), "--json", text, "gfedcba"]) == 0
    periodic, reversed_ = json.loads(capsys.readouterr().out)
    assert periodic["log_probability"] == pytest.approx(sum(forced), abs=1e-3)
    assert periodic["nats_per_character"] == pytest.approx(-sum(forced) / len(text), abs=1e-3)
    assert reversed_["nats_per_character"] > 5 * periodic["nats_per_character"]  # against the period: surprising


def test_eval_reports_nats_per_character_on_held_out_text(trained, capsys):
    runner, root = trained
    assert runner.main(["eval", "--model-dir", str(root / "model"), "--data", str(root / "toy.txt"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "test" and metrics["windows"] > 0 and metrics["characters"] > 0
    assert metrics["nats_per_character"] < 0.5  # a period of 7 is easy; chance is log(10) = 2.3
    assert metrics["perplexity"] == pytest.approx(np.exp(metrics["nats_per_character"]), rel=1e-3)


def test_unknown_characters_are_read_as_unknown_with_a_warning(trained, capsys):
    runner, root = trained
    assert runner.main(["score", "--model-dir", str(root / "model"), "abcxyz"]) == 0
    assert "never seen in training" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--top-p", "0"], "expected a number in (0, 1], got 0.0"),
        (["--top-p", "1.5"], "expected a number in (0, 1], got 1.5"),
        (["--temperature", "-1"], "expected a number in 0.0001..100, got -1.0"),
        (["--length", "0"], "expected an integer in 1..20000, got 0"),
        (["--length", "1000000000"], "expected an integer in 1..20000"),
        (["--samples", "1000"], "--samples must be at most 256"),
        (["--seed", "3000000000"], "expected an integer in 0..2147483647"),
        (["--temperature", "1e-50"], "expected a number in 0.0001..100"),
        (["--stream", "--samples", "2"], "--stream writes one sample of one prompt"),
        (["--stream", "xyz"], "--stream writes one sample of one prompt"),
    ],
)
def test_absurd_settings_are_one_clear_error(trained, args, message):
    runner, root = trained
    with pytest.raises(UserError, match=re.escape(message)):
        runner.main(["--model-dir", str(root / "model"), *args, "abc"])


def test_a_missing_data_file_is_one_clear_error(tmp_path):
    from datasets.errors import DataError

    with pytest.raises(DataError, match="no such file"):
        Runner(GenerationTask()).main(["train", "--data", str(tmp_path / "none.txt"), "--out", str(tmp_path / "o")])


def test_the_xla_sampler_continues_the_period_reproduces_a_seed_and_checks_its_settings(trained, capsys):
    import tensorflow as tf

    runner, root = trained
    [greedy] = generate(runner, root / "model", capsys, "--xla", "--top-k", "1", "--length", "30", "abc")
    assert greedy["text"] == (PERIOD * 6)[3:33]
    args = ("--xla", "--temperature", "3.0", "--seed", "8", "--length", "50", "--samples", "2", "abc")
    first = generate(runner, root / "model", capsys, *args)
    assert first == generate(runner, root / "model", capsys, *args)
    assert [len(r["text"]) for r in first] == [50, 50] and first[0]["text"] != first[1]["text"]
    signature = ModelDirectory(root / "model", ("characters",)).load_serving().signatures["sample_xla"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature must be > 0"):
        signature(text=tf.constant(["abc"]), temperature=tf.constant(-1.0), top_k=tf.constant(0),
                  top_p=tf.constant(1.0), seed=tf.constant(0), max_new_tokens=tf.constant(5))


def test_score_keeps_rows_aligned_and_a_failed_plot_loses_no_score(trained, tmp_path, monkeypatch, capsys):
    from tests.helpers import assert_output_failures_reported, full_disk

    runner, root = trained
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\n\n")))
    assert runner.run(["score", "--model-dir", str(root / "model"), "--json", "-"]) == 2  # nothing to score
    assert "nothing to score" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"abcabc\n\nbcabca\n")))
    assert runner.run(["score", "--model-dir", str(root / "model"), "--json", "-"]) == 1  # one input failed
    out, err = capsys.readouterr()
    records = json.loads(out)
    assert [r["text"] for r in records] == ["abcabc", "", "bcabca"]
    assert records[1] == {"text": "", "error": "empty text"}
    assert "line 2: empty text" in err
    full_disk(monkeypatch)
    status = runner.run(["score", "--model-dir", str(root / "model"), "--plot", str(tmp_path / "s.png"), "abcabc"])
    out, err = capsys.readouterr()
    assert "nats/char" in out
    assert_output_failures_reported(status, err, [str(tmp_path / "s.png")])
