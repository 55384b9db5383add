"""One, two and three layers, GRU against LSTM: character-level Shakespeare at the same time budget.

    python -m benchmarks.generate_architectures [--minutes 6] [--units 512] [--out runs/generate-compare]

Each variant is `python -m apps.generate train` for the same wall-clock budget (the CPU user's
budget; the epochs each began are reported too), then `eval` on the validation plays (which
choose) and the test plays (which report). Prints a Markdown table; writes it and the raw
numbers to `<out>/table.md` and `<out>/results.json`. Run it alone on the machine: the budget is
in minutes. A rerun skips the variants already trained.
"""

import argparse
import csv
import sys
from pathlib import Path

from benchmarks.common import evaluate, train_once, write_table

VARIANTS = [(cell, layers) for cell in ("gru", "lstm") for layers in (1, 2, 3)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget per variant")
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--out", default="runs/generate-compare")
    args = parser.parse_args()

    records = []
    for cell, layers in VARIANTS:
        model_dir = Path(args.out) / f"{cell}-{layers}"
        config = train_once("generate", model_dir, "--model", cell, "--size", "small", "--num-layers", layers,
                            "--units", args.units, "--epochs", 100, "--patience", 100,
                            "--max-minutes", args.minutes)
        with open(model_dir / "history.csv") as history:
            epochs = len(list(csv.DictReader(history)))
        records.append({"cell": cell, "layers": layers, "parameters": config["parameters"], "epochs_begun": epochs,
                        "wall_seconds": config["training"]["wall_time_seconds_this_run"],
                        **{split: evaluate("generate", model_dir, split)["nats_per_character"]
                           for split in ("validation", "test")}})
        print(records[-1], file=sys.stderr)
    best = min(records, key=lambda record: record["validation"])
    header = ["cell", "layers", "parameters", "epochs begun", "training s", "validation nats/char",
              "test nats/char"]
    rows = [[r["cell"].upper(), r["layers"], f"{r['parameters']:,}", r["epochs_begun"], r["wall_seconds"],
             f"{r['validation']:.4f}" + (" (best on validation)" if r is best else ""), f"{r['test']:.4f}"]
            for r in records]
    write_table(args.out, header, rows, records)


if __name__ == "__main__":
    main()
