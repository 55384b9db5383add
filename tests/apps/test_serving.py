"""The serving pattern's other input and output kinds: a prompt with sampling settings in, and
encoded image bytes in, class probabilities out; each exported and run without our code."""

import io
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from apps.caption.serving import IMAGE_BYTES, decode_images
from apps.common import serving
from tests.helpers import run_saved_model_without_project_code

CHARACTERS = ["", "[UNK]", "a", "b", "c", "d", "\n"]
END = CHARACTERS.index("\n")

class Bigram(keras.Model):
    """p(next | previous) from a table: a language model whose `step` reads no state."""

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.table = keras.layers.Embedding(vocabulary_size, vocabulary_size)

    def call(self, ids):
        return self.table(ids)

    def encode(self, inputs, max_output_length):
        return {"steps": tf.zeros([tf.shape(inputs)[0]])}, {}

    def step(self, tokens, state, constants, index):
        return self.table(tokens), {"steps": state["steps"] + 1.0}, {}


def character_server():
    model = Bigram(len(CHARACTERS))
    model(np.zeros((1, 1), "int32"))
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(CHARACTERS), len(CHARACTERS))).astype("float32")
    logits[:, END] -= 2.0  # long enough samples to tell seeds apart
    model.table.embeddings.assign(logits)
    lookup = keras.layers.StringLookup(vocabulary=CHARACTERS[2:], mask_token="", oov_token="[UNK]")

    def preprocess(text):
        # An empty prompt starts from a newline, as a text file would.
        text = tf.where(tf.strings.length(text) > 0, text, "\n")
        ids = tf.cast(lookup(tf.strings.unicode_split(text, "UTF-8")).to_tensor(), tf.int32)
        lengths = tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1)
        return {"inputs": ids, "prompt": ids, "prompt_lengths": lengths, "max_lengths": tf.fill(tf.shape(lengths), 50),
                "is_empty": tf.zeros(tf.shape(lengths), tf.bool)}

    return serving.SequenceServer(model, preprocess, CHARACTERS, END, serving.TEXT, separator=serving.CHARACTERS,
                                  mode="sample", sampling={"temperature": 1.0, "seed": 3, "max_new_tokens": 30},
                                  preprocess_layers=[lookup], suppressed_ids=(0, 1))


def sample(server, prompts, seed, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=30):
    out = server.sample(tf.constant(prompts), tf.constant(temperature), tf.constant(top_k), tf.constant(top_p),
                        tf.constant(seed), tf.constant(max_new_tokens))
    return [t.decode() for t in out["text"].numpy()]


def test_sampling_with_a_seed_is_reproducible_in_process_and_through_a_saved_model(tmp_path):
    server = character_server()
    prompts = ["ab", "dcba", ""]
    first = sample(server, prompts, seed=7)
    assert first == sample(server, prompts, seed=7)
    assert first != sample(server, prompts, seed=8)
    assert all(set(text) <= set("abcd") for text in first) and max(map(len, first)) > 3
    greedy = sample(server, prompts, seed=7, top_k=1)
    assert greedy == sample(server, prompts, seed=99, top_k=1)  # top-k 1 leaves no choice to the seed

    serving.export_server(server, str(tmp_path / "exported"))
    script = """
        settings = dict(temperature=tf.constant(1.0), top_k=tf.constant(0), top_p=tf.constant(1.0),
                        seed=tf.constant(7), max_new_tokens=tf.constant(30))
        out = loaded.signatures["sample"](text=tf.constant(json.loads(sys.argv[2])), **settings)
        default = loaded.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
        print(json.dumps([[t.decode() for t in o["text"].numpy()] for o in (out, default)]))
    """
    reloaded, default = run_saved_model_without_project_code(script, tmp_path / "exported", json.dumps(prompts))
    assert reloaded == first
    assert default == sample(server, prompts, seed=3)  # the server's default settings


def test_an_export_holds_each_decode_graph_once(tmp_path):
    """Signatures traced apart from `save`'s own traces stored every decode loop twice, and every
    load read both (a second on the command line)."""
    from tensorflow.core.protobuf import saved_model_pb2

    serving.export_server(character_server(), str(tmp_path / "exported"))
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((tmp_path / "exported" / "saved_model.pb").read_bytes())
    names = [f.signature.name for f in proto.meta_graphs[0].graph_def.library.function]
    for traced in ("__inference__sample_", "__inference__sample_xla_"):
        assert sum(name.startswith(traced) and name[len(traced)].isdigit() for name in names) == 1, names


def test_sampling_settings_out_of_range_are_refused_in_the_graph():
    server = character_server()
    for settings in ({"temperature": 0.0}, {"top_p": 1.5}, {"top_p": 0.0}, {"top_k": -1}, {"max_new_tokens": 0}):
        with pytest.raises(tf.errors.InvalidArgumentError):
            sample(server, ["ab"], seed=1, **settings)


class MeanColour(keras.Model):
    """Logits (red - blue, blue - red) of an image's mean colour, and the mean colour itself."""

    def call(self, images, training=False):
        mean = keras.ops.mean(images, axis=(1, 2))  # (B, 3)
        red_minus_blue = mean[:, 0] - mean[:, 2]
        return {"logits": keras.ops.stack([red_minus_blue, -red_minus_blue], axis=-1), "mean_rgb": mean}


def encoded(colour, image_format, size):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=image_format)
    return buffer.getvalue()


def test_image_bytes_in_class_probabilities_out(tmp_path):
    def preprocess(image_bytes):
        return {"inputs": decode_images(image_bytes, 16) / 255.0}

    server = serving.ClassifierServer(MeanColour(), preprocess, ["red", "blue"], IMAGE_BYTES)
    images = [encoded((250, 10, 10), "PNG", (40, 30)), encoded((10, 10, 250), "JPEG", (17, 64))]
    out = server.serving_default(tf.constant(images))
    assert [label.decode() for label in out["label"].numpy()] == ["red", "blue"]
    np.testing.assert_allclose(out["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out["mean_rgb"].numpy()[0], np.array([250, 10, 10]) / 255.0, atol=0.02)

    serving.export_server(server, str(tmp_path / "exported"))
    script = """
        images = [open(path, "rb").read() for path in sys.argv[2:]]
        out = loaded.signatures["serving_default"](image_bytes=tf.constant(images))
        print(json.dumps({"label": [t.decode() for t in out["label"].numpy()],
                          "probabilities": out["probabilities"].numpy().tolist()}))
    """
    paths = []
    for index, data in enumerate(images):
        paths.append(tmp_path / f"image{index}")
        paths[-1].write_bytes(data)
    reloaded = run_saved_model_without_project_code(script, tmp_path / "exported", *paths)
    assert reloaded["label"] == ["red", "blue"]
    np.testing.assert_allclose(reloaded["probabilities"], out["probabilities"].numpy(), atol=1e-6)
