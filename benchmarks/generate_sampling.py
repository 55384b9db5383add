"""Sampling speed: the compiled in-graph sampler against a tutorial-style Python loop, same weights.

    python -m benchmarks.generate_sampling --model-dir runs/gru [--length 400] [--repeats 3] [--prompt ROMEO:]

Tutorial-style (as the TensorFlow text-generation tutorial samples with its `OneStep`): a Python
loop that calls a compiled step once per character and draws with `tf.random.categorical`, state
carried between calls. Ours: the server's `sample` tf.function, one `tf.while_loop` (what the exported SavedModel
runs), and `sample_xla`, the same loop compiled by XLA (its compile time is printed, not timed).
All generate `--length` characters per row, at batch 1 and batch 64; the script prints
characters per second and the speed-ups.
"""

import argparse
import time

import runtime
from benchmarks.common import median_seconds

runtime.quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from apps.common.runner import Runner  # noqa: E402
from apps.generate.task import GenerationTask  # noqa: E402


def tutorial_style(model, prompt_ids, length, seed):
    """One Python call per character of a compiled step (the tutorial's `OneStep`), state carried."""
    tf.random.set_seed(seed)
    batch = prompt_ids.shape[0]
    state, constants = model.encode(prompt_ids)

    @tf.function
    def one_step(token, state, index):
        logits, state, _ = model.step(token, state, constants, index)
        return tf.cast(tf.random.categorical(logits, 1)[:, 0], tf.int32), state

    for index in range(prompt_ids.shape[1] - 1):  # read the prompt
        _, state = one_step(tf.constant(prompt_ids[:, index]), state, tf.constant(index))
    token, out = tf.constant(prompt_ids[:, -1]), []
    for index in range(prompt_ids.shape[1] - 1, prompt_ids.shape[1] - 1 + length):
        token, state = one_step(token, state, tf.constant(index))
        out.append(token.numpy())
    return np.stack(out, axis=1).reshape(batch, length)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt", default="ROMEO:")
    args = parser.parse_args()

    task = GenerationTask()
    directory = task.directory(args.model_dir)
    model = Runner(task).load_model(directory)
    ids_of = {c: i for i, c in enumerate(directory.vocabulary("characters"))}
    server = task.build_server(model, directory.vocabularies(), directory.config())

    def timed(function):
        return median_seconds(function, args.repeats)

    for batch in (1, 64):
        prompts = tf.constant([args.prompt] * batch)
        settings = [tf.constant(1.0), tf.constant(0), tf.constant(1.0), tf.constant(1), tf.constant(args.length)]
        server.sample(prompts, *settings)  # trace and compile once
        ids = np.array([[ids_of.get(c, 1) for c in args.prompt]] * batch, dtype=np.int32)
        texts = server.sample(prompts, *settings)["text"].numpy()
        assert all(len(t.decode("utf-8")) == args.length for t in texts), "the sampler made fewer characters"
        tutorial_style(model, ids, 3, seed=1)  # trace the step once
        started = time.perf_counter()
        server.sample_xla(prompts, *settings)["text"].numpy()  # compile once
        compile_seconds = time.perf_counter() - started
        ours_time = timed(lambda: server.sample(prompts, *settings)["text"].numpy())  # noqa: B023
        xla_time = timed(lambda: server.sample_xla(prompts, *settings)["text"].numpy())  # noqa: B023
        theirs_time = timed(lambda: tutorial_style(model, ids, args.length, seed=1))  # noqa: B023
        made = batch * args.length
        print(f"batch {batch:3d}, {args.length} characters each:  tutorial-style {made / theirs_time:8.0f} chars/s"
              f"   sample {made / ours_time:8.0f} chars/s ({theirs_time / ours_time:4.1f}x)"
              f"   sample_xla {made / xla_time:8.0f} chars/s ({theirs_time / xla_time:4.1f}x;"
              f" compiled in {compile_seconds:.1f} s)")


if __name__ == "__main__":
    main()
