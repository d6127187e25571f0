"""What "converged" means, by the objective: a vanishing gradient, a vanishing gradient
mapping (proximal_gradient), or an objective that stopped decreasing (kinks)."""

from pathlib import Path

import numpy as np
import pytest

import gdcheck
from gdcheck import verify

KINKED = """\
gdcheck: 1
name: kinked
parameters:
  a: {init: 'uniform(2, 3)'}
  b: {init: 'uniform(-1, 0)'}
objective: abs(a - 1) + 0.5*abs(b + 2)
optimizer: {method: gd, learning_rate: LR, steps: STEPS}
checks: {gradient: false, descent: false, convergence: {runs: 4, loss_tol: 1e-6}}
expect: {minimum: {a: 1, b: -2}, tol: TOL}
"""


def check(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return verify(path, report_dir=None).checks["convergence"]


def test_a_kinked_objective_converges_by_the_objective_with_a_decreasing_step(tmp_path):
    """|a − 1| + ½|b + 2| has its minimum at (1, −2), where no subgradient vanishes; with
    η/√t the subgradient method's error shrinks like η/√T, here to below 1e-2."""
    text = (KINKED.replace("LR", "{initial: 0.5, schedule: inverse_sqrt}")
            .replace("STEPS", "20000").replace("TOL", "1e-2"))
    result = check(tmp_path, text)
    assert result.passed, result.summary
    assert result.details["criterion"] == "objective"
    assert "objective stopped decreasing" in result.summary
    assert "the objective has kinks" in result.summary
    for run in result.details["runs"]:
        np.testing.assert_allclose(run["final"], [1, -2], atol=1e-2)


def test_a_fixed_step_stalls_beside_the_kink_and_the_expectation_says_so(tmp_path):
    """With a fixed η the iterates jump over a = 1 for ever: the objective stopped
    decreasing (converged, honestly) but not at the minimum: expect.minimum fails."""
    text = KINKED.replace("LR", "0.3").replace("STEPS", "2000").replace("TOL", "1e-3")
    result = check(tmp_path, text)
    assert not result.passed
    assert all(run["converged"] for run in result.details["runs"])
    assert "off by" in result.summary and "expect.tol 0.001" in result.summary


def test_the_gradient_criterion_can_be_asked_for(tmp_path):
    text = (KINKED.replace("LR", "{initial: 0.5, schedule: inverse_sqrt}")
            .replace("STEPS", "2000").replace("TOL", "1e-2")
            .replace("loss_tol: 1e-6", "criterion: gradient"))
    result = check(tmp_path, text)
    assert not result.passed
    assert result.details["criterion"] == "gradient"
    assert "gradient norm" in result.summary and "> grad_tol" in result.summary


def test_a_still_decreasing_objective_is_not_converged(tmp_path):
    """100 steps of 0.001 from a ≥ 2 move a by 0.1: the objective is still falling."""
    text = KINKED.replace("LR", "0.001").replace("STEPS", "100").replace("TOL", "1e-2")
    result = check(tmp_path, text)
    assert not result.passed
    assert "the objective was still decreasing after 100 steps" in result.summary


SMOOTH = """\
gdcheck: 1
name: bowl
parameters:
  a: {init: 'uniform(-2, 2)'}
objective: (a - 1)**2
optimizer: {method: gd, learning_rate: 0.25, steps: 200, tolerance: 1e-9}
checks: {gradient: false, descent: false, convergence: {runs: 3}}
"""


def test_a_differentiable_objective_keeps_the_gradient_criterion(tmp_path):
    result = check(tmp_path, SMOOTH)
    assert result.passed, result.summary
    assert result.details["criterion"] == "gradient"
    assert [run["end"] for run in result.details["runs"]] == ["minimum"] * 3
    assert result.details["minima"] == [{"value": pytest.approx(0, abs=1e-15),
                                         "point": {"a": pytest.approx(1, abs=1e-8)},
                                         "runs": [1, 2, 3]}]


DOUBLE_WELL = """\
gdcheck: 1
name: double-well
parameters:
  a: {init: 'uniform(-2, 2)'}
objective: (a**2 - 1)**2 + 0.3*a
optimizer: {method: gd, learning_rate: 0.05, steps: 2000, tolerance: 1e-10}
checks: {gradient: false, descent: false, convergence: {runs: 8, grad_tol: 1e-8}}
"""


def test_runs_that_reach_different_minima_are_named_with_their_values(tmp_path):
    """(a² − 1)² + 0.3a: f' = 4a³ − 4a + 0.3 has roots near −1.036, 0.075 (a maximum) and
    0.961; the left minimum is the lower (f ≈ −0.305 against 0.285)."""
    roots = np.sort(np.roots([4, 0, -4, 0.3]).real)
    values = (roots**2 - 1) ** 2 + 0.3 * roots
    result = check(tmp_path, DOUBLE_WELL)
    assert result.passed, result.summary
    minima = result.details["minima"]
    assert len(minima) == 2
    assert minima[0]["point"]["a"] == pytest.approx(roots[0], abs=1e-7)
    assert minima[1]["point"]["a"] == pytest.approx(roots[2], abs=1e-7)
    assert [m["value"] for m in minima] == pytest.approx([values[0], values[2]], abs=1e-12)
    assert sorted(minima[0]["runs"] + minima[1]["runs"]) == list(range(1, 9))
    assert "The runs reached 2 different minima: value -0.30" in result.summary


ON_THE_KINK = """\
gdcheck: 1
name: on-the-kink
parameters:
  a: {init: INIT}
  b: {init: constant(0.5)}
objective: abs(a - b) + 0.1*a
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
checks: {gradient: false, convergence: false, descent: {examples: 20}}
"""


def test_descent_skips_a_point_on_a_kink_where_no_step_lowers_the_objective(tmp_path):
    """At a = b the exact gradient is (0.1, 0) (d|x|/dx = 0 at 0), and a step of any size η
    gives f = 0.1a + 0.09η > 0.1a: −g is no descent direction on the kink. Such points say
    nothing; with every point there, nothing was checked, which is no pass."""
    path = tmp_path / "spec.yaml"
    path.write_text(ON_THE_KINK.replace("INIT", "constant(0.5)"))
    result = verify(path, report_dir=None).checks["descent"]
    assert not result.passed
    assert "no point could be checked: all" in result.summary
    assert result.details["skipped"] == result.details["evaluated"] > 0
    path.write_text(ON_THE_KINK.replace("INIT", "'uniform(-1, 1)'"))
    result = verify(path, report_dir=None).checks["descent"]
    assert result.passed, result.summary       # steps that stay on one side lower f


def test_descent_still_fails_a_too_large_rate_away_from_the_kinks(tmp_path):
    """|a − 5| + a² on a in (−1, 1): no step of η = 1.2 reaches the kink at 5 from there,
    and past 2/L = 1 (L = 2) gradient descent climbs: that point is a failure, not a skip."""
    path = tmp_path / "spec.yaml"
    path.write_text(ON_THE_KINK.replace("INIT", "'uniform(-1, 1)'")
                    .replace("abs(a - b) + 0.1*a", "abs(a - 5) + a**2 + 0*b")
                    .replace("learning_rate: 0.1", "learning_rate: 1.2"))
    result = verify(path, report_dir=None).checks["descent"]
    assert not result.passed
    assert "a learning rate of 0.6 would have lowered it there" in result.summary


SPECS = Path(__file__).resolve().parents[2] / "specs"


def test_the_bundled_lasso_reaches_the_coordinate_descent_solution():
    """specs/lasso.yaml against an independent solver on its own data: exact coordinate
    minimisation of ½·mean((Xw + b − y)²) + lam·Σ|wⱼ| (b unpenalised)."""
    result = verify(SPECS / "lasso.yaml", report_dir=None, examples=5)   # runs, mainly
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    problem = gdcheck.compile(SPECS / "lasso.yaml")
    design = np.c_[problem.data["x"], np.ones(problem.samples)]
    gram = design.T @ design / problem.samples
    moment = design.T @ problem.data["y"] / problem.samples
    theta = np.zeros(6)
    penalty = np.array([0.1] * 5 + [0.0])
    for _ in range(5000):
        for j in range(6):
            rest = moment[j] - gram[j] @ theta + gram[j, j] * theta[j]
            theta[j] = np.sign(rest) * max(abs(rest) - penalty[j], 0.0) / gram[j, j]
    assert np.count_nonzero(theta[:5]) == 2          # the irrelevant weights are zero...
    for run in result.checks["convergence"].details["runs"]:
        np.testing.assert_allclose(run["final"], theta, atol=1e-8)
        assert [value == 0 for value in run["final"][:5]] == [False, True, True, False, True]


def test_the_bundled_hinge_svm_reaches_the_quadratic_program_optimum():
    """specs/hinge_svm.yaml against the SVM's primal quadratic program, solved by SLSQP:
    minimise mean(ξ) + lam·|w|² subject to ξ ≥ 0 and ξᵢ ≥ 1 − sᵢ(w·xᵢ + b)."""
    from scipy.optimize import minimize

    result = verify(SPECS / "hinge_svm.yaml", report_dir=None, examples=5)   # runs, mainly
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    problem = gdcheck.compile(SPECS / "hinge_svm.yaml")
    x, signs, n = problem.data["x"], 2 * problem.data["y"] - 1, problem.samples

    def objective(z):
        return z[3:].mean() + 0.05 * (z[:2] @ z[:2])

    margins = {"type": "ineq", "fun": lambda z: z[3:] - 1 + signs * (x @ z[:2] + z[2])}
    slack = {"type": "ineq", "fun": lambda z: z[3:]}
    start = np.r_[0.0, 0.0, 0.0, np.ones(n)]
    solution = minimize(objective, start, constraints=[margins, slack], method="SLSQP",
                        options={"maxiter": 500, "ftol": 1e-12})
    assert solution.success, solution.message
    for run in result.checks["convergence"].details["runs"]:
        assert run["best_loss"] == pytest.approx(solution.fun, abs=1e-6)
        np.testing.assert_allclose(run["final"][:2], solution.x[:2], atol=2e-3)
