"""The caption app on tiny configurations: the model's math, the feature cache, training, export, the CLI."""

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from apps.caption.__main__ import main
from apps.caption.images import read_image
from apps.caption.model import ShowAttendTell, doubly_stochastic_penalty
from benchmarks.common import run_measured
from tests.helpers import run_saved_model_without_project_code

REPO = Path(__file__).resolve().parents[2]
TINY = ["--encoder", "tiny", "--size", "tiny"]
GIB = 1024**3


def tiny_model(vocab_size=12, **arguments):
    model = ShowAttendTell(vocab_size, encoder="tiny", embedding_dim=8, units=8, attention_units=8, dropout=0.0,
                           **arguments)
    model([np.zeros((1, 4, 4, 16), "float32"), np.array([[2, 3]])])
    return model


def batch(seed=0):
    rng = np.random.default_rng(seed)
    grids = rng.uniform(0, 6, (3, 4, 4, 16)).astype("float32")
    tokens = np.array([[2, 5, 6, 7], [2, 8, 0, 0], [2, 9, 10, 0]])  # 0 = padding
    return grids, tokens


def cli(*args, stdin=None):
    """Runs the command in a fresh process, as a user would, and measures its peak memory."""
    return run_measured([sys.executable, "-m", "apps.caption", *args], cwd=REPO, stdin=stdin, timeout=300)


# --- the model's math ----------------------------------------------------------------------------


def test_doubly_stochastic_term_is_the_papers():
    """lambda * sum_i (1 - sum_t alpha_ti)^2 per caption (Xu et al. 2015, eq. 14), padded steps left out."""
    alpha = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 3)).astype("float32")  # (B, T, L)
    mask = np.array([[True, True, True], [True, True, False]])
    expected = [np.sum((1.0 - alpha[b][mask[b]].sum(axis=0)) ** 2) for b in range(2)]
    np.testing.assert_allclose(doubly_stochastic_penalty(alpha, mask), expected, rtol=1e-5)
    # A caption whose attention visits every location exactly once pays nothing.
    np.testing.assert_allclose(doubly_stochastic_penalty(np.eye(4, dtype="float32")[None]), [0.0], atol=1e-6)

    # What training adds: lambda * the batch's penalties over its real target tokens.
    model = tiny_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", attention_penalty=0.5)
    grids, tokens = batch()
    model([grids, tokens])
    [added] = model.losses
    weights = model.attention_weights(grids, tokens).numpy()
    penalty = doubly_stochastic_penalty(weights, tokens != 0).numpy().sum()
    np.testing.assert_allclose(float(added), 0.5 * penalty / (tokens != 0).sum(), rtol=1e-5)


@pytest.mark.parametrize("arguments", [{}, {"attention_query": "current"},
                                       {"attention_query": "current", "lstm_input": "word", "grid_coordinates": True}],
                         ids=["paper", "current", "word-only"])
def test_attention_sums_to_one_over_locations_and_stepwise_decoding_equals_the_full_pass(arguments):
    model = tiny_model(**arguments)
    grids, tokens = batch(1)
    weights = model.attention_weights(grids, tokens).numpy()
    assert weights.shape == (3, 4, 16)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)

    full = model([grids, tokens], training=False).numpy()
    state, constants = model.encode(grids)
    for index in range(tokens.shape[1]):
        logits, state, outputs = model.step(tf.constant(tokens[:, index]), state, constants, index)
        real = tokens[:, index] != 0  # after a padded step the full pass carries the state over
        np.testing.assert_allclose(outputs["attention"].numpy()[real], weights[real, index], atol=1e-5)
        np.testing.assert_allclose(logits.numpy()[real], full[real, index], atol=1e-5)


