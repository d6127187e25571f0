"""Fuzzing, bounded to a few minutes: the parser, the gradients and the command line.

Three properties, each driven by Hypothesis:

1. Parsing is faithful. Expression trees are drawn from the grammar of SPEC.md,
   well-shaped by construction (the strategy tracks the shape of every node).
   Each tree is printed as spec text (minimal parentheses by Python precedence,
   plus some extra ones) and also built into SymPy directly by a builder written
   here. `parse` of the text must agree with that builder numerically at random
   points (both evaluated by mpmath, not by SymPy's or gdcheck's `evalf`); it must
   refuse the text when a constant part is not a finite real float, an exponent
   is past the limit or the whole divides by zero, and accept it otherwise
   (either will do for constants below float range).
2. The exact gradient of a random bare objective of 1–3 scalar parameters agrees
   with central finite differences wherever both are defined and smooth.
3. The command line never shows a traceback, never hangs and exits 0, 1 or 2,
   whatever the file holds: random text and bytes, random YAML, bundled specs
   with random fields replaced, and bundled specs edited at random.
"""

from __future__ import annotations

import copy
import json
import math
import operator
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy as sp
import yaml
from guards import Hang, alarm
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from sympy.codegen.cfunctions import expm1, log1p

import gdcheck
from gdcheck.cli import main
from gdcheck.engine.verdicts import verify_gradient
from gdcheck.errors import Location, SpecError
from gdcheck.spec import Text, Variable
from gdcheck.spec import parse as parse_spec
from gdcheck.symbolic.expressions import parse
from gdcheck.symbolic.functions import (
    AbsoluteValue,
    LogSumExp,
    Maximum,
    Minimum,
    Relu,
    Sigmoid,
    Sign,
    Softplus,
)
from gdcheck.symbolic.objective import symbols_for

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "specs").glob("*.yaml")) + sorted(
    (ROOT / "examples" / "failing").glob("*.yaml"))
LOCATION = Location("fuzz.yaml", 1, "objective")

SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much, HealthCheck.data_too_large]


# ----------------------------------------------------------------- expression trees
#
# A tree node knows its shape, how it reads as spec text and its value as an object
# array of SymPy scalars (built here, independently of gdcheck's parser: nested binary
# operations, numpy broadcasting of Python operators, plain loops for @).

ADD, MUL, UNARY, POWER, ATOM = 1, 2, 3, 4, 5  # Python's precedence levels, loosest first

Shape = tuple[int, ...]
Environment = dict[str, np.ndarray]


def scalar(item: Any) -> np.ndarray:
    value = np.empty((), dtype=object)
    value[()] = item
    return value


def as_value(item: Any) -> np.ndarray:
    return item if isinstance(item, np.ndarray) else scalar(item)


def elementwise(function: Callable[..., Any], *values: np.ndarray) -> np.ndarray:
    return as_value(np.frompyfunc(function, len(values), 1)(*values))


class Node:
    shape: Shape
    precedence = ATOM

    def text(self, sep: str) -> str:
        raise NotImplementedError

    def value(self, environment: Environment) -> np.ndarray:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def constant(self) -> bool:
        return all(child.constant() for child in self.children())

    def operand(self, child: Node, least: int, sep: str) -> str:
        """A child's text, parenthesized when it binds looser than `least`."""
        text = child.text(sep)
        return text if child.precedence >= least else f"({text})"


@dataclass(frozen=True)
class Number(Node):
    literal: str
    shape: Shape = ()

    def text(self, sep: str) -> str:
        return self.literal

    def value(self, environment: Environment) -> np.ndarray:
        fraction = Fraction(self.literal)
        return scalar(sp.Rational(fraction.numerator, fraction.denominator))


@dataclass(frozen=True)
class Name(Node):
    name: str
    shape: Shape
    is_constant: bool = False

    def text(self, sep: str) -> str:
        return self.name

    def value(self, environment: Environment) -> np.ndarray:
        return environment[self.name]

    def constant(self) -> bool:
        return self.is_constant


@dataclass(frozen=True)
class Paren(Node):
    inner: Node

    @property
    def shape(self) -> Shape:  # type: ignore[override]
        return self.inner.shape

    def text(self, sep: str) -> str:
        return f"({self.inner.text(sep)})"

    def value(self, environment: Environment) -> np.ndarray:
        return self.inner.value(environment)

    def children(self) -> tuple[Node, ...]:
        return (self.inner,)


BINARY: dict[str, tuple[int, Callable[[Any, Any], Any]]] = {
    "+": (ADD, operator.add), "-": (ADD, operator.sub),
    "*": (MUL, operator.mul), "/": (MUL, operator.truediv),
}


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node
    shape: Shape

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return MUL if self.op == "@" else BINARY[self.op][0]

    def text(self, sep: str) -> str:
        # left-associative: the left operand may bind as loosely as this one, the right not
        return (f"{self.operand(self.left, self.precedence, sep)}{sep}{self.op}{sep}"
                f"{self.operand(self.right, self.precedence + 1, sep)}")

    def value(self, environment: Environment) -> np.ndarray:
        left, right = self.left.value(environment), self.right.value(environment)
        if self.op == "@":
            return matmul(left, right)
        return elementwise(BINARY[self.op][1], left, right)

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


def matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    rows = left.reshape(1, -1) if left.ndim == 1 else left
    columns = right.reshape(-1, 1) if right.ndim == 1 else right
    product = np.empty((rows.shape[0], columns.shape[1]), dtype=object)
    for i in range(rows.shape[0]):
        for j in range(columns.shape[1]):
            product[i, j] = reduce(operator.add, [rows[i, k] * columns[k, j]
                                                  for k in range(rows.shape[1])])
    shape = left.shape[:-1] + right.shape[1:]
    return as_value(product.reshape(shape) if shape else product[0, 0])


@dataclass(frozen=True)
class Unary(Node):
    op: str
    inner: Node
    precedence = UNARY

    @property
    def shape(self) -> Shape:  # type: ignore[override]
        return self.inner.shape

    def text(self, sep: str) -> str:
        return f"{self.op}{self.operand(self.inner, UNARY, sep)}"

    def value(self, environment: Environment) -> np.ndarray:
        inner = self.inner.value(environment)
        return elementwise(operator.neg, inner) if self.op == "-" else inner

    def children(self) -> tuple[Node, ...]:
        return (self.inner,)


@dataclass(frozen=True)
class Power(Node):
    base: Node
    exponent: int
    parenthesized: bool  # write x**(-1) rather than x**-1
    precedence = POWER

    @property
    def shape(self) -> Shape:  # type: ignore[override]
        return self.base.shape

    def text(self, sep: str) -> str:
        exponent = f"({self.exponent})" if self.parenthesized else str(self.exponent)
        # right-associative, and -x**2 is -(x**2): the base must be an atom
        return f"{self.operand(self.base, ATOM, sep)}{sep}**{sep}{exponent}"

    def value(self, environment: Environment) -> np.ndarray:
        return elementwise(lambda item: item ** sp.Integer(self.exponent),
                           self.base.value(environment))

    def children(self) -> tuple[Node, ...]:
        return (self.base,)


def _sum(items: list[Any]) -> Any:
    return reduce(operator.add, items)


def _softmax(v: np.ndarray) -> np.ndarray:
    total = _sum([sp.exp(item) for item in v])
    return np.array([sp.exp(item) / total for item in v] + [None], dtype=object)[:-1]


def _log_softmax(v: np.ndarray) -> np.ndarray:
    total = sp.log(_sum([sp.exp(item) for item in v]))
    return np.array([item - total for item in v] + [None], dtype=object)[:-1]


ELEMENTWISE: dict[str, Callable[[Any], Any]] = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "abs": AbsoluteValue, "sin": sp.sin,
    "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "sigmoid": Sigmoid, "softplus": Softplus,
    "relu": Relu, "log1p": lambda x: sp.log(1 + x), "expm1": lambda x: sp.exp(x) - 1,
    "erf": sp.erf, "sign": Sign,
}
PAIRWISE: dict[str, Callable[[Any, Any], Any]] = {"maximum": Maximum, "minimum": Minimum}
REDUCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "sum": _sum,
    "mean": lambda items: _sum(items) / len(items),
    "norm": lambda items: sp.sqrt(_sum([item**2 for item in items])),
    "logsumexp": lambda items: items[0] if len(items) == 1 else LogSumExp(*items),
    "max": lambda items: reduce(Maximum, items[::-1]),  # folded the other way from gdcheck
    "min": lambda items: reduce(Minimum, items[::-1]),
}
VECTOR_MAPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softmax": _softmax, "log_softmax": _log_softmax,
}


@dataclass(frozen=True)
class Call(Node):
    function: str
    arguments: tuple[Node, ...]
    shape: Shape

    def text(self, sep: str) -> str:
        return f"{self.function}({f',{sep}'.join(a.text(sep) for a in self.arguments)})"

    def value(self, environment: Environment) -> np.ndarray:
        args = [argument.value(environment) for argument in self.arguments]
        name = self.function
        if name in ELEMENTWISE:
            return elementwise(ELEMENTWISE[name], *args)
        if name in PAIRWISE:
            return elementwise(PAIRWISE[name], *args)
        if name in REDUCTIONS:
            return scalar(REDUCTIONS[name](list(args[0].flat)))
        if name == "dot":
            return scalar(_sum([x * y for x, y in zip(args[0], args[1], strict=True)]))
        if name == "transpose":
            return args[0].T.copy()
        return VECTOR_MAPS[name](args[0])

    def children(self) -> tuple[Node, ...]:
        return self.arguments


@dataclass(frozen=True)
class Index(Node):
    inner: Node
    index: tuple[int, ...]
    shape: Shape

    def text(self, sep: str) -> str:
        return f"{self.operand(self.inner, ATOM, sep)}[{f',{sep}'.join(map(str, self.index))}]"

    def value(self, environment: Environment) -> np.ndarray:
        return as_value(self.inner.value(environment)[self.index])

    def children(self) -> tuple[Node, ...]:
        return (self.inner,)


