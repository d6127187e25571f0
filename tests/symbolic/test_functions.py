"""Tests for gdcheck/functions.py: numpy code, derivatives, printing and kinks.

Oracles are written here with `math`: each function's textbook formula (in a
numerically stable form), and central finite differences of the library's own
numpy code for the derivatives. SymPy is used only to build and print.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
from oracles import evaluate, logsumexp, sigmoid, sign, softplus, step
from sympy.printing.numpy import NumPyPrinter

from gdcheck.spec.vocabulary import CONSTANT_NAMES, FUNCTION_NAMES
from gdcheck.symbolic import expressions
from gdcheck.symbolic.functions import (
    COMPARISONS,
    CONSTANTS,
    FUNCTIONS,
    KINKS,
    NUMPY_NAMESPACE,
    RESERVED_NAMES,
    AbsoluteValue,
    LogSumExp,
    Maximum,
    Minimum,
    Relu,
    Sigmoid,
    Sign,
    Softplus,
    Step,
)

x, y, z = sp.symbols("x y z", real=True)


def numpy_function(cls: type) -> Callable[..., Any]:
    """The library's numpy implementation of `cls`, found the way compiled code finds it."""
    arguments = (x, y, z)[: _arity(cls)]
    name = NumPyPrinter().doprint(cls(*arguments)).split("(")[0]
    return NUMPY_NAMESPACE[name]


def _arity(cls: type) -> int:
    return 3 if cls is LogSumExp else 2 if cls in (Maximum, Minimum) else 1


# (class, oracle) for every custom function
SCALAR_CASES = [
    pytest.param(Sigmoid, sigmoid, id="sigmoid"),
    pytest.param(Softplus, softplus, id="softplus"),
    pytest.param(Step, step, id="step"),
    pytest.param(Sign, sign, id="sign"),
    pytest.param(AbsoluteValue, abs, id="abs"),
    pytest.param(Relu, lambda t: max(t, 0.0), id="relu"),
    pytest.param(Maximum, max, id="maximum"),
    pytest.param(Minimum, min, id="minimum"),
    pytest.param(LogSumExp, logsumexp, id="logsumexp"),
]

ALL_CLASSES = [Sigmoid, Softplus, Step, Sign, AbsoluteValue, Relu, Maximum, Minimum, LogSumExp]


# ----------------------------------------------------------------- (a) numpy code


