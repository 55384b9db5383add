"""The text generator's picture: the surprisal of each character of a text.

Drawn on the shared Agg canvas (`apps.common.plots.new_figure`): no display, no pyplot state.
"""

import textwrap

import numpy as np

from apps.common.output_files import save_figure
from apps.common.plots import new_figure


def plot_surprisal(tokens, surprisal, path, title=None):
    """Bars of each token's surprisal, -log p(token | what came before) in nats, saved to `path`.

    What a language model found predictable (short bars) and what surprised it (tall ones).

    Args:
        tokens: list of str, T tokens (characters are drawn as they are; a newline as "\\n").
        surprisal: T non-negative numbers, nats.
        path: str, the PNG file to write.
        title: str or None.

    Example:
        >>> plot_surprisal(list("to be"), [2.1, 0.4, 1.0, 3.2, 0.2], "surprisal.png")
    """
    surprisal = np.asarray(surprisal, dtype=np.float32)
    if surprisal.shape != (len(tokens),):
        raise ValueError(f"{len(tokens)} tokens but surprisal of shape {surprisal.shape}")
    labels = [{"\n": "\\n", " ": "\u2423"}.get(t, t) for t in tokens]
    figure, axes = new_figure(max(4, 0.22 * len(tokens) + 1.5), 3)
    axes.bar(range(len(tokens)), surprisal, color="tab:red", width=0.8)
    axes.set_xticks(range(len(tokens)), labels, fontsize=8)
    axes.set_xlim(-0.6, len(tokens) - 0.4)
    axes.set_ylabel("surprisal (nats)")
    if title:
        axes.set_title(textwrap.fill(title, 70), fontsize=10)
    figure.tight_layout()
    save_figure(figure, path, dpi=120)
