"""Twenty everyday sentences through translation models, side by side, as a model card's table.

    python -m benchmarks.translate_everyday --model-dir OLD --model-dir NEW [--beam 4] [--out FILE.md]

Greetings, time, travel, family, food, weather and questions, written for this table before any
model translated them (none is in a training corpus). Each model runs through the command line a
user runs (`python -m apps.translate --model-dir DIR -`); the outputs are printed unedited.
"""

import argparse
import os
import subprocess
import sys

SENTENCES = (
    "Good morning, how are you?",
    "Thank you very much for your help.",
    "See you tomorrow.",
    "What time is it?",
    "The meeting starts at nine o'clock.",
    "I will call you next week.",
    "Where is the train station?",
    "I would like a ticket to Lyon.",
    "Our flight leaves in two hours.",
    "My sister has two children.",
    "His father works in a hospital.",
    "We are visiting our grandparents on Sunday.",
    "I would like a cup of coffee.",
    "This bread is very good.",
    "Can we have the bill, please?",
    "It is raining today.",
    "Tomorrow it will be cold and windy.",
    "The sun is shining.",
    "Do you speak French?",
    "How much does this book cost?",
)


def translate(model_dir, beam):
    command = [sys.executable, "-m", "apps.translate", "--model-dir", model_dir, "--beam", str(beam), "-"]
    result = subprocess.run(command, input="\n".join(SENTENCES).encode() + b"\n", capture_output=True, check=True)
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(SENTENCES), result.stderr.decode()
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", action="append", required=True, help="a model directory (repeat: columns)")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    columns = [translate(directory, args.beam) for directory in args.model_dir]
    names = [os.path.basename(os.path.normpath(directory)) for directory in args.model_dir]
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    lines = ["| English | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += ["| " + " | ".join(cell(text) for text in (english, *outputs)) + " |"
              for english, *outputs in zip(SENTENCES, *columns, strict=True)]
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table)


if __name__ == "__main__":
    main()
