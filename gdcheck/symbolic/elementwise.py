"""The language's scalar functions, applied to every element: one class each.

SymPy's own functions (exp, log, ...) need only a row: the spec name, the SymPy function
and a float version for constant folding; SymPy knows their derivatives. The others are
gdcheck's `CustomFunction`s, each its own SymPy function. Keeping `sigmoid` and `softplus`
as functions keeps derivatives short and numerically stable; the non-smooth ones (`abs`,
`sign`, `relu`, `maximum`, `minimum`) have a derivative of zero for their step, not a
`DiracDelta`, and their `kinks` say where each is not differentiable.

The definition order is the order of `FUNCTIONS` and of `KINKS` (kinks are reported in it).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from .language import CustomFunction, Elementwise


def _sigmoid(x: Any, out: Any = None, scale: Any = 1.0, negated: bool = False) -> Any:
    # 1/(1 + e^-x) is exact to a few ulps everywhere: for x < 0 the exponential is large but
    # exact, and its overflow below -709 gives 1/inf = 0, the right limit. Computed in one
    # array (`out=` as for a ufunc), not three. Generated code folds a factor and a sign in:
    # scale·σ(x) as scale/(1 + e^-x), σ(-x) as 1/(1 + e^x), each in the same four passes.
    x = np.asarray(x, dtype=float)
    e = np.empty_like(x) if out is None else out
    if not negated:
        x = np.negative(x, out=e)
    with np.errstate(over="ignore"):
        np.exp(x, out=e)
    e += 1.0
    return np.divide(scale, e, out=e)


def _softplus(x: Any, out: Any = None) -> Any:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, no cancellation; in one array
    x = np.asarray(x, dtype=float)
    top = np.maximum(x, 0.0)
    e = np.abs(x, out=np.empty_like(x) if out is None else out)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.log1p(e, out=e)
    e += top
    return e


def _relu(x: Any, out: Any = None) -> Any:
    return np.maximum(x, 0.0, out=out)


def _step(x: Any, out: Any = None) -> Any:
    return np.heaviside(x, 0.5, out=out)


def _erf(x: Any, out: Any = None) -> Any:
    try:
        from scipy.special import erf
    except ImportError:  # without scipy (a broken install): math.erf per entry, exact but slower
        values = np.asarray(np.frompyfunc(math.erf, 1, 1)(np.asarray(x, dtype=float)),
                            dtype=float)   # a scalar comes back a float, not an array
        if out is None:
            return values if values.ndim else values[()]
        np.copyto(out, values)
        return out
    return erf(x, out=out)


for _helper in (_sigmoid, _softplus, _relu, _step, _erf):
    _helper.accepts_out = True  # type: ignore[attr-defined]  # see compiled/inplace.py
_sigmoid.accepts_scale = True  # type: ignore[attr-defined]


def _sign(v: float) -> float:
    return float(np.sign(v))


class Exp(Elementwise):
    spec_name, sympy, fold = "exp", sp.exp, staticmethod(math.exp)


class Log(Elementwise):
    spec_name, sympy, fold = "log", sp.log, staticmethod(math.log)


class Sqrt(Elementwise):
    spec_name, sympy, fold = "sqrt", sp.sqrt, staticmethod(math.sqrt)


class AbsoluteValue(CustomFunction, Elementwise):
    nargs = 1
    spec_name, replaces = "abs", sp.Abs
    fold = staticmethod(abs)
    numpy = staticmethod(np.abs)
    mpmath = staticmethod(lambda x: abs(x))
    kinks = staticmethod(lambda a: [a])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sign(self.args[0])

    def _latex(self, printer: Any) -> str:
        return rf"\left|{printer._print(self.args[0])}\right|"


class Sign(CustomFunction, Elementwise):
    nargs = 1
    spec_name, latex_name, replaces = "sign", r"\operatorname{sign}", sp.sign
    fold = staticmethod(_sign)
    numpy = staticmethod(np.sign)
    mpmath = staticmethod(lambda x: mpmath.sign(x))
    kinks = staticmethod(lambda a: [a])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class Sin(Elementwise):
    spec_name, sympy, fold = "sin", sp.sin, staticmethod(math.sin)


class Cos(Elementwise):
    spec_name, sympy, fold = "cos", sp.cos, staticmethod(math.cos)


class Tan(Elementwise):
    spec_name, sympy, fold = "tan", sp.tan, staticmethod(math.tan)


class Tanh(Elementwise):
    spec_name, sympy, fold = "tanh", sp.tanh, staticmethod(math.tanh)


class Sigmoid(CustomFunction, Elementwise):
    nargs = 1
    spec_name, latex_name = "sigmoid", r"\sigma"
    fold = staticmethod(lambda v: 0.5 * (1 + math.tanh(v / 2)))
    numpy = staticmethod(_sigmoid)
    mpmath = staticmethod(lambda x: 1 / (1 + mpmath.exp(-x)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * Sigmoid(-self.args[0])   # not 1 - self: that cancels where self ≈ 1


class Softplus(CustomFunction, Elementwise):
    nargs = 1
    spec_name, latex_name = "softplus", r"\operatorname{softplus}"
    fold = staticmethod(lambda v: max(v, 0) + math.log1p(math.exp(-abs(v))))
    numpy = staticmethod(_softplus)
    mpmath = staticmethod(lambda x: mpmath.log1p(mpmath.exp(x)))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0])


class Relu(CustomFunction, Elementwise):
    nargs = 1
    spec_name, latex_name = "relu", r"\operatorname{relu}"
    fold = staticmethod(lambda v: max(v, 0.0))
    numpy = staticmethod(_relu)
    mpmath = staticmethod(lambda x: max(x, mpmath.mpf(0)))
    kinks = staticmethod(lambda a: [a])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Step(self.args[0])


class Step(CustomFunction):
    """Heaviside step, 1/2 at 0; its derivative is taken as 0 everywhere.

    Not in the language: it appears in derivatives (of relu, maximum and minimum).
    """

    nargs = 1
    spec_name, latex_name, replaces = "step", r"\operatorname{H}", sp.Heaviside
    numpy = staticmethod(_step)
    mpmath = staticmethod(lambda x: mpmath.mpf(1 if x > 0 else 0 if x < 0 else 0.5))
    kinks = staticmethod(lambda a: [a])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class Log1p(Elementwise):
    spec_name, sympy, fold = "log1p", log1p, staticmethod(math.log1p)


class Expm1(Elementwise):
    spec_name, sympy, fold = "expm1", expm1, staticmethod(math.expm1)


class Erf(Elementwise):
    spec_name, sympy, fold = "erf", sp.erf, staticmethod(math.erf)
    numpy = staticmethod(_erf)   # numpy has no erf; generated code calls it by SymPy's name


class Maximum(CustomFunction, Elementwise):
    nargs = arity = 2
    spec_name, latex_name = "maximum", r"\max"
    fold = staticmethod(max)
    numpy = staticmethod(np.maximum)
    mpmath = staticmethod(lambda a, b: max(a, b))
    kinks = staticmethod(lambda a, b: [a - b])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return Step(a - b) if argindex == 1 else Step(b - a)


class Minimum(CustomFunction, Elementwise):
    nargs = arity = 2
    spec_name, latex_name = "minimum", r"\min"
    fold = staticmethod(min)
    numpy = staticmethod(np.minimum)
    mpmath = staticmethod(lambda a, b: min(a, b))
    kinks = staticmethod(lambda a, b: [a - b])

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        return Step(b - a) if argindex == 1 else Step(a - b)


class Sinh(Elementwise):
    spec_name, sympy, fold = "sinh", sp.sinh, staticmethod(math.sinh)


class Cosh(Elementwise):
    spec_name, sympy, fold = "cosh", sp.cosh, staticmethod(math.cosh)


class Arctan(Elementwise):
    spec_name, sympy, fold = "arctan", sp.atan, staticmethod(math.atan)


class Arcsin(Elementwise):
    spec_name, sympy, fold = "arcsin", sp.asin, staticmethod(math.asin)


class Arccos(Elementwise):
    spec_name, sympy, fold = "arccos", sp.acos, staticmethod(math.acos)


class Arcsinh(Elementwise):
    spec_name, sympy, fold = "arcsinh", sp.asinh, staticmethod(math.asinh)


class Arccosh(Elementwise):
    spec_name, sympy, fold = "arccosh", sp.acosh, staticmethod(math.acosh)


class Arctanh(Elementwise):
    spec_name, sympy, fold = "arctanh", sp.atanh, staticmethod(math.atanh)