def test_the_current_query_attends_after_reading_the_previous_word():
    """Step t reads token t (y_{t-1}): with the "current" query its attention moves with that token; with the
    paper's "previous" query it cannot (the attention is chosen before the token is read)."""
    grids, tokens = batch(2)
    changed = tokens.copy()
    changed[0, 1] = 11  # the word read at step 1
    for query, moves in (("previous", False), ("current", True)):
        model = tiny_model(attention_query=query)
        before, after = (model.attention_weights(grids, t).numpy()[0] for t in (tokens, changed))
        np.testing.assert_allclose(before[0], after[0], atol=1e-7)  # step 0 never sees it
        assert (np.abs(before[1] - after[1]).max() > 1e-6) == moves
        assert np.abs(before[2] - after[2]).max() > 1e-6  # later steps see it either way


def test_with_word_only_input_the_image_reaches_the_output_through_the_current_attention_only():
    """lstm_input="word": the LSTM never reads the context, so its states do not depend on the grid beyond
    the initial state; the grid coordinates are two more annotation channels, x then y, in [-1, 1]."""
    model = tiny_model(attention_query="current", lstm_input="word", grid_coordinates=True, initial_state="zeros")
    grids, tokens = batch(3)
    other = grids.copy()
    other[:, 1:3] += 5.0  # a different image
    state, constants = model.encode(grids)
    other_state, other_constants = model.encode(other)
    for index in range(tokens.shape[1]):
        step_tokens = tf.constant(tokens[:, index])
        _, state, _ = model.step(step_tokens, state, constants, index)
        _, other_state, _ = model.step(step_tokens, other_state, other_constants, index)
        np.testing.assert_allclose(state["h"], other_state["h"], atol=1e-6)
    annotations = constants["annotations"].numpy()
    assert annotations.shape == (3, 16, 18)
    np.testing.assert_allclose(annotations[0, :4, -2:], [[-1, -1], [-1 / 3, -1], [1 / 3, -1], [1, -1]], atol=1e-6)
    np.testing.assert_allclose(annotations[0, 4, -2:], [-1, -1 / 3], atol=1e-6)


def test_fine_tuned_top_blocks_start_from_imagenet():
    from apps.caption.encoder import build_encoder, copy_imagenet_weights, imagenet_mobilenet_v2

    model = ShowAttendTell(10, encoder="mobilenet_v2", fine_tune_blocks=1, embedding_dim=8, units=8,
                           attention_units=8)
    model([np.zeros((1, 7, 7, 160), "float32"), np.array([[2, 3]])])
    copy_imagenet_weights(model.top)
    images = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    below = build_encoder("mobilenet_v2", fine_tune_blocks=1)(images)
    frozen = build_encoder("mobilenet_v2")(images)
    np.testing.assert_allclose(model.top(below), frozen, atol=1e-3)
    trainable = {v.path.split("/")[0] for v in model.top.trainable_variables}
    assert trainable and not any("BN" in name or "bn" in name for name in trainable)
    assert imagenet_mobilenet_v2().get_layer("Conv_1").get_weights()[0].shape == (1, 1, 320, 1280)


def test_the_fine_grid_is_mobilenets_last_14x14_layer():
    from apps.caption.encoder import build_encoder, imagenet_mobilenet_v2

    images = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    fine = build_encoder("mobilenet_v2_14x14")(images)
    assert tuple(fine.shape) == (1, 14, 14, 576)
    # The next layer, block 13's depthwise convolution with stride 2, halves it to 7 x 7.
    assert tuple(imagenet_mobilenet_v2().get_layer("block_13_depthwise").output.shape) == (None, 7, 7, 576)


# --- features ------------------------------------------------------------------------------------


def test_cached_mobilenet_features_equal_freshly_computed_ones(tmp_path):
    from apps.caption import data
    from apps.caption.encoder import build_encoder
    from datasets.captions import stamp_scenes

    source = data.CaptionSource(data="stamp-scenes", scenes=3, validation_scenes=3)
    first = data.training_split(source, "train", "mobilenet_v2", 0, tmp_path)
    assert first.grids.shape == (3, 7, 7, 1280) and first.grids.dtype == np.float16
    fresh = build_encoder("mobilenet_v2")(np.stack([s.image for s in stamp_scenes("train", 3)]).astype("float32"))
    np.testing.assert_allclose(first.grids.astype("float32"), fresh, rtol=2e-3, atol=2e-3)
    assert [c for [c] in first.captions] == [s.caption for s in stamp_scenes("train", 3)]

    # The second run reads the cache: no encoder is built.
    import apps.caption.encoder as encoder

    original, encoder.build_encoder = encoder.build_encoder, None  # any use would fail
    try:
        again = data.training_split(source, "train", "mobilenet_v2", 0, tmp_path)
    finally:
        encoder.build_encoder = original
    np.testing.assert_array_equal(again.grids, first.grids)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]  # nothing partial left


