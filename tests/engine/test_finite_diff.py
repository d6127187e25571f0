"""Finite differences against hand-derived derivatives of known functions."""

import warnings

import numpy as np
import pytest

from gdcheck.engine import finite_diff
from gdcheck.engine.finite_diff import (
    EPSILON,
    central_gradient,
    central_jacobian,
    compare,
    step_sizes,
)

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


@pytest.mark.parametrize("x", [0.0, 1e-300, 0.1, 1.0, 3.3, -7.25, 1e10, -123456.789])
def test_step_is_exactly_representable_and_scaled(x):
    h = step_sizes(np.array([x]))[0]
    assert (x + h) - x == h
    assert 0.5 <= h / (EPSILON ** (1 / 3) * max(1.0, abs(x))) <= 2.0


@pytest.mark.parametrize("name, x", CASES)
def test_central_gradient_matches_hand_gradient(name, x):
    loss, gradient = FUNCTIONS[name]
    exact = gradient(x)
    estimate = central_gradient(loss, x)
    assert estimate.gradient.shape == estimate.error.shape == estimate.step.shape == x.shape
    np.testing.assert_array_less(np.abs(estimate.gradient - exact),
                                 1e-8 * np.maximum(1.0, np.abs(exact)))


@pytest.mark.parametrize("name, x", CASES)
def test_error_estimate_bounds_the_true_error_without_being_vacuous(name, x):
    loss, gradient = FUNCTIONS[name]
    estimate = central_gradient(loss, x)
    true_error = np.abs(estimate.gradient - gradient(x))
    # an estimate, not a guarantee: cancellation inside f can hide a little rounding
    assert np.all(true_error <= 2 * estimate.error)
    assert np.all(estimate.error <= 1e-7 * np.maximum(1.0, np.abs(gradient(x))))


class CountingLoss:
    def __init__(self):
        self.batch_sizes = []

    def __call__(self, points):
        self.batch_sizes.append(len(points))
        return np.sin(points).sum(-1) + points[:, 0] * points[:, -1]


def test_all_points_in_one_batched_call():
    loss = CountingLoss()
    central_gradient(loss, np.arange(5.0))
    assert loss.batch_sizes == [20]  # x ± h and x ± 2h for 5 coordinates


@pytest.mark.parametrize("limit, value, batch_sizes", [
    ("MAX_BATCH_ROWS", 7, [7, 7, 6]),
    ("MAX_BATCH_VALUES", 25, [5, 5, 5, 5]),  # 25 floats of P = 5 -> 5 rows
])
def test_large_batches_are_chunked_with_the_same_result(monkeypatch, limit, value, batch_sizes):
    x = np.linspace(-1, 2, 5)
    whole = central_gradient(CountingLoss(), x)
    monkeypatch.setattr(finite_diff, limit, value)
    loss = CountingLoss()
    chunked = central_gradient(loss, x)
    assert loss.batch_sizes == batch_sizes
    np.testing.assert_array_equal(chunked.gradient, whole.gradient)
    np.testing.assert_array_equal(chunked.error, whole.error)


def test_non_finite_values_give_a_non_finite_component_and_no_warning():
    def loss(X):
        return np.sqrt(X[:, 0]) + X[:, 1] ** 2  # NaN left of 0

    x = np.array([0.0, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate = central_gradient(loss, x)
    assert np.isnan(estimate.gradient[0])
    assert estimate.gradient[1] == pytest.approx(3.0, rel=1e-9)
    comparison = compare(np.array([1e6, 3.0]), estimate.gradient, rtol=1e-6, atol=1e-9,
                         error=estimate.error)
    assert not comparison.passed and comparison.worst == 0


# name: (batched vector function (K, 2) -> (K, M), its Jacobian (M, 2) by hand)
VECTOR_FUNCTIONS = {
    "gradient of x0^2 x1 + sin x1": (
        lambda X: np.stack([2 * X[:, 0] * X[:, 1], X[:, 0] ** 2 + np.cos(X[:, 1])], -1),
        lambda x: np.array([[2 * x[1], 2 * x[0]], [2 * x[0], -np.sin(x[1])]]),
    ),
    "R^2 -> R^3": (
        lambda X: np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 0]), X[:, 1] ** 3], -1),
        lambda x: np.array([[x[1], x[0]], [np.cos(x[0]), 0.0], [0.0, 3 * x[1] ** 2]]),
    ),
}


