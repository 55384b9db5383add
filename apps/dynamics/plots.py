"""Pictures of the dynamics app: a forecast, the long-run distributions, and the vanishing-gradient
experiment (`apps.dynamics.gradients`).

Drawn on the shared Agg canvas (`apps.common.plots.new_figure`): no display, no pyplot state.
Shape letters: T time steps, D variables of a time series.
"""

import textwrap

import numpy as np

from apps.common.output_files import save_figure
from apps.common.plots import new_figure


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
    figure, grid = new_figure(12, max(4.0, 2.2 * count), count, 2)
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
    figure, grid = new_figure(4.2 * len(variables), 3.6, 1, len(variables))
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


def plot_gradient_experiment(gradient_norms, gaps, accuracy, clipping, path, chance=None):
    """The vanishing-gradient experiment in three panels: gradient norms, accuracy, clipping.

    Args:
        gradient_norms: {cell: {"initial": [...], "trained": [...]}}, ||dL/dh_t|| by distance from
            the end (index 0 = the last step), each curve drawn relative to its own value there.
        gaps: list of int; accuracy: {cell: [float per gap]}.
        clipping: {"without": losses, "with": losses}, training losses per update.
        path: str, the PNG file to write.
        chance: float or None, the accuracy of a constant answer, drawn as a line.

    Example:
        >>> result = gradients.run_experiment(gradients.QUICK)
        >>> plot_gradient_experiment(result["gradient_norms"], result["gaps"], result["accuracy"],
        ...                          result["clipping"], "grads.png", chance=gradients.CHANCE)
    """
    figure, (norms, right, clip) = new_figure(15, 4.2, 1, 3)
    for number, (cell, curves) in enumerate(gradient_norms.items()):
        color = f"C{number}"
        for kind, style in (("trained", "-"), ("initial", ":")):
            values = np.asarray(curves.get(kind, []), dtype=np.float64)
            if len(values) and values[0] > 0:
                relative = np.where(values > 0, values / values[0], np.nan)
                norms.plot(np.arange(len(values)), relative, color=color, ls=style, label=f"{cell} ({kind})")
    norms.set_yscale("log")
    norms.set_xlabel("distance from the end (steps)")
    norms.set_ylabel("||dL/dh_t|| relative to the last step")
    norms.legend(fontsize=7)
    norms.grid(alpha=0.3)
    for number, (cell, values) in enumerate(accuracy.items()):
        right.plot(gaps, values, marker="o", color=f"C{number}", label=cell)
    if chance is not None:
        right.axhline(chance, color="0.5", ls=":", label="chance")
    right.set_xscale("log", base=2)
    right.set_xticks(gaps, [str(g) for g in gaps])
    right.set_ylim(-0.02, 1.02)
    right.set_xlabel("gap (steps)")
    right.set_ylabel("accuracy")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    for label, losses in clipping.items():
        if label in ("without", "with"):
            values = np.asarray(losses, dtype=np.float64)
            clip.plot(np.arange(1, len(values) + 1), np.where(np.isfinite(values), values, np.nan),
                      label=f"{label} clipping")
    clip.set_yscale("log")
    clip.set_xlabel("update")
    clip.set_ylabel("training loss")
    clip.set_title("gradient clipping (tanh RNN, large recurrent init)", fontsize=9)
    clip.legend(fontsize=8)
    clip.grid(alpha=0.3)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)
