"""The report's plots: the only module that imports matplotlib.

loss.png and grad_norm.png come from the convergence check's `curves`, learning_rate.png
from the Verification's `learning_rate_map`; each is drawn on a bare
`matplotlib.figure.Figure` (Agg, no pyplot state) into PNG bytes, with margins wide
enough for its labels. The loss is drawn as suboptimality, loss − the best loss reached, on a log
axis, so linear convergence is a straight line; a gap of zero is drawn at a floor of
FLOOR·max(1, |best|). Values that are not finite, or not below PLOTTED_BELOW, are left
out (a gap in a line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

from ..results import Verification

MAX_LEGEND_RUNS = 10   # more runs than this and a legend hides the curves
MAX_PLOTTED_POINTS = 400  # per run; longer runs are thinned evenly for the plot
PLOTS = {"loss": "loss.png", "grad_norm": "grad_norm.png",
         "learning_rate": "learning_rate.png"}
PLOTTED_BELOW = 1e300   # larger values are left out of a plot (a gap in the line)
FLOOR = 1e-16           # suboptimality is drawn no lower than FLOOR·max(1, |best loss|)
DIVERGED_HEIGHT = 0.95  # diverged rates are marked at this height of the map's axes
MARGINS = {"left": 0.13, "right": 0.95, "bottom": 0.12, "top": 0.92}


def render_plots(verification: Verification) -> dict[str, bytes]:
    """The report's figures as PNG files: file name → bytes (a figure without data is left
    out: no curves, no loss plots; a skipped map, no learning_rate.png)."""
    convergence = verification.checks.get("convergence")
    curves = convergence.curves if convergence is not None else {}
    losses = [_floats(curve) for curve in curves.get("loss", [])]
    name = verification.spec.name
    files: dict[str, bytes] = {}
    if losses:
        best = best_loss(losses)
        files[PLOTS["loss"]] = _curves(name, "suboptimality", suboptimality(losses, best),
                                       _gap_label("loss", best))
    if curves.get("grad_norm"):
        files[PLOTS["grad_norm"]] = _curves(name, "gradient norm",
                                            [_floats(c) for c in curves["grad_norm"]],
                                            "gradient norm")
    rate_map = verification.learning_rate_map or {}
    if rate_map.get("rates"):
        files[PLOTS["learning_rate"]] = _rate_map(name, rate_map, losses)
    return files


def best_loss(series: Iterable[np.ndarray]) -> float | None:
    """The lowest plottable value of any series (None: none has one)."""
    values = [v[np.isfinite(v) & (np.abs(v) < PLOTTED_BELOW)] for v in series]
    finite = np.concatenate(values) if values else np.array([])
    return float(finite.min()) if finite.size else None


def suboptimality(series: Sequence[np.ndarray], best: float | None) -> list[np.ndarray]:
    """Each series minus `best`, at least FLOOR·max(1, |best|); NaN and ±inf as they were."""
    if best is None:
        return [np.asarray(values, dtype=float) for values in series]
    floor = FLOOR * max(1.0, abs(best))
    with np.errstate(over="ignore", invalid="ignore"):
        gaps = [np.asarray(values, dtype=float) - best for values in series]
        return [np.where(np.isfinite(gap), np.maximum(gap, floor), gap) for gap in gaps]


def _curves(name: str, what: str, series: Sequence[np.ndarray], ylabel: str) -> bytes:
    figure, axes = _figure()
    drawn = 0
    for run, values in enumerate(series, start=1):
        shown = _plottable(values)
        if shown.any():
            steps = _plotted_steps(len(values))
            axes.plot(steps, np.where(shown, values, np.nan)[steps], label=f"run {run}",
                      linewidth=1)
            drawn += 1
    if drawn:
        _log_y(axes)
    else:
        axes.text(0.5, 0.5, "no finite values to plot", ha="center", transform=axes.transAxes)
    axes.set(xlabel="step", ylabel=ylabel, title=_title(name, what))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if drawn and len(series) <= MAX_LEGEND_RUNS:
        axes.legend()
    return _png(figure)


def _rate_map(name: str, rate_map: dict[str, Any], losses: Sequence[np.ndarray]) -> bytes:
    """Final loss − best against the learning rate, both log; diverged rates an x at the
    top, the stability bound and the spec's rate vertical lines."""
    rates, final = _floats(rate_map["rates"]), _floats(rate_map["final_loss"])
    diverged = np.array([at is not None for at in rate_map["diverged_at"]], dtype=bool)
    converged = np.array([at is not None for at in rate_map.get("converged_at", [])]
                         or [False] * len(rates), dtype=bool)
    best = best_loss([*losses, final[~diverged]])
    gap = suboptimality([final], best)[0]
    shown = ~diverged & _plottable(gap)
    figure, axes = _figure()
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(LogFormatter())
    if shown.any():
        axes.plot(rates[shown], gap[shown], color="C0", linewidth=1)
        for which, label, face in ((converged, "converged", "C0"),
                                   (~converged, "not converged", "none")):
            if (shown & which).any():
                axes.plot(rates[shown & which], gap[shown & which], "o", color="C0",
                          markerfacecolor=face, label=label)
        _log_y(axes)
    else:
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no rate stayed finite", ha="center", transform=axes.transAxes)
    if diverged.any():
        axes.plot(rates[diverged], np.full(int(diverged.sum()), DIVERGED_HEIGHT), "x",
                  color="C3", markersize=8, label="diverged", clip_on=False,
                  transform=axes.get_xaxis_transform())
    _vertical_lines(axes, rate_map)
    axes.set(xlabel="learning rate", ylabel=_gap_label("final loss", best),
             title=_title(name, f"learning-rate map, up to {rate_map.get('steps')} steps"))
    axes.legend(fontsize="small")
    return _png(figure)


