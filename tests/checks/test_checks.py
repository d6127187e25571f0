"""The checks catch real defects, each planted on purpose, and pass sound specs.

Oracles: a quadratic's Lipschitz constant L (descent fails past 2/L), closed
forms (numpy.linalg.lstsq) and an independent optimiser (scipy.optimize).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

import gdcheck
from gdcheck.cli import main
from gdcheck.compiled import Problem
from gdcheck.verify import verify

# A convex quadratic: L = (a - 1)^2 + 5 (b + 2)^2; Hessian diag(2, 10), so L-smoothness 10.
QUADRATIC = """
gdcheck: 1
name: bowl
parameters:
  a: {init: uniform(-3, 3)}
  b: {init: uniform(-3, 3)}
objective: (a - 1)**2 + 5*(b + 2)**2
optimizer: {method: gd, learning_rate: LR, steps: 2000, tolerance: 1.0e-10}
checks: {gradient: {examples: 20}, descent: {examples: 30}, convergence: {runs: 4}}
expect:
  minimum: {a: 1, b: -2}
  value: 0
"""


def write(tmp_path, text: str, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(tmp_path, text: str, **kwargs):
    return verify(write(tmp_path, text), report_dir=tmp_path / "reports", **kwargs)


def test_sound_quadratic_passes_every_check(tmp_path):
    result = run(tmp_path, QUADRATIC.replace("LR", "0.09"))
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    assert set(result.checks) == {"gradient", "descent", "convergence"}
    final = result.checks["convergence"].details["runs"][0]["final"]
    np.testing.assert_allclose(final, [1, -2], atol=1e-9)


def test_learning_rate_past_two_over_l_fails_descent_at_a_rising_point(tmp_path):
    # 2/L = 0.2; at 0.25 the b-coordinate overshoots: (1 - 0.25*10) = -1.5, |.| > 1.
    result = run(tmp_path, QUADRATIC.replace("LR", "0.25"))
    descent = result.checks["descent"]
    assert not descent.passed
    point = descent.counterexample.point
    a, b = point["a"], point["b"]
    before = (a - 1) ** 2 + 5 * (b + 2) ** 2
    after = (a - 0.25 * 2 * (a - 1) - 1) ** 2 + 5 * (b - 0.25 * 10 * (b + 2) + 2) ** 2
    assert after > before  # the named point really is one where the loss rose
    assert "raised the objective" in descent.summary
    assert "learning rate of" in descent.summary  # the largest rate that would have worked
    assert "replay: " not in descent.summary and "--seed 0" in descent.counterexample.replay


def test_learning_rate_that_blows_up_every_run_fails_convergence_as_divergence(tmp_path):
    result = run(tmp_path, QUADRATIC.replace("LR", "1.5"))
    convergence = result.checks["convergence"]
    assert not convergence.passed
    assert "diverged at step" in convergence.summary
    runs = convergence.details["runs"]
    assert all(record["diverged_at"] is not None for record in runs)
    # |1 - 1.5*10| = 14 per step on b: the loss passes 1e8 times its start within ~8 steps
    assert all(1 <= record["diverged_at"] <= 12 for record in runs)


def test_wrong_expected_minimum_fails_convergence(tmp_path):
    result = run(tmp_path, QUADRATIC.replace("LR", "0.09").replace("b: -2}", "b: 2}"))
    convergence = result.checks["convergence"]
    assert not convergence.passed
    assert "expected a=1.0, b=2.0, where the objective is 80" in convergence.summary
    assert "is expect.minimum right?" in convergence.summary


def test_nonconvex_objective_declared_convex_fails_at_a_negative_eigenvalue(tmp_path):
    spec = """
    gdcheck: 1
    name: saddle
    parameters:
      a: {init: uniform(-2, 2)}
      b: {init: uniform(-2, 2)}
    objective: a**2 - b**2 + a**4 + b**4
    optimizer: {method: gd, learning_rate: 0.01, steps: 10}
    checks: {convex: true, convergence: false, descent: false, gradient: {examples: 10}}
    """
    result = run(tmp_path, spec)
    convex = result.checks["convex"]
    assert not convex.passed
    point = convex.counterexample.point
    # Hessian diag(2 + 12a^2, -2 + 12b^2): negative exactly where b^2 < 1/6
    assert point["b"] ** 2 < 1 / 6
    assert "eigenvalue" in convex.summary


def test_nonconvex_objective_declared_not_convex_passes_with_a_witness(tmp_path):
    spec = """
    gdcheck: 1
    name: saddle
    parameters:
      a: {init: uniform(-2, 2)}
      b: {init: uniform(-2, 2)}
    objective: a**2 - b**2
    optimizer: {method: gd, learning_rate: 0.01, steps: 10}
    checks: {convex: false, convergence: false, descent: false, gradient: false}
    """
    result = run(tmp_path, spec)
    assert result.checks["convex"].passed
    assert "witness" in result.checks["convex"].details


def test_planted_wrong_gradient_fails_naming_component_values_and_point(tmp_path):
    path = write(tmp_path, QUADRATIC.replace("LR", "0.09"))
    problem = gdcheck.compile(path)

    class Planted(Problem):
        def gradient(self, theta):
            gradient = super().gradient(theta)
            gradient[..., 1] *= 2.0  # a factor-of-two bug in dL/db
            return gradient

    planted = Planted(problem.objective, problem.data)
    result = verify(path, report_dir=None, problem=planted)
    gradient = result.checks["gradient"]
    assert not gradient.passed
    assert "gradient of b at" in gradient.summary
    assert "exact" in gradient.summary and "finite-difference" in gradient.summary
    point = gradient.counterexample.point
    exact = 2 * 10 * (point["b"] + 2)
    assert f"exact {exact:.6g}" in gradient.summary
    assert set(point) == {"a", "b"}


def test_least_squares_converges_to_lstsq(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=30)
    spec = f"""
    gdcheck: 1
    name: least-squares
    parameters:
      w: {{shape: [3], init: normal(0, 0.5)}}
      b: {{init: normal(0, 0.5)}}
    inputs:
      x: {{shape: [3]}}
    target:
      y: {{}}
    model: dot(w, x) + b
    loss: (y_pred - y)**2
    data:
      inline:
        x: {json.dumps(x.tolist())}
        y: {json.dumps(y.tolist())}
    optimizer: {{method: gd, learning_rate: 0.1, steps: 20000, tolerance: 1.0e-12}}
    checks:
      gradient: {{examples: 10}}
      descent: {{examples: 10}}
      convergence: {{runs: 3, grad_tol: 1.0e-10}}
    """
    result = run(tmp_path, spec)
    assert result.passed
    design = np.hstack([x, np.ones((30, 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    for record in result.checks["convergence"].details["runs"]:
        np.testing.assert_allclose(record["final"], solution, atol=1e-6)


def test_penalised_logistic_converges_to_scipy_minimize(tmp_path):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2))
    y = (rng.uniform(size=40) < 1 / (1 + np.exp(-(x @ [1.5, -1.0] + 0.2)))).astype(float)
    lam = 0.05
    spec = f"""
    gdcheck: 1
    name: logistic
    constants: {{lam: {lam}}}
    parameters:
      w: {{shape: [2], init: normal(0, 0.5)}}
      b: {{init: normal(0, 0.5)}}
    inputs: {{x: {{shape: [2]}}}}
    target: {{y: {{}}}}
    model: sigmoid(dot(w, x) + b)
    loss: -(y*log(y_pred) + (1 - y)*log(1 - y_pred))
    penalty: lam * sum(w**2)
    data:
      inline:
        x: {json.dumps(x.tolist())}
        y: {json.dumps(y.tolist())}
    optimizer: {{method: gd, learning_rate: 1.0, steps: 20000, tolerance: 1.0e-11}}
    checks:
      gradient: {{examples: 10}}
      descent: {{examples: 10}}
      convergence: {{runs: 2, grad_tol: 1.0e-10}}
    """
    result = run(tmp_path, spec)
    assert result.passed, result.checks["convergence"].summary

    def objective(theta):  # an independent numpy oracle of the same objective
        p = 1 / (1 + np.exp(-(x @ theta[:2] + theta[2])))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + lam * theta[:2] @ theta[:2]

    reference = scipy_optimize.minimize(objective, np.zeros(3), method="BFGS",
                                        options={"gtol": 1e-12}).x
    for record in result.checks["convergence"].details["runs"]:
        np.testing.assert_allclose(record["final"], reference, atol=1e-5)


@pytest.mark.parametrize("kink", ["abs(a - 0.5) + abs(b)", "relu(a) + relu(b - 1) + a**2 + b**2"])
def test_kinked_objectives_pass_gradient_and_warn(tmp_path, kink):
    spec = f"""
    gdcheck: 1
    name: kinked
    parameters:
      a: {{init: uniform(-2, 2)}}
      b: {{init: uniform(-2, 2)}}
    objective: {kink}
    optimizer: {{method: gd, learning_rate: 0.01, steps: 10}}
    checks: {{gradient: {{examples: 200}}, descent: false, convergence: false}}
    """
    result = run(tmp_path, spec)
    assert result.checks["gradient"].passed, result.checks["gradient"].summary
    assert any("not differentiable" in warning for warning in result.warnings)
    assert result.nondifferentiable
    report = json.loads((tmp_path / "reports" / "kinked" / "report.json").read_text())
    assert report["nondifferentiable"]


def test_point_whose_stencil_straddles_a_kink_is_skipped_not_failed(tmp_path):
    # at a = 1e-20 the exact slope of abs is 1, but every stencil the oracle tries (down to
    # ~1e-16) straddles 0, so the central difference is about a/h: a disagreement that
    # says nothing
    spec = """
    gdcheck: 1
    name: on-the-kink
    parameters:
      a: {init: constant(1.0e-20)}
    objective: abs(a)
    optimizer: {method: gd, learning_rate: 0.01, steps: 10}
    checks: {gradient: {examples: 5}, descent: false, convergence: false}
    """
    result = run(tmp_path, spec)
    assert result.checks["gradient"].passed
    assert result.checks["gradient"].details["skipped"] >= 1
    # at 1e-7 the oracle's steps shrink below the distance to the kink: decided, not skipped
    nearer = run(tmp_path, spec.replace("1.0e-20", "1.0e-7"))
    assert nearer.checks["gradient"].passed
    assert nearer.checks["gradient"].details["skipped"] == 0


def test_nan_objective_is_a_failed_check_not_a_crash(tmp_path):
    spec = """
    gdcheck: 1
    name: nan
    parameters:
      a: {init: uniform(-2, 2)}
    objective: log(a)
    optimizer: {method: gd, learning_rate: 0.01, steps: 10}
    checks: {gradient: {examples: 20}, descent: {examples: 20}, convergence: {runs: 2}}
    """
    result = run(tmp_path, spec)
    assert not result.passed
    assert not result.checks["gradient"].passed
    assert not result.checks["descent"].passed
    assert "not finite" in result.checks["descent"].summary
    report = (tmp_path / "reports" / "nan" / "report.json").read_text()
    json.loads(report)  # valid JSON despite NaN values
    assert "NaN" not in report


def test_same_seed_gives_byte_identical_reports(tmp_path):
    """report.json and report.md; the timings, which vary, are in timings.json alone."""
    path = write(tmp_path, QUADRATIC.replace("LR", "0.25"))

    def report(seed, folder):
        verify(path, report_dir=tmp_path / folder, seed=seed)
        return [(tmp_path / folder / "bowl" / name).read_bytes()
                for name in ("report.json", "report.md")]

    assert report(3, "one") == report(3, "two")
    assert "timings" in json.loads((tmp_path / "one" / "bowl" / "timings.json").read_text())


def test_cli_exit_codes_and_lines(tmp_path, capsys):
    good = write(tmp_path, QUADRATIC.replace("LR", "0.09"), "good.yaml")
    bad = write(tmp_path, QUADRATIC.replace("LR", "0.25").replace("name: bowl", "name: b2"),
                "bad.yaml")
    write(tmp_path, "gdcheck: 1\nname: x\n", "broken.yaml")  # a bad spec in the folder
    reports = str(tmp_path / "reports")
    assert main(["verify", str(good), "--report-dir", reports]) == 0
    out = capsys.readouterr().out
    assert "PASS gradient" in out and "PASS convergence" in out
    assert main(["verify", str(good), str(bad), "--report-dir", reports]) == 1
    captured = capsys.readouterr()
    assert "FAIL descent" in captured.out and "replay: gdcheck verify" in captured.out
    assert main(["verify", str(tmp_path), "--report-dir", reports,
                 "--junit", str(tmp_path / "junit.xml")]) == 2
    captured = capsys.readouterr()
    assert "Error: " in captured.err and "broken.yaml" in captured.err
    assert "Traceback" not in captured.err
    assert "3 specs: 1 passed, 1 failed, 1 error" in captured.out
    assert (tmp_path / "reports" / "index.md").exists()
    assert (tmp_path / "junit.xml").exists()


def test_cli_examples_override_and_usage_errors(tmp_path, capsys):
    good = write(tmp_path, QUADRATIC.replace("LR", "0.09"))
    reports = str(tmp_path / "reports")
    assert main(["verify", str(good), "--report-dir", reports, "--examples", "3"]) == 0
    document = json.loads((tmp_path / "reports" / "bowl" / "report.json").read_text())
    assert document["checks"]["gradient"]["examples"] == 3
    assert main(["verify", str(tmp_path / "missing.yaml")]) == 2
    assert main(["verify", str(good), "--seed", "minus"]) == 2
    assert "Error: " in capsys.readouterr().err


# A least-squares model with 1,200 parameters: above 200 the gradient check uses random
# directions, above 300 `convex` uses Lanczos, and the weight is drawn from a seed.
WIDE = """
gdcheck: 1
name: wide
parameters:
  W: {shape: [40, 30], init: normal(0, 0.2)}
