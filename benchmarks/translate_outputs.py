"""Writes the shipped models' translations of the first N test pairs, to compare two versions of the code.

    python -m benchmarks.translate_outputs --out outputs/ [--pairs 300]
    diff -r outputs-before/ outputs-after/      # no output: the same translations

One file per model and beam (greedy and 4), one translation per line, through the command line a
user runs (`python -m apps.translate --model M --beam K -`).
"""

import argparse
import os
import subprocess
import sys

import runtime

MODELS, BEAMS = ("attention-gru", "transformer"), (1, 4)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory for the translation files")
    parser.add_argument("--pairs", type=int, default=300, help="how many test pairs, from the first")
    args = parser.parse_args()
    runtime.quiet_tensorflow()
    from datasets.translation import load_translation_pairs

    english = "\n".join(e for e, _ in load_translation_pairs("bundled", "test")[: args.pairs]) + "\n"
    os.makedirs(args.out, exist_ok=True)
    for model in MODELS:
        for beam in BEAMS:
            command = [sys.executable, "-m", "apps.translate", "--model", model, "--beam", str(beam), "-"]
            result = subprocess.run(command, input=english.encode(), capture_output=True, check=True)
            path = os.path.join(args.out, f"{model}-beam{beam}.txt")
            with open(path, "wb") as f:
                f.write(result.stdout)
            print(f"{path}: {len(result.stdout.splitlines())} translations")


if __name__ == "__main__":
    main()