@pytest.mark.parametrize("name", VECTOR_FUNCTIONS)
@pytest.mark.parametrize("x", [np.array([0.4, -1.3]), np.array([2.0, 0.5])])
def test_central_jacobian_matches_hand_jacobian(name, x):
    function, jacobian = VECTOR_FUNCTIONS[name]
    exact = jacobian(x)
    estimate = central_jacobian(function, x)
    assert estimate.jacobian.shape == estimate.error.shape == exact.shape
    np.testing.assert_allclose(estimate.jacobian, exact, rtol=1e-8, atol=1e-8)
    assert np.all(np.abs(estimate.jacobian - exact) <= 2 * estimate.error)


# (exact, estimate, rtol, atol, error, passed, worst)
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


def test_error_estimate_covers_rounding_when_the_loss_dwarfs_a_derivative():
    # f ~ 9e6 while df/dx0 = 0.2: rounding in f swamps the difference in x0
    x = np.array([1e-7, 3.0])
    exact = 2e6 * x
    estimate = central_gradient(lambda X: 1e6 * (X**2).sum(-1) + 3, x)
    assert np.all(np.abs(estimate.gradient - exact) <= estimate.error)
    assert not compare(exact, estimate.gradient, rtol=1e-6, atol=1e-9).passed
    assert compare(exact, estimate.gradient, rtol=1e-6, atol=1e-9, error=estimate.error).passed


def test_exact_gradient_of_a_known_function_passes_the_spec_defaults():
    loss, gradient = FUNCTIONS["exp-product"]
    x = np.array([0.7, -0.4])
    estimate = central_gradient(loss, x)
    assert compare(gradient(x), estimate.gradient, rtol=1e-6, atol=1e-9,
                   error=estimate.error).passed
    wrong = gradient(x) * np.array([1.0, 1.001])
    failed = compare(wrong, estimate.gradient, rtol=1e-6, atol=1e-9, error=estimate.error)
    assert not failed.passed and failed.worst == 1


# ----------------------------------------------------------------- Richardson extrapolation


def _central_along(function, x):
    """The `Difference` richardson_derivative expects: steps h (P,) -> (D(h), noise) for a
    function of one point, each component stepped alone."""
    def difference(steps):
        plus = np.array([function(x + h * e) for h, e in zip(steps, np.eye(len(x)), strict=True)])
        minus = np.array([function(x - h * e) for h, e in zip(steps, np.eye(len(x)), strict=True)])
        noise = finite_diff.rounding_noise(plus, minus, np.abs(x), steps)
        return (plus - minus) / (2 * steps), noise
    return difference


@pytest.mark.parametrize(("function", "derivative", "point"), [
    (lambda x: np.sin(x[0]) * np.exp(x[0]), lambda x: np.exp(x) * (np.sin(x) + np.cos(x)), 0.7),
    (lambda x: np.log1p(x[0] ** 2), lambda x: 2 * x / (1 + x**2), -1.3),
    (lambda x: x[0] ** 5 - 3 * x[0], lambda x: 5 * x**4 - 3, 2.0),
])
def test_richardson_reaches_near_machine_precision_and_bounds_its_error(function, derivative,
                                                                       point):
    x = np.array([point])
    estimate, error = finite_diff.richardson_derivative(_central_along(function, x), np.abs(x))
    exact = derivative(x)
    true_error = np.abs(estimate - exact)
    assert true_error[0] <= 1e-10 * max(1.0, abs(exact[0]))
    assert true_error[0] <= 2 * error[0] + 1e-15  # the estimate covers the error


def test_richardson_falls_back_honestly_where_a_big_first_step_fools_the_tableau():
    # sin(100x) looks flat at step 1: the central difference is returned instead, with its
    # own (larger) error estimate, which must still cover the true error
    x = np.array([0.3])
    function = lambda point: np.sin(100 * point[0])  # noqa: E731
    estimate, error = finite_diff.richardson_derivative(_central_along(function, x), np.abs(x))
    true_error = abs(estimate[0] - 100 * np.cos(30.0))
    assert true_error <= 2 * error[0] and true_error < 1e-5 * 100
