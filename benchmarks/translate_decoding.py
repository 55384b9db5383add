"""Greedy decoding speed: our compiled decoder against tutorial-style decoding, same weights.

    python -m benchmarks.translate_decoding [--model attention-gru|transformer] [--model-dir DIR]

Tutorial-style (as the TensorFlow and Keras tutorials decode): a Python loop that calls the
model once per output token; for the Transformer it re-runs the whole decoder over the prefix
at each step (quadratic), for the GRU it calls one step eagerly. Ours: one `tf.while_loop`
compiled with `tf.function`, a key/value cache for the Transformer. Both decode the same batch
of 64 held-out sentences to the same number of tokens; the script checks they agree, then prints
sentences per second and the speed-up. It also times one sentence through the exported
SavedModel (what `python -m apps.translate` runs).
"""

import argparse

import runtime
from benchmarks.common import median_seconds

runtime.quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from apps.common.decoding import GreedySampler, decode, suppress_tokens  # noqa: E402
from apps.common.runner import Runner  # noqa: E402
from apps.common.task import DEFAULT_BEAM_SIZE  # noqa: E402
from apps.translate.task import START, TranslationTask  # noqa: E402
from datasets.translation import load_translation_pairs  # noqa: E402
from datasets.vocabulary import vectorizer_from_vocabulary  # noqa: E402


def tutorial_style_greedy(model, source_ids, steps, start_id, architecture):
    """One model call per token from Python; the Transformer re-runs the decoder over the prefix."""
    batch = source_ids.shape[0]
    tokens = np.full((batch, 1), start_id, "int32")

    def best(logits):  # padding and START are never chosen, as in our decoder
        logits = np.array(logits)
        logits[:, [0, start_id]] = -np.inf
        return np.argmax(logits, -1)[:, None].astype("int32")

    if architecture == "transformer":
        for _ in range(steps):
            logits = model([source_ids, tokens], training=False)  # the whole prefix, every step
            tokens = np.concatenate([tokens, best(logits[:, -1])], 1)
    else:
        state, constants = model.encode(source_ids)
        for index in range(steps):
            logits, state, _ = model.step(tokens[:, -1], state, constants, index)
            tokens = np.concatenate([tokens, best(logits)], 1)
    return tokens[:, 1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="transformer", choices=("attention-gru", "transformer"))
    parser.add_argument("--model-dir")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="tokens decoded per sentence")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    task = TranslationTask()
    runner = Runner(task)
    directory = task.directory(args.model_dir) if args.model_dir else \
        runner.shipped_directory(args.model)
    model, config = runner.load_model(directory), directory.config()
    source_vectorizer = vectorizer_from_vocabulary(directory.vocabulary("source"))
    vocabulary = directory.vocabulary("target")
    architecture = config["architecture"]
    english = [e for e, _ in load_translation_pairs("bundled", "test")[: args.batch]]
    source_ids = tf.cast(source_vectorizer(tf.constant(english)), tf.int32).numpy()
    start_id = vocabulary.index(START)

    @tf.function
    def compiled_greedy(source):
        # END id -1 matches no token, so nothing stops early; the limit (and the cache) is one
        # longer than the `steps` tokens kept, as the last position is reserved for END.
        state, constants = model.encode(source, args.steps + 1)
        batch = tf.shape(source)[0]
        lengths = tf.fill([batch], args.steps + 1)
        step = suppress_tokens(model.step, (0, start_id))
        prompt, prompt_lengths = tf.fill([batch, 1], start_id), tf.ones([batch], tf.int32)
        result = decode(step, state, constants, prompt, prompt_lengths, -1, lengths, GreedySampler())
        return result.tokens[:, : args.steps]

    ours = compiled_greedy(source_ids).numpy()  # trace and compile once
    theirs = tutorial_style_greedy(model, source_ids, args.steps, start_id, architecture)
    agreement = float(np.mean(ours == theirs))
    if agreement < 0.99:  # the same weights must give the same greedy tokens (float noise aside)
        raise SystemExit(f"the two decoders disagree on {1 - agreement:.1%} of the tokens")

    def timed(function):
        return median_seconds(function, args.repeats)

    ours_time = timed(lambda: compiled_greedy(source_ids).numpy())
    theirs_time = timed(lambda: tutorial_style_greedy(model, source_ids, args.steps, start_id, architecture))
    print(f"{architecture}: batch {args.batch}, {args.steps} greedy tokens each, same weights "
          f"(token agreement {agreement:.3f})")
    print(f"  compiled while_loop  {args.batch / ours_time:8.1f} sentences/s  ({ours_time:.3f} s)")
    print(f"  tutorial-style loop  {args.batch / theirs_time:8.1f} sentences/s  ({theirs_time:.3f} s)")
    print(f"  speed-up             {theirs_time / ours_time:8.1f}x")

    serving = directory.load_serving()
    signature = serving.signatures["serving_default"]
    sentence = tf.constant(["Jane went to Africa last September."])
    signature(text=sentence)
    latency = timed(lambda: signature(text=sentence))
    beam = config.get("beam_size", DEFAULT_BEAM_SIZE)
    print(f"  exported SavedModel, one sentence, beam {beam}: {latency * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