@pytest.mark.parametrize(("cls", "oracle"), SCALAR_CASES)
def test_numpy_code_agrees_with_the_formula_at_random_points(cls: type, oracle: Callable) -> None:
    rng = np.random.default_rng(20240611)
    points = rng.uniform(-8, 8, size=(200, _arity(cls)))
    points[:5] = np.round(points[:5])  # some ties and zeros for step, sign and maximum
    function = numpy_function(cls)
    got = np.asarray(function(*points.T), dtype=float)
    expected = np.array([oracle(*row) for row in points])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize(("cls", "arguments", "expected"), [
    pytest.param(Sigmoid, (800.0,), 1.0, id="sigmoid(800)"),
    pytest.param(Sigmoid, (-800.0,), 0.0, id="sigmoid(-800)"),
    pytest.param(Sigmoid, (0.0,), 0.5, id="sigmoid(0)"),
    pytest.param(Softplus, (800.0,), 800.0, id="softplus(800)"),
    pytest.param(Softplus, (-800.0,), 0.0, id="softplus(-800)"),
    pytest.param(Softplus, (-30.0,), math.exp(-30.0) - math.exp(-60.0) / 2, id="softplus(-30)"),
    pytest.param(Softplus, (0.0,), math.log(2.0), id="softplus(0)"),
    pytest.param(LogSumExp, (1000.0, 1000.0), 1000.0 + math.log(2.0), id="lse(1000,1000)"),
    pytest.param(LogSumExp, (-1000.0, -1000.0), -1000.0 + math.log(2.0),
                 id="lse(-1000,-1000)"),
    pytest.param(LogSumExp, (1000.0, -1000.0), 1000.0, id="lse(1000,-1000)"),
    pytest.param(LogSumExp, (-math.inf, 0.0), 0.0, id="lse(-inf,0)"),
    pytest.param(LogSumExp, (-math.inf, -math.inf), -math.inf, id="lse(-inf,-inf)"),
    pytest.param(LogSumExp, (3.0,), 3.0, id="lse(one term)"),
    pytest.param(Step, (0.0,), 0.5, id="step(0)"),
    pytest.param(Sign, (0.0,), 0.0, id="sign(0)"),
    pytest.param(Relu, (-0.0,), 0.0, id="relu(-0)"),
])
def test_numpy_code_at_extreme_inputs(cls: type, arguments: tuple[float, ...],
                                      expected: float) -> None:
    arity = len(arguments)
    name = NumPyPrinter().doprint(cls(*(x, y, z)[:arity])).split("(")[0]
    with np.errstate(over="raise", invalid="raise", divide="ignore"):  # no overflow
        got = float(NUMPY_NAMESPACE[name](*(np.float64(a) for a in arguments)))
    assert got == pytest.approx(expected, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("t", [-20.0, -40.0, -100.0, -700.0])
def test_sigmoid_keeps_relative_precision_in_the_left_tail(t: float) -> None:
    got = float(NUMPY_NAMESPACE["gdcheck_sigmoid"](np.float64(t)))
    assert got == pytest.approx(sigmoid(t), rel=1e-12, abs=0.0)


@pytest.mark.parametrize("t", [-1000.0, -745.0, -700.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0])
def test_sigmoid_and_softplus_are_exact_in_both_tails_without_warnings(t: float) -> None:
    from gdcheck.symbolic.elementwise import _sigmoid, _softplus

    with np.errstate(over="raise", invalid="raise"):
        assert float(_sigmoid(np.float64(t))) == pytest.approx(sigmoid(t), rel=1e-15,
                                                                abs=5e-324)
        assert float(_softplus(np.float64(t))) == pytest.approx(softplus(t), rel=1e-15)


def test_logsumexp_broadcasts_over_arrays() -> None:
    rng = np.random.default_rng(3)
    terms = rng.normal(0, 50, size=(4, 7))
    got = NUMPY_NAMESPACE["gdcheck_logsumexp"](*terms)
    expected = [logsumexp(*column) for column in terms.T]
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_erf_matches_math_erf() -> None:
    points = np.linspace(-6, 6, 61)
    got = NUMPY_NAMESPACE["erf"](points)
    np.testing.assert_allclose(got, [math.erf(t) for t in points], rtol=1e-13, atol=1e-16)


def test_every_printed_numpy_name_is_in_the_namespace() -> None:
    for cls in ALL_CLASSES:
        printed = NumPyPrinter().doprint(cls(*(x, y, z)[: _arity(cls)]))
        assert printed.split("(")[0] in NUMPY_NAMESPACE, printed


# ----------------------------------------------------------------- (b) derivatives


def central_difference(function: Callable[..., Any], point: tuple[float, ...], index: int,
                       h: float = 1e-6) -> float:
    up = list(point)
    down = list(point)
    up[index] += h
    down[index] -= h
    return float((function(*map(np.float64, up)) - function(*map(np.float64, down))) / (2 * h))


# Points away from every kink (no argument near 0, no two arguments near each other).
DERIVATIVE_POINTS = [(-3.1, 0.7, 1.9), (0.4, -1.3, 2.6), (2.2, 1.1, -0.45), (-0.8, -2.4, 0.3)]


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("point", DERIVATIVE_POINTS)
def test_fdiff_agrees_with_finite_differences(cls: type, point: tuple[float, ...]) -> None:
    arity = _arity(cls)
    arguments = (x, y, z)[:arity]
    call = cls(*arguments)
    values = dict(zip(arguments, point, strict=False))
    for index in range(arity):
        exact = evaluate(call.fdiff(index + 1), values)
        estimate = central_difference(numpy_function(cls), point[:arity], index)
        assert exact == pytest.approx(estimate, rel=1e-6, abs=1e-8), (cls, index)


@pytest.mark.parametrize(("expression", "derivative"), [
    pytest.param(Sigmoid(2 * x), lambda t: 2 * sigmoid(2 * t) * (1 - sigmoid(2 * t)),
                 id="sigmoid(2x)"),
    pytest.param(Softplus(x**2), lambda t: 2 * t * sigmoid(t**2), id="softplus(x^2)"),
    pytest.param(AbsoluteValue(x - 1), lambda t: sign(t - 1), id="abs(x-1)"),
    pytest.param(Relu(3 * x), lambda t: 3 * step(t), id="relu(3x)"),
    pytest.param(Maximum(x, x**2), lambda t: 2 * t if t**2 > t else 1.0, id="maximum(x,x^2)"),
    pytest.param(Minimum(x, x**2), lambda t: 2 * t if t**2 < t else 1.0, id="minimum(x,x^2)"),
    pytest.param(LogSumExp(x, 2 * x, 0),
                 lambda t: (math.exp(t) + 2 * math.exp(2 * t)) / (math.exp(t) + math.exp(2 * t)
                                                                  + 1), id="lse(x,2x,0)"),
])
@pytest.mark.parametrize("t", [-1.7, 0.35, 2.4])
def test_chain_rule_through_sympy_diff(expression: sp.Expr, derivative: Callable, t: float
                                       ) -> None:
    exact = evaluate(sp.diff(expression, x), {x: t})
    assert exact == pytest.approx(derivative(t), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("cls", [Step, Sign], ids=lambda c: c.__name__)
def test_steps_have_zero_derivative_not_a_dirac_delta(cls: type) -> None:
    assert sp.diff(cls(x), x) == 0
    assert not sp.diff(Relu(x), x, 2).has(sp.DiracDelta)


def test_maximum_and_minimum_partials_sum_to_one_on_the_tie() -> None:
    for cls in (Maximum, Minimum):
        on_tie = {x: 0.5, y: 0.5}
        partials = [evaluate(cls(x, y).fdiff(i), on_tie) for i in (1, 2)]
        assert partials == [0.5, 0.5]


# ----------------------------------------------------------------- (c) printing


@pytest.mark.parametrize(("expression", "text", "latex"), [
    (Sigmoid(x), "sigmoid(x)", r"\sigma\left(x\right)"),
    (Sigmoid(x + 1), "sigmoid(x + 1)", r"\sigma\left(x + 1\right)"),
    (Softplus(x), "softplus(x)", r"\operatorname{softplus}\left(x\right)"),
    (Step(x), "step(x)", r"\operatorname{H}\left(x\right)"),
    (Sign(x), "sign(x)", r"\operatorname{sign}\left(x\right)"),
    (AbsoluteValue(x), "abs(x)", r"\left|x\right|"),
    (Relu(x), "relu(x)", r"\operatorname{relu}\left(x\right)"),
    (Maximum(x, y), "maximum(x, y)", r"\max\left(x, y\right)"),
    (Minimum(x, y), "minimum(x, y)", r"\min\left(x, y\right)"),
    (LogSumExp(x, y, z), "logsumexp(x, y, z)", r"\operatorname{logsumexp}\left(x, y, z\right)"),
])
def test_printing_uses_the_spec_language_names(expression: sp.Expr, text: str, latex: str
                                               ) -> None:
    assert str(expression) == text
    assert sp.latex(expression) == latex


def test_derivatives_print_in_the_spec_language() -> None:
    assert str(sp.diff(AbsoluteValue(x**2 - 1), x)) == "2*x*sign(x**2 - 1)"
    assert str(sp.diff(Softplus(x), x)) == "sigmoid(x)"


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_functions_of_real_arguments_are_real(cls: type) -> None:
    arguments = (x, y, z)[: _arity(cls)]
    assert cls(*arguments).is_real is True
    assert cls(*sp.symbols("p q r")[: _arity(cls)]).is_real is None


# ----------------------------------------------------------------- (d) kinks


@pytest.mark.parametrize(("cls", "zeros"), [
    (AbsoluteValue, [x]),
    (Sign, [x]),
    (Relu, [x]),
    (Step, [x]),
    (Maximum, [x - y]),
    (Minimum, [x - y]),
])
def test_kinks_give_the_zero_sets(cls: type, zeros: list[sp.Expr]) -> None:
    assert KINKS[cls](*(x, y)[: _arity(cls)]) == zeros


def test_smooth_functions_have_no_kinks() -> None:
    assert set(KINKS) == {AbsoluteValue, Sign, Relu, Step, Maximum, Minimum,
                          *COMPARISONS.values()}


@pytest.mark.parametrize("cls", [AbsoluteValue, Relu, Maximum, Minimum],
                         ids=lambda c: c.__name__)
def test_one_sided_slopes_differ_on_each_kink(cls: type) -> None:
    """The zero set is a real kink: the numpy code's slope jumps across it."""
    function = numpy_function(cls)
    rest = (0.25,) * (_arity(cls) - 1)   # the kink of maximum(x, 0.25) is x = 0.25
    at = 0.25 if rest else 0.0
    h = 1e-7
    left = (function(at, *rest) - function(at - h, *rest)) / h
    right = (function(at + h, *rest) - function(at, *rest)) / h
    assert abs(float(right - left)) > 0.5


# ----------------------------------------------------------------- names


def test_reserved_names_are_the_language_functions_and_constants() -> None:
    assert RESERVED_NAMES == set(expressions.FUNCTIONS) | {"pi", "e", "y_pred"}
    assert set(expressions.CONSTANTS) <= RESERVED_NAMES


def test_the_sympy_free_vocabulary_names_the_same_functions_and_constants() -> None:
    assert set(FUNCTIONS) == FUNCTION_NAMES
    assert set(CONSTANTS) == CONSTANT_NAMES


def test_each_function_is_registered_under_its_spec_name() -> None:
    for name, function in FUNCTIONS.items():
        assert function.spec_name == name
        assert callable(function.build) and function.arity in (1, 2, 3)
