"""What the benchmark scripts share: timing, and training / evaluating variants through the app commands."""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(function, repeats):
    """The median wall time of `repeats` calls of `function()`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_once(app, out, *options):
    """`python -m apps.<app> train ... --out OUT`, unless OUT already holds a trained model (a rerun
    of the benchmark resumes where it stopped); returns OUT's config.json."""
    out = Path(out)
    if not (out / "config.json").exists():
        subprocess.run([sys.executable, "-m", f"apps.{app}", "train", *map(str, options), "--out", str(out)],
                       check=True)
    return json.loads((out / "config.json").read_text())


def evaluate(app, model_dir, split, *options):
    """The metrics of `python -m apps.<app> eval --json` (a dict)."""
    result = subprocess.run([sys.executable, "-m", f"apps.{app}", "eval", "--model-dir", str(model_dir),
                             "--split", split, "--json", *map(str, options)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def write_table(out, header, rows, records):
    """Prints a Markdown table and writes it to `<out>/table.md`, the records to `<out>/results.json`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    table = "\n".join(lines)
    print(table)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "table.md").write_text(table + "\n")
    (Path(out) / "results.json").write_text(json.dumps(records, indent=2) + "\n")
