"""check_gradient against hand-written functions and gradients, with bugs planted on purpose."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from gdcheck.errors import GradientMismatch, UsageError
from gdcheck.gradcheck import GradientCheck, assert_gradient, check_gradient

SCHEMES = ["central", "richardson", "complex", "directional"]


def quadratic_form(size):
    """A fixed symmetric positive-definite A and vector b for each size."""
    rng = np.random.default_rng(size)
    root = rng.standard_normal((size, size))
    return root @ root.T + np.eye(size), rng.standard_normal(size)


def quadratic(x):
    a, b = quadratic_form(x.size)
    v = x.reshape(-1)
    return 0.5 * v @ a @ v + b @ v


def quadratic_gradient(x):
    a, b = quadratic_form(x.size)
    return (a @ x.reshape(-1) + b).reshape(x.shape)


# name: (f, grad derived by hand); every f takes any shape and complex input
FUNCTIONS = {
    "sin-times-square": (lambda x: np.sum(np.sin(x) * x**2),
                         lambda x: np.cos(x) * x**2 + 2 * x * np.sin(x)),
    "log-sum-exp": (lambda x: np.log(np.sum(np.exp(x))),
                    lambda x: np.exp(x) / np.sum(np.exp(x))),
    "quadratic-form": (quadratic, quadratic_gradient),
    "sin-times-exp": (lambda x: np.sum(np.sin(x) * np.exp(x)),
                      lambda x: (np.cos(x) + np.sin(x)) * np.exp(x)),
    "log1p-square": (lambda x: np.sum(np.log(1 + x**2)), lambda x: 2 * x / (1 + x**2)),
    "polynomial": (lambda x: np.sum(3 * x**5 - 2 * x**3 + x - 7),
                   lambda x: 15 * x**4 - 6 * x**2 + 1),
}


def small_points(bound=10.0):
    shapes = array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=5).filter(
        lambda shape: math.prod(shape) <= 5)
    return arrays(np.float64, shapes, elements=st.floats(-bound, bound))


def with_wrong_component(grad, index, wrong):
    """grad, except that component `index` is replaced by wrong(true value, x)."""
    def buggy(x):
        gradient = np.array(grad(x), dtype=float)
        gradient[index] = wrong(gradient[index], x)
        return gradient
    return buggy


# ---------------------------------------------------------------- planted bugs are caught


@pytest.mark.parametrize("scheme", SCHEMES)
def test_sign_flip_in_one_component_is_named(scheme):
    f, grad = FUNCTIONS["sin-times-exp"]
    buggy = with_wrong_component(grad, 1, lambda g, x: -g)
    check = check_gradient(f, buggy, np.array([0.5, -1.2, 2.0]), scheme=scheme)
    assert not check.passed
    assert check.worst == (1,)
    assert check.worst_analytic == pytest.approx(-check.worst_numeric)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_factor_of_two_is_named_in_a_matrix(scheme):
    f, grad = FUNCTIONS["sin-times-square"]
    x = np.array([[0.3, -1.1, 2.2], [1.7, -0.4, 0.9]])
    check = check_gradient(f, with_wrong_component(grad, (1, 2), lambda g, x: 2 * g), x,
                           scheme=scheme)
    assert not check.passed
    assert check.worst == (1, 2)
    assert check.worst_analytic == pytest.approx(2 * check.worst_numeric, rel=1e-6)


def sum_of_smooth_terms(x):
    return np.sum(np.sin(x) * x**2 + np.log(1 + x**2))


def sum_of_smooth_terms_gradient(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x) + 2 * x / (1 + x**2)


def off_by_one_at(index):
    """The gradient of sum_of_smooth_terms, but entry `index` reads x[index - 1]."""
    return with_wrong_component(sum_of_smooth_terms_gradient, index,
                                lambda g, x: sum_of_smooth_terms_gradient(x[index - 1]))


@pytest.mark.parametrize("scheme", ["central", "directional"])
def test_one_wrong_entry_among_a_thousand_is_located(scheme):
    x = np.random.default_rng(7).uniform(-3, 3, 1000)
    check = check_gradient(sum_of_smooth_terms, off_by_one_at(637), x, scheme=scheme)
    assert not check.passed
    assert check.worst == (637,)
    assert np.flatnonzero(check.disagreeing).tolist() == [637]
    if scheme == "directional":  # found along one direction, then located component-wise
        assert check.fallback and check.evaluations < 1000   # bisection, not 4 per entry


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_random_direction_catches_one_wrong_entry_whatever_the_seed(seed):
    x = np.random.default_rng(8).uniform(-3, 3, 40)
    check = check_gradient(sum_of_smooth_terms, off_by_one_at(17), x, scheme="directional",
                           seed=seed)
    assert check.fallback and check.worst == (17,)


def softplus(x):
    return np.sum(np.log1p(np.exp(x)))


def softplus_gradient(x):
    return 1 / (1 + np.exp(-x))


def softplus_gradient_wrong_for_negatives(x):
    # a "stable" branch for x < 0 that forgot its denominator: exp(x) instead of exp(x)/(1+exp(x))
    return np.where(x >= 0, softplus_gradient(x), np.exp(x))


def test_gradient_wrong_only_for_negative_inputs_at_a_point_with_negatives():
    check = check_gradient(softplus, softplus_gradient_wrong_for_negatives, [1.5, -0.5, 2.0])
    assert not check.passed and check.worst == (1,)
    assert check_gradient(softplus, softplus_gradient_wrong_for_negatives, [1.5, 0.5]).passed


@settings(max_examples=300, deadline=None)
@given(small_points())
def test_check_never_passes_where_the_negative_input_bug_matters(x):
    true, wrong = softplus_gradient(x), softplus_gradient_wrong_for_negatives(x)
    matters = np.abs(wrong - true) > 10 * (1e-9 + 1e-6 * np.abs(true))
    check = check_gradient(softplus, softplus_gradient_wrong_for_negatives, x)
    if np.any(matters):
        assert not check.passed
        assert matters[check.worst]
    elif np.all(x >= 0):
        assert check.passed


def test_hypothesis_finds_a_failing_point_and_it_has_a_negative_input():
    failing = find(small_points(),
                   lambda x: not check_gradient(softplus, softplus_gradient_wrong_for_negatives,
                                                x).passed,
                   settings=settings(database=None, deadline=None))
    assert np.any(failing < 0)


def test_gradient_missing_the_penalty_term_is_caught_with_the_penalty_as_error():
    penalty, a, b = 0.1, *quadratic_form(4)

    def f(x):
        return 0.5 * np.sum((a @ x - b) ** 2) + penalty * np.sum(x**2)

    def loss_gradient_only(x):  # forgot 2·penalty·x
        return a.T @ (a @ x - b)

    x = np.array([0.8, -1.5, 0.3, 2.0])
    check = check_gradient(f, loss_gradient_only, x)
    assert not check.passed
    np.testing.assert_allclose(check.abs_error, 2 * penalty * np.abs(x), rtol=1e-6)
    assert check_gradient(f, lambda x: loss_gradient_only(x) + 2 * penalty * x, x).passed


# ---------------------------------------------------------------- correct gradients pass


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FUNCTIONS)), x=small_points(), seed=st.integers(0, 2**16))
def test_correct_gradients_are_never_flagged(scheme, name, x, seed):
    """Never a fail; inconclusive only with its reason (where f is flat or quantised at x,
    as log(1 + x²) is for |x| < 1e-8, no finite difference can decide). Coordinates of
    magnitude below 1e-5 are a known limit: there log(1 + x²)'s rounding staircase can
    make Richardson's bound short by a factor of about 1.5 (x ≈ 1e-6: 2.4e-15 against
    1.7e-15)."""
    assume(np.all((x == 0) | (np.abs(x) >= 1e-5)))
    f, grad = FUNCTIONS[name]
    check = check_gradient(f, grad, x, scheme=scheme, seed=seed)
    assert check.verdict != "fail", str(check)
    assert check.verdict == "pass" or check.reason


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FUNCTIONS)), seed=st.integers(0, 2**16),
       x=arrays(np.float64, 3, elements=st.floats(0.01, 5.0)),
       signs=arrays(np.float64, 3, elements=st.sampled_from([-1.0, 1.0])))
def test_correct_gradients_pass_at_ordinary_points(scheme, name, x, seed, signs):
    """Away from 0 and from huge values every difference can decide: a pass."""
    f, grad = FUNCTIONS[name]
    check = check_gradient(f, grad, x * signs, scheme=scheme, seed=seed)
    assert check.passed, str(check)


def test_a_rounding_staircase_is_measured_as_noise():
    """log(1 + x²) at x = 1e-7 rounds 1 + x² to a staircase of ulps of 1: where some steps
    of the noise table change nothing, the nonzero ones are f's resolution."""
    f, grad = FUNCTIONS["log1p-square"]
    check = check_gradient(f, grad, np.full(3, 1e-7))
    assert check.verdict != "fail", str(check)
    assert check.noise >= 1e-16


