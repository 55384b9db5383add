"""Pictures of what a model did: attention over words or over an image, and training curves.

Each function draws one PNG file with matplotlib's Agg canvas, so no display is needed and the
process-wide pyplot state (current figure, backend) is left alone.

Shape letters: T output tokens, S source tokens, L image locations (a gh x gw grid), H x W pixels.
"""

import csv
import math
import textwrap

import numpy as np


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
    figure, axes = _figure(max(4, 0.45 * cols + 2), max(3, 0.4 * rows + 1.5))
    image = axes.imshow(weights[:rows, :cols], cmap="viridis", vmin=0.0, aspect="auto")
    axes.set_xticks(range(cols), source_tokens, rotation=60, ha="right", fontsize=9)
    axes.set_yticks(range(rows), target_tokens, fontsize=9)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(textwrap.fill(title, 70), fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_image_attention(image, weights, words, path, grid_shape=None, title=None, columns=5):
    """The image, then one panel per generated word with its attention drawn over the image.

    As in Show, Attend and Tell (Xu et al., 2015, figures 2-3): each word's attention over the
    gh x gw feature grid is upsampled smoothly (bicubic) to the image size and shown as a light
    veil, brightest where the model looked; all words share one scale.

    Args:
        image: (H, W, 3) uint8 array, the picture the caption was generated from.
        weights: (T, L) array with L = gh * gw, row t the attention of word t over the grid
            locations in row-major order. Extra rows (after the end of the caption) are left out.
        words: list of T str, the generated words.
        path: str, the PNG file to write.
        grid_shape: (gh, gw) ints, or None (default) for a square grid (L must be a square).
        title: str or None, e.g. the whole caption. Default None.
        columns: int, panels per row. Default 5.

    Example:
        >>> image = np.zeros((64, 64, 3), np.uint8)
        >>> plot_image_attention(image, np.full((2, 16), 1 / 16), ["a", "cat"], "cat.png", grid_shape=(4, 4))
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an (H, W, 3) uint8 array, got shape {image.shape} and dtype {image.dtype}")
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 2:
        raise ValueError(f"attention weights must have shape (T, L), got {weights.shape}")
    locations = weights.shape[1]
    if grid_shape is None:
        side = math.isqrt(locations)
        if side * side != locations:
            raise ValueError(f"attention weights have {locations} locations per word, not a square grid: "
                             "pass grid_shape=(gh, gw)")
        grid_shape = (side, side)
    grid_h, grid_w = grid_shape
    if grid_h * grid_w != locations:
        raise ValueError(f"attention weights have {locations} locations per word but grid_shape {tuple(grid_shape)} "
                         f"has {grid_h * grid_w}")
    if weights.shape[0] < len(words):
        raise ValueError(f"attention weights have {weights.shape[0]} rows for {len(words)} words")
    height, width = image.shape[:2]

    panels = 1 + len(words)
    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    panel_width = 2.4
    panel_height = panel_width * height / width + 0.35  # room for the word above each panel
    figure, grid = _figure(panel_width * columns, panel_height * rows + (0.5 if title else 0), rows, columns)
    grid = np.atleast_1d(grid).ravel()
    for axes in grid:
        axes.axis("off")
    grid[0].imshow(image)
    maps = [_upsample(row.reshape(grid_h, grid_w), height, width) for row in weights[: len(words)]]  # T x (H, W)
    brightest = max((float(veil.max()) for veil in maps), default=1.0) or 1.0
    for axes, word, veil in zip(grid[1:], words, maps, strict=False):
        axes.imshow(image)
        # One scale for every word, so a diffuse map looks dim and a sharp one bright.
        axes.imshow(veil, cmap="gray", alpha=0.7, vmin=0.0, vmax=brightest)
        axes.set_title(word, fontsize=11)
    if title:
        figure.suptitle(textwrap.fill(title, 20 * columns), fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def plot_training_curves(history_csv_path, path):
    """Loss and every other metric per epoch, training next to validation, from a CSVLogger file.

    One panel per metric ("loss" first), with its "val_" twin in the same panel when the file has
    one. Epochs are numbered from 1, as Keras prints them. "NA" cells (a metric Keras did not
    log that epoch) are gaps.

    Args:
        history_csv_path: str, a file written by `keras.callbacks.CSVLogger` (columns "epoch",
            "loss", "val_loss", ...).
        path: str, the PNG file to write.

    Example:
        >>> plot_training_curves("runs/my-model/history.csv", "curves.png")
    """
    with open(history_csv_path, newline="", encoding="utf-8") as file:
        table = list(csv.reader(file))
    if not table or "loss" not in table[0]:
        raise ValueError(f"{history_csv_path} has no 'loss' column: expected a Keras CSVLogger file")
    header, rows = table[0], [row for row in table[1:] if row]
    if not rows:
        raise ValueError(f"{history_csv_path} has no epochs")
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"{history_csv_path} has rows whose length differs from its header's ({len(header)})")
    columns = {name: np.array([_number(row[i]) for row in rows]) for i, name in enumerate(header)}
    epochs = columns.pop("epoch") + 1 if "epoch" in columns else np.arange(1, len(rows) + 1)
    names = [name for name in columns if not name.startswith("val_") or name[4:] not in columns]
    names.sort(key=lambda name: name != "loss")  # loss first, the rest in the file's order

    panel_columns = min(3, len(names))
    panel_rows = math.ceil(len(names) / panel_columns)
    figure, grid = _figure(4.5 * panel_columns, 3.2 * panel_rows, panel_rows, panel_columns)
    grid = np.atleast_1d(grid).ravel()
    for axes in grid[len(names):]:
        axes.axis("off")
    for axes, name in zip(grid, names, strict=False):
        axes.plot(epochs, columns[name], marker=".", label="validation" if name.startswith("val_") else "training")
        if f"val_{name}" in columns:
            axes.plot(epochs, columns[f"val_{name}"], marker=".", label="validation")
            axes.legend(fontsize=8)
        if name in ("learning_rate", "lr") and np.all(columns[name][~np.isnan(columns[name])] > 0):
            axes.set_yscale("log")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


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
    figure, axes = _figure(max(4, 0.22 * len(tokens) + 1.5), 3)
    axes.bar(range(len(tokens)), surprisal, color="tab:red", width=0.8)
    axes.set_xticks(range(len(tokens)), labels, fontsize=8)
    axes.set_xlim(-0.6, len(tokens) - 0.4)
    axes.set_ylabel("surprisal (nats)")
    if title:
        axes.set_title(textwrap.fill(title, 70), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _figure(width, height, rows=1, columns=1):
    """A figure on an Agg canvas (no pyplot, so nothing global changes) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=True)


def _upsample(grid, height, width):
    """(gh, gw) attention -> (H, W), bicubic, so the grid cells do not show as blocks."""
    from PIL import Image

    resized = Image.fromarray(grid.astype(np.float32)).resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(resized), 0.0, None)  # bicubic overshoots a little below 0


def _number(text):
    try:
        return float(text)
    except ValueError:
        return float("nan")  # CSVLogger writes "NA" for a metric missing that epoch
