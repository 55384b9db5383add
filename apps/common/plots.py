"""Pictures of what a model did: attention over words or over an image, training curves, forecasts.

Each function draws one PNG file with matplotlib's Agg canvas, so no display is needed and the
process-wide pyplot state (current figure, backend) is left alone.

Shape letters: T output tokens (or time steps), S source tokens, L image locations (a gh x gw grid),
H x W pixels, D variables of a time series.
"""

import csv
import math
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
    save_figure(figure, path, dpi=120)


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
    save_figure(figure, path, dpi=100)


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
    save_figure(figure, path, dpi=100)


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
    save_figure(figure, path, dpi=120)


def plot_forecast(times, forecast, variables, path, truth=None, observed_times=None, observed=None,
                  time_label="step", valid_time=None, title=None):
    """A forecast of a multivariate series: one panel per variable over time, and a phase portrait.

    Args:
        times: (T,) the forecast steps' times (in steps, time units or Lyapunov times).
        forecast: (T, D) the forecast.
        variables: list of D str.
        path: str, the PNG file to write.
        truth: (T, D) or None, the true continuation, drawn under the forecast.
        observed_times, observed: (W,) and (W, D) or None, the observed window before the forecast.
        time_label: str, the time axis's label. Default "step".
        valid_time: float or None, a dotted line where the forecast stops being valid.
        title: str or None.

    The phase portrait is the first variable against the last (x against z for Lorenz-63).

    Example:
        >>> t = np.arange(100) * 0.1
        >>> plot_forecast(t, np.stack([np.sin(t), np.cos(t)], 1), ["x", "y"], "forecast.png")
    """
    forecast = np.asarray(forecast, dtype=np.float64)
    if forecast.ndim != 2 or forecast.shape[1] != len(variables) or len(times) != len(forecast):
        raise ValueError(f"a forecast of shape {forecast.shape} does not match {len(times)} times and "
                         f"{len(variables)} variables")
    count = len(variables)
    figure, grid = _figure(12, max(4.0, 2.2 * count), count, 2)
    grid = np.asarray(grid).reshape(count, 2)
    for axes in grid[:, 1]:
        axes.remove()
    phase = figure.add_subplot(grid[0, 0].get_gridspec()[:, 1])
    for index, (axes, name) in enumerate(zip(grid[:, 0], variables, strict=True)):
        if observed is not None:
            axes.plot(observed_times, np.asarray(observed)[:, index], color="0.55", lw=1.2, label="observed")
        if truth is not None:
            axes.plot(times, np.asarray(truth)[:, index], color="black", lw=1.2, label="truth")
        axes.plot(times, forecast[:, index], color="tab:red", lw=1.2, ls="--", label="forecast")
        if valid_time is not None:
            axes.axvline(valid_time, color="tab:blue", ls=":", lw=1.2, label="valid until")
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
    grid[0, 0].legend(fontsize=8, loc="upper left")
    grid[-1, 0].set_xlabel(time_label)
    first, last = 0, count - 1
    if truth is not None:
        phase.plot(np.asarray(truth)[:, first], np.asarray(truth)[:, last], color="black", lw=0.6, label="truth")
    phase.plot(forecast[:, first], forecast[:, last], color="tab:red", lw=0.6, label="forecast")
    phase.set_xlabel(variables[first])
    phase.set_ylabel(variables[last])
    phase.set_title("phase portrait", fontsize=10)
    phase.legend(fontsize=8)
    if title:
        figure.suptitle(textwrap.fill(title, 110), fontsize=11)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)


def plot_distributions(samples, variables, path, title=None, bins=60):
    """Per-variable histograms of several long series on one scale: where each spends its time.

    Args:
        samples: dict {label: (N, D) array}; the first is the reference, drawn filled; the scale
            is the reference's range and twice its highest density (taller spikes are cut). A
            series with non-finite values (a diverged forecast) is left out and said so in the
            legend, as is the share of a series outside the reference's range.
        variables: list of D str.
        path: str, the PNG file to write.
        title: str or None.
        bins: int, histogram bins over the reference's range. Default 60.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> plot_distributions({"truth": rng.normal(size=(1000, 2)), "model": rng.normal(size=(1000, 2))},
        ...                    ["x", "y"], "histograms.png")
    """
    labels = list(samples)
    reference = np.asarray(samples[labels[0]], dtype=np.float64)
    figure, grid = _figure(4.2 * len(variables), 3.6, 1, len(variables))
    grid = np.atleast_1d(grid)
    for index, (axes, name) in enumerate(zip(grid, variables, strict=True)):
        low, high = np.min(reference[:, index]), np.max(reference[:, index])
        margin = 0.1 * (high - low or 1.0)
        edges = np.linspace(low - margin, high + margin, bins + 1)
        peak = 0.0
        for number, label in enumerate(labels):
            values = np.asarray(samples[label], dtype=np.float64)[:, index]
            if not np.all(np.isfinite(values)):
                axes.plot([], [], label=f"{label} (diverged)")
                continue
            outside = np.mean((values < edges[0]) | (values > edges[-1]))
            if outside >= 0.005:  # off the true range: not drawn, said in the legend
                label = f"{label} ({outside:.0%} outside)"
            counts, _ = np.histogram(values, bins=edges)
            density = counts / (len(values) * np.diff(edges))
            if number == 0:
                axes.stairs(density, edges, fill=True, color="0.8", label=label)
                peak = density.max()
            else:
                axes.stairs(density, edges, lw=1.4, label=label)
        # A constant forecast (persistence) is one tall spike: the scale is the truth's.
        axes.set_ylim(0, 2.0 * peak or None)
        axes.set_xlabel(name)
        axes.set_yticks([])
    grid[0].set_ylabel("density")
    grid[-1].legend(fontsize=8)
    if title:
        figure.suptitle(textwrap.fill(title, 120), fontsize=11)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)


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
