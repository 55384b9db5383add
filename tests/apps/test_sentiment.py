"""The sentiment app on a separable toy set: train, classify, explain, eval, export, bad input."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from apps.common.cli import UserError
from apps.common.model_directory import ModelDirectory
from apps.common.runner import Runner
from apps.sentiment.task import MAX_TOKENS, SentimentTask
from datasets.splits import SPLITS
from tests.helpers import run_saved_model_without_project_code

POSITIVE = ["great", "wonderful", "superb", "lovely", "brilliant"]
NEGATIVE = ["awful", "dreadful", "boring", "terrible", "dull"]
FILLER = ["the", "film", "was", "plot", "acting", "a", "and", "it", "story", "quite"]


def toy_reviews(count, seed):
    """Filler words around one sentiment word: positive words -> "pos", negative -> "neg"."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        label = index % 2
        words = list(rng.choice(FILLER, rng.integers(2, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POSITIVE if label else NEGATIVE)))
        rows.append((" ".join(words) + f" {index}", "pos" if label else "neg"))  # the number keeps texts distinct
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentiment")
    with open(root / "reviews.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["review", "stars"])
        writer.writerows(toy_reviews(1600, seed=0))
    runner = Runner(SentimentTask())
    assert runner.main(["train", "--data", str(root / "reviews.csv"), "--text-column", "review", "--label-column",
                        "stars", "--embeddings", "random", "--model", "gru-attention", "--size", "tiny",
                        "--epochs", "6", "--batch-size", "32", "--learning-rate", "0.01",
                        "--out", str(root / "model")]) == 0
    return runner, root


def classify(runner, root, capsys, *texts):
    assert runner.main(["--model-dir", str(root / "model"), "--json", *texts]) == 0
    return json.loads(capsys.readouterr().out)


def test_learns_the_toy_set_and_eval_reports_every_metric(trained, capsys):
    runner, root = trained
    assert runner.main(["eval", "--model-dir", str(root / "model"), "--data", str(root / "reviews.csv"),
                        "--text-column", "review", "--label-column", "stars", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["classes"] == ["neg", "pos"] and metrics["excluded_as_seen_in_training"] == 0
    assert metrics["accuracy"] >= 0.95 and metrics["macro_f1"] >= 0.95
    assert np.sum(metrics["confusion_matrix"]) == metrics["texts"] == metrics["evaluated"]
    assert 0.0 <= metrics["expected_calibration_error"] < 0.2


def test_attention_goes_to_the_words_that_decide(trained, capsys):
    """Only the sentiment word carries the label, so it must draw more than a uniform share of the
    attention. (Not on every sentence: a model may read one class as "no word of the other".)"""
    runner, root = trained
    reviews = toy_reviews(40, seed=1)
    results = classify(runner, root, capsys, *[text for text, _ in reviews])
    assert [r["label"] for r in results] == [label for _, label in reviews]
    decisive = set(POSITIVE + NEGATIVE)
    on_word = [sum(w for word, w in zip(r["words"], r["attention"], strict=True) if word in decisive)
               for r in results]
    uniform = [1.0 / len(r["words"]) for r in results]
    assert np.mean(on_word) > 3 * np.mean(uniform)


def test_padding_changes_no_score_in_process(trained):
    runner, root = trained
    directory = ModelDirectory(root / "model", SentimentTask.vocabulary_names)
    model = runner.load_model(directory)
    ids = np.array([[5, 9, 3, 7]])
    padded = np.array([[5, 9, 3, 7, 0, 0, 0, 0, 0]])
    short, long = model.explain(ids), model.explain(padded)
    np.testing.assert_allclose(np.asarray(long["logits"]), np.asarray(short["logits"]), atol=1e-5)
    weights = np.asarray(long["attention"])[0]
    assert np.all(weights[4:] == 0.0) and weights.sum() == pytest.approx(1.0, abs=1e-6)


def test_export_reloads_without_our_code_and_a_long_neighbour_changes_no_score(trained, capsys, tmp_path):
    runner, root = trained
    assert runner.main(["export", "--model-dir", str(root / "model"), "--out", str(tmp_path / "exported")]) == 0
    short = "the plot was dull"
    [alone] = classify(runner, root, capsys, short)
    script = """
        texts = [sys.argv[2], "the film was quite a story and the acting and the plot and it was a film"]
        out = loaded.signatures["serving_default"](text=tf.constant(texts))
        print(json.dumps({"probabilities": out["probabilities"].numpy().tolist(),
                          "attention": out["attention"].numpy().tolist(),
                          "label": [l.decode() for l in out["label"].numpy()]}))
    """
    served = run_saved_model_without_project_code(script, tmp_path / "exported", short)
    # Padded to the long neighbour's length, the short text scores as it does alone.
    np.testing.assert_allclose(served["probabilities"][0], list(alone["probabilities"].values()), atol=1e-4)
    assert served["label"][0] == "neg"
    weights = np.array(served["attention"])
    assert np.all(weights[0, 4:] == 0.0)  # four words, then padding
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_explain_colours_or_draws_the_words(trained, capsys, tmp_path):
    runner, root = trained
    assert runner.main(["--model-dir", str(root / "model"), "--explain", "the film was superb"]) == 0
    assert "superb(" in capsys.readouterr().out  # not a terminal: weights in brackets
    picture = str(tmp_path / "w.png")
    assert runner.main(["--model-dir", str(root / "model"), "--explain", picture, "dull", "lovely"]) == 0
    assert (tmp_path / "w-1.png").stat().st_size > 0 and (tmp_path / "w-2.png").stat().st_size > 0


def test_odd_texts_get_a_prediction_and_empty_ones_an_error_line_without_losing_the_others(trained, capsys):
    runner, root = trained
    texts = ["superb", "", "   ", "😀😀", "x" * 100_000, "le film était magnifique", "dull"]
    assert runner.main(["--model-dir", str(root / "model"), "--json", *texts]) == 1  # some texts failed
    output = capsys.readouterr()
    results = json.loads(output.out)
    assert len(results) == len(texts)
    assert [("error" in r) for r in results] == [False, True, True, False, False, False, False]
    assert results[0]["label"] == "pos" and results[-1]["label"] == "neg"
    assert "line 2: no words to classify" in output.err and "line 3: no words to classify" in output.err
    long_words = classify(runner, root, capsys, " ".join(["dull"] * (MAX_TOKENS + 500)))[0]["words"]
    assert len(long_words) == MAX_TOKENS


def test_nothing_to_classify_and_non_utf8_stdin_are_one_clear_line(trained):
    runner, root = trained
    with pytest.raises(UserError, match="nothing to classify"):
        runner.main(["--model-dir", str(root / "model"), "  "])
    command = [sys.executable, "-m", "apps.sentiment", "--model-dir", str(root / "model"), "-"]
    result = subprocess.run(command, input=b"\xff\xfe bad\n\xe9t\xe9\n", capture_output=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines()[-1].startswith("error: stdin is not UTF-8")
    # One undecodable line among good ones costs that line only: an empty row keeps the rows aligned.
    result = subprocess.run(command, input=b"great\n\xff\xfe bad\nawful\n", capture_output=True, timeout=300)
    assert result.returncode == 1, result.stderr
    rows = result.stdout.decode().split("\n")
    assert len(rows) == 4 and rows[1] == "" and rows[0] and rows[2] and rows[3] == ""
    assert "line 2: not UTF-8 text (byte 0xff at column 1)" in result.stderr.decode()


def test_word_pieces_are_greedy_longest_match_first():
    from datasets.word_vectors import wordpieces

    index = {"un": 0, "##watch": 1, "##able": 2, "unwatch": 3, "##a": 4, "watch": 5}
    assert wordpieces("unwatchable", index) == [3, 2]  # "unwatch" before "un"
    assert wordpieces("watcha", index) == [5, 4]
    assert wordpieces("xyz", index) == [] and wordpieces("", index) == []


def test_a_picture_that_cannot_be_written_loses_no_label(trained, tmp_path, monkeypatch, capsys):
    from tests.helpers import assert_output_failures_reported, full_disk

    runner, root = trained
    full_disk(monkeypatch)
    status = runner.run(["--model-dir", str(root / "model"), "--explain", str(tmp_path / "why.png"), "great", "awful"])
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert_output_failures_reported(status, err, [str(tmp_path / "why-1.png")])


def test_eval_reads_the_file_as_training_did(trained, capsys):
    runner, root = trained
    common = ["eval", "--model-dir", str(root / "model"), "--data", str(root / "reviews.csv"), "--json"]
    assert runner.main([*common, "--text-column", "review", "--label-column", "stars"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert runner.main(common) == 0  # the columns come from the model's config.json
    assert json.loads(capsys.readouterr().out) == given


def test_star_ratings_need_a_threshold_or_classes(tmp_path, capsys):
    from datasets.sentiment import load_sentiment, sentiment_classes

    path = tmp_path / "stars.csv"
    rows = [(f"review number {i} was {'great' if i % 5 > 2 else 'dull'}", str(i % 5 + 1)) for i in range(200)]
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([("review", "stars"), *rows])
    options = {"text_column": "review", "label_column": "stars"}
    status = Runner(SentimentTask()).run(["train", "--data", str(path), "--text-column", "review",
                                          "--label-column", "stars", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert status == 2 and "holds 5 numeric values (1, 2, 3, 4, 5)" in err and "--positive-above" in err
    assert sentiment_classes(path, **options, positive_above=3) == ["negative", "positive"]
    pairs = [p for split in SPLITS for p in load_sentiment(path, split, **options, positive_above=3)]
    stars = dict(rows)
    assert len(pairs) == 200 and all(label == int(int(stars[text]) > 3) for text, label in pairs)
    assert sentiment_classes(path, **options, value_classes=True) == ["0", "1", "2", "3", "4", "5"]