def test_a_regular_rounding_staircase_is_not_mistaken_for_a_wrong_gradient():
    """log(1 + x²) at x₁ = x₂ = 1.4e-6 along (1, −1) is symmetric, and its rounding staircase
    regular at every δ: the noise shows only along a coordinate, the second line measured."""
    f, grad = FUNCTIONS["log1p-square"]
    check = check_gradient(f, grad, np.full(2, 1.4346126e-06), seed=1)
    assert check.verdict != "fail"


def test_a_derivative_of_1e_76_is_not_failed():
    """At x = 1e-38, sin(x)·x² is 1e-114 and its derivative 4e-76."""
    f, grad = FUNCTIONS["sin-times-square"]
    x = np.full(2, 1.17549435e-38)
    assert check_gradient(f, grad, x, scheme="richardson", seed=1).verdict != "fail"


@pytest.mark.parametrize("scheme", ["richardson", "complex"])
@pytest.mark.parametrize("name", ["sin-times-exp", "polynomial", "log1p-square"])
def test_richardson_and_complex_step_reach_1e_10_and_1e_12_relative_error(scheme, name):
    f, grad = FUNCTIONS[name]
    x = np.array([-2.7, -1.3, -0.4, 0.6, 1.1, 2.4])
    check = check_gradient(f, grad, x, scheme=scheme)
    exact = grad(x)
    assert check.passed
    reach = 3e-10 if scheme == "richardson" else 1e-12
    assert np.max(np.abs(check.numeric - exact) / np.abs(exact)) <= reach


