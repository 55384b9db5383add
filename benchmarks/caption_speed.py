"""Captioning speed: the compiled decoder against a tutorial loop, the SavedModel's throughput, the command line.

    python -m benchmarks.caption_speed [--model-dir DIR | --model NAME] [--data stamp-scenes|flickr8k|FOLDER]
                                       [--parts decode,serving,cli] [--repeats 3]

decode    greedy captions of a batch of held-out StampScenes, same weights both ways: our decoder
          (`apps.common.decoding`, one `tf.while_loop` in a `tf.function`) against the tutorial
          way, a Python loop that calls the decoder's step once per word, eagerly (as the
          TensorFlow "Image captioning with visual attention" tutorial does). Both start from the
          same CNN grids and run to the same number of words; the script checks that they agree,
          then prints captions per second and the speed-up (target >= 5x).
serving   images per second through the exported SavedModel (PNG bytes in, CNN and beam search
          inside) at batch 1 and 32, the model's beam and greedy.
cli       `python -m apps.caption IMAGE` against `python -c "import tensorflow, keras"`, each a
          fresh process, alternated: median wall time, the ratio (target <= 2) and peak resident
          memory (target < 1.5 GiB).
"""

import argparse
import os
import statistics
import sys
import tempfile

import runtime
from benchmarks.common import measure, median_seconds

runtime.quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from apps.caption.encoder import ENCODERS, build_encoder  # noqa: E402
from apps.caption.images import png_bytes  # noqa: E402
from apps.caption.task import PAD_ID, START, UNKNOWN_ID, CaptionTask  # noqa: E402
from apps.common.decoding import GreedySampler, decode, suppress_tokens  # noqa: E402
from apps.common.runner import Runner  # noqa: E402
from apps.common.task import DEFAULT_BEAM_SIZE  # noqa: E402
from datasets.captions import stamp_scenes  # noqa: E402


def tutorial_style_greedy(model, grids, steps, start_id, banned):
    """One eager decoder call per word from Python, as the tutorials decode."""
    state, constants = model.encode(grids)
    tokens = np.full((grids.shape[0], 1), start_id, "int32")
    for index in range(steps):
        logits, state, _ = model.step(tf.constant(tokens[:, -1]), state, constants, index)
        logits = np.array(logits)
        logits[:, banned] = -np.inf  # never padding, [UNK] or [start], as in our decoder
        tokens = np.concatenate([tokens, np.argmax(logits, -1)[:, None].astype("int32")], 1)
    return tokens[:, 1:]


def benchmark_decode(model, vocabulary, grids, steps, repeats):
    start_id = vocabulary.index(START)
    banned = (PAD_ID, UNKNOWN_ID, start_id)

    def greedy(grids):
        # END id -1 matches no token: both decoders run the same `steps` words.
        state, constants = model.encode(grids)
        batch = tf.shape(grids)[0]
        result = decode(suppress_tokens(model.step, banned), state, constants, tf.fill([batch, 1], start_id),
                        tf.ones([batch], tf.int32), -1, tf.fill([batch], steps + 1), GreedySampler())
        return result.tokens[:, :steps]

    compiled = {"compiled while_loop": tf.function(greedy),
                "compiled while_loop, XLA": tf.function(greedy, jit_compile=True)}
    for batch in sorted({1, len(grids)}):
        part = grids[:batch]
        theirs = tutorial_style_greedy(model, part, steps, start_id, list(banned))
        theirs_time = median_seconds(lambda part=part: tutorial_style_greedy(model, part, steps, start_id,
                                                                              list(banned)), repeats)
        print(f"decode: batch {batch}, {steps} greedy words each, same weights")
        print(f"  tutorial-style loop       {batch / theirs_time:8.1f} captions/s  ({theirs_time:.3f} s)")
        for label, function in compiled.items():
            ours = function(part).numpy()  # traces (and compiles) once
            agreement = float(np.mean(ours == theirs))
            if agreement < 0.99:
                raise SystemExit(f"{label} and the tutorial loop disagree on {1 - agreement:.1%} of the words")
            ours_time = median_seconds(lambda function=function, part=part: function(part).numpy(), repeats)
            print(f"  {label:<25} {batch / ours_time:8.1f} captions/s  ({ours_time:.3f} s), "
                  f"{theirs_time / ours_time:.1f}x the tutorial loop (target >= 5), word agreement {agreement:.3f}")


