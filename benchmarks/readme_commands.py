"""Runs the README's commands on the shipped models and records what each gives, to compare two
versions of the code.

    git worktree add /tmp/old-tree OLD_COMMIT
    python -m benchmarks.readme_commands --repo /tmp/old-tree --out /tmp/before
    python -m benchmarks.readme_commands --out /tmp/after
    diff -r /tmp/before /tmp/after          # no output: every command gave the same

Both runs take this tree's README and run its commands with the code and shipped models of --repo.

Each `.venv/bin/python -m apps...` line of the README's code blocks runs as written, from a scratch
folder that holds the inputs the README names (sentences, reviews, two photos, a MIDI primer, all
made here). Left out: the lines that train, or read a model trained first (`runs/...`), and, unless
--with-eval, `eval` (minutes each; `python -m benchmarks.figures` re-runs them and checks their
figures), and `export` (the tests load every export without our code). Per command, one file: the
exit status, stdout, stderr's `error:` and `warning:` lines, and the SHA-256 of each file written.
"""

import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SENTENCES = "I am cold.\nWhere is the station?\nThe king spoke to his people.\n"
REVIEWS = "A gorgeous, witty, seductive movie.\nFlat, tedious and far too long.\n"
USER_FILES = ("fra.txt", "reviews.csv", "series.csv", "recent.csv")  # inputs of training or of a trained model


def readme_commands(readme):
    """The README's `.venv/bin/python -m apps...` lines (continuations joined, comments dropped)."""
    commands, pending = [], ""
    in_block = False
    for line in Path(readme).read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith(".venv/bin/python -m apps."):
            commands.append(shlex.split(line, comments=True)[1:])
    return commands


def runnable(argv, with_eval, with_export):
    """Whether a command runs on the shipped models and the inputs made here."""
    words = set(argv)
    if "train" in words or any(word.startswith("runs/") for word in argv) or words & set(USER_FILES):
        return False
    return ("eval" not in words or with_eval) and ("export" not in words or with_export)


def make_inputs(folder):
    """The files the README's commands read: sentences, reviews, two photos and a MIDI primer."""
    import numpy as np
    from PIL import Image

    from apps.music.midi import write_midi

    folder = Path(folder)
    (folder / "sentences.txt").write_text(SENTENCES)
    (folder / "reviews.txt").write_text(REVIEWS)
    rng = np.random.default_rng(0)
    (folder / "photos").mkdir()
    for name in ("photo.jpg", "more.png", "photos/a.jpg", "photos/b.png"):
        pixels = np.clip(rng.normal(120, 40, (96, 128, 3)).cumsum(axis=1) / 20, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / name)
    # A C major arpeggio in the soprano's range: pitch, onset, duration (quarter notes), voice.
    notes = [(60 + step, onset, 1.0, 0) for onset, step in enumerate((0, 4, 7, 12))]
    write_midi(np.array(notes, np.float64), str(folder / "my.mid"), 1, "4/4", "C major", 72, 0, None)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_one(argv, inputs, stdin_files, repo=REPO):
    """Runs one command, with the code of `repo`, in a copy of the inputs folder: its record as text."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(inputs, scratch, dirs_exist_ok=True)
        before = {p: digest(p) for p in Path(scratch).rglob("*") if p.is_file()}
        stdin = (Path(scratch) / stdin_files[0]).read_bytes() if stdin_files else None
        environment = {**os.environ, "PYTHONPATH": str(repo)}
        result = subprocess.run([sys.executable, *argv], cwd=scratch, input=stdin, capture_output=True, env=environment)
        after = {p: digest(p) for p in Path(scratch).rglob("*") if p.is_file()}
        written = sorted((str(p.relative_to(scratch)), hashed) for p, hashed in after.items()
                         if before.get(p) != hashed)
    stderr = result.stderr.decode(errors="replace")
    notices = [line for line in stderr.splitlines() if re.match(r"(error|warning): ", line)]
    return "\n".join([f"$ {shlex.join(argv)}", f"exit status {result.returncode}", "--- stdout",
                      result.stdout.decode(errors="replace").rstrip("\n"), "--- errors and warnings", *notices,
                      "--- files written", *(f"{digest_} {name}" for name, digest_ in written)]) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for one record per command")
    parser.add_argument("--repo", default=str(REPO), help="the tree whose code and models run the commands "
                                                          "(default: this one; a `git worktree` of another commit)")
    parser.add_argument("--readme", default=str(REPO / "README.md"),
                        help="whose commands to run (default: this tree's)")
    parser.add_argument("--with-eval", action="store_true", help="run the `eval` lines too (minutes each)")
    parser.add_argument("--with-export", action="store_true", help="run the `export` lines too")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as inputs:
        make_inputs(inputs)
        commands = [argv for argv in readme_commands(args.readme) if runnable(argv, args.with_eval, args.with_export)]
        for number, argv in enumerate(commands, 1):
            stdin_files = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "<"]
            argv = [word for i, word in enumerate(argv) if word != "<" and (i == 0 or argv[i - 1] != "<")]
            record = run_one(argv, inputs, stdin_files, Path(args.repo).resolve())
            path = Path(args.out) / f"{number:02d}-{argv[1].removeprefix('apps.')}.txt"
            path.write_text(record)
            print(f"{path}: {record.splitlines()[1]}", flush=True)


if __name__ == "__main__":
    main()