@settings(max_examples=200, deadline=None)
@given(x=arrays(np.float64, 3, elements=st.floats(-3, 3)))
def test_richardson_error_estimate_covers_its_error_and_is_tiny(x):
    f, grad = FUNCTIONS["sin-times-exp"]
    check = check_gradient(f, grad, x, scheme="richardson")
    scale = np.maximum(np.abs(grad(x)), 1.0)
    assert np.all(np.abs(check.numeric - grad(x)) <= check.error_estimate + 1e-15 * scale)
    assert np.all(check.error_estimate <= 1e-9 * scale)


@pytest.mark.parametrize("size", [10, 1000, 100_000])
def test_directional_uses_the_same_number_of_evaluations_whatever_the_size(size):
    f, grad = FUNCTIONS["sin-times-square"]
    x = np.random.default_rng(size).uniform(-3, 3, size)
    check = check_gradient(f, grad, x, scheme="directional")
    assert check.passed, str(check)
    assert check.evaluations <= 250   # 4 directions and the noise table, not P of anything
    assert check.direction.shape == x.shape
    assert np.sum(check.direction**2) == pytest.approx(1.0)


def test_evaluation_counts_per_scheme():
    f, grad = FUNCTIONS["log1p-square"]
    x = np.linspace(-1, 1, 6) + 0.05
    counts = {scheme: check_gradient(f, grad, x, scheme=scheme).evaluations
              for scheme in ["central", "richardson", "complex"]}
    # complex: one call per component (and one to validate x) after the screen for chaos
    # (f at x, the noise table of 6 × 8 and 8 along the largest coordinate); the ladders:
    # the noise table and a handful of steps, each one call per component
    assert counts["complex"] == 1 + 6 + (1 + 48 + 8)
    assert 1 + 48 + 6 * 6 <= counts["central"] <= 1 + 48 + 6 * 2 * 12
    assert counts["richardson"] <= 1 + 48 + 6 * 2 * 14