def _vertical_lines(axes: Axes, rate_map: dict[str, Any]) -> None:
    bound = rate_map.get("bound")
    if isinstance(bound, float) and np.isfinite(bound) and bound > 0:
        axes.axvline(bound, color="C3", linestyle="--", linewidth=1,
                     label=f"{rate_map.get('bound_name', 'bound')} = {bound:.3g}")
    spec_rate = rate_map.get("spec_rate")
    if isinstance(spec_rate, int | float) and spec_rate > 0:
        axes.axvline(spec_rate, color="C2", linestyle=":", linewidth=1.5,
                     label=f"learning_rate = {spec_rate:.3g}")


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(7, 4.5))
    # margins that hold 6-character tick labels ("1e-300"), the axis labels and the title
    # (tests/reports/test_plots.py checks): fitting them per figure cost a third more
    figure.subplots_adjust(**MARGINS)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _log_y(axes: Axes) -> None:
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(LogFormatter())  # plain 1e-08: mathtext is slow
    axes.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))  # less than a decade


def _plottable(values: np.ndarray) -> np.ndarray:
    # log scale: NaN gaps break the line; above 1e300 matplotlib's log ticks overflow
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > 0) & (values < PLOTTED_BELOW)


def _floats(values: Any) -> np.ndarray:
    """A series as floats; None (a JSON NaN) and strings ("inf") read as what they mean."""
    if isinstance(values, np.ndarray):
        return np.asarray(values, dtype=float).ravel()
    items = list(values)
    return np.array([np.nan if item is None else float(item) for item in items],
                    dtype=float).ravel()


def _gap_label(what: str, best: float | None) -> str:
    return what if best is None else f"{what} − best loss ({best:.6g})"


def _title(name: str, what: str) -> str:
    return f"{name}: {what}".replace("$", r"\$")   # no mathtext from spec names


def _plotted_steps(count: int) -> np.ndarray:
    """At most MAX_PLOTTED_POINTS steps, always the first and last: a long run drawn point by
    point looks the same and takes seconds."""
    if count <= MAX_PLOTTED_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_PLOTTED_POINTS).astype(int))