def test_a_flickr_style_folder_is_read_grouped_by_image_and_a_bad_image_skipped(tmp_path, capsys):
    from apps.caption import data
    from datasets.splits import split_of

    folder = tmp_path / "flickr"
    (folder / "Images").mkdir(parents=True)
    rows = ["image,caption"]
    for index in range(12):
        Image.new("RGB", (40 + index, 30), (index * 8, 100, 50)).save(folder / "Images" / f"{index}.jpg")
        rows += [f"{index}.jpg,a photo number {index}", f"{index}.jpg,another caption {index}"]
    (folder / "Images" / "broken.jpg").write_text("not a jpeg")
    rows += ["broken.jpg,a broken image"]
    (folder / "captions.txt").write_text("\n".join(rows) + "\n")
    source = data.CaptionSource(data=str(folder))
    train = data.training_split(source, "train", "tiny", 0, tmp_path / "cache")
    expected = [str(folder / "Images" / f"{i}.jpg") for i in range(12) if split_of(f"image:{i}.jpg") == "train"]
    assert split_of("image:broken.jpg") == "train" and train.keys == expected  # the broken one skipped
    assert all(len(captions) == 2 for captions in train.captions) and train.grids.shape == (len(expected), 4, 4, 16)
    assert "broken.jpg: not an image" in capsys.readouterr().err


def test_held_out_stamp_scenes_carry_boxes_and_other_sources_have_no_new_stamps_split():
    from apps.caption import data
    from apps.common.cli import UserError

    examples = data.evaluation_split(data.CaptionSource(data="stamp-scenes", scenes=2), "new_stamps", 64)
    assert len(examples) == 2 and all(e.boxes and e.image.shape == (64, 64, 3) for e in examples)
    with pytest.raises(UserError, match="new_stamps"):
        data.evaluation_split(data.CaptionSource(data="/some/folder", scenes=2), "new_stamps", 64)


