"""Pictures of what attention did."""

import textwrap


def plot_attention(weights, source_tokens, target_tokens, path, title=None):
    """Heat map of target tokens (rows) against source tokens (columns), saved to `path`.

    Args:
        weights: (T, S) array, each row one output token's attention over the source.
        source_tokens, target_tokens: lists of str, S and T long.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    rows, cols = len(target_tokens), len(source_tokens)
    figure, axes = plt.subplots(figsize=(max(4, 0.45 * cols + 2), max(3, 0.4 * rows + 1.5)))
    image = axes.imshow(weights[:rows, :cols], cmap="viridis", vmin=0.0, aspect="auto")
    axes.set_xticks(range(cols), source_tokens, rotation=60, ha="right", fontsize=9)
    axes.set_yticks(range(rows), target_tokens, fontsize=9)
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    if title:
        axes.set_title(textwrap.fill(title, 70), fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
