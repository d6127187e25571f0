"""plots.py: suboptimality on a log axis, the learning-rate map's figure, and every figure
referenced from report.md; series with zeros, NaN, inf and huge values are drawn, not fatal."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_reports import PNG_SIGNATURE, passing

from gdcheck.reports import plots, write_report
from gdcheck.reports.plots import FLOOR, PLOTS, best_loss, render_plots, suboptimality


def rate_map(**changes: Any) -> dict[str, Any]:
    """A map as rates.py makes it: 5 rates, the two largest diverged."""
    document = {"method": "gd", "rates": [0.01, 0.03, 0.1, 0.3, 1.0],
                "final_loss": [0.5, 1e-3, 0.0, 1e12, float("inf")],
                "diverged_at": [None, None, None, 7, 3], "converged_at": [None, 40, 12, None, None],
                "steps_taken": [100, 40, 12, 7, 3], "spec_rate": 0.1, "steps": 100,
                "spec_steps": 100, "cut_at": None, "L": 5.0, "L_at": "the end of run 1",
                "L_iterations": 12, "bound": 0.4, "bound_name": "2/L", "bound_omitted": None,
                "momentum": None, "fastest": 0.1,
                "verdict": "learning_rate 0.1 is below 2/L = 0.4 (0.25 of it)"}
    return {**document, **changes}


def test_suboptimality_is_the_gap_to_the_best_clipped_at_a_floor():
    series = [np.array([3.0, 1.0, 0.0, np.inf, np.nan]), np.array([-2.0, -2.0])]
    best = best_loss(series)
    assert best == -2.0
    gaps = suboptimality(series, best)
    np.testing.assert_array_equal(gaps[0][:3], [5.0, 3.0, 2.0])
    assert gaps[0][3] == np.inf and np.isnan(gaps[0][4])
    np.testing.assert_array_equal(gaps[1], [FLOOR * 2.0] * 2)   # a zero gap is drawable


def test_best_loss_ignores_what_a_plot_leaves_out():
    assert best_loss([np.array([np.nan, np.inf, -1e305, 4.0])]) == 4.0
    assert best_loss([np.array([np.nan])]) is None
    assert suboptimality([np.array([np.nan, 1.0])], None)[0][1] == 1.0   # nothing to subtract


def test_a_series_of_zeros_and_infinities_is_drawn():
    zeros = [np.array([0.0, 0.0, np.inf, 1e301, np.nan]), np.array([np.inf, np.nan])]
    png = plots._curves("zeros", "suboptimality", suboptimality(zeros, best_loss(zeros)), "gap")
    assert png.startswith(PNG_SIGNATURE)
    nothing = plots._curves("nothing", "suboptimality", [np.array([np.nan, np.inf])], "gap")
    assert nothing.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("changes", [
    {},
    {"bound": None, "L": None, "bound_omitted": "the objective has kinks"},
    {"diverged_at": [1, 1, 1, 1, 1], "final_loss": [float("nan")] * 5, "converged_at": [None] * 5},
    {"final_loss": [None, "inf", 1e305, 2.0, 3.0], "diverged_at": [None] * 5},
])
def test_the_learning_rate_map_is_drawn_whatever_its_values(changes):
    assert plots._rate_map("map", rate_map(**changes), []).startswith(PNG_SIGNATURE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(replace(passing(), learning_rate_map=rate_map()),
                        tmp_path_factory.mktemp("reports"))


def test_every_figure_is_written_and_referenced_from_report_md(folder: Path):
    figures = sorted(path.name for path in folder.glob("*.png"))
    assert figures == sorted(PLOTS.values())
    markdown = (folder / "report.md").read_text()
    for name in figures:
        assert (folder / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"]({name})" in markdown
    assert set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)) == set(figures)


def test_report_md_has_a_learning_rate_section(folder: Path):
    markdown = (folder / "report.md").read_text()
    section = markdown[markdown.index("## Learning rate"):]
    assert "**learning\\_rate 0.1 is below 2/L = 0.4 (0.25 of it)**" in section
    assert "| learning rate | final loss | outcome |" in section
    assert "| 0.1 (spec) | 0 | converged at step 12 |" in section
    assert "| 1 | inf | diverged at step 3 |" in section
    assert "| 0.01 | 0.5 | not converged after 100 steps |" in section
    assert "2/L = 0.4" in section and "L = 5 " in section
    assert section.index("![learning_rate](learning_rate.png)") > section.index("| 0.01 |")


def test_a_skipped_map_says_why_and_draws_nothing(tmp_path: Path):
    skipped = replace(passing(), learning_rate_map={"skipped": "method adam has no bound"})
    assert PLOTS["learning_rate"] not in render_plots(skipped)
    markdown = (write_report(skipped, tmp_path) / "report.md").read_text()
    assert "No learning-rate map: method adam has no bound." in markdown


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures plots.py draws, kept instead of saved."""
    figures: list[Any] = []
    monkeypatch.setattr(plots, "_png", lambda figure: figures.append(figure) or b"")
    return figures


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e300])
def test_labels_and_ticks_stay_inside_every_figure(drawn: list[Any], scale: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    steps = np.arange(100_000.0)
    curves = {"loss": [scale * 0.9**np.minimum(steps, 300) + scale],
              "grad_norm": [scale * 0.5**np.minimum(steps, 900)]}
    convergence = replace(passing().checks["convergence"], curves=curves)
    verification = replace(passing(), checks={"convergence": convergence},
                           learning_rate_map=rate_map(final_loss=[scale * v for v in
                                                                  (3.0, 2.0, 1.0, 1e3, 1e4)],
                                                      rates=[1e-7, 1e-6, 1e-5, 1e-4, 1e-3],
                                                      spec_rate=1e-5, bound=3e-5))
    render_plots(verification)
    assert len(drawn) == 3
    for figure in drawn:
        renderer = FigureCanvasAgg(figure).get_renderer()
        inside = figure.get_tightbbox(renderer)
        width, height = figure.get_size_inches()
        assert inside.x0 >= 0 and inside.y0 >= 0, inside
        assert inside.x1 <= width and inside.y1 <= height, inside
