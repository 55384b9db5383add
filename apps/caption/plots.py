"""The caption app's picture: each generated word's attention drawn over the image.

Drawn on the shared Agg canvas (`apps.common.plots.new_figure`): no display, no pyplot state.
Shape letters: T generated words, L image locations (a gh x gw grid), H x W pixels.
"""

import math
import textwrap

import numpy as np

from apps.common.output_files import save_figure
from apps.common.plots import new_figure


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
    figure, grid = new_figure(panel_width * columns, panel_height * rows + (0.5 if title else 0), rows, columns)
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


def _upsample(grid, height, width):
    """(gh, gw) attention -> (H, W), bicubic, so the grid cells do not show as blocks."""
    from PIL import Image

    resized = Image.fromarray(grid.astype(np.float32)).resize((width, height), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(resized), 0.0, None)  # bicubic overshoots a little below 0
