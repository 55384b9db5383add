"""Texts per second through the exported sentiment SavedModel, at batch 1 and batch 256.

    python -m benchmarks.sentiment_speed [--model-dir saved_models/sentiment/gru-attention] [--repeats 5]

The texts are the Rotten Tomatoes test sentences; the SavedModel is the model directory's own
`serving/` (what `export` writes), called through its `serving_default` signature, as TF Serving
would: tokenisation, the bidirectional GRU, attention pooling and the softmax all in the graph.
"""

import argparse

import runtime
from benchmarks.common import median_seconds

runtime.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

from datasets.sentiment import load_sentiment  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default="saved_models/sentiment/gru-attention")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    signature = tf.saved_model.load(f"{args.model_dir}/serving").signatures["serving_default"]
    texts = [text for text, _ in load_sentiment("rt_snippets", "test")]
    print(f"{args.model_dir}: {len(texts)} test sentences through the SavedModel's serving_default")
    for batch in (1, 256):
        batches = [tf.constant(texts[start : start + batch]) for start in range(0, len(texts), batch)]
        if batch == 1:
            batches = batches[:200]  # enough for a steady figure
        signature(text=batches[0])  # trace once

        def run(batches=batches):
            for texts_in_batch in batches:
                signature(text=texts_in_batch)

        seconds = median_seconds(run, args.repeats)
        count = sum(int(b.shape[0]) for b in batches)
        print(f"  batch {batch:>3}: {count / seconds:8.1f} texts/s  ({count} texts in {seconds:.2f} s)")


if __name__ == "__main__":
    main()
