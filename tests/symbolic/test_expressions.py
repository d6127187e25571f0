"""Tests for gdcheck/expressions.py: shapes, values, errors, folding and limits.

Every numeric check evaluates the built SymPy expression with plain floats
(`evaluate`, a table of `math` functions written here) and compares it with
the same formula computed by numpy on the same numbers: SymPy never checks
SymPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import sympy as sp
from oracles import evaluate
from oracles import sigmoid as _sigmoid
from oracles import sign as _sign

from gdcheck.errors import ExpressionError, LimitError, Location, SpecError
from gdcheck.spec import Text, Variable
from gdcheck.symbolic import expressions
from gdcheck.symbolic.expressions import FUNCTIONS, names_used, parse, shape_text
from gdcheck.symbolic.objective import symbols_for

LOCATION = Location("s.yaml", 3, "model")


def evaluate_value(value: np.ndarray, values: dict[sp.Symbol, float]) -> np.ndarray:
    return np.array([evaluate(item, values) for item in value.flat]).reshape(value.shape)


# ----------------------------------------------------------------- the environment


NUMBERS: dict[str, Any] = {
    "a": 0.7,
    "b": -1.3,
    "v": [0.3, -1.2, 2.1],
    "u": [1.1, 0.4, -0.6],
    "w": [0.5, -0.25],
    "M": [[0.2, -0.7, 1.5], [-1.1, 0.9, 0.35]],
    "N": [[0.6, -0.4], [1.3, 0.8], [-0.5, 2.2]],
}
ENVIRONMENT = {name: symbols_for(Variable(name, np.shape(number), LOCATION))
               for name, number in NUMBERS.items()}
SYMBOL_VALUES = {symbol: float(number)
                 for name, value in ENVIRONMENT.items()
                 for symbol, number in zip(value.flat, np.ravel(NUMBERS[name]), strict=True)}
C_ENVIRONMENT = {**ENVIRONMENT, "c": symbols_for(Variable("c", (), LOCATION))}
SYMBOL_VALUES[C_ENVIRONMENT["c"][()]] = 0.5
N = SimpleNamespace(**{name: np.array(number, dtype=float) for name, number in NUMBERS.items()})


def build(text: str, constants: dict[str, float] | None = None,
          environment: dict[str, np.ndarray] | None = None) -> np.ndarray:
    return parse(Text(text, LOCATION), ENVIRONMENT if environment is None else environment,
                 constants or {})


def failure(text: str, constants: dict[str, float] | None = None,
            environment: dict[str, np.ndarray] | None = None) -> SpecError:
    with pytest.raises(SpecError) as caught:
        build(text, constants, environment)
    return caught.value


def np_logsumexp(x: np.ndarray) -> float:
    return float(np.log(np.sum(np.exp(x))))


def np_softmax(x: np.ndarray) -> np.ndarray:
    return np.exp(x) / np.sum(np.exp(x))


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


np_erf = np.vectorize(math.erf)

# (expression, the same formula in numpy)
VALUE_CASES: list[tuple[str, Callable[[Any], Any]]] = [
    # arithmetic and broadcasting
    ("a + v", lambda n: n.a + n.v),
    ("v * u", lambda n: n.v * n.u),
    ("M + v", lambda n: n.M + n.v),                  # row broadcast, as numpy
    ("M * u - a", lambda n: n.M * n.u - n.a),
    ("v - u / a", lambda n: n.v - n.u / n.a),
    ("a - b - v", lambda n: n.a - n.b - n.v),
    ("a - (b - v)", lambda n: n.a - (n.b - n.v)),
    ("a / b / 2", lambda n: n.a / n.b / 2),
    ("a / (b / v)", lambda n: n.a / (n.b / n.v)),
    ("-v + +u", lambda n: -n.v + n.u),
    ("-(a - b) * (v - u)", lambda n: -(n.a - n.b) * (n.v - n.u)),
    ("v ** 2", lambda n: n.v**2),
    ("2 ** a", lambda n: 2**n.a),
    ("abs(M) ** u", lambda n: np.abs(n.M) ** n.u),
    ("e ** a + pi", lambda n: math.e**n.a + math.pi),
    ("1e-3 * a + 1.0e-3 + 0.001 + 2", lambda n: 0.001 * n.a + 0.002 + 2),
    # matrix products
    ("M @ v", lambda n: n.M @ n.v),
    ("w @ M", lambda n: n.w @ n.M),
    ("M @ N", lambda n: n.M @ n.N),
    ("N @ M", lambda n: n.N @ n.M),
    ("v @ u", lambda n: n.v @ n.u),
    ("transpose(M) @ w", lambda n: n.M.T @ n.w),
    # indexing
    ("M[1, 2]", lambda n: n.M[1, 2]),
    ("M[0]", lambda n: n.M[0]),
    ("M[-1, -3]", lambda n: n.M[-1, -3]),
    ("M[-1]", lambda n: n.M[-1]),
    ("M[1][0]", lambda n: n.M[1][0]),
    ("v[-1] * v[0]", lambda n: n.v[-1] * n.v[0]),
    ("N[2]", lambda n: n.N[2]),
    ("[a, b, 1][1]", lambda n: n.b),
    # list literals
    ("[a, b, a * b]", lambda n: np.array([n.a, n.b, n.a * n.b])),
    ("[[a, 1], [2, b]]", lambda n: np.array([[n.a, 1], [2, n.b]])),
    ("[v, u]", lambda n: np.array([n.v, n.u])),
    ("[M[0], v, u] @ v", lambda n: np.array([n.M[0], n.v, n.u]) @ n.v),
    ("transpose(M)", lambda n: n.M.T),
    ("transpose(v)", lambda n: n.v.T),
    ("transpose(a)", lambda n: n.a),
    # reductions
    ("sum(M)", lambda n: n.M.sum()),
    ("sum(a)", lambda n: n.a),
    ("mean(v)", lambda n: n.v.mean()),
    ("mean(M)", lambda n: n.M.mean()),
    ("dot(v, u)", lambda n: np.dot(n.v, n.u)),
    ("norm(v)", lambda n: np.linalg.norm(n.v)),
    ("norm(M)", lambda n: np.linalg.norm(n.M)),
    ("logsumexp(v)", lambda n: np_logsumexp(n.v)),
    ("logsumexp(M)", lambda n: np_logsumexp(n.M)),
    ("logsumexp(a)", lambda n: n.a),
    ("max(v)", lambda n: n.v.max()),
    ("min(M)", lambda n: n.M.min()),
    ("max(a)", lambda n: n.a),
    # vector maps
    ("softmax(v)", lambda n: np_softmax(n.v)),
    ("softmax(M[1])", lambda n: np_softmax(n.M[1])),
    ("log_softmax(v)", lambda n: n.v - np_logsumexp(n.v)),
    ("log_softmax(w)", lambda n: n.w - np_logsumexp(n.w)),
    # elementwise
    ("exp(v)", lambda n: np.exp(n.v)),
    ("log(abs(v))", lambda n: np.log(np.abs(n.v))),
    ("sqrt(abs(M))", lambda n: np.sqrt(np.abs(n.M))),
    ("abs(v)", lambda n: np.abs(n.v)),
    ("sin(M)", lambda n: np.sin(n.M)),
    ("cos(v)", lambda n: np.cos(n.v)),
    ("tan(v)", lambda n: np.tan(n.v)),
    ("tanh(M)", lambda n: np.tanh(n.M)),
    ("sigmoid(v)", lambda n: np_sigmoid(n.v)),
    ("softplus(M)", lambda n: np.log1p(np.exp(n.M))),
    ("relu(v)", lambda n: np.maximum(n.v, 0)),
    ("log1p(abs(v))", lambda n: np.log1p(np.abs(n.v))),
    ("expm1(v)", lambda n: np.expm1(n.v)),
    ("erf(M)", lambda n: np_erf(n.M)),
    ("sign(v)", lambda n: np.sign(n.v)),
    ("maximum(v, a)", lambda n: np.maximum(n.v, n.a)),
    ("minimum(M, v)", lambda n: np.minimum(n.M, n.v)),
    ("maximum(a, b)", lambda n: max(n.a, n.b)),
    ("minimum(v, u)", lambda n: np.minimum(n.v, n.u)),
    # a small model
    ("sigmoid(M @ v + w) * log(1 + exp(-w))",
     lambda n: np_sigmoid(n.M @ n.v + n.w) * np.log(1 + np.exp(-n.w))),
]


@pytest.mark.parametrize(("text", "numpy_formula"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_shape_and_value_agree_with_numpy(text: str, numpy_formula: Callable) -> None:
    value = build(text)
    expected = np.asarray(numpy_formula(N), dtype=float)
    assert value.shape == expected.shape
    assert value.dtype == object
    np.testing.assert_allclose(evaluate_value(value, SYMBOL_VALUES), expected, rtol=1e-12,
                               atol=1e-14)


def test_numbers_become_exact_rationals() -> None:
    assert build("0.1")[()] == sp.Rational(1, 10)
    for text in ("1e-3", "1.0e-3", "0.001"):
        assert build(text)[()] == sp.Rational(1, 1000)
    assert build("2**10")[()] == sp.Integer(1024)


@pytest.mark.parametrize("text", ["[a, b, a * b]", "[[a, 1], [2, b]]", "abs([a, b])",
                                  "sigmoid([v[0], 1])"])
def test_list_literal_elements_are_sympy_scalars(text: str) -> None:
    value = build(text)
    for item in value.flat:
        assert isinstance(item, sp.Expr)
        assert not item.atoms(sp.NDimArray)


def test_symbols_are_used_as_given_not_copied() -> None:
    assert build("v")[1] is ENVIRONMENT["v"][1]
    assert build("M[1, 2]")[()] is ENVIRONMENT["M"][1, 2]


@pytest.mark.parametrize(("shape", "text"), [((), "[]"), ((3,), "[3]"), ((2, 3), "[2, 3]")])
def test_shape_text(shape: tuple[int, ...], text: str) -> None:
    assert shape_text(np.empty(shape, dtype=object)) == text


# ----------------------------------------------------------------- errors


# (expression, fragments of the message, the quoted text, its column or None)
ERROR_CASES = [
    ("v + w", ["shapes [3] and [2] do not broadcast"], "v + w", 1),
    ("a * (M + w)", ["shapes [2, 3] and [2] do not broadcast"], "M + w", 6),
    ("M @ M", ["cannot matrix-multiply shapes [2, 3] and [2, 3]"], "M @ M", 1),
    ("a @ v", ["cannot matrix-multiply shapes [] and [3]"], "a @ v", 1),
    ("v @ w", ["cannot matrix-multiply shapes [3] and [2]"], "v @ w", 1),
    ("a + v[3]", ["index 3 is out of range for axis 0 of shape [3]"], "v[3]", 5),
    ("v[-4]", ["index -4 is out of range"], "v[-4]", 1),
    ("M[0, 3]", ["index 3 is out of range for axis 1 of shape [2, 3]"], "M[0, 3]", 1),
    ("v[0, 0]", ["2 index(es) into a value of shape [3]"], "v[0, 0]", 1),
    ("a[0]", ["1 index(es) into a value of shape []"], "a[0]", 1),
    ("v[a]", ["'a' is not an integer input", "dtype: int"], "v[a]", 1),
    ("v[0.5]", ["an index is integers and slices with integer bounds"], "v[0.5]", 1),
    ("M[0, 1, 2]", ["3 index(es) into a value of shape [2, 3]"], "M[0, 1, 2]", 1),
    ("v[0:5]", ["slice bound 5 is out of range for axis 0 of shape [3]"], "v[0:5]", 1),
    ("v[2:1]", ["the slice 2:1 of axis 0 (length 3) is empty"], "v[2:1]", 1),
    ("v[::0]", ["a slice step cannot be zero"], "v[::0]", 1),
    ("v[0:a]", ["an index is integers and slices with integer bounds"], "v[0:a]", 1),
    ("softmax(a)", ["expected a vector, got shape []"], "softmax(a)", 1),
    ("a * log_softmax(a)", ["expected a vector, got shape []"], "log_softmax(a)", 5),
    ("sum(softmax(M, axis=(0, 1)))", ["softmax works along one axis"], "softmax(M, axis=(0, 1))",
     5),
    ("dot(v, w)", ["dot needs two vectors of one length, got [3] and [2]"], "dot(v, w)", 1),
    ("dot(M, M)", ["dot needs two vectors"], "dot(M, M)", 1),
    ("sum([v, a])", ["a list literal must hold values of one shape"], "[v, a]", 5),
    ("sum([])", ["an empty list is not allowed"], "[]", 5),
    ("maximum(v, w)", ["do not broadcast"], "maximum(v, w)", 1),
    ("sigmod(a)", ["unknown function 'sigmod' (did you mean 'sigmoid'?)"], "sigmod(a)", 1),
    ("a + exp", ["'exp' is a function; call it as exp(...)"], "exp", 5),
    ("vv + 1", ["unknown name 'vv' (did you mean 'v'?)"], "vv", 1),
    ("a + zzz", ["unknown name 'zzz'; declared here: a, b, v, u, w, M, N"], "zzz", 5),
    ("exp(a, b)", ["exp takes 1 argument, got 2"], "exp(a, b)", 1),
    ("maximum(a)", ["maximum takes 2 arguments, got 1"], "maximum(a)", 1),
    ("sum(v, axis=a)", ["axis= of sum(...) must be a literal", "an integer or a tuple"],
     "a", 13),
    ("sum(v, axis=1)", ["axis 1 is out of range for a value of 1 axis"], "sum(v, axis=1)", 1),
    ("sum(M, axis=(1, -1))", ["names an axis twice"], "sum(M, axis=(1, -1))", 1),
    ("sum(v, keepdims=1)", ["keepdims= of sum(...) must be a literal: expected True or False"],
     "1", 17),
    ("norm(v, ord=3)", ["ord= of norm(...) must be a literal: expected 1, 2 or inf"], "3", 13),
    ("exp(v, axis=0)", ["exp(...) has no keyword 'axis'; it takes none"], "exp(v, axis=0)", 1),
    ("sum(v, axes=0)", ["sum(...) has no keyword 'axes'; it takes axis=, keepdims="],
     "sum(v, axes=0)", 1),
    ("sum(where(v > 0, v, w))", ["do not broadcast"], "where(v > 0, v, w)", 5),
    ("a + b.real", ["attribute access is not allowed"], "b.real", 5),
    ("sum((a, b))", ["a tuple is not allowed"], "(a, b)", 5),
    ("a + (a < b < a)", ["a chained comparison is not allowed"], "a < b < a", 6),
    ("a if b else a", ["if/else (write where(condition, a, b)) is not allowed"],
     "a if b else a", 1),
    ("a + 'text'", ["only numbers"], "'text'", 5),

    ("a +", ["not a valid expression"], None, None),
    ("a + \u03c9", ["character '\u03c9' at column 5 is not allowed"], None, None),
]


@pytest.mark.parametrize(("text", "fragments", "quoted", "column"), ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_errors_quote_the_offending_text_and_column(text: str, fragments: list[str],
                                                    quoted: str | None, column: int | None
                                                    ) -> None:
    error = failure(text)
    assert isinstance(error, ExpressionError)
    assert error.location == LOCATION
    assert str(error).startswith("s.yaml:3: model: ")
    for fragment in fragments:
        assert fragment in error.message
    if quoted is not None:
        assert f"in '{quoted}' (column {column})" in error.message


def test_column_counts_leading_whitespace() -> None:
    assert "in 'b.real' (column 7)" in failure("  a + b.real").message


def test_multi_line_text_is_one_expression() -> None:
    value = build("a +\n  b *\n  2")
    assert evaluate(value[()], SYMBOL_VALUES) == pytest.approx(N.a + N.b * 2)


def test_names_declared_elsewhere_are_explained() -> None:
    with pytest.raises(ExpressionError, match="'y_pred' cannot be used here: only in the loss"):
        parse(Text("a + y_pred", LOCATION), ENVIRONMENT, {}, {"y_pred": "only in the loss"})


def test_long_snippets_are_shortened() -> None:
    text = "a + " + " + ".join(["v"] * 30) + " + w"
    message = failure(text).message
    quoted = message.split(" in '", 1)[1].split("' (column", 1)[0]
    assert len(quoted) == 60 and quoted.endswith("...")


# ----------------------------------------------------------------- constant folding


@pytest.mark.parametrize(("text", "constants", "expected"), [
    ("2**10", {}, 1024.0),
    ("a**64", {}, N.a**64),
    ("a**-64", {}, N.a**-64),
    ("a**(2 * 32)", {}, N.a**64),
    ("a**c", {"c": 64.0}, N.a**0.5),   # c folds as 64; the symbol c is 0.5 in SYMBOL_VALUES
    ("exp(700) * a", {}, math.exp(700) * N.a),
    ("exp(c) * a", {"c": 1.0}, math.exp(0.5) * N.a),
    ("1e300 * 1e8 * a", {}, 1e308 * N.a),
])
def test_constants_within_limits_build(text: str, constants: dict[str, float], expected: float
                                       ) -> None:
    value = build(text, constants, C_ENVIRONMENT)
    assert evaluate(value[()], SYMBOL_VALUES) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("text", "constants", "kind", "fragment", "quoted"), [
    ("a**65", {}, LimitError, "exponent 65 is larger than 64 in magnitude", "a**65"),
    ("a**-65", {}, LimitError, "exponent -65 is larger than 64", "a**-65"),
    ("a**(60 + 5)", {}, LimitError, "exponent 65 is larger than 64", "a**(60 + 5)"),
    ("a**c", {"c": 65.0}, LimitError, "exponent 65 is larger than 64", "a**c"),
    ("a + exp(1000)", {}, LimitError, "overflows a float", "exp(1000)"),
    ("a + exp(c)", {"c": 1000.0}, LimitError, "overflows a float", "exp(c)"),
    ("a * exp(exp(10))", {}, LimitError, "overflows a float", "exp(exp(10))"),
    ("1e300 * 1e300 + a", {}, LimitError, "overflows a float", "1e300 * 1e300"),
    ("a + log(-1)", {}, ExpressionError, "not a real number", "log(-1)"),
    ("a + sqrt(-4)", {}, ExpressionError, "not a real number", "sqrt(-4)"),
    ("a + log(0)", {}, ExpressionError, "not a real number", "log(0)"),
    ("a + log(c - 2)", {"c": 1.0}, ExpressionError, "not a real number", "log(c - 2)"),
    ("a + (-8) ** (1/3)", {}, ExpressionError, "complex", "(-8) ** (1/3)"),
    ("a + 1/0", {}, ExpressionError, "division by zero", "1/0"),
    ("a + 0 ** -1", {}, ExpressionError, "division by zero", "0 ** -1"),
    ("a + 1 / (c - 2)", {"c": 2.0}, ExpressionError, "division by zero", "1 / (c - 2)"),
])
def test_constants_past_the_limits_are_rejected(text: str, constants: dict[str, float],
                                                kind: type, fragment: str, quoted: str) -> None:
    error = failure(text, constants, C_ENVIRONMENT)
    assert type(error) is kind
    assert fragment in error.message
    assert f"in '{quoted}'" in error.message


@pytest.mark.parametrize("text", [
    "a + 3**sum(10**8)",
    "a**sum(65)",
    "a**mean([100, 100])",
    "a + 2**[10**9][0]",
    "a + exp(sum(1000))",
    "a + exp(max([1000, 1]))",
])
def test_limits_hold_through_reductions_and_indexing(text: str) -> None:
    # validate cannot see through sum, lists and indexing; the build pass checks every
    # constant before SymPy computes it (3**10**8 exactly would not finish)
    with pytest.raises(LimitError):
        parse(Text(text, LOCATION), ENVIRONMENT, {})


ORACLE_FOLDS: dict[str, Callable[..., float]] = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs, "sin": math.sin,
    "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "sigmoid": _sigmoid,
    "softplus": lambda t: math.log1p(math.exp(t)), "relu": lambda t: max(t, 0.0),
    "log1p": math.log1p, "expm1": math.expm1, "erf": math.erf, "sign": _sign,
    "maximum": max, "minimum": min,
    "sinh": lambda t: (math.exp(t) - math.exp(-t)) / 2,
    "cosh": lambda t: (math.exp(t) + math.exp(-t)) / 2,
    "arctan": lambda t: math.asin(t / math.sqrt(1 + t * t)),
    "arcsin": lambda t: math.atan2(t, math.sqrt(1 - t * t)),
    "arccos": lambda t: math.atan2(math.sqrt(1 - t * t), t),
    "arcsinh": lambda t: math.copysign(math.log(abs(t) + math.sqrt(t * t + 1)), t),
    "arccosh": lambda t: math.log(t + math.sqrt(t * t - 1)),
    "arctanh": lambda t: 0.5 * math.log((1 + t) / (1 - t)),
    "where": lambda c, a, b: a if c != 0 else b,
    # numpy's clip: the middle of the three, and `high` where low > high
    "clip": lambda x, low, high: high if low > high else sorted((x, low, high))[1],
}
# where each function is defined: points outside are skipped
DOMAINS: dict[str, Callable[[float], bool]] = {
    "log": lambda t: t > 0, "sqrt": lambda t: t > 0, "arcsin": lambda t: abs(t) <= 1,
    "arccos": lambda t: abs(t) <= 1, "arccosh": lambda t: t >= 1,
    "arctanh": lambda t: abs(t) < 1,
}


@pytest.mark.parametrize("name", sorted(ORACLE_FOLDS))
def test_folds_agree_with_math(name: str) -> None:
    fold = FUNCTIONS[name].fold
    assert fold is not None
    for point in ((0.3, 1.7, 0.5), (2.5, 0.25, 3.0), (4.0, 4.0, -1.0), (-0.9, 0.8, 0.1),
                  (0.0, -0.4, 0.9)):
        arguments = point[: FUNCTIONS[name].arity]
        if not DOMAINS.get(name, lambda t: True)(arguments[0]):
            continue
        assert fold(*arguments) == pytest.approx(ORACLE_FOLDS[name](*arguments), rel=1e-12)
    if name in ("sign", "relu", "abs"):
        assert fold(-2.0) == ORACLE_FOLDS[name](-2.0)


def test_only_elementwise_functions_fold() -> None:
    assert {name for name, f in FUNCTIONS.items() if f.fold is not None} == set(ORACLE_FOLDS)


# ----------------------------------------------------------------- depth and length


def nested(kind: str, levels: int) -> str:
    """An expression `levels` operations deep."""
    if kind == "calls":
        return "exp(" * levels + "a" + ")" * levels
    if kind == "unary-minus":
        return "-" * levels + "a"
    if kind == "powers":
        return "a**(" * levels + "a" + ")" * levels
    text = "a"
    for level in range(levels):  # a+(a*(a+(...))): each operator a new level
        text = f"a{'+*'[level % 2]}({text})"
    return text


KINDS = ["calls", "unary-minus", "powers", "alternating"]


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_well_inside_the_limit_builds(kind: str) -> None:
    assert build(nested(kind, 98)).shape == ()


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_past_the_limit_is_rejected(kind: str) -> None:
    error = failure(nested(kind, 101))
    assert isinstance(error, LimitError)
    assert "nested more than 100 levels" in error.message


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_99_levels_builds(kind: str) -> None:
    assert build(nested(kind, 99)).shape == ()


@pytest.mark.parametrize("kind", KINDS)
def test_nesting_100_levels_builds(kind: str) -> None:
    assert build(nested(kind, 100)).shape == ()


def test_parentheses_are_not_levels() -> None:
    value = build("(" * 150 + "a" + ")" * 150)
    assert value[()] is ENVIRONMENT["a"][()]


def test_nested_calls_evaluate_correctly() -> None:
    value = build("tanh(" * 50 + "a" + ")" * 50)
    expected = N.a
    for _ in range(50):
        expected = math.tanh(expected)
    assert evaluate(value[()], SYMBOL_VALUES) == pytest.approx(expected, rel=1e-12)


def test_a_5000_term_chain_is_one_level() -> None:
    text = "+".join(["a"] * 5000)
    assert len(text) <= expressions.MAX_LENGTH
    assert build(text)[()] == 5000 * ENVIRONMENT["a"][()]


LETTERS = "abcdfghjkmnpqrstxyz"  # single-letter names; no `e`
CHAIN_ENVIRONMENT = {name: symbols_for(Variable(name, (), LOCATION)) for name in LETTERS}
CHAIN_VALUES = {value[()]: 0.9 + 0.01 * i for i, value in enumerate(CHAIN_ENVIRONMENT.values())}


def test_a_2000_term_sum_builds_flat_and_right() -> None:
    rng = np.random.default_rng(11)
    pairs = rng.integers(0, len(LETTERS), size=(2000, 2))
    signs = rng.choice(["+", "-"], size=2000)
    text = "".join(f"{s}{LETTERS[i]}*{LETTERS[j]}" for s, (i, j) in zip(signs, pairs,
                                                                         strict=True))
    assert len(text) <= expressions.MAX_LENGTH
    value = build(text, environment=CHAIN_ENVIRONMENT)[()]
    assert value.func is sp.Add
    numbers = [0.9 + 0.01 * LETTERS.index(letter) for letter in LETTERS]
    expected = math.fsum((1 if s == "+" else -1) * numbers[i] * numbers[j]
                         for s, (i, j) in zip(signs, pairs, strict=True))
    assert evaluate(value, CHAIN_VALUES) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_a_2000_factor_product_builds_and_is_right() -> None:
    rng = np.random.default_rng(12)
    letters = rng.integers(0, len(LETTERS), size=2000)
    operators = rng.choice(["*", "/"], size=2000)
    text = "2" + "".join(f"{o}{LETTERS[i]}" for o, i in zip(operators, letters, strict=True))
    value = build(text, environment=CHAIN_ENVIRONMENT)[()]
    log_expected = math.log(2) + math.fsum(
        (1 if o == "*" else -1) * math.log(0.9 + 0.01 * i)
        for o, i in zip(operators, letters, strict=True))
    assert math.log(evaluate(value, CHAIN_VALUES)) == pytest.approx(log_expected, rel=1e-10)


def test_length_limit_is_checked_first() -> None:
    error = failure("a+" * 5000 + "a")
    assert isinstance(error, LimitError)
    assert "10,001 characters" in error.message


# ----------------------------------------------------------------- names_used


def test_names_used_lists_the_declared_names_mentioned() -> None:
    used = names_used(Text("y_pred * w[0] + exp(x) - sum(M @ v)", LOCATION))
    assert {"y_pred", "w", "x", "M", "v"} <= used


def test_names_used_does_not_build_or_check_names() -> None:
    assert names_used(Text("undeclared + 1", LOCATION)) == {"undeclared"}


def test_names_used_leaves_out_function_names() -> None:
    used = names_used(Text("y_pred * w[0] + exp(x) - sum(M @ v)", LOCATION))
    assert used == {"y_pred", "w", "x", "M", "v"}


@pytest.mark.parametrize("text", ["a**2 + log([-1, a])[0]", "a + sum(sqrt([-1, a]))"])
def test_a_complex_constant_inside_a_larger_array_is_refused(text: str) -> None:
    # found by fuzzing: the constant element of a non-constant array was never checked
    # alone, and log(-1) became pi*I in a real objective
    with pytest.raises(ExpressionError, match="complex number"):
        parse(Text(text, LOCATION), ENVIRONMENT, {})
