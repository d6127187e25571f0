"""The L1 terms a proximal step solves, read off the objective's top-level terms."""

from pathlib import Path

import numpy as np
import pytest

import gdcheck
from gdcheck.errors import SpecError
from gdcheck.spec import parse
from gdcheck.symbolic.l1 import l1_weights

BARE = """\
gdcheck: 1
name: l1
constants: {lam: 0.25, two: 2}
parameters:
  w: {shape: [3]}
  W: {shape: [2, 2]}
  a: {}
objective: OBJECTIVE
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""


def weights(objective):
    return l1_weights(parse(BARE.replace("OBJECTIVE", objective), Path("l1.yaml")))


@pytest.mark.parametrize("objective, expected", [
    ("sum(w**2) + lam*sum(abs(w))", {"w": 0.25}),
    ("sum(w**2) + sum(abs(w))*lam", {"w": 0.25}),
    ("sum(abs(w))/two + a**2", {"w": 0.5}),
    ("sum(w**2) + 3*abs(a) + two*lam*sum(abs(W))", {"a": 3.0, "W": 0.5}),
    ("mean(abs(W)) + a**2", {"W": 0.25}),                 # mean over 4 entries
    ("lam*sum(abs(w)) + sum(w) + lam*sum(abs(w))", {"w": 0.5}),   # terms add up
    ("a**2 - 2*abs(a) + sum(abs(w))", {"w": 1.0}),        # −2|a| is no L1 penalty
    ("sum(abs(w - 1)) + a**2", {}),                       # a kink of f, not an L1 term
    ("a*sum(abs(w))", {}),                                # the weight depends on θ
    ("-1*sum(abs(w)) + a**2", {}),                        # a negative weight
    ("abs(a)**2", {}),
    ("sum(w**2)", {}),
])
def test_l1_terms_by_hand(objective, expected):
    assert weights(objective) == pytest.approx(expected)


LASSO = BARE.replace("OBJECTIVE", "(a - 2)**2 + 3*abs(a) + sum((w - 1)**2) + lam*sum(abs(w)) "
                     "+ sum(W**2)").replace(
    "{method: gd, learning_rate: 0.1, steps: 10}",
    "{method: proximal_gradient, learning_rate: 0.2, steps: 500, tolerance: 1e-12}")


def test_problem_l1_weights_follow_the_parameter_vector():
    problem = gdcheck.compile(parse(LASSO, Path("l1.yaml")))
    np.testing.assert_array_equal(problem.l1_weights, [0.25] * 3 + [0.0] * 4 + [3.0])


def test_proximal_gradient_reaches_the_closed_form_minimum(tmp_path):
    """(a − 2)² + 3|a|: 2(a − 2) + 3 = 0 at a = 1/2; (w − 1)² + |w|/4: w = 1 − 1/8; W = 0."""
    path = tmp_path / "l1.yaml"
    path.write_text(LASSO)
    result = gdcheck.verify(path, report_dir=None)
    convergence = result.checks["convergence"]
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    assert convergence.details["criterion"] == "gradient_mapping"
    for run in convergence.details["runs"]:
        np.testing.assert_allclose(run["final"], [0.875] * 3 + [0.0] * 4 + [0.5], atol=1e-10)


def test_proximal_gradient_without_an_l1_term_is_a_spec_error():
    spec = parse(LASSO.replace("3*abs(a)", "3*a**2").replace("lam*sum(abs(w))", "sum(w)"),
                 Path("l1.yaml"))
    with pytest.raises(SpecError, match="proximal_gradient needs an L1 term .* 'objective'"):
        gdcheck.compile(spec)
