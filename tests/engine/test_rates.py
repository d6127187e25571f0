"""The learning-rate map against closed forms: on ½θᵀAθ with known eigenvalues, gd's
iterates are θ_t = (I − ηA)ᵗθ₀ (stable iff |1 − ηλ| < 1 for every eigenvalue λ), and heavy
ball's are stable iff 0 < ηλ < 2(1 + μ)."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import gdcheck
from gdcheck.checks.context import Context
from gdcheck.engine.descent import descend
from gdcheck.engine.rates import (
    DIVERGENCE_FACTOR,
    GRID_POINTS,
    MAX_BATCH_SCALARS,
    Criterion,
    grid,
    grid_points,
    largest_eigenvalue,
    learning_rate_map,
    work_budget,
)
from gdcheck.verify import run_checks

ROOT = Path(__file__).resolve().parents[2]
EIGENVALUES = np.array([4.0, 1.0])   # of the Hessian of 0.5*(4*a**2 + b**2): L = 4, 2/L = 0.5
START = np.array([1.5, -2.0])
BOWL = """\
gdcheck: 1
name: bowl
parameters: {a: {init: 'uniform(-2, 2)'}, b: {init: 'uniform(-2, 2)'}}
objective: OBJECTIVE
optimizer: OPTIMIZER
checks: {gradient: false, descent: false, convergence: {runs: 2}}
"""


def problem(tmp_path: Path, objective: str = "0.5*(4*a**2 + b**2)",
            optimizer: str = "{method: gd, learning_rate: 0.1, steps: 100}"):
    path = tmp_path / "bowl.yaml"
    path.write_text(BOWL.replace("OBJECTIVE", objective).replace("OPTIMIZER", optimizer))
    spec = gdcheck.load(path)
    return spec, gdcheck.compile(spec)


def closed_form_losses(rate: float, steps: int) -> np.ndarray:
    """gd's loss at steps 0 … steps from START: ½Σ λ (1 − ηλ)^(2t) θ₀²."""
    factors = (1 - rate * EIGENVALUES)[None, :] ** (2 * np.arange(steps + 1))[:, None]
    return 0.5 * (factors * EIGENVALUES * START**2).sum(axis=1)


