"""Re-runs the evaluations behind the README's results table and the model cards, and compares.

Each evaluation is run as a user would run it (`python -m apps.APP eval ... --json`, the shipped
model, a fresh process); each figure it gives is formatted as the text prints it and looked for in
the README's results row and in the model card. Nothing here holds a number: a figure that the
command no longer gives, or that the text no longer quotes, is a difference.

    python -m benchmarks.figures                 # every evaluation (about 25 minutes on 2 cores)
    python -m benchmarks.figures --quick         # the ones under a minute (the test suite runs two)
    python -m benchmarks.figures --only dynamics # those whose command holds "dynamics"

Exit status 0 when every figure was found, 1 when one differs, 2 when an evaluation could not run
(its data is missing, say: the Flickr8k photos are not in CI).
"""

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = "README.md"


@dataclasses.dataclass(frozen=True)
class Figure:
    """One number of an evaluation's JSON, as the texts print it.

    keys: the path into the JSON ("beam4", "bleu4").
    quotes: ((file, format), ...): each file must hold the value in that format; README.md means
        its results row (the line that starts with the evaluation's `row`).
    scale: the JSON value is multiplied by it first (a fraction printed as a percentage).
    """
    keys: tuple
    quotes: tuple
    scale: float = 1.0

    def value(self, metrics):
        for key in self.keys:
            metrics = metrics[key]
        return metrics * self.scale


@dataclasses.dataclass(frozen=True)
class Evaluation:
    command: str  # as a user types it, without --json
    row: str  # the README results row's first cell
    figures: tuple
    minutes: float  # about, on the 2-core CPU

    @property
    def quick(self):
        return self.minutes < 1


def _card(app, model):
    return f"saved_models/{app}/{model}/README.md"


_LSTM, _GRU = _card("dynamics", "lorenz-lstm"), _card("dynamics", "lorenz-gru")
_HENON, _LOTKA = _card("dynamics", "henon-lstm"), _card("dynamics", "lotka-volterra-lstm")
_STAMPS = _card("caption", "stamp-scenes")
EVALUATIONS = (
    Evaluation("python -m apps.sentiment eval", "sentiment, gru-attention", (
        Figure(("accuracy",), ((README, "**{:.4f}**"), (_card("sentiment", "gru-attention"), "**{:.4f}**"))),
        Figure(("macro_f1",), ((README, "{:.4f}"), (_card("sentiment", "gru-attention"), "{:.4f}"))),
    ), minutes=0.3),
    Evaluation("python -m apps.generate eval --model gru", "generate, gru", (
        Figure(("nats_per_character",), ((README, "**{:.4f}**"), (_card("generate", "gru"), "{:.4f}"))),
        Figure(("perplexity",), ((README, "{:.3f}"), (_card("generate", "gru"), "{:.3f}"))),
    ), minutes=1),
    Evaluation("python -m apps.music eval", "music, folk-lstm", (
        Figure(("nll_per_event",), ((README, "**{:.3f}**"), (_card("music", "folk-lstm"), "**{:.3f}**"))),
    ), minutes=0.7),
    Evaluation("python -m apps.music eval --model chorale-lstm", "music, chorale-lstm", (
        Figure(("frame_nll",), ((README, "**{:.2f}**"), (_card("music", "chorale-lstm"), "**{:.3f}**"))),
    ), minutes=0.5),
    Evaluation("python -m apps.dynamics eval", "dynamics, lorenz-lstm", (
        Figure(("valid_prediction_time", "model (lstm)", "lyapunov_times", "median"),
               ((README, "**{:.2f}**"), (_LSTM, "**{:.2f}**"))),
        Figure(("valid_prediction_time", "esn", "lyapunov_times", "median"), ((README, "{:.2f}"), (_LSTM, "{:.2f}"))),
        Figure(("long_run", "wasserstein", "model (lstm)", "x", "median"), ((_LSTM, "{:.3f}"),)),
        Figure(("long_run", "wasserstein", "esn", "x", "median"), ((_LSTM, "{:.3f}"),)),
    ), minutes=0.8),
    Evaluation("python -m apps.dynamics eval --model lorenz-gru", "dynamics, lorenz-lstm", (
        Figure(("valid_prediction_time", "model (gru)", "lyapunov_times", "median"),
               ((README, "{:.2f}"), (_GRU, "**{:.2f}**"))),
        Figure(("long_run", "wasserstein", "model (gru)", "x", "median"), ((_GRU, "{:.3f}"),)),
    ), minutes=0.8),
    Evaluation("python -m apps.dynamics eval --system henon", "dynamics, henon-lstm", (
        Figure(("valid_prediction_time", "model (lstm)", "lyapunov_times", "median"),
               ((README, "**{:.2f}**"), (_HENON, "**{:.2f}**"))),
        Figure(("valid_prediction_time", "esn", "lyapunov_times", "median"), ((README, "{:.2f}"), (_HENON, "{:.2f}"))),
        Figure(("long_run", "wasserstein", "model (lstm)", "x", "median"), ((_HENON, "{:.3f}"),)),
    ), minutes=0.3),
    Evaluation("python -m apps.dynamics eval --system lotka-volterra", "dynamics, henon-lstm", (
        Figure(("valid_prediction_time", "model (lstm)", "censored"),
               ((README, "**{:.0f}**"), (_LOTKA, ", {:.0f} to the horizon"))),
        Figure(("valid_prediction_time", "esn", "censored"), ((README, "reservoir {:.0f}"), (_LOTKA, "], {:.0f} |"))),
        Figure(("long_run", "wasserstein", "model (lstm)", "prey", "median"), ((_LOTKA, "{:.3f}"),)),
    ), minutes=0.3),
    Evaluation("python -m apps.caption eval --model stamp-scenes --split test --scenes 500", "caption, stamp-scenes", (
        Figure(("greedy", "bleu4"), ((README, "{:.1f}"), (_STAMPS, "{:.2f}"))),
        Figure(("beam4", "bleu4"), ((README, "**{:.1f}**"), (_STAMPS, "{:.2f}"))),
        Figure(("greedy", "attention_in_box", "peak_in_box"), ((README, "**{:.0f}%**"), (_STAMPS, "{:.0f}%")),
               scale=100),
    ), minutes=2),
    Evaluation("python -m apps.translate eval --model transformer", "translate, transformer (default)", (
        Figure(("greedy", "bleu"), ((README, "{:.2f}"), (_card("translate", "transformer"), "{:.2f}"))),
        Figure(("beam4", "bleu"), ((README, "**{:.2f}**"), (_card("translate", "transformer"), "{:.2f}"))),
    ), minutes=8),
    Evaluation("python -m apps.translate eval --model attention-gru", "translate, attention-gru", (
        Figure(("beam4", "bleu"), ((README, "**{:.2f}**"), (_card("translate", "attention-gru"), "{:.2f}"))),
    ), minutes=6),
    Evaluation("python -m apps.caption eval --model flickr8k --split test --beam 5", "caption, flickr8k (default)", (
        Figure(("beam5", "coco", "bleu4"), ((README, "**{:.2f}**"), (_card("caption", "flickr8k"), "{:.2f}"))),
        Figure(("beam5", "coco", "cider"), ((README, "{:.2f}"), (_card("caption", "flickr8k"), "{:.2f}"))),
    ), minutes=6),
)


