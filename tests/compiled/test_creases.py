"""Kinks of the gradient against creases (kinks of the second derivative only), by hand."""

from pathlib import Path

import pytest

import gdcheck
from gdcheck.spec import parse

TEMPLATE = """\
gdcheck: 1
name: t
constants: {d: 1.0}
parameters:
  a: {init: 'uniform(-2, 2)'}
  b: {init: 'uniform(-2, 2)'}
  v: {shape: [3], init: 'uniform(-2, 2)'}
objective: OBJECTIVE + 0*b + 0*sum(v)
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""


def jumps(objective):
    return gdcheck.compile(parse(TEMPLATE.replace("OBJECTIVE", objective),
                                 Path("t.yaml"))).gradient_jumps


# objective: per kink, does the gradient jump there? (by hand: the one-sided derivatives)
@pytest.mark.parametrize("objective, expected", [
    ("abs(a)", (True,)),                    # d/da: −1 | +1
    ("relu(1 - a*b)", (True,)),             # the hinge: −b | 0
    ("maximum(a, b)", (True,)),             # (0, 1) | (1, 0)
    ("max(v)", (True,)),                    # the gradient moves to the new largest entry
    ("max(v)**2", (True,)),                 # 2·max·e_k: max ≠ 0 where two entries tie
    ("relu(a)**2", (False,)),               # 0 | 2a, both 0 at a = 0
    ("abs(a)**3", (False,)),                # 3a|a| is continuous
    ("abs(a)*a", (False,)),                 # 2|a|
    ("sum(relu(v - 1)**2)", (False,)),
    # Huber's loss: 0.5a² inside |a| ≤ d, d|a| − d²/2 outside: a, then d·sign(a) — equal at
    # |a| = d, where the kinks of minimum and relu cancel; abs's at a = 0 is multiplied by
    # min(|a|, d) = 0 there, and relu's slope is 0
    ("0.5*minimum(abs(a), d)**2 + d*relu(abs(a) - d)", (False, False)),
    ("0.5*a**2 - 0.5*relu(abs(a) - d)**2", (False, False)),
    ("relu(a**2 + 1)", (True,)),            # never switches: no probe reaches it, so kept
])
def test_gradient_jumps_by_hand(objective, expected):
    assert jumps(objective) == expected


HUBER = """\
gdcheck: 1
name: huber
constants: {d: 1.0}
parameters:
  w: {shape: [3], init: 'normal(0, 1)'}
  b: {init: 'normal(0, 1)'}
inputs:
  x: {shape: [3]}
target:
  y: {}
model: dot(w, x) + b
loss: 0.5*minimum(abs(y_pred - y), d)**2 + d*relu(abs(y_pred - y) - d)
data:
  generate:
    n: 200
    seed: 3
    inputs: {x: 'normal(0, 1)'}
    truth: {w: [1.5, 0.3, -2], b: 0.5}
    noise: 'normal(0, 1)'
optimizer: {method: gd, learning_rate: 0.5, steps: 2000, tolerance: 1.0e-9}
checks:
  convergence: {runs: 4, grad_tol: 1.0e-8}
"""


def test_huber_regression_is_differentiable_and_converges_by_its_gradient(tmp_path):
    path = tmp_path / "huber.yaml"
    path.write_text(HUBER)
    result = gdcheck.verify(path, report_dir=None)
    assert result.passed, {name: check.summary for name, check in result.checks.items()}
    assert result.nondifferentiable == []
    assert not any("not differentiable" in warning for warning in result.warnings)
    assert result.checks["convergence"].details["criterion"] == "gradient"
    assert result.checks["gradient"].details["skipped"] == 0


def test_a_true_kink_is_still_reported(tmp_path):
    path = tmp_path / "hinge.yaml"
    path.write_text(HUBER.replace("loss: 0.5*minimum(abs(y_pred - y), d)**2 + "
                                  "d*relu(abs(y_pred - y) - d)", "loss: abs(y_pred - y)"))
    result = gdcheck.verify(path, report_dir=None)
    assert result.nondifferentiable == ["((x @ w) + b) - y = 0"]
    assert result.checks["convergence"].details["criterion"] == "objective"