# ---------------------------------------------------------------- shapes and reports


@pytest.mark.parametrize("shape, index", [((), ()), ((3,), (2,)), ((2, 3), (0, 1))])
def test_any_shape_and_worst_is_an_index_into_it(shape, index):
    f, grad = FUNCTIONS["sin-times-exp"]
    x = np.linspace(-1.5, 1.5, math.prod(shape)).reshape(shape) + 0.1
    assert check_gradient(f, grad, x).passed
    check = check_gradient(f, with_wrong_component(grad, index, lambda g, x: g + 0.5), x)
    assert not check.passed and check.worst == index
    for field in ["analytic", "numeric", "abs_error", "rel_error", "tolerance", "error_estimate"]:
        assert np.shape(getattr(check, field)) == shape


def test_a_python_scalar_point_and_its_summary():
    check = check_gradient(math.sin, math.cos, 0.25)
    assert check.passed and check.analytic.shape == ()
    assert str(check).startswith("gradient matches finite differences at its 1 component")


def test_summary_names_the_component_both_values_and_the_tolerance():
    f, grad = FUNCTIONS["sin-times-square"]
    x = np.full((4, 2), 0.5)
    check = check_gradient(f, with_wrong_component(grad, (3, 1), lambda g, x: g * 0.9), x)
    assert isinstance(check, GradientCheck)
    text = check.summary()
    assert text == str(check)
    assert text.startswith(f"FAIL: gradient of x[3, 1]: exact {check.worst_analytic:.6g}, "
                           f"finite-difference {check.worst_numeric:.6g} (|diff| ")
    difference, tolerance = check.abs_error[3, 1], check.tolerance[3, 1]
    assert f"(|diff| {difference:.2e} > tol {tolerance:.2e})" in text
    # the difference's own bound plus rtol of the larger side: no absolute floor
    size = max(abs(check.worst_analytic), abs(check.worst_numeric))
    assert tolerance == pytest.approx(check.error_estimate[3, 1] + 1e-6 * size, rel=1e-9)
    assert "1 of 8 components disagree" in text


def test_a_passing_directional_check_reports_the_directional_derivatives():
    f, grad = FUNCTIONS["quadratic-form"]
    x = np.array([0.2, -0.7, 1.3])
    check = check_gradient(f, grad, x, scheme="directional", seed=3)
    analytic, numeric = check.directional
    assert analytic == pytest.approx(np.dot(grad(x), check.direction), rel=1e-12)
    assert numeric == pytest.approx(analytic, rel=1e-10)
    assert check.worst is None and not check.fallback
    assert str(check).startswith("gradient matches finite differences along 4 random "
                                 "directions")
    again = check_gradient(f, grad, x, scheme="directional", seed=3)
    np.testing.assert_array_equal(again.direction, check.direction)