@dataclass(frozen=True)
class Literal(Node):
    items: tuple[Node, ...]
    shape: Shape

    def text(self, sep: str) -> str:
        return f"[{f',{sep}'.join(item.text(sep) for item in self.items)}]"

    def value(self, environment: Environment) -> np.ndarray:
        result = np.empty(self.shape, dtype=object)
        for i, item in enumerate(self.items):
            value = item.value(environment)
            result[i] = value[()] if value.ndim == 0 else value
        return result

    def children(self) -> tuple[Node, ...]:
        return self.items


# ----------------------------------------------------------------- the tree strategy

NUMBERS = ("2", "1", "0", "3", "0.5", "10", "0.25", "1.5", "1e-3", "2.5e-1", "1.0e2", "7")
EXPONENTS = (2, 1, 3, -1, 0, -2, 4, 5, -3, 64, -64, 65, -65)
LENGTHS = (2, 3)
SHAPES: tuple[Shape, ...] = ((), (2,), (3,), (2, 3), (3, 2), (2, 2), (3, 3))


@dataclass(frozen=True)
class Grammar:
    """The names a tree may use, by shape (constants are scalar and foldable)."""

    names: dict[Shape, tuple[str, ...]]
    constants: tuple[str, ...] = ()


@st.composite
def trees(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    """A tree of exactly `shape`, at most `depth` operations deep."""
    options = ["leaf"]
    if depth > 0:
        options += ["binary", "power", "unary", "elementwise", "pairwise", "paren"]
        options += {0: ["reduction", "dot", "index", "matmul"],
                    1: ["vector_map", "row", "matmul", "literal"],
                    2: ["transpose", "matmul", "literal"]}[len(shape)]
    kind = draw(st.sampled_from(options))
    node = PRODUCTIONS[kind](draw, shape, grammar, depth - 1)
    assert node.shape == shape, (kind, node)
    return node


def _leaf(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    leaves: list[Node] = [Name(name, shape) for name in grammar.names.get(shape, ())]
    if shape == ():
        leaves += [Number(literal) for literal in NUMBERS]
        leaves += [Name(name, (), is_constant=True) for name in ("pi", "e", *grammar.constants)]
    if not leaves:  # no name of this shape: a literal of leaves
        return _literal(draw, shape, grammar, 0)
    return draw(st.sampled_from(leaves))


def _operand_shapes(draw: Any, shape: Shape) -> tuple[Shape, Shape]:
    """Two shapes that broadcast to `shape`: each `shape`, a scalar or (for a matrix) a row."""
    candidates = [shape, ()] + ([shape[1:]] if len(shape) == 2 else [])
    left, right = draw(st.sampled_from(candidates)), draw(st.sampled_from(candidates))
    if shape not in (left, right):
        right = shape
    return left, right


def _binary(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    op = draw(st.sampled_from(list(BINARY)))
    left, right = _operand_shapes(draw, shape)
    return Binary(op, draw(trees(left, grammar, depth)), draw(trees(right, grammar, depth)),
                  shape)


def _power(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    exponent = draw(st.sampled_from(EXPONENTS))
    return Power(draw(trees(shape, grammar, depth)), exponent,
                 exponent < 0 and draw(st.booleans()))


def _unary(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    return Unary(draw(st.sampled_from("-+")), draw(trees(shape, grammar, depth)))


def _elementwise(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    name = draw(st.sampled_from(list(ELEMENTWISE)))
    return Call(name, (draw(trees(shape, grammar, depth)),), shape)


def _pairwise(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    name = draw(st.sampled_from(list(PAIRWISE)))
    left, right = _operand_shapes(draw, shape)
    return Call(name, (draw(trees(left, grammar, depth)), draw(trees(right, grammar, depth))),
                shape)


def _paren(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    return Paren(draw(trees(shape, grammar, depth)))


def _reduction(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    name = draw(st.sampled_from(list(REDUCTIONS)))
    return Call(name, (draw(trees(draw(st.sampled_from(SHAPES)), grammar, depth)),), ())


def _dot(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    n = draw(st.sampled_from(LENGTHS))
    return Call("dot", (draw(trees((n,), grammar, depth)), draw(trees((n,), grammar, depth))),
                ())


def _index(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    inner = draw(trees(draw(st.sampled_from(SHAPES[1:])), grammar, depth))
    index = tuple(draw(st.integers(-size, size - 1)) for size in inner.shape)
    return Index(inner, index, ())


def _row(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    rows = draw(st.sampled_from(LENGTHS))
    return Index(draw(trees((rows,) + shape, grammar, depth)),
                 (draw(st.integers(-rows, rows - 1)),), shape)


def _matmul(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    inner = draw(st.sampled_from(LENGTHS))
    if len(shape) == 0:
        left, right = (inner,), (inner,)
    elif len(shape) == 2:
        left, right = (shape[0], inner), (inner, shape[1])
    elif draw(st.booleans()):
        left, right = (shape[0], inner), (inner,)
    else:
        left, right = (inner,), (inner, shape[0])
    return Binary("@", draw(trees(left, grammar, depth)), draw(trees(right, grammar, depth)),
                  shape)


def _vector_map(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    name = draw(st.sampled_from(list(VECTOR_MAPS)))
    return Call(name, (draw(trees(shape, grammar, depth)),), shape)


def _transpose(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    return Call("transpose", (draw(trees(shape[::-1], grammar, depth)),), shape)


def _literal(draw: Any, shape: Shape, grammar: Grammar, depth: int) -> Node:
    items = tuple(draw(trees(shape[1:], grammar, depth)) for _ in range(shape[0]))
    return Literal(items, shape)


PRODUCTIONS: dict[str, Callable[[Any, Shape, Grammar, int], Node]] = {
    "leaf": _leaf, "binary": _binary, "power": _power, "unary": _unary,
    "elementwise": _elementwise, "pairwise": _pairwise, "paren": _paren,
    "reduction": _reduction, "dot": _dot, "index": _index, "row": _row, "matmul": _matmul,
    "vector_map": _vector_map, "transpose": _transpose, "literal": _literal,
}


# ----------------------------------------------------------------- numbers from SymPy


class Undefined(Exception):
    """A value that is not a number (a pole, or a real-only function of a complex value)."""


class Unsure(Exception):
    """A value this evaluator will not compute: a function of a huge argument (mpmath
    would need that many bits), or a node type it does not know."""


def _real(function: Callable[..., Any]) -> Callable[..., Any]:
    def real_only(*args: Any) -> Any:
        if any(isinstance(arg, mpmath.mpc) and arg.imag != 0 for arg in args):
            raise Undefined
        return function(*[mpmath.re(arg) for arg in args])

    return real_only


# Each SymPy node type as mpmath computes it, at MP_DIGITS: an evaluator that shares
# nothing with gdcheck (in particular not the functions' own `_eval_evalf`).
MP_DIGITS = 40
MP_LARGEST_ARGUMENT = 2.0**64
MP_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    sp.Add: lambda *terms: mpmath.fsum(terms),
    sp.Mul: lambda *factors: mpmath.fprod(factors),
    sp.Pow: mpmath.power,
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
    sp.tan: mpmath.tan, sp.tanh: mpmath.tanh, sp.erf: mpmath.erf,
    sp.cot: mpmath.cot, sp.sec: mpmath.sec, sp.csc: mpmath.csc,  # tan(x + pi/2) is -cot(x)
    sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh, sp.coth: mpmath.coth, sp.erfc: mpmath.erfc,
    log1p: mpmath.log1p, expm1: mpmath.expm1,
    Sigmoid: _real(lambda x: 1 / (1 + mpmath.exp(-x))),
    Softplus: _real(lambda x: mpmath.log1p(mpmath.exp(x))),
    Relu: _real(lambda x: max(x, mpmath.mpf(0))),
    Sign: _real(mpmath.sign), sp.sign: _real(mpmath.sign),
    AbsoluteValue: _real(abs), sp.Abs: abs,
    Maximum: _real(max), Minimum: _real(min),
    LogSumExp: lambda *terms: mpmath.log(mpmath.fsum(mpmath.exp(t) for t in terms)),
}


def mp_value(expression: Any, values: dict[sp.Symbol, Any], memo: dict[Any, Any]) -> Any:
    if expression in memo:
        return memo[expression]
    if expression.is_Symbol:
        result = values[expression]
    elif expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise Undefined
    elif expression.is_Rational:
        result = mpmath.mpf(expression.p) / expression.q
    elif expression.is_Float:
        result = mpmath.mpf(expression)
    elif expression.is_NumberSymbol or expression is sp.I:
        result = mpmath.mpmathify(complex(sp.N(expression, MP_DIGITS + 10))) if (
            expression is sp.I) else mpmath.mpf(sp.N(expression, MP_DIGITS + 10))
    else:
        args = [mp_value(arg, values, memo) for arg in expression.args]
        kind = type(expression)
        if kind not in MP_FUNCTIONS:
            raise Unsure
        huge = [abs(arg) > MP_LARGEST_ARGUMENT for arg in args]
        if kind is sp.Pow and huge[1] or kind not in (sp.Add, sp.Mul, sp.Pow) and any(huge):
            raise Unsure
        result = MP_FUNCTIONS[kind](*args)
    memo[expression] = result
    return result


def number(expression: Any, values: dict[sp.Symbol, Any] | None = None) -> complex | None:
    """The value of a SymPy expression at `values` (mpmath numbers), or None if it has
    none or it is not finite."""
    try:
        value = exact_number(expression, values)
    except (Undefined, Unsure):
        return None
    return value if math.isfinite(value.real) and math.isfinite(value.imag) else None


def exact_number(expression: Any, values: dict[sp.Symbol, Any] | None = None) -> complex:
    """The value (inf past float range), raising Undefined or Unsure."""
    try:
        with mpmath.workdps(MP_DIGITS):
            return complex(mp_value(sp.sympify(expression), values or {}, {}))
    except (ZeroDivisionError, ValueError, TypeError):
        raise Undefined from None
    except OverflowError:
        return complex(math.inf)


def close(a: complex, b: complex, rtol: float = 1e-9, atol: float = 1e-15) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + atol


def not_finite(expression: Any) -> bool:
    return bool(expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo))


def too_large(node: Node) -> bool:
    """Whether the tree has an exponent past the limit of SPEC.md (64 in magnitude)."""
    return (isinstance(node, Power) and abs(node.exponent) > 64) or any(
        too_large(child) for child in node.children())


FLOAT_MAX = float(np.finfo(float).max)
FLOAT_TINY = float(np.finfo(float).tiny)


# A constant is a normal float (FINE); or not a finite real float (BAD: must be refused);
# or UNSURE: below float range (gdcheck may fold it to 0.0, then refuse what follows, as in
# log(1e-300**2)), or too large for this evaluator: either outcome will do.
FINE, UNSURE, BAD = 0, 1, 2


def constant_kind(item: Any, constants: dict[sp.Symbol, Any]) -> int:
    try:
        value = exact_number(item, constants)
    except Undefined:
        return BAD
    except Unsure:
        return UNSURE
    if not (math.isfinite(value.real) and value.imag == 0 and abs(value.real) <= FLOAT_MAX):
        return BAD
    return UNSURE if 0 < abs(value.real) < FLOAT_TINY else FINE


def worst_constant(node: Node, environment: Environment, constants: dict[sp.Symbol, Any], *,
                   elements: bool = False) -> int:
    """The worst kind of constant part of the tree; with `elements`, constant elements of
    arrays that are not constant as a whole count too (`log([-1, a])` holds log(-1))."""
    worst = max((worst_constant(child, environment, constants, elements=elements)
                 for child in node.children()), default=FINE)
    if worst == BAD or isinstance(node, (Number, Name)) or not (elements or node.constant()):
        return worst
    return max([worst] + [constant_kind(item, constants) for item in node.value(environment).flat
                          if sp.sympify(item).free_symbols <= set(constants)])


# ----------------------------------------------------------------- 1. parse = direct build

NAMES: dict[Shape, tuple[str, ...]] = {
    (): ("a", "b", "c"), (2,): ("w",), (3,): ("v", "u"), (2, 3): ("M",), (3, 2): ("N",),
    (2, 2): ("P",), (3, 3): ("Q",),
}
FULL = Grammar(NAMES, constants=("lam",))
# Scalars only from numbers and constants: constant folding, overflow and complex constants
CONSTANT_SCALARS = Grammar({shape: names for shape, names in NAMES.items() if shape},
                           constants=("lam",))
LAM = 0.5
ENVIRONMENT: Environment = {name: symbols_for(Variable(name, shape, LOCATION))
                            for shape, names in NAMES.items() for name in names}
ENVIRONMENT["lam"] = symbols_for(Variable("lam", (), LOCATION))
ORACLE_ENVIRONMENT: Environment = {**ENVIRONMENT, "pi": scalar(sp.pi), "e": scalar(sp.E)}
LAM_VALUE = {ENVIRONMENT["lam"][()]: mpmath.mpf(LAM)}
PARAMETER_SYMBOLS = [s for name, value in ENVIRONMENT.items() if name != "lam"
                     for s in value.flat]


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW)
@given(shape=st.sampled_from(SHAPES), grammar=st.sampled_from([FULL, CONSTANT_SCALARS]),
       data=st.data(), sep=st.sampled_from([" ", "", "\n  ", "\t"]), seed=st.integers(0, 2**32 - 1))
def test_parse_agrees_with_a_direct_build(shape: Shape, grammar: Grammar, data: Any, sep: str,
                                          seed: int) -> None:
    tree = data.draw(trees(shape, grammar, depth=4), label="tree")
    text = tree.text(sep)
    note(f"text: {text}")
    expected = tree.value(ORACLE_ENVIRONMENT)
    constants = worst_constant(tree, ORACLE_ENVIRONMENT, LAM_VALUE)
    must_refuse = too_large(tree) or constants == BAD or any(
        not_finite(item) for item in expected.flat)
    # A bad constant element of an array that is not constant as a whole is refused where it
    # reaches the result; one indexed away need not be (and overflow is not caught: a known
    # bug, see test_constant_elements_of_arrays_are_checked).
    may_refuse = must_refuse or constants == UNSURE or worst_constant(
        tree, ORACLE_ENVIRONMENT, LAM_VALUE, elements=True) == BAD
    try:
        parsed = parse(Text(text, LOCATION), ENVIRONMENT, {"lam": LAM})
    except SpecError as error:
        assert may_refuse, f"refused a valid expression {text!r}: {error}"
        event("refused (constant overflow, complex or division by zero)")
        return
    assert not must_refuse, f"accepted {text!r}, which has a non-finite or complex constant part"
    assert parsed.shape == shape, f"{text!r}: shape {parsed.shape}, expected {shape}"
    rng = np.random.default_rng(seed)
    compared = 0
    for _ in range(3):
        point = {symbol: mpmath.mpf(round(float(rng.uniform(-2, 2)), 3))
                 for symbol in PARAMETER_SYMBOLS}
        point.update(LAM_VALUE)
        for got, want in zip(parsed.flat, expected.flat, strict=True):
            left, right = number(got, point), number(want, point)
            if left is None or right is None:
                continue
            compared += 1
            assert close(left, right), (f"{text!r} at {point}: parse gives {got} = {left}, "
                                        f"the direct build {want} = {right}")
    event(f"compared {'some' if compared else 'no'} values")


# ----------------------------------------------------------------- 2. gradient = finite differences

PARAMETERS = ("a", "b", "c")
SPEC_TEMPLATE = """\
gdcheck: 1
name: fuzz-gradient
constants: {{lam: 0.5}}
parameters:
{parameters}
objective: {objective}
optimizer: {{method: gd, learning_rate: 0.01, steps: 10}}
"""


@st.composite
def objectives(draw: Any) -> tuple[int, Node]:
    count = draw(st.integers(1, 3))
    grammar = Grammar({(): PARAMETERS[:count]}, constants=("lam",))
    return count, draw(trees((), grammar, depth=4))


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW)
@given(objective=objectives(),
       points=st.lists(st.lists(st.floats(-2, 2), min_size=3, max_size=3), min_size=3,
                       max_size=3))
def test_gradient_agrees_with_finite_differences(objective: tuple[int, Node],
                                                 points: list[list[float]]) -> None:
    count, tree = objective
    text = tree.text(" ")
    note(f"objective: {text}")
    # constants that are not finite real floats are test 1's business
    assume(worst_constant(tree, ORACLE_ENVIRONMENT, LAM_VALUE, elements=True) != BAD)
    spec_text = SPEC_TEMPLATE.format(
        parameters="\n".join(f"  {name}: {{init: uniform(-2, 2)}}" for name in PARAMETERS[:count]),
        objective=json.dumps(text))
    try:
        problem = gdcheck.compile(parse_spec(spec_text, Path("fuzz-gradient.yaml")))
    except SpecError:
        assume(False)  # divides by zero somewhere: test 1's business
    checked = 0
    for point in points:
        x = np.array(point[:count])
        if np.any((x != 0) & (np.abs(x) < 1e-100)):
            # a known limit: x/y² in a quotient's exact derivative overflows below ~1e-100
            continue
        with np.errstate(all="ignore"):
            loss, gradient = problem.loss(x), problem.gradient(x)
        if not (np.isfinite(loss) and np.all(np.isfinite(gradient))):
            continue
        found = verify_gradient(problem.loss, x, gradient, rtol=1e-6)
        if found.verdict == "fail" and problem.crosses_kink(x, found.steps):
            continue   # the stencil straddles a kink: the difference says nothing
        assert found.verdict != "fail", f"{text!r} at {x.tolist()}: {found.reason}"
        checked += found.verdict == "pass"
    assume(checked > 0)


# ----------------------------------------------------------------- 3. the command line

TIME_LIMIT = 5.0     # seconds per derive: a hang guard, not a speed test
ALARM_AFTER = 6.0    # interrupts a hang that the time check alone would wait out
VERIFY_TIMEOUT = 20  # --timeout of verify runs, per spec




@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the bundled specs' data, so relative data paths resolve."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "specs" / "data", folder / "data")
    return folder


def run_cli(arguments: list[str], content: bytes, folder: Path, capture: Any,
            limit: float = TIME_LIMIT, alarm_after: float = ALARM_AFTER) -> None:
    """Run `gdcheck <arguments> spec.yaml` in-process on `content`; assert it behaved."""
    path = folder / "spec.yaml"
    path.write_bytes(content)
    capture.readouterr()
    start = time.perf_counter()
    status: int | None = None
    crash: BaseException | None = None
    try:
        with alarm(alarm_after):
            status = main([arguments[0], str(path), *arguments[1:]])
    except Hang:
        pass
    except Exception as error:  # noqa: BLE001 - reported below with the spec
        crash = error
    elapsed = time.perf_counter() - start
    out, err = capture.readouterr()
    shown = content[:3000].decode("utf-8", "replace")
    if crash is not None:
        raise AssertionError(f"gdcheck {arguments[0]} raised {crash!r} on:\n{shown}") from crash
    assert status is not None, (
        f"gdcheck {arguments[0]}: no answer after {alarm_after} s on:\n{shown}")
    assert status in (0, 1, 2), f"exit status {status}; stderr: {err[-1000:]}\nspec:\n{shown}"
    # a crash in a child shows as an internal error, not a traceback: both are bugs
    assert "Traceback" not in err and "internal error" not in err, \
        f"{err[-3000:]}\nspec:\n{shown}"
    assert elapsed < limit, f"took {elapsed:.1f} s on:\n{shown}"
    event(f"exit status {status}")


SPEC_KEYS = ("gdcheck", "name", "description", "constants", "parameters", "inputs", "target",
             "model", "loss", "reduction", "penalty", "objective", "data", "optimizer",
             "checks", "expect", "shape", "init", "generate", "n", "seed", "truth", "noise",
             "labels", "csv", "columns", "npz", "inline", "method", "learning_rate", "steps",
             "tolerance", "momentum", "gradient", "descent", "convergence", "hessian", "convex",
             "examples", "rtol", "atol", "runs", "grad_tol", "minimum", "value", "tol", "x",
             "y", "w", "b", "a")
TRICKY_STRINGS = ("normal(0, 1)", "uniform(-1, 1)", "zeros", "constant(2)", "bernoulli",
                  "categorical", "mean", "sum", "gd", "adam", "a + b", "sum(w**2)",
                  "__class__", "__import__('os')", "exp(1000)", "1e999", "nan", "-inf", "",
                  "data/ridge.csv", "data", "/dev/null", ".", "y_pred", "[1, 2]", "a" * 200)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.integers(),
                    st.floats(), st.sampled_from(TRICKY_STRINGS), st.text(max_size=12))
YAML_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=8)), children,
                        max_size=5)),
    max_leaves=25)


DERIVE_FLAGS = st.sampled_from([[], ["--hessian"], ["--latex"], ["--inline"]])


def dump(document: Any) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                          default_flow_style=None).encode("utf-8")


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(document=YAML_VALUES | st.dictionaries(st.sampled_from(SPEC_KEYS), YAML_VALUES,
                                              max_size=8))
def test_random_yaml_is_refused_calmly(document: Any, workdir: Path, capsys: Any) -> None:
    run_cli(["derive"], dump(document), workdir, capsys)


BUNDLED_DOCUMENTS = {path.name: yaml.safe_load(path.read_text()) for path in BUNDLED}


def _places(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a YAML document (keys and list positions)."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _places(value, prefix + (key,))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            found += _places(value, prefix + (i,))
    return found


@st.composite
def edited_documents(draw: Any) -> bytes:
    """A bundled spec with 1-3 values replaced, deleted, renamed or wrapped in a list."""
    document = copy.deepcopy(BUNDLED_DOCUMENTS[draw(st.sampled_from(list(BUNDLED_DOCUMENTS)))])
    for _ in range(draw(st.integers(1, 3))):
        places = _places(document)
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent = reduce(lambda node, key: node[key], place[:-1], document)
        key = place[-1]
        how = draw(st.sampled_from(["replace", "delete", "rename", "wrap", "number"]))
        if how == "replace":
            parent[key] = draw(YAML_VALUES)
        elif how == "delete":
            del parent[key]
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(SPEC_KEYS) | st.text(max_size=8))] = parent.pop(key)
        elif how == "wrap":
            parent[key] = [parent[key]]
        else:
            parent[key] = draw(st.sampled_from([0, -1, 1, 2**31, 10**30, 1e-300, 1e300,
                                                float("nan"), float("inf"), 0.5, True]))
    return dump(document)


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW)
@given(content=edited_documents(), flags=DERIVE_FLAGS)
def test_bundled_specs_with_edited_fields_never_crash(content: bytes, flags: list[str],
                                                      workdir: Path, capsys: Any) -> None:
    run_cli(["derive", *flags], content, workdir, capsys)


TRICKY_TOKENS = (
    "__class__", "(", ")", "[", "]", "{", "}", "**", "*", "@", "1e999", "-1e999",
    "!!python/object/apply:os.system ['true']", "!!python/object", "!!float", "&a", "*a",
    "<<: *a", "\t", "ä", "ω", "'", '"', "-", "- ", ": ", ":", "#", "|", ">", "?", "%",
    "null", "true", "~", ".nan", ".inf", "0x1F", "1_000", "9" * 40, "1" + "0" * 400,
    "0." + "0" * 300 + "1", "\n", "\r\n", "\x00", "\ufeff", "---", "...", "%YAML 1.1",
    "lambda: 0", "__import__('os').system('true')", "exp(exp(exp(9)))", "2**2**2**2**2",
    "(" * 120, ")" * 120, "y_pred", "x", "w", "b", "sum", "softmax", "transpose", "dot",
    "logsumexp", "max", "[3, 3]", "[100000]", "[2, 2, 2]", "shape", "init", "normal(0, -1)",
    "uniform(1, -1)", "constant", "zeros", "data", "csv", "npz", "inline", "generate",
)


@settings(max_examples=200, deadline=None, suppress_health_check=SLOW)
@given(content=st.one_of(st.text(max_size=300).map(lambda t: t.encode("utf-8")),
                         st.binary(max_size=300),
                         st.lists(st.sampled_from(TRICKY_TOKENS + SPEC_KEYS), max_size=40)
                         .map(lambda tokens: "".join(tokens).encode("utf-8"))))
def test_random_text_is_refused_calmly(content: bytes, workdir: Path, capsys: Any) -> None:
    run_cli(["derive"], content, workdir, capsys)


ODD_NUMBERS = ("0", "1", "2", "3", "7", "0.5", "1e-300", "1e300", "100000", "99999999", "-1",
               "-0.5", "0.0", "1.5e-8", "64", "65")


@st.composite
def mutated_texts(draw: Any, sources: tuple[Path, ...] = tuple(BUNDLED), edits: int = 4) -> bytes:
    """A spec's text after 1 to `edits` random edits of lines, characters or tokens."""
    text = draw(st.sampled_from(sources)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, edits))):
        lines = text.splitlines(keepends=True)
        how = draw(st.sampled_from(["token", "number", "insert", "delete_line",
                                    "duplicate_line", "swap", "truncate", "character"]))
        if how in ("delete_line", "duplicate_line") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [] if how == "delete_line" else [lines[i], lines[i]]
            text = "".join(lines)
            continue
        tokens = re.findall(r"\w+|\s+|.", text, flags=re.DOTALL)
        if not tokens:
            text = draw(st.sampled_from(TRICKY_TOKENS))
            continue
        i = draw(st.integers(0, len(tokens) - 1))
        if how == "token":
            tokens[i] = draw(st.sampled_from(TRICKY_TOKENS))
        elif how == "insert":
            tokens.insert(i, draw(st.sampled_from(TRICKY_TOKENS)))
        elif how == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif how == "truncate":
            tokens = tokens[:i]
        elif how == "number" and any(t[:1].isdigit() for t in tokens):
            i = draw(st.sampled_from([j for j, t in enumerate(tokens) if t[:1].isdigit()]))
            tokens[i] = draw(st.sampled_from(ODD_NUMBERS))
        else:
            tokens[i] = draw(st.characters(codec="utf-8"))
        text = "".join(tokens)
    return text.encode("utf-8", "surrogateescape")


