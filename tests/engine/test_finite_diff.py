"""`compare` against hand-made cases, and the oracle's verdict on hand-derived gradients of
known functions (the oracle's own tests: tests/engine/test_oracle.py)."""

import numpy as np
import pytest

from gdcheck.engine.finite_diff import compare
from gdcheck.engine.verdicts import verify_gradient

# name: (batched loss (K, P) -> (K,), its gradient at one point (P,) derived by hand)
FUNCTIONS = {
    "sin": (lambda X: np.sin(X).sum(-1), np.cos),
    "exp": (lambda X: np.exp(X).sum(-1), np.exp),
    "polynomial": (
        lambda X: X[:, 0] ** 3 - 2 * X[:, 0] * X[:, 1] + X[:, 1] ** 4,
        lambda x: np.array([3 * x[0] ** 2 - 2 * x[1], -2 * x[0] + 4 * x[1] ** 3]),
    ),
    "log1p-square": (lambda X: np.log1p(X**2).sum(-1), lambda x: 2 * x / (1 + x**2)),
    "exp-product": (
        lambda X: np.exp(X[:, 0] * X[:, 1]) + np.cos(X[:, 0]),
        lambda x: np.array([x[1] * np.exp(x[0] * x[1]) - np.sin(x[0]),
                            x[0] * np.exp(x[0] * x[1])]),
    ),
}
POINTS = [np.array(p) for p in ([0.0, 0.0], [0.3, -1.2], [2.5, 1.7], [-4.0, 0.01], [1e-7, 3.0])]


def points_for(name):
    return [p for p in POINTS if name != "exp-product" or np.prod(p) < 5]


CASES = [(name, point) for name in FUNCTIONS for point in points_for(name)]


@pytest.mark.parametrize("name, x", CASES)
def test_the_oracle_passes_hand_gradients_and_fails_them_off_by_a_thousandth(name, x):
    loss, gradient = FUNCTIONS[name]
    exact = gradient(x)
    found = verify_gradient(loss, x, exact, rtol=1e-6)
    # inconclusive only where no difference can tell (an exact zero against a difference of
    # 1e-33; f quantised: log1p(x²) at x = 1e-7), with its reason
    assert found.verdict == "pass" or found.verdict == "inconclusive" and found.reason
    wrong = exact.copy()
    k = int(np.argmax(np.abs(exact)))
    if wrong[k] == 0:
        return
    wrong[k] *= 1.001
    failed = verify_gradient(loss, x, wrong, rtol=1e-6)
    assert failed.verdict == "fail" and failed.worst == k, failed.reason


def test_a_loss_that_dwarfs_a_derivative_is_judged_by_its_measured_noise():
    # f ~ 9e6 while df/dx0 = 0.2: rounding in f swamps a difference in x0 at small steps
    x = np.array([1e-7, 3.0])
    loss = lambda X: 1e6 * (X**2).sum(-1) + 3  # noqa: E731
    assert verify_gradient(loss, x, 2e6 * x, rtol=1e-6).verdict == "pass"
    assert verify_gradient(loss, x, 2e6 * x * [1.01, 1], rtol=1e-6).verdict == "fail"


COMPARISONS = {
    "equal": ([1.0, -2.0, 3.0], [1.0, -2.0, 3.0], 1e-6, 1e-9, None, True, 0),
    "planted wrong component": ([1.0, 2.0, 3.1, 4.0], [1.0, 2.0, 3.0, 4.0], 1e-6, 1e-9, None,
                                False, 2),
    "within rtol": ([1.0 + 5e-7, 2.0], [1.0, 2.0], 1e-6, 0.0, None, True, 0),
    "just past rtol": ([1.0 + 2e-6, 2.0], [1.0, 2.0], 1e-6, 0.0, None, False, 0),
    "within atol of zero": ([0.0, 5e-10], [0.0, 0.0], 1e-6, 1e-9, None, True, 1),
    "no tolerance at zero": ([0.0, 1e-20], [0.0, 0.0], 0.0, 0.0, None, False, 1),
    "error allowance passes": ([1.001], [1.0], 0.0, 0.0, [0.01], True, 0),
    "error allowance too small": ([1.1], [1.0], 0.0, 0.0, [0.01], False, 0),
    "non-finite error widens nothing": ([1.1], [1.0], 0.0, 0.0, [np.nan], False, 0),
    "worst by ratio, not size": ([100.01, 1.001], [100.0, 1.0], 1e-6, 0.0, None, False, 1),
    "NaN exact": ([1.0, np.nan, 5.0], [1.0, 2.0, 3.0], 1e-6, 1e-9, None, False, 1),
    "infinite estimate first": ([1.0, 9.0], [np.inf, 3.0], 1e-6, 1e-9, None, False, 0),
    "matrix, flat index": ([[1.0, 2.0], [2.5, 4.0]], [[1.0, 2.0], [2.0, 4.0]], 1e-6, 1e-9, None,
                           False, 2),
}


@pytest.mark.parametrize("exact, estimate, rtol, atol, error, passed, worst",
                         COMPARISONS.values(), ids=COMPARISONS.keys())
def test_compare(exact, estimate, rtol, atol, error, passed, worst):
    error = None if error is None else np.array(error)
    comparison = compare(np.array(exact), np.array(estimate), rtol=rtol, atol=atol, error=error)
    assert comparison.passed is passed
    assert comparison.worst == worst


def test_comparison_reports_errors_and_the_worst_values():
    comparison = compare(np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), rtol=1e-6,
                         atol=1e-9)
    assert comparison.worst_values == (3.5, 3.0)
    np.testing.assert_allclose(comparison.abs_error, [0.0, 0.0, 0.5])
    np.testing.assert_allclose(comparison.rel_error, [0.0, 0.0, 0.5 / 3.5])
    np.testing.assert_allclose(comparison.tolerance, 1e-9 + 1e-6 * np.array([1.0, 2.0, 3.0]))
    assert comparison.max_abs_error == 0.5
    assert comparison.max_rel_error == pytest.approx(0.5 / 3.5)
