"""The models we ship work the moment the project is installed, and their cards carry measurements."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from apps.translate.task import SHIPPED

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["attention-gru", "transformer"])
def test_shipped_model_translates_a_fixed_sentence(name):
    result = subprocess.run(
        [sys.executable, "-m", "apps.translate", "--model", name, "--json", "God created the heavens and the earth."],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [record] = json.loads(result.stdout)
    assert record["translation"].strip() and "[" not in record["translation"]


@pytest.mark.parametrize("name", ["attention-gru", "transformer"])
def test_shipped_model_has_a_card_with_measured_bleu(name):
    directory = SHIPPED / name
    metrics = json.loads((directory / "metrics.json").read_text())
    card = (directory / "README.md").read_text()
    for label in ("greedy", "beam4"):
        assert f"{metrics[label]['bleu']:.2f}" in card  # the card quotes the measured numbers
    assert "python -m apps.translate train" in card