def test_assert_gradient_raises_an_assertion_error_naming_the_worst_component():
    f, grad = FUNCTIONS["sin-times-exp"]
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    buggy = with_wrong_component(grad, (1, 0), lambda g, x: g + 1.0)
    with pytest.raises(AssertionError) as raised:
        assert_gradient(f, buggy, x, scheme="richardson")
    error = raised.value
    assert isinstance(error, GradientMismatch) and error.exit_code == 1
    check = error.check
    assert check.worst == (1, 0)
    message = str(error)
    assert f"gradient of x[1, 0]: exact {check.worst_analytic:.6g}" in message
    assert f"finite-difference {check.worst_numeric:.6g}" in message
    assert "scheme='richardson'" in message
    assert assert_gradient(f, grad, x).passed


def test_assert_gradient_with_pytest_raises_on_the_error_class():
    with pytest.raises(GradientMismatch, match=r"gradient of x: exact 2, finite-difference 1"):
        assert_gradient(np.exp, lambda x: 2 * np.exp(x), 0.0)


# ---------------------------------------------------------------- bad usage


def square(x):
    return np.sum(x**2)


def double(x):
    return 2 * x


BAD_USAGE = [  # (arguments to check_gradient, fragment of the message)
    ((square, double, [1.0, np.nan]), {}, "x is not finite: x[1]=nan"),
    ((square, double, [[1.0, 2.0], [np.inf, 0.0]]), {}, "x[1, 0]=inf"),
    ((square, double, []), {}, "x has no components (shape (0,))"),
    ((square, double, [1 + 2j]), {}, "must be real numbers"),
    ((square, double, ["a"]), {}, "x=['a'] must be real numbers"),
    ((square, lambda x: np.ones(2), np.ones(3)), {},
     "grad(x) returned shape (2,), expected x's shape (3,)"),
    ((square, lambda x: double(x)[:, None], np.ones(3)), {},
     "grad(x) returned shape (3, 1), expected x's shape (3,)"),
    ((square, lambda x: None, np.ones(3)), {},
     "grad(x) returned None, expected real numbers in x's shape (3,)"),
    ((lambda x: x**2, double, np.ones(3)), {},
     "f(x) returned shape (3,) (float64), expected one number"),
    ((lambda x: "loss", double, np.ones(3)), {}, "f(x) returned 'loss', expected one number"),
    ((lambda x: np.sum(x) * np.nan, double, [1.0]), {}, "f(x)=nan at x"),
    ((square, double, [1.0]), {"scheme": "centrl"}, "scheme='centrl' is not a difference "
     "scheme (did you mean 'central'?)"),
    ((square, double, [1.0]), {"scheme": "forward"},
     "expected one of: central, richardson, complex, directional"),
    ((square, double, [1.0]), {"rtol": -1e-6}, "rtol=-1e-06 must be a finite number >= 0"),
    ((square, double, [1.0]), {"atol": -1}, "atol=-1 must be a finite number >= 0"),
    ((square, double, [1.0]), {"rtol": "tight"}, "rtol='tight'"),
    ((square, double, [1.0]), {"atol": float("nan")}, "atol=nan"),
    ((square, double, [1.0]), {"seed": -1}, "seed=-1 must be an integer >= 0"),
    ((square, double, [1.0]), {"seed": 1.5}, "seed=1.5"),
    ((3, double, [1.0]), {}, "f=3 is not callable"),
    ((square, None, [1.0]), {}, "grad=None is not callable"),
    ((lambda x: np.sum(np.abs(x) ** 2), double, [1.0]), {"scheme": "complex"},
     "f returned the real 1.0 for complex input"),
    ((lambda x: np.real(np.sum(x**2)), double, [1.0]), {"scheme": "complex"},
     "must accept complex input"),
    ((lambda x: math.sin(x), math.cos, 0.5), {"scheme": "complex"},
     "f failed on complex input (TypeError"),
]


@pytest.mark.parametrize("arguments, options, fragment", BAD_USAGE,
                         ids=[fragment for _, _, fragment in BAD_USAGE])
def test_bad_usage_is_explained(arguments, options, fragment):
    with pytest.raises(UsageError) as raised:
        check_gradient(*arguments, **options)
    assert fragment in str(raised.value)
    assert raised.value.exit_code == 2
