"""A piano-roll picture of a piece: one bar per note, pitch against time, a colour per voice.

Drawn with matplotlib's Agg canvas, as `apps.common.plots` does, so no display is needed.
"""

import numpy as np

from apps.common.output_files import save_figure
from apps.music.theory import pitch_name

VOICE_COLOURS = ("#c0392b", "#2874a6", "#1e8449", "#7d3c98", "#b9770e", "#566573")


def plot_piano_roll(timed, path, title=None, bar_lines=(), primer_end=None, voice_names=None):
    """Draws timed notes as a piano roll and saves it to `path` (PNG).

    Args:
        timed: (N, 4) array of rows (pitch, onset, duration, voice), times in quarter notes.
        path: str, the PNG file to write.
        title: str or None.
        bar_lines: times of the bar lines (thin grey verticals).
        primer_end: float or None, where the primer ends (a dashed line, "primer" to its left).
        voice_names: list of str or None, the legend's names of voices 0, 1, ...

    Example:
        >>> plot_piano_roll(np.array([[60, 0, 1, 0], [64, 1, 1, 0]]), "roll.png")
    """
    from matplotlib.figure import Figure

    timed = np.asarray(timed, dtype=np.float64).reshape(-1, 4)
    end = float(np.max(timed[:, 1] + timed[:, 2])) if len(timed) else 4.0
    low, high = (int(timed[:, 0].min()) - 2, int(timed[:, 0].max()) + 2) if len(timed) else (58, 74)
    figure = Figure(figsize=(min(max(6.0, 0.18 * end + 2), 40.0), max(3.0, 0.09 * (high - low) + 1.5)))
    axes = figure.add_subplot()
    for time in bar_lines:
        axes.axvline(time, color="#d5d8dc", linewidth=0.8, zorder=0)
    voices = sorted({int(v) for v in timed[:, 3]})
    for voice in voices:
        rows = timed[timed[:, 3] == voice]
        label = voice_names[voice] if voice_names and voice < len(voice_names) else f"voice {voice + 1}"
        for pitch, onset, duration, _ in rows:
            axes.add_patch(_note_patch(onset, pitch, duration, VOICE_COLOURS[voice % len(VOICE_COLOURS)]))
        axes.plot([], [], color=VOICE_COLOURS[voice % len(VOICE_COLOURS)], linewidth=6, label=label)
    if primer_end:
        axes.axvline(primer_end, color="black", linestyle="--", linewidth=1)
        axes.text(primer_end, low + 0.5, " primer | generated", fontsize=8, va="bottom")
    axes.set_xlim(0, end)
    axes.set_ylim(low, high)
    ticks = [p for p in range(low, high + 1) if p % 12 == 0] or [low]
    axes.set_yticks(ticks, [pitch_name(p) for p in ticks])
    axes.set_xlabel("quarter notes")
    axes.set_ylabel("pitch")
    if len(voices) > 1:
        axes.legend(loc="upper right", fontsize=8, ncols=len(voices))
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)


def _note_patch(onset, pitch, duration, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((onset, pitch - 0.4), duration, 0.8, facecolor=colour, edgecolor="black", linewidth=0.3)
