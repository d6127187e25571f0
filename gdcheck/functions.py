"""SymPy functions of the spec language that SymPy lacks, or has in an unhelpful form.

Each is a small `sympy.Function` that knows its derivative (`fdiff`), how it
reads (`_sympystr`, `_latex`) and which numpy code computes it (`_numpycode`,
calling a helper in `NUMPY_NAMESPACE`). Keeping `sigmoid`, `softplus` and
`logsumexp` as functions keeps derivatives short and numerically stable;
the non-smooth ones (`abs`, `sign`, `relu`, `maximum`, `minimum`) have a
derivative of zero for their step, not a `DiracDelta`, and `KINKS` says where
each is not differentiable.

`FUNCTIONS` is the language's table of functions: each with its arity, how it
builds SymPy values from shaped arguments, and (for scalar functions) a float
version for constant folding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p


class _Named(sp.Function):
    """A function printed under its spec-language name."""

    spec_name = ""
    latex_name = ""

    def _eval_is_real(self) -> bool | None:
        return True if all(arg.is_real for arg in self.args) else None

    def _sympystr(self, printer: Any) -> str:
        return f"{self.spec_name}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return rf"{self.latex_name or self.spec_name}\left({inner}\right)"

    def _numpycode(self, printer: Any) -> str:
        return f"gdcheck_{self.spec_name}({', '.join(printer._print(a) for a in self.args)})"

    def _eval_evalf(self, prec: int) -> sp.Float | None:
        """Numeric value (for constants and for readers who substitute numbers)."""
        numbers = [arg if arg.is_Number else arg._eval_evalf(prec) for arg in self.args]
        if any(number is None or not number.is_Number for number in numbers):
            return None  # exact numbers (an Integer 0 too) are fine; symbols are not
        with mpmath.workprec(prec):  # every step, the result's rounding too, at `prec` bits
            value = mpmath.mpf(self.mpmath(*[number._to_mpmath(prec) for number in numbers]))
            return sp.Float._new(value._mpf_, prec)

    @staticmethod
    def mpmath(*args: Any) -> Any:
        raise NotImplementedError


class Sigmoid(_Named):
    nargs = 1
    spec_name, latex_name = "sigmoid", r"\sigma"
    mpmath = staticmethod(lambda x: 1 / (1 + mpmath.exp(-x)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * (1 - self)


class Softplus(_Named):
    nargs = 1
    spec_name, latex_name = "softplus", r"\operatorname{softplus}"
    mpmath = staticmethod(lambda x: mpmath.log1p(mpmath.exp(x)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0])


class Step(_Named):
    """Heaviside step, 1/2 at 0; its derivative is taken as 0 everywhere."""

    nargs = 1
    spec_name, latex_name = "step", r"\operatorname{H}"
    mpmath = staticmethod(lambda x: mpmath.mpf(1 if x > 0 else 0 if x < 0 else 0.5))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class Sign(_Named):
    nargs = 1
    spec_name, latex_name = "sign", r"\operatorname{sign}"
    mpmath = staticmethod(lambda x: mpmath.sign(x))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class AbsoluteValue(_Named):
    nargs = 1
    spec_name = "abs"
    mpmath = staticmethod(lambda x: abs(x))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sign(self.args[0])

    def _latex(self, printer: Any) -> str:
        return rf"\left|{printer._print(self.args[0])}\right|"


class Relu(_Named):
    nargs = 1
    spec_name, latex_name = "relu", r"\operatorname{relu}"
    mpmath = staticmethod(lambda x: max(x, mpmath.mpf(0)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Step(self.args[0])


class Maximum(_Named):
    nargs = 2
    spec_name, latex_name = "maximum", r"\max"
    mpmath = staticmethod(lambda a, b: max(a, b))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return Step(a - b) if argindex == 1 else Step(b - a)


class Minimum(_Named):
    nargs = 2
    spec_name, latex_name = "minimum", r"\min"
    mpmath = staticmethod(lambda a, b: min(a, b))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return Step(b - a) if argindex == 1 else Step(a - b)


class LogSumExp(_Named):
    """log(Σ exp(aᵢ)), evaluated stably; ∂/∂aᵢ = exp(aᵢ − logsumexp(a))."""

    spec_name, latex_name = "logsumexp", r"\operatorname{logsumexp}"
    mpmath = staticmethod(lambda *a: mpmath.log(mpmath.fsum(mpmath.exp(x) for x in a)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[argindex - 1] - self)


# SymPy makes its own Abs and sign from real expressions (sqrt(a**2) is Abs(a)); these are
# swapped for ours, whose derivatives stay free of DiracDelta and which print as the spec does.
SYMPY_EQUIVALENTS: dict[Any, type] = {sp.Abs: AbsoluteValue, sp.sign: Sign, sp.Heaviside: Step}


# Where each non-smooth function is not differentiable: the expressions that are zero there.
KINKS: dict[type, Any] = {
    AbsoluteValue: lambda a: [a],
    Sign: lambda a: [a],
    Relu: lambda a: [a],
    Step: lambda a: [a],
    Maximum: lambda a, b: [a - b],
    Minimum: lambda a, b: [a - b],
}


def _sigmoid(x: Any) -> Any:
    # exp(-|x|) never overflows, and neither branch cancels: full precision at ±40 and beyond
    x = np.asarray(x, dtype=float)
    small = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def _logsumexp(*terms: Any) -> Any:
    top = terms[0]
    for term in terms[1:]:
        top = np.maximum(top, term)
    top = np.where(np.isfinite(top), top, 0.0)
    return top + np.log(sum(np.exp(term - top) for term in terms))


def _erf(x: Any) -> Any:
    try:
        from scipy.special import erf
    except ImportError:  # scipy is optional: exact but slower
        return np.frompyfunc(math.erf, 1, 1)(x).astype(float)
    return erf(x)


NUMPY_NAMESPACE: dict[str, Any] = {
    "gdcheck_sigmoid": _sigmoid,
    "gdcheck_softplus": lambda x: np.logaddexp(0.0, x),
    "gdcheck_step": lambda x: np.heaviside(x, 0.5),
    "gdcheck_sign": np.sign,
    "gdcheck_abs": np.abs,
    "gdcheck_relu": lambda x: np.maximum(x, 0.0),
    "gdcheck_maximum": np.maximum,
    "gdcheck_minimum": np.minimum,
    "gdcheck_logsumexp": _logsumexp,
    "erf": _erf,
}


# ----------------------------------------------------------------- the function table

Value = np.ndarray  # object array of SymPy scalars, ndim 0, 1 or 2


def value_of(item: Any) -> Value:
    """Wrap a SymPy scalar (or pass an object array through) as a Value."""
    if isinstance(item, np.ndarray):
        return item
    value = np.empty((), dtype=object)
    value[()] = item
    return value


def shape_text(value: Value) -> str:
    return f"[{', '.join(str(d) for d in value.shape)}]"


# ----------------------------------------------------------------- the function table


@dataclass(frozen=True)
class Function:
    """One function of the language: its arity, how to build it and (if scalar) fold it."""

    arity: int
    build: Callable[..., Value]
    fold: Callable[..., float] | None = None   # float version, for constant folding
    signature: str = ""


def elementwise(sympy_function: Callable[..., Any], fold: Callable[..., float],
                arity: int = 1) -> Function:
    mapped = np.frompyfunc(sympy_function, arity, 1)
    return Function(arity, lambda *args: value_of(mapped(*args)), fold)


def reduction(combine: Callable[[list[Any]], Any]) -> Function:
    def build(v: Value) -> Value:
        if v.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {shape_text(v)}")
        return value_of(combine(list(v.flat)))

    return Function(1, build)


def vector_map(transform: Callable[[list[Any]], list[Any]]) -> Function:
    def build(v: Value) -> Value:
        if v.ndim != 1:
            raise ValueError(f"expected a vector, got shape {shape_text(v)}")
        return np.array(transform(list(v)) + [None], dtype=object)[:-1]

    return Function(1, build)


def _fold_max(items: list[Any], pair: type) -> Any:
    result = items[0]
    for item in items[1:]:
        result = pair(result, item)
    return result


def _logsumexp_of(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else LogSumExp(*items)


def _dot(a: Value, b: Value) -> Value:
    if a.ndim > 1 or b.ndim > 1 or a.shape != b.shape:
        raise ValueError(f"dot needs two vectors of one length, got {shape_text(a)} and "
                         f"{shape_text(b)}")
    return value_of(sp.Add(*[x * y for x, y in zip(a.flat, b.flat, strict=True)]))


def _transpose(v: Value) -> Value:
    return v.T.copy()


def _sign(v: float) -> float:
    return float(np.sign(v))


FUNCTIONS: dict[str, Function] = {
    "exp": elementwise(sp.exp, math.exp),
    "log": elementwise(sp.log, math.log),
    "sqrt": elementwise(sp.sqrt, math.sqrt),
    "abs": elementwise(AbsoluteValue, abs),
    "sin": elementwise(sp.sin, math.sin),
    "cos": elementwise(sp.cos, math.cos),
    "tan": elementwise(sp.tan, math.tan),
    "tanh": elementwise(sp.tanh, math.tanh),
    "sigmoid": elementwise(Sigmoid, lambda v: 0.5 * (1 + math.tanh(v / 2))),
    "softplus": elementwise(Softplus, lambda v: max(v, 0) + math.log1p(math.exp(-abs(v)))),
    "relu": elementwise(Relu, lambda v: max(v, 0.0)),
    "log1p": elementwise(log1p, math.log1p),
    "expm1": elementwise(expm1, math.expm1),
    "erf": elementwise(sp.erf, math.erf),
    "sign": elementwise(Sign, _sign),
    "maximum": elementwise(Maximum, max, arity=2),
    "minimum": elementwise(Minimum, min, arity=2),
    "sum": reduction(lambda items: sp.Add(*items)),
    "mean": reduction(lambda items: sp.Add(*items) / len(items)),
    "dot": Function(2, _dot),
    "norm": reduction(lambda items: sp.sqrt(sp.Add(*[item**2 for item in items]))),
    "logsumexp": reduction(_logsumexp_of),
    "max": reduction(lambda items: _fold_max(items, Maximum)),
    "min": reduction(lambda items: _fold_max(items, Minimum)),
    "softmax": vector_map(lambda v: [sp.exp(x - _logsumexp_of(v)) for x in v]),
    "log_softmax": vector_map(lambda v: [x - _logsumexp_of(v) for x in v]),
    "transpose": Function(1, _transpose),
}

CONSTANTS: dict[str, tuple[Any, float]] = {"pi": (sp.pi, math.pi), "e": (sp.E, math.e)}


# Names a spec may not declare: the language's functions and constants, and the model output.
RESERVED_NAMES = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | {"y_pred"}
