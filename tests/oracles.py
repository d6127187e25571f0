"""Plain-float oracles for SymPy expressions, shared by the tests: a value is computed with
math and hand-written formulas, never by SymPy or by gdcheck's numpy code."""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from gdcheck.symbolic.functions import (
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


def sigmoid(t: float) -> float:
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    return math.exp(t) / (1.0 + math.exp(t))


def softplus(t: float) -> float:
    return max(t, 0.0) + math.log1p(math.exp(-abs(t)))


def step(t: float) -> float:
    return 1.0 if t > 0 else 0.0 if t < 0 else 0.5


def sign(t: float) -> float:
    return 1.0 if t > 0 else -1.0 if t < 0 else 0.0


def logsumexp(*terms: float) -> float:
    top = max(terms)
    if math.isinf(top):
        return top
    return top + math.log(math.fsum(math.exp(t - top) for t in terms))


# How to evaluate every SymPy node gdcheck builds or derives.
ORACLE: dict[type, Callable[..., float]] = {
    sp.Add: lambda *terms: math.fsum(terms),
    sp.Mul: lambda *factors: math.prod(factors),
    sp.Pow: lambda base, power: base**power,
    sp.exp: math.exp,
    sp.log: math.log,
    sp.sin: math.sin,
    sp.cos: math.cos,
    sp.tan: math.tan,
    sp.tanh: math.tanh,
    sp.erf: math.erf,
    log1p: math.log1p,
    expm1: math.expm1,
    Sigmoid: sigmoid,
    Softplus: softplus,
    Step: step,
    Sign: sign,
    AbsoluteValue: abs,
    Relu: lambda t: max(t, 0.0),
    Maximum: max,
    Minimum: min,
    LogSumExp: logsumexp,
}


def evaluate(expression: sp.Basic, values: dict[sp.Symbol, float]) -> float:
    """A SymPy expression's value with plain floats and the oracles above."""
    if isinstance(expression, sp.Symbol):
        return values[expression]
    if isinstance(expression, (sp.Number, sp.NumberSymbol)):
        return float(expression)
    return ORACLE[type(expression)](*(evaluate(arg, values) for arg in expression.args))
