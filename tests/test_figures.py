"""The README's and the cards' figures against the commands written beside them (`benchmarks.figures`)."""

import json
import re
import shutil

import pytest

from benchmarks import figures

ROOT = figures.ROOT


def results_rows():
    """[(first cell, command cell)] of the README's results table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Results"):].split("\n## ")[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return [(cells[0][2:], cells[-1].strip(" |`")) for cells in rows[1:]]


def test_every_eval_row_of_the_results_table_is_re_run_by_the_script():
    rows = results_rows()
    eval_rows = [row for row, command in rows if re.match(r"python -m apps\.\w+ eval", command)]
    assert len(eval_rows) >= 8
    for row in eval_rows:
        assert any(row.startswith(e.row) for e in figures.EVALUATIONS), f"{row!r} is not re-run by benchmarks.figures"
    for evaluation in figures.EVALUATIONS:
        assert figures.readme_row(evaluation.row) is not None, evaluation.row
        app = evaluation.command.split()[2]
        assert any(command.startswith(f"python -m {app} eval") for row, command in rows
                   if row.startswith(evaluation.row)), evaluation.command


def test_a_figure_the_text_no_longer_quotes_is_a_difference(tmp_path):
    sentiment = next(e for e in figures.EVALUATIONS if "sentiment" in e.command)
    card = sentiment.figures[0].quotes[1][0]
    for file in ("README.md", card):
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / file, tmp_path / file)
    shipped = json.loads((ROOT / card).with_name("metrics.json").read_text())
    assert all(found for _, _, found in figures.compare(sentiment, shipped, tmp_path))
    moved = {**shipped, "accuracy": shipped["accuracy"] + 0.0001}
    results = figures.compare(sentiment, moved, tmp_path)
    assert [found for _, _, found in results] == [False, False, True, True]


@pytest.mark.parametrize("command", ["python -m apps.sentiment eval", "python -m apps.dynamics eval"])
def test_the_figures_of_the_quickest_evaluations_reproduce(command):
    # Sentiment (about 12 s) and the default forecaster with its baselines (about 45 s): the
    # dynamics figures are the ones that once did not hold. `python -m benchmarks.figures` runs all.
    [evaluation] = [e for e in figures.EVALUATIONS if e.command == command]
    results = figures.compare(evaluation, figures.run(evaluation))
    assert results and all(found for _, _, found in results), results
