"""What the benchmark scripts share: timing, peak memory, and training / evaluating variants through the app
commands. The tests measure a command's peak memory with `run_measured` too."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

# Linux carries a process's peak RSS across fork and exec, so a command started from a process that
# has loaded TensorFlow (pytest, a benchmark with a model in memory) would report at least that
# process's size. A small launcher starts the command and reports the command's own peak, into a
# file: the command's stdout and stderr stay its own.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": time.perf_counter() - start, "peak_kib": usage.ru_maxrss}, report)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def median_seconds(function, repeats):
    """The median wall time of `repeats` calls of `function()`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_measured(command, cwd=None, stdin=None, timeout=None):
    """Runs `command` (a list of str) in a fresh process, its stdout and stderr captured.

    Returns:
        SimpleNamespace: returncode, stdout and stderr (str), seconds (wall time) and peak_bytes
        (the command's own peak resident memory).
    """
    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "report.json")
        result = subprocess.run([sys.executable, "-c", LAUNCHER, report, *command], cwd=cwd, input=stdin,
                                capture_output=True, timeout=timeout)
        with open(report) as file:
            measured = json.load(file)
    return SimpleNamespace(returncode=result.returncode, stdout=result.stdout.decode(),
                           stderr=result.stderr.decode(), seconds=measured["seconds"],
                           peak_bytes=measured["peak_kib"] * 1024)  # ru_maxrss is in KiB on Linux


def measure(command):
    """(seconds, peak RSS in MiB) of one run of `command`; a failed command stops the benchmark."""
    result = run_measured(command)
    if result.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{result.stderr.strip()}")
    return result.seconds, result.peak_bytes / 2**20


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
