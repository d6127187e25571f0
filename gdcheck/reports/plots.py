"""The convergence plots (loss.png, grad_norm.png): the only module that imports matplotlib.

Plots come from the convergence check's `curves`, are drawn on a bare
`matplotlib.figure.Figure` (Agg, no pyplot state) into PNG bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

from ..results import Verification

MAX_LEGEND_RUNS = 10   # more runs than this and a legend hides the curves
MAX_PLOTTED_POINTS = 400  # per run; longer runs are thinned evenly for the plot
PLOTS = {"loss": "loss.png", "grad_norm": "grad_norm.png"}
PLOTTED_BELOW = 1e300   # larger values are left out of a plot (a gap in the line)


def render_plots(verification: Verification) -> dict[str, bytes]:
    """The convergence curves as PNG files: file name → bytes (none without curves)."""
    convergence = verification.checks.get("convergence")
    curves = convergence.curves if convergence is not None else {}
    return {filename: _plot(verification.spec.name, key, curves[key])
            for key, filename in PLOTS.items() if curves.get(key)}


def _plot(name: str, key: str, curves: Sequence[np.ndarray]) -> bytes:
    series = [np.asarray(curve, dtype=float).ravel() for curve in curves]
    ylabel = "gradient norm" if key == "grad_norm" else "loss"
    if key == "loss":
        series, ylabel = _shift_to_positive(series)
    # a fixed layout: matplotlib's constrained layout cost more than the whole verification
    figure = Figure(figsize=(7, 4.5))
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    axes = figure.add_subplot()
    drawn = 0
    for run, values in enumerate(series, start=1):
        # log scale: NaN gaps break the line; above 1e300 matplotlib's log ticks overflow
        shown = np.isfinite(values) & (values > 0) & (values < PLOTTED_BELOW)
        if shown.any():
            steps = _plotted_steps(len(values))
            axes.plot(steps, np.where(shown, values, np.nan)[steps], label=f"run {run}",
                      linewidth=1)
            drawn += 1
    if drawn:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(LogFormatter())  # plain 1e-08: mathtext is slow
    else:
        axes.text(0.5, 0.5, "no finite values to plot", ha="center", transform=axes.transAxes)
    title = f"{name}: {ylabel}".replace("$", r"\$")   # no mathtext from spec names
    axes.set(xlabel="step", ylabel=ylabel, title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if drawn and len(series) <= MAX_LEGEND_RUNS:
        axes.legend()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _plotted_steps(count: int) -> np.ndarray:
    """At most MAX_PLOTTED_POINTS steps, always the first and last: a long run drawn point by
    point looks the same and takes seconds."""
    if count <= MAX_PLOTTED_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_PLOTTED_POINTS).astype(int))


def _shift_to_positive(series: list[np.ndarray]) -> tuple[list[np.ndarray], str]:
    """Losses for a log axis: as they are if all positive, else loss − min + tiny, where
    tiny is the float resolution at the minimum (a smaller gap is rounding)."""
    finite = np.concatenate([values[np.isfinite(values)] for values in series] or [[]])
    if finite.size == 0 or finite.min() > 0:
        return series, "loss"
    lowest = finite.min()
    tiny = np.finfo(float).eps * max(1.0, abs(float(lowest)))
    with np.errstate(over="ignore", invalid="ignore"):
        return [values - lowest + tiny for values in series], "loss − min(loss)"