def readme_row(row, root=ROOT):
    """The README results-table line whose first cell starts with `row`, or None."""
    for line in (root / README).read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {row}"):
            return line
    return None


def run(evaluation, root=ROOT):
    """The evaluation's JSON metrics, or raises RuntimeError with its last error line."""
    argv = evaluation.command.split()
    assert argv[:2] == ["python", "-m"], evaluation.command
    done = subprocess.run([sys.executable, *argv[1:], "--json"], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(lines[-1])
    return json.loads(done.stdout)


def compare(evaluation, metrics, root=ROOT):
    """[(figure text, file, found)] for every quote of every figure of `evaluation`."""
    results = []
    for figure in evaluation.figures:
        value = figure.value(metrics)
        for file, form in figure.quotes:
            text = form.format(value)
            where = readme_row(evaluation.row, root) if file == README else (root / file).read_text(encoding="utf-8")
            results.append((text, file, where is not None and text in where))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the evaluations under a minute")
    parser.add_argument("--only", metavar="TEXT", help="only the evaluations whose command holds TEXT")
    args = parser.parse_args(argv)
    chosen = [e for e in EVALUATIONS if (e.quick or not args.quick) and (not args.only or args.only in e.command)]
    if not chosen:
        parser.error(f"no evaluation's command holds {args.only!r}")
    status = 0
    for evaluation in chosen:
        print(f"{evaluation.command}  (about {evaluation.minutes:g} min)", flush=True)
        try:
            metrics = run(evaluation)
        except RuntimeError as error:
            print(f"  could not run: {error}")
            status = max(status, 2)
            continue
        for text, file, found in compare(evaluation, metrics):
            print(f"  {'ok     ' if found else 'DIFFERS'} {text:>12}  {file}")
            status = max(status, 0 if found else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
