"""What one translation from the command line costs a user: wall time and peak memory.

    python -m benchmarks.translate_cli [--model attention-gru|transformer] [--repeats 5]

Runs `python -c "import tensorflow, keras"` and `python -m apps.translate "<sentence>"` in
alternation, each a fresh process, and reports the median wall time, the ratio (target <= 1.5)
and each process's peak resident memory (target < 1 GiB), read from `os.wait4`
(`benchmarks.common.measure`).
"""

import argparse
import statistics
import sys

from benchmarks.common import measure

SENTENCE = "Jane went to Africa last September."


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="attention-gru", choices=("attention-gru", "transformer"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    commands = {
        "import tensorflow, keras": [sys.executable, "-c", "import tensorflow, keras"],
        f"translate ({args.model})": [sys.executable, "-m", "apps.translate", "--model", args.model, SENTENCE],
    }
    results = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            results[name].append(measure(command))
    times = {}
    for name, runs in results.items():
        times[name] = statistics.median(t for t, _ in runs)
        peak = max(m for _, m in runs)
        print(f"{name:<32} median {times[name]:5.2f} s   peak memory {peak:6.0f} MiB")
    baseline, ours = times.values()
    print(f"ratio {ours / baseline:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