inputs: {x: {shape: [30]}}
target: {y: {shape: [40]}}
model: W @ x
loss: sum((y_pred - y)**2)
reduction: mean
data: {npz: wide.npz}
optimizer: {method: gd, learning_rate: 0.05, steps: 5}
checks: {gradient: {examples: 4}, convex: true, descent: false, convergence: false}
"""


def wide_data(tmp_path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 30))
    np.savez(tmp_path / "wide.npz", x=x, y=x @ rng.normal(0, 0.1, (40, 30)).T)


def test_a_wide_model_is_checked_along_random_directions_and_by_lanczos(tmp_path):
    wide_data(tmp_path)
    result = run(tmp_path, WIDE)
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    gradient = result.checks["gradient"]
    assert gradient.details["mode"] == "directions"
    assert gradient.details["evaluations_per_point"] < 400   # not 2·1,200 and more
    assert "random directions" in gradient.summary


def test_one_wrong_entry_among_1200_is_named(tmp_path):
    wide_data(tmp_path)
    path = write(tmp_path, WIDE)
    problem = gdcheck.compile(path)

    class Planted(Problem):
        def gradient(self, theta):
            gradient = super().gradient(theta)
            gradient[..., 417] *= 1.01   # W[13, 27]
            return gradient

    result = verify(path, report_dir=None, problem=Planted(problem.objective, problem.data))
    gradient = result.checks["gradient"]
    assert not gradient.passed
    assert gradient.summary.startswith("gradient of W[13,27] at W=<40×30 values in ")


def test_a_large_parameter_is_drawn_within_its_range_and_unlike_its_neighbour(tmp_path):
    from hypothesis import find

    from gdcheck.checks.strategies import initialisations

    wide_data(tmp_path)
    spec = gdcheck.load(write(tmp_path, WIDE.replace(
        "  W: {shape: [40, 30], init: normal(0, 0.2)}",
        "  W: {shape: [40, 30], init: normal(0, 0.2)}\n  V: {shape: [40, 30], init: uniform(-1, 1)}"
    ).replace("model: W @ x", "model: W @ x + V @ x")))
    theta = find(initialisations(spec), lambda t: True)
    W, V = theta[:1200], theta[1200:]
    assert np.all(np.abs(W) <= 0.8) and np.all(np.abs(V) <= 1)
    assert W.std() > 0.05 and not np.allclose(W / W.std(), V / V.std())


KINKED = """\
gdcheck: 1
name: kinked
parameters:
  w: {shape: [3], init: normal(0, 1)}