@settings(max_examples=500, deadline=None, suppress_health_check=SLOW)
@given(content=mutated_texts(), flags=DERIVE_FLAGS)
def test_mutated_bundled_specs_never_crash(content: bytes, flags: list[str], workdir: Path,
                                           capsys: Any) -> None:
    run_cli(["derive", *flags], content, workdir, capsys)


# Verify runs every check (about 1-3 s a spec): a handful of examples, on the quicker specs.
# Its own @given (in the forked child) nests inside this one, hence nested_given.
QUICK = tuple(path for path in BUNDLED if path.stem != "rosenbrock")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[*SLOW, HealthCheck.nested_given])
@given(content=mutated_texts(QUICK, edits=1))
def test_mutated_bundled_specs_verify_calmly(content: bytes, workdir: Path, capfd: Any) -> None:
    run_cli(["verify", "--examples", "2", "--jobs", "1", "--timeout", str(VERIFY_TIMEOUT),
             "--report-dir", str(workdir / "reports")], content, workdir, capfd,
            limit=VERIFY_TIMEOUT + 10, alarm_after=VERIFY_TIMEOUT + 20)


# ----------------------------------------------------------------- bugs the fuzzing found
#
# Minimal reproductions of the bugs the fuzzers found. Fixed ones stay as regression tests;
# an open one is a strict xfail, which fails the run once the bug is fixed: then drop it.

