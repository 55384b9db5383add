"""Last state against attention pooling, GRU against LSTM, and the word vectors: same data, same budget.

    python -m benchmarks.sentiment_architectures [--epochs 15] [--data rt_snippets] [--only NAME ...]
        [--out runs/sentiment-compare]

Each variant is `python -m apps.sentiment train` on `--data` (the Rotten Tomatoes sentences,
rt_snippets, by default; `rotten_tomatoes` adds the other corpus' sentences) with the same epoch
cap and early stopping (patience 3 on validation loss, best weights kept), then `eval` on the
rt_snippets validation split (which chooses) and test split (which reports), whatever the
training data. Prints a
Markdown table; writes it and the raw numbers to `<out>/table.md` and `<out>/results.json`. A
rerun skips the variants already trained.
"""

import argparse
import sys
from pathlib import Path

from benchmarks.common import evaluate, train_once, write_table

# (architecture preset, word vectors, options)
VARIANTS = [
    ("gru-attention", "minilm", ()),
    ("gru-last", "minilm", ()),
    ("lstm-attention", "minilm", ()),
    ("lstm-last", "minilm", ()),
    ("gru-attention", "random", ()),
    ("gru-attention", "minilm", ("--fine-tune-embeddings",)),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--data", default="rt_snippets", help="training data (evaluation is on rt_snippets)")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--out", default="runs/sentiment-compare")
    args = parser.parse_args()

    records = []
    for model, embeddings, options in VARIANTS:
        name = f"{model}-{embeddings}" + ("-fine-tuned" if options else "")
        if args.only and name not in args.only:
            continue
        model_dir = Path(args.out) / name
        config = train_once("sentiment", model_dir, "--model", model, "--embeddings", embeddings, "--epochs",
                            args.epochs, "--data", args.data, *options)
        metrics = {split: evaluate("sentiment", model_dir, split, "--data", "rt_snippets")
                   for split in ("validation", "test")}
        records.append({"variant": name, "parameters": config["parameters"],
                        "epochs": config["training"]["epochs_this_run"],
                        "wall_seconds": config["training"]["wall_time_seconds_this_run"],
                        **{f"{split}_{key}": metrics[split][key] for split in metrics
                           for key in ("accuracy", "macro_f1", "expected_calibration_error")}})
        print(records[-1], file=sys.stderr)
    best = max(records, key=lambda record: record["validation_accuracy"])
    header = ["variant", "parameters", "epochs", "training s", "validation accuracy", "test accuracy",
              "test macro-F1", "test ECE"]
    rows = [[r["variant"], f"{r['parameters']:,}", r["epochs"], r["wall_seconds"],
             f"{r['validation_accuracy']:.4f}" + (" (best on validation)" if r is best else ""),
             f"{r['test_accuracy']:.4f}", f"{r['test_macro_f1']:.4f}", f"{r['test_expected_calibration_error']:.4f}"]
            for r in records]
    write_table(args.out, header, rows, records)


if __name__ == "__main__":
    main()