def benchmark_serving(directory, images, beam, repeats):
    """Images per second at batch 1 (the first image, as a user's single photo) and at the full batch."""
    signature = directory.load_serving().signatures["generate_with_beam"]
    encoded = [png_bytes(image) for image in images]
    for batch in sorted({1, len(images)}):
        data = tf.constant(encoded[:batch])
        for size in sorted({1, beam}):
            signature(image_bytes=data, beam_size=tf.constant(size))  # the first call optimises the graph
            seconds = median_seconds(lambda size=size, data=data: signature(image_bytes=data,
                                                                            beam_size=tf.constant(size)), repeats)
            label = "greedy" if size == 1 else f"beam {size}"
            print(f"serving: batch {batch}, {label}: {batch / seconds:7.1f} images/s ({seconds:.3f} s)")


def held_out_images(data, count, image_size):
    """`count` test images of --data: StampScenes, or the first test photos of a Flickr8k-style folder."""
    if data == "stamp-scenes":
        return [scene.image for scene in stamp_scenes("test", count, image_size=image_size)]
    from apps.caption.images import read_image
    from datasets.captions import load_captions

    paths = list(dict.fromkeys(path for path, _ in load_captions(data, "test")))[:count]
    return [read_image(path, image_size).model_input for path in paths]


def benchmark_cli(model_args, image, repeats):
    commands = {
        "import tensorflow, keras": [sys.executable, "-c", "import tensorflow, keras"],
        "caption one image": [sys.executable, "-m", "apps.caption", *model_args, image],
    }
    results = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            results[name].append(measure(command))
    times = {}
    for name, runs in results.items():
        times[name] = statistics.median(t for t, _ in runs)
        print(f"cli: {name:<26} median {times[name]:5.2f} s   peak memory {max(m for _, m in runs):6.0f} MiB")
    baseline, ours = times.values()
    print(f"cli: ratio {ours / baseline:.2f} (target <= 2; peak memory target < 1536 MiB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", help="a trained model directory (default: the shipped --model)")
    parser.add_argument("--model", default=CaptionTask.default_model, help="a shipped model (default: the default)")
    parser.add_argument("--data", default="stamp-scenes",
                        help="where the held-out images come from: stamp-scenes (default), flickr8k or a folder")
    parser.add_argument("--parts", default="decode,serving,cli")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="words decoded per caption")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    task = CaptionTask()
    runner = Runner(task)
    directory = task.directory(args.model_dir) if args.model_dir else \
        runner.shipped_directory(args.model)
    config = directory.config()
    encoder_name = config["arguments"].get("encoder", "mobilenet_v2")
    spec = ENCODERS[encoder_name]
    images = held_out_images(args.data, args.batch, spec.image_size)
    if "decode" in parts:
        model = runner.load_model(directory)
        encoder = build_encoder(encoder_name, config["arguments"].get("fine_tune_blocks", 0))
        grids = encoder.predict_on_batch(np.stack(images).astype("float32"))
        benchmark_decode(model, directory.vocabulary("words"), grids, args.steps, args.repeats)
    if "serving" in parts:
        benchmark_serving(directory, images, config.get("beam_size", DEFAULT_BEAM_SIZE), args.repeats)
    if "cli" in parts:
        with tempfile.TemporaryDirectory() as folder:
            image = os.path.join(folder, "scene.png")
            from PIL import Image

            Image.fromarray(images[0]).save(image)
            model_args = ["--model-dir", args.model_dir] if args.model_dir else ["--model", args.model]
            benchmark_cli(model_args, image, args.repeats)


if __name__ == "__main__":
    main()
