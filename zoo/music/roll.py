"""Piano rolls of voices on a 16th-note grid (matplotlib, no display needed)."""

import numpy as np

from zoo.music import notation

COLOURS = {"soprano": "tab:red", "alto": "tab:orange", "tenor": "tab:green",
           "bass": "tab:blue"}


def draw(ax, voices, *, title=None):
    """Draw `voices` on a matplotlib axes: one colour per voice (legend), the pitch axis
    labelled with note names (every C and the other naturals when the span is small),
    a line at every bar and the bar numbers on the time axis."""
    voices = notation.check_voices(voices)
    steps = len(next(iter(voices.values())))
    low, high = 127, 0
    for i, (name, voice) in enumerate(voices.items()):
        colour = COLOURS.get(name, f"C{i}")
        runs = [(s, n, p) for s, n, p in notation.notes(voice) if p]
        for start, length, pitch in runs:
            ax.broken_barh([(start, length)], (pitch - 0.4, 0.8), facecolors=colour,
                           edgecolors="black", linewidth=0.3)
        if runs:
            low = min(low, min(p for _, _, p in runs))
            high = max(high, max(p for _, _, p in runs))
        ax.plot([], [], color=colour, lw=6, label=name)
    if high < low:
        low, high = 60, 72
    low, high = low - 2, high + 2
    span = high - low
    naturals = [p for p in range(low, high + 1) if notation.PITCH_NAMES[p % 12] in
                (("C",) if span > 30 else ("C", "E", "G") if span > 18 else
                 ("C", "D", "E", "F", "G", "A", "B"))]
    ax.set_yticks(naturals, [notation.note_name(p) for p in naturals])
    ax.set_yticks(range(low, high + 1), minor=True)
    ax.grid(axis="y", which="major", color="grey", lw=0.4, alpha=0.5)
    ax.set_ylim(low - 0.5, high + 0.5)
    bars = np.arange(0, steps + 1, notation.STEPS_PER_BAR)
    for bar in bars:
        ax.axvline(bar, color="black", lw=0.6, alpha=0.6)
    ax.set_xticks(bars[:-1] + notation.STEPS_PER_BAR / 2 if len(bars) > 1 else [0],
                  [str(i + 1) for i in range(max(len(bars) - 1, 1))])
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(0, steps)
    ax.set_xlabel("bar (4/4, a 16th note per step)")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)


def plot(voices, path, *, title=None, width=None):
    """Write the piano roll of one piece as a PNG at `path`; returns `path`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    steps = len(next(iter(notation.check_voices(voices).values())))
    fig, ax = plt.subplots(figsize=(width or max(6.0, 1.2 * steps / notation.STEPS_PER_BAR + 2),
                                    3.6))
    draw(ax, voices, title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
