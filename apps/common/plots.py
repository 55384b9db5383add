"""Pictures shared by the apps: attention over words, and the Agg figure every app's plots draw on.

Each function draws one PNG file with matplotlib's Agg canvas (`new_figure`), so no display is
needed and the process-wide pyplot state (current figure, backend) is left alone. An app's own
pictures live in its package (`apps.caption.plots`, `apps.generate.plots`, `apps.dynamics.plots`,
`apps.music.plots`).

Shape letters: T output tokens, S source tokens.
"""

import textwrap

import numpy as np

from apps.common.output_files import save_figure


def plot_attention(weights, source_tokens, target_tokens, path, title=None, xlabel="source", ylabel="output"):
    """Heat map of target tokens (rows) against source tokens (columns), saved to `path`.

    Args:
        weights: (T, S) array, each row one output token's attention over the source. Extra rows
            or columns (padding) are left out.
        source_tokens, target_tokens: lists of str, S and T long.
        path: str, the PNG file to write.
        title: str or None, e.g. the output text. Default None.
        xlabel, ylabel: str, the axis labels. Default "source" and "output".

    Example:
        >>> plot_attention(np.eye(2), ["a", "b"], ["x", "y"], "attention.png")
    """
    weights = np.asarray(weights, dtype=np.float32)
    rows, cols = len(target_tokens), len(source_tokens)
    if weights.ndim != 2 or weights.shape[0] < rows or weights.shape[1] < cols:
        raise ValueError(f"attention weights of shape {weights.shape} do not cover {rows} output tokens "
                         f"x {cols} source tokens")
    figure, axes = new_figure(max(4, 0.45 * cols + 2), max(3, 0.4 * rows + 1.5))
    image = axes.imshow(weights[:rows, :cols], cmap="viridis", vmin=0.0, aspect="auto")
    axes.set_xticks(range(cols), source_tokens, rotation=60, ha="right", fontsize=9)
    axes.set_yticks(range(rows), target_tokens, fontsize=9)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(textwrap.fill(title, 70), fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    save_figure(figure, path, dpi=120)


def new_figure(width, height, rows=1, columns=1):
    """A figure on an Agg canvas (no pyplot, so nothing global changes) and its axes.

    Args:
        width, height: float, inches.
        rows, columns: int, the grid of axes. Default one.

    Returns:
        (figure, axes): a matplotlib Figure, and one Axes or an array of them (`subplots`' squeeze).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=True)