TINY_CONSTANT_SPEC = b"""\
gdcheck: 1
name: tiny-constant
parameters:
  a: {}
objective: a * 1e-300**15
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""


def test_constant_below_float_range(workdir: Path, capsys: Any) -> None:
    # found by fuzzing: 1e-300**15 as an exact rational had 4,500 digits and crashed derive
    spec = workdir / "tiny.yaml"
    spec.write_bytes(TINY_CONSTANT_SPEC)
    assert main(["derive", str(spec)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    assert "dL/da" in captured.out


@pytest.mark.parametrize("text, expected", [("a + relu(0)", 0.7), ("a * sigmoid(0)", 0.35),
                                            ("a + maximum(0, 0)", 0.7),
                                            ("a + logsumexp([0, 0])", 0.7 + math.log(2))])
def test_constant_own_function_of_zero(text: str, expected: float) -> None:
    parsed = parse(Text(text, LOCATION), ENVIRONMENT, {"lam": LAM})
    value = number(parsed[()], {ENVIRONMENT["a"][()]: mpmath.mpf(0.7)})
    assert value is not None and close(value, expected, atol=1e-12)


def test_own_functions_evaluate_to_the_precision_asked() -> None:
    value = sp.N(Sigmoid(sp.Integer(1)), 30)  # at mpmath's default precision, as users call it
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(value) - 1 / (1 + mpmath.exp(-1))) < 1e-28


OVERFLOW_ELEMENT_BUG = pytest.mark.xfail(
    strict=True, reason="bug: a constant element of an array that is not constant as a whole "
    "may overflow: exp([1000, a])[0] is accepted as exp(1000) (the loss is inf), while "
    "exp(1000) alone is refused")


@pytest.mark.parametrize("text", ["a**2 + log([-1, a])[0]", "a + sum(sqrt([-1, a]))",
                                  pytest.param("a + exp([1000, a])[0]",
                                               marks=OVERFLOW_ELEMENT_BUG)])
def test_constant_elements_of_arrays_are_checked(text: str) -> None:
    with pytest.raises(SpecError, match="complex|overflow"):
        parse(Text(text, LOCATION), ENVIRONMENT, {"lam": LAM})