# --- images people bring -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory):
    from datasets.captions import stamp_scenes

    folder = tmp_path_factory.mktemp("images")
    scenes = stamp_scenes("test", 2)
    Image.fromarray(scenes[0].image).save(folder / "scene.png")
    Image.fromarray(scenes[1].image).save(folder / "scene.jpg", quality=95)
    for index, scene in enumerate(stamp_scenes("test", 2, image_size=64)):  # the tiny encoder's size
        Image.fromarray(scene.image).save(folder / f"small-{index}.png")
    (folder / "text.jpg").write_text("this is not a picture\n")
    encoded = io.BytesIO()
    Image.fromarray(scenes[0].image).save(encoded, "JPEG")
    (folder / "truncated.jpg").write_bytes(encoded.getvalue()[: len(encoded.getvalue()) // 2])
    rgba = np.zeros((50, 60, 4), np.uint8)
    rgba[10:40, 10:40] = (255, 0, 0, 255)  # a red square on a transparent page
    Image.fromarray(rgba).save(folder / "alpha.png")
    Image.new("L", (80, 50), 90).save(folder / "gray.png")
    Image.new("CMYK", (64, 48), (0, 255, 255, 0)).save(folder / "cmyk.jpg")  # red in CMYK
    Image.new("RGB", (1, 1), (10, 200, 30)).save(folder / "one_pixel.png")
    Image.new("L", (12000, 12000), 128).save(folder / "huge.png", compress_level=1)
    (folder / "empty").mkdir()
    (folder / "empty" / "notes.txt").write_text("no images here")
    return folder


def test_every_odd_image_reads_as_the_models_rgb_square(odd_images):
    for name in ("scene.png", "scene.jpg", "alpha.png", "gray.png", "cmyk.jpg", "one_pixel.png", "huge.png"):
        image = read_image(str(odd_images / name), 64, keep_display=True)
        assert image.model_input.shape == (64, 64, 3) and image.model_input.dtype == np.uint8, name
        assert image.display.ndim == 3 and max(image.display.shape[:2]) <= 512, name
    alpha = read_image(str(odd_images / "alpha.png"), 60).model_input
    assert tuple(alpha[2, 2]) == (255, 255, 255) and tuple(alpha[25, 25]) == (255, 0, 0)  # over white
    cmyk = read_image(str(odd_images / "cmyk.jpg"), 16).model_input.astype(int)
    assert cmyk[8, 8, 0] > 200 and cmyk[8, 8, 1] < 60  # still red
    assert tuple(read_image(str(odd_images / "one_pixel.png"), 8).model_input[4, 4]) == (10, 200, 30)


def test_exif_orientation_is_applied(tmp_path):
    picture = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    picture.save(tmp_path / "portrait.jpg", exif=exif)
    assert read_image(str(tmp_path / "portrait.jpg"), 8, keep_display=True).display.shape[:2] == (40, 20)


# --- attention against boxes -----------------------------------------------------------------------


def test_attention_in_box_counts_words_that_name_one_object():
    from apps.caption.metrics import breakdown, object_word_attention, summarize

    boxes = [("a red apple", 0, 0, 32, 32), ("a red car", 100, 100, 200, 200), ("a goat", 150, 0, 224, 60)]
    on_car = np.zeros(49)
    on_car[4 * 7 + 4] = 1.0  # the cell of rows/columns 128..160: inside the car's box
    uniform = np.full(49, 1 / 49)
    words = ["a", "red", "car", "to", "the", "left", "of", "goat"]
    attention = np.stack([uniform, uniform, on_car, uniform, uniform, uniform, uniform, on_car])
    records = object_word_attention(words, attention, boxes, (7, 7), 224, str.split)
    assert [(r["word"], r["object"]) for r in records] == [("car", "a red car"), ("goat", "a goat")]  # not "red"
    assert records[0]["peak_in_box"] and records[0]["mass_in_box"] > 0.9
    assert not records[1]["peak_in_box"] and records[1]["mass_in_box"] < 0.1
    car_share, goat_share = 100 * 100 / 224**2, 74 * 60 / 224**2
    assert [r["area_share"] for r in records] == pytest.approx([car_share, goat_share])
    # Cell centres at 16, 48, ..., 208: 3 x 3 inside the car's box, 2 x 2 inside the goat's.
    assert [r["peak_chance"] for r in records] == pytest.approx([9 / 49, 4 / 49])
    assert summarize(records) == {"object_words": 2, "peak_in_box": 0.5,
                                  "peak_chance": round((9 / 49 + 4 / 49) / 2, 4),
                                  "mass_in_box": round((records[0]["mass_in_box"] + records[1]["mass_in_box"]) / 2,
                                                       4),
                                  "area_share": round((car_share + goat_share) / 2, 4)}
    # Where it misses: by the scene's number of objects; and the step before each word, uniform here, peaks
    # in the top-left cell, outside both boxes.
    assert [r["previous_peak_in_box"] for r in records] == [False, False]
    assert breakdown(records, [3, 1]) == {"peak_in_box_by_objects": {"1": {"object_words": 1, "peak_in_box": 0.0},
                                                                     "3": {"object_words": 1, "peak_in_box": 1.0}},
                                          "previous_step_peak_in_box": 0.0}
    attention[1] = on_car  # "red" looks at the car before "car" does
    assert object_word_attention(words, attention, boxes, (7, 7), 224, str.split)[0]["previous_peak_in_box"]


def test_the_peak_is_the_centre_of_the_highest_cell_even_at_the_border():
    """Upsampling moves a border cell's maximum to the image's edge; the peak must stay in the cell."""
    from apps.caption.metrics import attention_peak, object_word_attention

    corner, edge = np.zeros(49), np.zeros(49)
    corner[0], edge[6 * 7 + 4] = 1.0, 1.0  # row 0 column 0; row 6 column 4
    assert attention_peak(corner, (7, 7), 224, 224) == (16, 16)
    assert attention_peak(edge, (7, 7), 224, 224) == (144, 208)
    boxes = [("a goat", 130, 195, 160, 220)]  # around the centre of cell (6, 4), clear of the image's edge
    assert object_word_attention(["goat"], edge[None], boxes, (7, 7), 224, str.split)[0]["peak_in_box"]


def test_uniform_attention_puts_the_box_area_share_inside_the_box():
    """The chance level: attention spread evenly has mass in box = the box's share of the image."""
    from apps.caption.metrics import object_word_attention

    boxes = [("a goat", 150, 0, 224, 60), ("a red car", 100, 100, 250, 200)]  # the car runs off the image
    uniform = np.full((2, 49), 1 / 49)
    records = object_word_attention(["goat", "car"], uniform, boxes, (7, 7), 224, str.split)
    shares = [74 * 60 / 224**2, 124 * 100 / 224**2]  # the car as the image clips it
    assert [r["area_share"] for r in records] == pytest.approx(shares)
    assert [r["mass_in_box"] for r in records] == pytest.approx(shares, rel=1e-4)


def test_decoder_options_from_the_command_line_reach_the_model_arguments():
    """The paper's choices stay out of the config; the others go in under the model's own names."""
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner

    parser = Runner(CaptionTask()).build_parser()
    paper = CaptionTask().model_arguments(parser.parse_args(["train", *TINY]))
    assert not {"initial_state", "attention_query", "lstm_input", "grid_coordinates"} & set(paper)
    args = parser.parse_args(["train", *TINY, "--initial-state", "zeros", "--attention-query", "current",
                              "--lstm-input", "word", "--grid-coordinates"])
    arguments = CaptionTask().model_arguments(args)
    assert {k: arguments[k] for k in ("initial_state", "attention_query", "lstm_input", "grid_coordinates")} == {
        "initial_state": "zeros", "attention_query": "current", "lstm_input": "word", "grid_coordinates": True}
    config = ShowAttendTell(vocab_size=20, **{**arguments, "encoder": "tiny"}).get_config()
    assert config["attention_query"] == "current" and config["lstm_input"] == "word"


# --- training, eval, export, the command line ------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out, cache = tmp_path_factory.mktemp("model"), tmp_path_factory.mktemp("features")
    # A few steps at a high rate: enough for short captions (cheap attention plots), not for good ones.
    status = main(["train", *TINY, "--scenes", "48", "--validation-scenes", "16", "--epochs", "6",
                   "--batch-size", "16", "--learning-rate", "0.01", "--out", str(out), "--feature-cache", str(cache)])
    assert status == 0
    return out


def test_training_on_generated_scenes_writes_a_model_directory(trained):
    for name in ("config.json", "words_vocabulary.txt", "serving", "history.csv"):
        assert (trained / name).exists(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["arguments"]["encoder"] == "tiny" and config["training"]["attention_penalty"] == 1.0
    assert np.isfinite(config["training"]["final_validation_loss"])
    words = (trained / "words_vocabulary.txt").read_text().splitlines()
    assert words[:4] == ["", "[UNK]", "[start]", "[end]"] and "to" in words


def test_eval_reports_bleu_greedy_and_beam_and_attention_in_boxes(trained, tmp_path, capsys, monkeypatch):
    import apps.common.metrics as common_metrics
    from apps.caption import data
    from apps.caption.encoder import ENCODERS

    # BLEU-1..4 are `bleu_by_order`'s (worked by hand in tests/apps/test_metrics.py); the spy keeps
    # what eval gave it: its captions, its references, and the scores.
    scored, bleu_by_order = [], common_metrics.bleu_by_order

    def spy(hypotheses, references):
        scores = bleu_by_order(hypotheses, references)
        scored.append((list(hypotheses), references, dict(scores)))
        return scores

    monkeypatch.setattr(common_metrics, "bleu_by_order", spy)
    plot = tmp_path / "plots" / "scenes.png"
    plot.parent.mkdir()
    assert main(["eval", "--model-dir", str(trained), "--scenes", "6", "--beam", "2", "--json",
                 "--plot", str(plot), "--plot-images", "2"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["images"] == 6 and metrics["split"] == "test"
    scenes = data.evaluation_split(data.CaptionSource(data="stamp-scenes", scenes=6), "test",
                                   ENCODERS["tiny"].image_size)
    assert len(scored) == 2  # greedy, then beam 2
    for label, (hypotheses, references, scores) in zip(("greedy", "beam2"), scored, strict=True):
        assert len(hypotheses) == 6 and references == [scene.references for scene in scenes]
        assert {key: metrics[label][key] for key in scores} == scores == {
            f"bleu{n}": scores[f"bleu{n}"] for n in range(1, 5)}
        assert set(metrics[label]["attention_in_box"]) == {"object_words", "peak_in_box", "peak_chance", "mass_in_box",
                                                           "area_share"}
        misses = metrics[label]["attention_misses"]
        counted = sum(group["object_words"] for group in misses["peak_in_box_by_objects"].values())
        # The breakdown groups the same words (its arithmetic: test_attention_in_box_counts_words_that_name_one_object;
        # this tiny model may name no object at all).
        assert counted == metrics[label]["attention_in_box"]["object_words"]
    assert sorted(p.name for p in plot.parent.iterdir()) == ["scenes-1.png", "scenes-2.png"]

    # Eval's greedy caption of each scene is the command line's caption of that image.
    images = [str(tmp_path / f"scene-{index}.png") for index in range(len(scenes))]
    for scene, image in zip(scenes, images, strict=True):
        Image.fromarray(scene.image).save(image)
    assert main(["--model-dir", str(trained), "--beam", "1", *images]) == 0
    captions = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert captions == [[image, text] for image, text in zip(images, scored[0][0], strict=True)]


def test_the_exported_model_runs_without_our_code_and_captions_as_the_command_line(trained, odd_images, tmp_path):
    paths = [str(odd_images / "small-0.png"), str(odd_images / "small-1.png")]
    script = """
        data = [open(path, "rb").read() for path in sys.argv[2:]]
        out = loaded.signatures["generate_with_beam"](image_bytes=tf.constant(data), beam_size=tf.constant(2))
        print(json.dumps({"text": [t.decode() for t in out["text"].numpy()],
                          "attention": out["attention"].numpy().tolist(),
                          "tokens": [[t.decode() for t in row] for row in out["tokens"].numpy()]}))
    """
    served = run_saved_model_without_project_code(script, trained / "serving", *paths)
    attention, tokens = np.array(served["attention"]), np.array(served["tokens"])
    assert attention.shape[0] == 2 and attention.shape[2] == 16  # (B, T, L)
    real = tokens != ""
    steps = attention.sum(axis=-1)
    for row in range(2):  # each generated word's attention sums to 1 over the locations
        length = int(real[row].sum()) + 1  # and END's
        np.testing.assert_allclose(steps[row, :length], 1.0, atol=1e-4)

    plot = tmp_path / "attention.png"
    result = cli("--model-dir", str(trained), "--beam", "2", "--attention", str(plot), *paths)
    assert result.returncode == 0, result.stderr
    expected = [[path, text] for path, text in zip(paths, served["text"], strict=True)]
    assert [line.split("\t") for line in result.stdout.splitlines()] == expected
    assert all((tmp_path / f"attention-{n}.png").stat().st_size > 1000 for n in (1, 2))


def test_the_command_line_captions_odd_images_and_names_each_bad_one(trained, odd_images, capsys):
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner

    good = ["scene.png", "scene.jpg", "alpha.png", "gray.png", "cmyk.jpg", "one_pixel.png", "huge.png"]
    bad = ["text.jpg", "truncated.jpg", "missing.jpg", "empty"]
    names = ["text.jpg", *good[:3], "truncated.jpg", "missing.jpg", *good[3:], "empty"]  # bad ones among good
    listed = "\n".join(str(odd_images / name) for name in names).encode()
    result = cli("--model-dir", str(trained), "--json", "--beam", "1", "-", stdin=listed)
    assert result.returncode == 1, result.stderr  # some images failed, the others were captioned
    records = {Path(record["image"]).name: record for record in json.loads(result.stdout)}
    assert sorted(records) == sorted(names)
    assert all("caption" in records[name] and "error" not in records[name] for name in good)
    # Flat colours are captioned with a warning that the caption says little; the scene is not.
    for name in ("gray.png", "cmyk.jpg", "one_pixel.png", "huge.png"):
        assert "one colour" in records[name]["warning"] and f"warning: {odd_images / name}: " in result.stderr
    assert "warning" not in records["scene.png"] or "nothing to say" in records["scene.png"]["warning"]
    assert all(0 <= w["peak"][0] <= 1 and 0 <= w["peak"][1] <= 1 for w in records["scene.png"]["words"])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad) and "Traceback" not in result.stderr, result.stderr
    for name, reason in zip(bad, ("not an image", "truncated", "no such file", "no images"), strict=True):
        assert reason in records[name]["error"] and any(name in line and reason in line for line in errors)
    assert result.peak_bytes < 1.5 * GIB  # the 12000 x 12000 image included

    nothing = Runner(CaptionTask()).run(["--model-dir", str(trained), *(str(odd_images / name) for name in bad)])
    out, err = capsys.readouterr()
    assert nothing == 2 and out == "" and len(err.strip().splitlines()) == len(bad)


@pytest.mark.parametrize("args, message", [
    ([], "nothing to caption"),
    (["--beam", "0", "x.png"], "expected a positive integer, got 0"),
    (["train", "--encoder", "resnet"], "invalid choice"),
    (["export", "--out", "/etc/passwd"], "/etc/passwd exists and is not a directory"),
    (["train", "--encoder", "tiny", "--fine-tune-blocks", "1"], "only mobilenet_v2 can fine-tune"),
    (["train", "--data", "/nonexistent/captions"], "/nonexistent/captions"),
    (["eval", "--model-dir", "/nonexistent/model"], "does not exist"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message, capsys, tmp_path, monkeypatch):
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner

    monkeypatch.chdir(tmp_path)
    assert Runner(CaptionTask()).run(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # a failed train leaves no empty runs/<model> behind


def test_a_missing_shipped_model_is_a_one_line_error(capsys, odd_images, tmp_path, monkeypatch):
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner

    monkeypatch.setattr(CaptionTask, "shipped_dir", tmp_path)  # an installation that lost its models
    assert Runner(CaptionTask()).run([str(odd_images / "scene.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and CaptionTask.default_model in err and len(err.splitlines()) == 1


def _grace_hopper():
    """A public-domain photograph that ships with matplotlib (US Navy, 1984): a real photo, no one's Flickr8k."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


# The exact captions of the shipped weights (beam 4): a change here is a change of model, made on purpose.
SHIPPED_CAPTIONS = {
    "flickr8k": ("grace_hopper.jpg", "A man in a black and white uniform is holding a cigarette."),
    "stamp-scenes": ("scene.png", "A frog"),
}


@pytest.mark.parametrize("name", sorted(SHIPPED_CAPTIONS))
def test_each_shipped_model_gives_its_pinned_caption(name, odd_images):
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner

    assert set(SHIPPED_CAPTIONS) == set(CaptionTask.shipped_models)
    image_name, expected = SHIPPED_CAPTIONS[name]
    image = _grace_hopper() if image_name == "grace_hopper.jpg" else odd_images / image_name
    runner = Runner(CaptionTask())
    signature = runner.shipped_directory(name).load_serving().signatures["generate_with_beam"]
    out = signature(image_bytes=tf.constant([image.read_bytes()]), beam_size=tf.constant(4))
    assert out["text"].numpy()[0].decode() == expected


def test_the_default_model_captions_from_the_command_line(odd_images):
    result = cli("--json", str(_grace_hopper()))
    assert result.returncode == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert record["caption"] == SHIPPED_CAPTIONS["flickr8k"][1]
    assert [w["word"] for w in record["words"]][:2] == record["caption"].lower().split()[:2]


@pytest.mark.parametrize("name", ["flickr8k", "stamp-scenes"])
def test_each_shipped_model_has_a_card_with_its_measured_scores(name):
    from apps.caption.task import SHIPPED

    directory = SHIPPED / name
    metrics = json.loads((directory / "metrics.json").read_text())
    card = (directory / "README.md").read_text()
    labels = [label for label in metrics if label == "greedy" or label.startswith("beam")]
    assert len(labels) == 2, labels
    for label in labels:
        assert f"{metrics[label]['bleu4']:.2f}" in card  # the card quotes the measured numbers
        if "attention_in_box" in metrics[label]:
            assert f"{100 * metrics[label]['attention_in_box']['peak_in_box']:.1f}%" in card
        if "coco" in metrics[label]:
            for key in ("bleu4", "meteor", "cider"):
                assert f"{metrics[label]['coco'][key]:.2f}" in card, key
    assert "python -m apps.caption train" in card


def test_a_picture_that_cannot_be_written_costs_no_caption(trained, odd_images, tmp_path, monkeypatch, capsys):
    from apps.caption.task import CaptionTask
    from apps.common.runner import Runner
    from tests.helpers import assert_output_failures_reported, full_disk

    full_disk(monkeypatch)
    images = [str(odd_images / name) for name in ("scene.png", "gray.png")]
    status = Runner(CaptionTask()).run(["--model-dir", str(trained), "--beam", "1", "--attention",
                                        str(tmp_path / "a.png"), *images])
    out, err = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == images  # every image captioned
    assert_output_failures_reported(status, err, [str(tmp_path / "a-1.png"), str(tmp_path / "a-2.png")])


def test_a_caption_that_says_little_is_flagged():
    from apps.caption.captioning import caption_doubt

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    flat = np.full((64, 64, 3), (255, 0, 0), np.uint8)  # one colour, though its channels differ
    assert caption_doubt(noise, "A red apple above a cep.") is None
    assert "one colour" in caption_doubt(flat, "A red apple above a cep.")
    assert "nothing to say" in caption_doubt(noise, "A")
    flat[::8] = (245, 10, 0)  # faint stripes are still one colour to the eye
    assert "one colour" in caption_doubt(flat, "A cat.")


def test_the_decoder_never_emits_the_unknown_word_even_when_it_is_the_likeliest(trained, odd_images):
    """Rare words are [UNK] in training; a caption must never say "[UNK]", greedy or beam."""
    import numpy as np
    import tensorflow as tf

    from apps.caption.task import UNKNOWN, UNKNOWN_ID, CaptionTask
    from apps.common.runner import Runner

    task = CaptionTask()
    runner = Runner(task)
    directory = task.directory(trained)
    model = runner.load_model(directory)
    kernel, bias = model.logits.get_weights()
    bias[UNKNOWN_ID] = 1e4  # [UNK] now wins every step's argmax by far
    model.logits.set_weights([kernel, bias])
    assert directory.vocabulary("words")[UNKNOWN_ID] == UNKNOWN
    server = task.build_server(model, directory.vocabularies(), directory.config())
    image = tf.constant([(odd_images / "small-0.png").read_bytes()])
    for beam in (1, 3):
        out = server.generate_with_beam(image, tf.constant(beam))
        words = [t.decode() for t in np.asarray(out["tokens"]).ravel() if t]
        assert words and UNKNOWN not in words, (beam, words)


def test_eval_reads_the_data_the_model_was_trained_on_unless_told(tmp_path):
    from apps.caption.data import trained_on
    from apps.common.cli import UserError

    assert trained_on({}) == "stamp-scenes"
    assert trained_on({"training": {"data": "flickr8k"}}) == "flickr8k"
    assert trained_on({"training": {"data": str(tmp_path)}}) == str(tmp_path)
    with pytest.raises(UserError, match="trained on /gone/folder, which is not there: give --data"):
        trained_on({"training": {"data": "/gone/folder"}})
