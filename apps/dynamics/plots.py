"""Pictures of the dynamics app's vanishing-gradient experiment (`apps.dynamics.gradients`).

Drawn on the shared Agg canvas of `apps.common.plots` (no display, no pyplot state); the forecast
and long-run pictures are the shared `plot_forecast` and `plot_distributions` there.
"""

import numpy as np

from apps.common.output_files import save_figure
from apps.common.plots import _figure


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
    figure, (norms, right, clip) = _figure(15, 4.2, 1, 3)
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
