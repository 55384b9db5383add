"""Training-step time of our layers against the Keras built-ins, side by side, in one run.

    python -m benchmarks.layers [--batch 64] [--steps 30] [--units 256] [--repeats 30]

For each pair, both models are compiled the same way (same optimizer, loss, jit setting),
warmed up, then timed in alternation so that machine noise hits both alike. Prints the
median time of one `train_on_batch` and the ratio ours / built-in (target: <= 1.25).
"""

import argparse
import statistics
import time

import runtime

runtime.quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from layers import GRUCell, LSTMCell, MaskedMultiHeadAttention  # noqa: E402


def sequence_model(layer, steps, width):
    inputs = keras.Input((steps, width))
    return keras.Model(inputs, layer(inputs))


class CausalSelfAttention(keras.layers.Layer):
    """Wraps either attention layer as causal self-attention with one output, for like-for-like models."""

    def __init__(self, attention, **kwargs):
        super().__init__(**kwargs)
        self.attention = attention

    def call(self, x):
        output = self.attention(x, x, use_causal_mask=True)
        return output[0] if isinstance(output, tuple) else output  # ours also returns the weights


def time_pair(name, ours_layer, keras_layer, args):
    x = np.random.default_rng(0).normal(size=(args.batch, args.steps, args.units)).astype("float32")
    models = {}
    for label, layer in (("ours", ours_layer), ("keras", keras_layer)):
        model = sequence_model(layer, args.steps, args.units)
        y = np.zeros(model.output_shape[1:], "float32")[None].repeat(args.batch, 0)
        model.compile(optimizer="adam", loss="mse", jit_compile=args.jit)
        for _ in range(3):  # trace, compile and warm caches
            model.train_on_batch(x, y)
        models[label] = (model, y)
    times = {"ours": [], "keras": []}
    for _ in range(args.repeats):
        for label, (model, y) in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[label].append(time.perf_counter() - start)
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["keras"])
    print(f"{name:<28} ours {ours * 1e3:8.2f} ms   keras {theirs * 1e3:8.2f} ms   ratio {ours / theirs:5.2f}")
    return ours / theirs


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--jit", action="store_true", help="compile both with XLA")
    args = parser.parse_args()
    print(f"batch {args.batch}, {args.steps} steps, {args.units} units, jit={args.jit}; median train step")
    units = args.units
    time_pair(
        "GRU (RNN(GRUCell))",
        keras.layers.RNN(GRUCell(units), return_sequences=True),
        keras.layers.GRU(units, return_sequences=True),
        args,
    )
    time_pair(
        "LSTM (RNN(LSTMCell))",
        keras.layers.RNN(LSTMCell(units), return_sequences=True),
        keras.layers.LSTM(units, return_sequences=True),
        args,
    )
    heads = 8
    time_pair(
        "MultiHeadAttention (causal)",
        CausalSelfAttention(MaskedMultiHeadAttention(heads, units // heads)),
        CausalSelfAttention(keras.layers.MultiHeadAttention(heads, units // heads)),
        args,
    )


if __name__ == "__main__":
    main()