objective: abs(w[0]) + relu(w[1] - 0.3) + maximum(w[2], 0.1) + 0.5*sum(w**2)
optimizer: {method: gd, learning_rate: 0.1, steps: 50}
"""


def test_gradient_reports_its_error_over_compared_points_and_counts_kinks_apart(tmp_path):
    """Points whose differences cross a kink say nothing: they are counted as skipped, and
    the largest error is that of the points compared (it read 1.0 from skipped ones)."""
    result = verify(write(tmp_path, KINKED), seed=0).checks["gradient"]
    assert result.passed, result.summary
    assert result.details["skipped"] > 0   # Hypothesis reaches w = 0 and the kinks
    assert f"{result.details['skipped']} more skipped" in result.summary
    assert result.details["max_rel_error"] < 1e-6, result.summary


CAMEL = """\
gdcheck: 1
name: three-hump-camel
parameters:
  a: {init: uniform(1.5, 2.0)}
  b: {init: uniform(-1.0, -0.5)}
objective: 2*a**2 - 1.05*a**4 + a**6/6 + a*b + b**2
optimizer: {method: gd, learning_rate: 0.05, steps: 3000}
expect: {minimum: {a: 0, b: 0}, tol: 1e-3}
"""


def test_a_run_that_reaches_another_local_minimum_says_so(tmp_path):
    """The three-hump camel: global minimum 0 at (0, 0), local ones of value 0.2986 at
    ±(1.7476, -0.8738) (where ∇f = 0 and the Hessian is positive definite, by hand).
    Started near the right one, descent ends there, and the failure names it as such."""
    result = verify(write(tmp_path, CAMEL), seed=0).checks["convergence"]
    assert not result.passed
    assert "reached a local minimum at a=1.7475" in result.summary, result.summary
    assert "(value 0.298" in result.summary, result.summary
    assert "not the expected global one, a=0.0, b=0.0 (value 0;" in result.summary
    assert all(run["end"] == "minimum" for run in result.details["runs"])
