"""A new app on the shared runner is small: digit reversal, trained, evaluated, run, exported, reloaded.

Everything an app must write is in `ReverseTask` (an architecture reused from translation);
the runner gives it train / eval / predict / export and the model directory.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.common import serving
from apps.common.runner import Runner
from apps.common.task import Task
from apps.common.training import masked_accuracy, masked_loss
from apps.translate.model import AttentionGRUTranslator
from tests.helpers import run_saved_model_without_project_code

DIGITS = list("0123456789")
SOURCE, TARGET = ["", "[UNK]", *DIGITS], ["", "[UNK]", *DIGITS, "[start]", "[end]"]
SPLITS = {"train": (0, 3000), "validation": (1, 200), "test": (2, 200)}


class ReverseTask(Task):
    name, predict_command, example_noun = "reverse", "reverse", "numbers"
    presets = {"gru": {"tiny": {"embedding_dim": 16, "units": 64}, "small": {"embedding_dim": 32, "units": 128}}}
    vocabulary_names = ("source", "target")

    def architecture(self, name):
        return AttentionGRUTranslator

    def load_split(self, args, split):
        seed, count = SPLITS[split]
        rng = np.random.default_rng(seed)
        numbers = ["".join(rng.choice(DIGITS, rng.integers(1, 6))) for _ in range(count)]
        return [(n, n[::-1]) for n in numbers]

    def build_vocabularies(self, train_examples, args):
        return {"source": SOURCE, "target": TARGET}

    def encode(self, examples, vocabularies):
        source = [[SOURCE.index(c) for c in number] for number, _ in examples]
        target = [[TARGET.index(t) for t in ["[start]", *reverse, "[end]"]] for _, reverse in examples]
        return source, target

    def model_batch(self, source, target):
        return (source, target[:, :-1]), target[:, 1:]

    def example_batch(self):
        return [np.array([[2, 3]]), np.array([[12, 4]])]

    def compile(self, model, architecture, args):
        model.compile(keras.optimizers.Adam(args.learning_rate or 3e-3), masked_loss, metrics=[masked_accuracy])

    def build_server(self, model, vocabularies, config, beam_size=None):
        lookup = keras.layers.StringLookup(vocabulary=DIGITS, mask_token="", oov_token="[UNK]")

        def preprocess(text):
            ids = tf.cast(lookup(tf.strings.unicode_split(text, "UTF-8")).to_tensor(), tf.int32)
            ids = tf.pad(ids, [[0, 0], [0, 1]])  # never zero columns
            batch, lengths = tf.shape(ids)[:1], tf.reduce_sum(tf.cast(ids > 0, tf.int32), 1)
            return {"inputs": ids, "prompt": tf.fill(tf.concat([batch, [1]], 0), TARGET.index("[start]")),
                    "prompt_lengths": tf.ones(batch, tf.int32), "max_lengths": lengths + 2, "is_empty": lengths == 0}

        return serving.SequenceServer(model, preprocess, TARGET, TARGET.index("[end]"), serving.TEXT,
                                      separator=serving.CHARACTERS, beam_size=beam_size or 2,
                                      preprocess_layers=[lookup], suppressed_ids=(0, 1, TARGET.index("[start]")))

    def predict(self, runner, inputs, args):
        signature = runner.model_directory(args).load_serving().signatures["generate_with_beam"]
        for row in serving.run_in_batches(signature, inputs, 32, "text", beam_size=args.beam or 2):
            print(row["text"].decode())

    def evaluate(self, runner, directory, examples, args):
        signature = directory.load_serving().signatures["serving_default"]
        rows = serving.run_in_batches(signature, [number for number, _ in examples], 64, "text")
        right = [row["text"].decode() == reverse for row, (_, reverse) in zip(rows, examples, strict=True)]
        return {"accuracy": float(np.mean(right))}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("reverse") / "model"
    runner = Runner(ReverseTask())
    assert runner.main(["train", "--model", "gru", "--size", "tiny", "--epochs", "12", "--out", str(out)]) == 0
    return runner, out


def test_the_toy_app_learns_to_reverse_digits(trained, capsys):
    runner, out = trained
    assert runner.main(["eval", "--model-dir", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["numbers"] == 200 and metrics["accuracy"] > 0.9, metrics

    assert runner.main(["--model-dir", str(out), "12345", "907"]) == 0  # predict is the default command
    assert capsys.readouterr().out.split() == ["54321", "709"]


def test_the_toy_app_exports_a_model_that_runs_without_our_code(trained, tmp_path):
    runner, out = trained
    assert runner.main(["export", "--model-dir", str(out), "--out", str(tmp_path / "exported")]) == 0
    script = """
        out = loaded.signatures["serving_default"](text=tf.constant(["2468", ""]))
        print(json.dumps([t.decode() for t in out["text"].numpy()]))
    """
    assert run_saved_model_without_project_code(script, tmp_path / "exported") == ["8642", ""]