def test_the_grid_is_log_spaced_around_the_spec_rate_and_holds_it_exactly():
    rates = grid(0.3)
    assert len(rates) == GRID_POINTS and rates[GRID_POINTS // 2] == 0.3
    np.testing.assert_allclose(rates[[0, -1]], [0.01, 9.0])
    np.testing.assert_allclose(np.diff(np.log(rates)), np.log(30) / 6)


def test_power_iteration_finds_the_largest_eigenvalue(tmp_path):
    _, bowl = problem(tmp_path)
    largest, products = largest_eigenvalue(
        lambda v: bowl.hessian_vector(np.array([0.3, -0.7]), v), 2, seed=1)
    assert largest == pytest.approx(4.0, abs=1e-6) and products < 100


def test_power_iteration_takes_the_top_not_the_largest_magnitude():
    matrix = np.diag([-5.0, 2.0, 1.0, 0.5])   # a saddle: the dominant eigenvalue is −5
    largest, _ = largest_eigenvalue(lambda v: matrix @ v, 4, seed=0)
    assert largest == pytest.approx(2.0, abs=1e-6)


def test_gd_rates_above_two_over_l_diverge_and_below_converge(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.1, steps: 20000, "
                                             "tolerance: 1.0e-9}")
    rate_map = learning_rate_map(bowl, spec.optimizer, START, run_steps=[20000] * 8)
    assert rate_map["L"] == pytest.approx(4.0, abs=1e-6)
    assert rate_map["bound"] == pytest.approx(0.5, abs=1e-6) and rate_map["bound_name"] == "2/L"
    for rate, diverged, converged in zip(rate_map["rates"], rate_map["diverged_at"],
                                         rate_map["converged_at"], strict=True):
        stable = bool(np.all(np.abs(1 - rate * EIGENVALUES) < 1))
        assert stable == (rate < 0.5)
        assert (diverged is None, converged is not None) == (stable, stable), rate
    assert rate_map["verdict"].startswith("learning_rate 0.1 is below 2/L = 0.5 (0.2 of it); "
                                          "the fastest rate on the grid that converged: 0.31")


def test_final_losses_and_divergence_steps_are_the_closed_form(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.2, steps: 60}")
    rate_map = learning_rate_map(bowl, spec.optimizer, START)
    start = closed_form_losses(0.0, 0)[0]
    limit = start + DIVERGENCE_FACTOR * max(1.0, start)
    for i, rate in enumerate(rate_map["rates"]):
        losses = closed_form_losses(rate, 60)
        beyond = np.flatnonzero(losses > limit)
        expected = int(beyond[0]) if beyond.size else None
        assert rate_map["diverged_at"][i] == expected, rate
        at = 60 if expected is None else expected
        assert rate_map["final_loss"][i] == pytest.approx(losses[at], rel=1e-9)


def test_the_spec_rate_row_is_the_convergence_run_from_the_same_point(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.3, steps: 500, "
                                             "tolerance: 1.0e-9}")
    rate_map = learning_rate_map(bowl, spec.optimizer, START)
    run = descend(bowl, START[None, :], spec.optimizer).run(0)
    middle = GRID_POINTS // 2
    assert rate_map["final_loss"][middle] == run["final_loss"]
    assert rate_map["steps_taken"][middle] == run["steps"]


def test_momentum_bound_is_two_one_plus_mu_over_l(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: momentum, momentum: 0.5, "
                                             "learning_rate: 0.3, steps: 20000, "
                                             "tolerance: 1.0e-9}")
    rate_map = learning_rate_map(bowl, spec.optimizer, START, run_steps=[20000] * 8)
    assert rate_map["bound_name"] == "2(1+μ)/L" and rate_map["momentum"] == 0.5
    assert rate_map["bound"] == pytest.approx(2 * 1.5 / 4, abs=1e-6)
    for rate, diverged, converged in zip(rate_map["rates"], rate_map["diverged_at"],
                                         rate_map["converged_at"], strict=True):
        stable = bool(np.all(rate * EIGENVALUES < 2 * 1.5))
        assert (diverged is None, converged is not None) == (stable, stable), rate
    assert rate_map["verdict"].startswith("learning_rate 0.3 is below 2(1+μ)/L = 0.75 "
                                          "(0.4 of it)")


def test_the_too_large_example_is_above_two_over_l():
    spec = gdcheck.load(ROOT / "examples" / "failing" / "learning_rate_too_large.yaml")
    rate_map = learning_rate_map(gdcheck.compile(spec), spec.optimizer, np.array([2.0, 1.0]))
    assert rate_map["L"] == pytest.approx(10.0, abs=1e-6)
    assert rate_map["verdict"].startswith("learning_rate 0.25 is above 2/L = 0.2: gradient "
                                          "descent diverges here; the fastest rate on the grid "
                                          "that converged: 0.142")
    assert rate_map["diverged_at"][GRID_POINTS // 2] is not None


def test_a_kinked_objective_gets_the_map_without_a_bound(tmp_path):
    spec, kinked = problem(tmp_path, objective="abs(a) + b**2",
                           optimizer="{method: gd, learning_rate: 0.1, steps: 300}")
    verification = run_checks(Context(spec, kinked))
    rate_map = verification.learning_rate_map
    assert rate_map["rates"] and rate_map["bound"] is None and rate_map["L"] is None
    assert "kinks" in rate_map["bound_omitted"] and "a = 0" in rate_map["bound_omitted"]
    assert "no stability bound" in rate_map["verdict"]
    # a fixed step oscillates about the kink: the loss stopping decreasing is convergence
    assert rate_map["criterion"] == "objective"
    assert any(at is not None for at in rate_map["converged_at"])


@pytest.mark.parametrize("change, reason", [
    ({"method": "adam"}, "optimizer.method adam has no single learning-rate stability bound"),
    ({"schedule": "cosine"}, "the learning rate follows the cosine schedule"),
])
def test_other_methods_and_schedules_get_no_map_and_say_why(tmp_path, change, reason):
    spec, bowl = problem(tmp_path)
    optimizer = replace(spec.optimizer, **change)
    skipped = learning_rate_map(bowl, optimizer, START)
    assert list(skipped) == ["skipped"] and skipped["skipped"].startswith(reason)


def test_the_same_seed_gives_the_same_map(tmp_path):
    spec, bowl = problem(tmp_path)
    first = run_checks(Context(spec, bowl, seed=4)).learning_rate_map
    again = run_checks(Context(spec, bowl, seed=4)).learning_rate_map
    assert first == again and first["verdict"].startswith("learning_rate 0.1 is below 2/L = 0.5")


def test_without_the_convergence_check_there_is_no_map_and_the_report_says_why(tmp_path):
    spec, bowl = problem(tmp_path)
    spec = dataclasses.replace(spec, checks=dataclasses.replace(spec.checks, convergence=None))
    rate_map = run_checks(Context(spec, bowl)).learning_rate_map
    assert rate_map == {"skipped": "the convergence check is off (checks: {convergence: "
                                   "false}); the map is made beside its runs"}


def test_the_work_cap_stops_every_row_but_the_spec_rate(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.1, steps: 5000, "
                                             "tolerance: 1.0e-9}")
    capped = learning_rate_map(bowl, spec.optimizer, START, run_steps=[10] * 8)
    assert work_budget([10] * 8, 5000, GRID_POINTS) == GRID_POINTS * 100
    assert capped["cut_at"] is not None and capped["cut_at"] < 200
    assert capped["cut_spared_spec_rate"]
    middle = GRID_POINTS // 2
    assert capped["converged_at"][middle] is not None   # the spec's rate ran to its end
    assert capped["steps_taken"][0] == capped["cut_at"] < capped["steps_taken"][middle]
    assert "not converged" not in capped["verdict"]


def test_without_convergence_runs_the_map_takes_a_bounded_number_of_steps(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.001, "
                                             "steps: 100000000}")
    rate_map = learning_rate_map(bowl, spec.optimizer, START)   # 10⁸ steps of its own: no
    assert rate_map["cut_at"] is not None and rate_map["steps"] <= work_budget(None, 10**8, 13)
    assert not rate_map["cut_spared_spec_rate"]   # no run to say how long the spec's takes
    assert work_budget(None, 10**8, GRID_POINTS) == 8 * 1000


def test_fewer_rates_for_many_parameters():
    assert grid_points(10) == GRID_POINTS
    assert grid_points(MAX_BATCH_SCALARS // 7) == 7
    assert grid_points(MAX_BATCH_SCALARS) == 0


def test_gradient_criterion_counts_only_a_small_gradient(tmp_path):
    spec, bowl = problem(tmp_path, optimizer="{method: gd, learning_rate: 0.1, steps: 30}")
    strict = learning_rate_map(bowl, spec.optimizer, START, criterion=Criterion(grad_tol=1e-300))
    assert all(at is None for at in strict["converged_at"])
    assert "no rate on the grid converged within 30 steps" in strict["verdict"]


def test_report_values_are_plain_python(tmp_path):
    spec, bowl = problem(tmp_path)
    rate_map = learning_rate_map(bowl, spec.optimizer, START)
    values = [v for value in rate_map.values()
              for v in (value if isinstance(value, list) else [value])]
    assert all(v is None or type(v) in (bool, int, float, str) for v in values)
