"""Each plot writes a PNG of the expected proportions and rejects inputs that do not fit."""

import numpy as np
import pytest
from PIL import Image

from apps.caption import plots as caption_plots
from apps.caption.plots import plot_image_attention
from apps.common import plots
from apps.common.plots import plot_attention


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()  # a truncated file fails here
        return image.size  # (width, height)


def test_plot_attention_keeps_its_default_labels_and_takes_new_ones(tmp_path, monkeypatch):
    drawn = []  # (figure, axes) pairs
    make_figure = plots.new_figure

    def recording_figure(*args):
        drawn.append(make_figure(*args))
        return drawn[-1]

    monkeypatch.setattr(plots, "new_figure", recording_figure)
    weights = np.random.default_rng(0).dirichlet(np.ones(12), size=4)  # (T, S) = (4, 12)
    source = [f"w{i}" for i in range(12)]
    plot_attention(weights, source, ["a", "b", "c", "d"], tmp_path / "default.png", title="a b c d")
    plot_attention(weights, source, ["a", "b", "c", "d"], tmp_path / "notes.png", xlabel="input", ylabel="note")
    width, height = png_size(tmp_path / "default.png")
    assert width > height  # 12 columns, 4 rows
    labels = [(axes.get_xlabel(), axes.get_ylabel()) for _, axes in drawn]
    assert labels == [("source", "output"), ("input", "note")]


def test_plot_attention_rejects_weights_smaller_than_the_tokens(tmp_path):
    with pytest.raises(ValueError, match=r"\(2, 3\) do not cover 2 output tokens x 4 source tokens"):
        plot_attention(np.ones((2, 3)), list("abcd"), list("xy"), tmp_path / "x.png")


def test_plot_image_attention_draws_the_image_and_one_panel_per_word(tmp_path):
    image = np.zeros((96, 128, 3), np.uint8)
    image[:, :64] = (200, 60, 40)  # left half red, right half dark
    words = ["a", "red", "square", "next", "to", "black", "<end>"]
    weights = np.full((9, 12), 1 / 12, np.float32)  # (T, L): 2 padding rows, a 3 x 4 grid
    weights[1] = 0.0
    weights[1, 4] = 1.0  # "red" looks at row 1, column 0
    path = tmp_path / "caption.png"
    plot_image_attention(image, weights, words, path, grid_shape=(3, 4), title="a red square next to black")
    width, height = png_size(path)
    assert 1000 < width < 1400 and height < width  # 8 panels: 5 per row, 2 rows of 4:3 pictures


def test_upsampled_attention_is_smooth_and_peaks_where_the_model_looked():
    grid = np.zeros((3, 4), np.float32)
    grid[1, 0] = 1.0
    upsampled = caption_plots._upsample(grid, 96, 128)  # (H, W)
    assert upsampled.shape == (96, 128) and upsampled.min() >= 0.0
    row, column = np.unravel_index(upsampled.argmax(), upsampled.shape)
    assert 32 <= row < 64 and column < 32  # inside cell (1, 0)
    assert len(np.unique(upsampled.round(3))) > 20  # a gradient, not 12 flat blocks


def test_square_grids_need_no_grid_shape(tmp_path):
    plot_image_attention(np.zeros((32, 32, 3), np.uint8), np.ones((1, 16)) / 16, ["hi"], tmp_path / "x.png")
    width, height = png_size(tmp_path / "x.png")
    assert width > height  # two square panels side by side


@pytest.mark.parametrize(
    "image, weights, words, grid_shape, message",
    [
        (np.zeros((8, 8, 3), np.uint8), np.ones((2, 49)), ["a", "b"], (8, 8), "49 locations per word but grid_shape"),
        (np.zeros((8, 8, 3), np.uint8), np.ones((2, 12)), ["a", "b"], None, "not a square grid"),
        (np.zeros((8, 8, 3), np.uint8), np.ones((1, 4)), ["a", "b"], (2, 2), "1 rows for 2 words"),
        (np.zeros((8, 8, 3), np.uint8), np.ones(4), ["a"], (2, 2), r"shape \(T, L\)"),
        (np.zeros((8, 8), np.uint8), np.ones((1, 4)), ["a"], (2, 2), r"\(H, W, 3\) uint8"),
        (np.zeros((8, 8, 3), np.float32), np.ones((1, 4)), ["a"], (2, 2), r"\(H, W, 3\) uint8"),
    ],
)
def test_plot_image_attention_rejects_mismatched_inputs(tmp_path, image, weights, words, grid_shape, message):
    with pytest.raises(ValueError, match=message):
        plot_image_attention(image, weights, words, tmp_path / "x.png", grid_shape=grid_shape)
    assert not (tmp_path / "x.png").exists()


def test_the_heat_of_plot_attention_is_in_the_cell_of_its_output_and_source_token(tmp_path, monkeypatch):
    """The pixel drawn at (output "y", source "c") is the colour map's top; every other cell its bottom."""
    import matplotlib

    drawn = []
    make_figure = plots.new_figure
    monkeypatch.setattr(plots, "new_figure", lambda *args: drawn.append(make_figure(*args)) or drawn[-1])
    weights = np.zeros((3, 5), np.float32)  # one padding row and column beyond the tokens
    weights[1, 2] = 1.0
    plot_attention(weights, ["a", "b", "c", "d"], ["x", "y"], tmp_path / "heat.png")
    (figure, axes), = drawn
    assert [t.get_text() for t in axes.get_xticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["x", "y"]
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].astype(int)
    height = pixels.shape[0]
    viridis = matplotlib.colormaps["viridis"]
    top, bottom = (np.round(np.array(viridis(v)[:3]) * 255) for v in (1.0, 0.0))
    for row, col in np.ndindex(2, 4):
        x, y = axes.transData.transform((col, row))  # the centre of cell (row, col), in display pixels
        colour = pixels[int(round(height - y)), int(round(x))]
        expected = top if (row, col) == (1, 2) else bottom
        assert np.abs(colour - expected).max() <= 2, ((row, col), colour)
