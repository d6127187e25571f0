"""Conditions: comparisons, `where`, `clip`, and the lookup of a row by an integer id.

A comparison `a < b` is a value, 1 where it holds and 0 elsewhere; its derivative is 0,
and where a − b is 0 it jumps (a kink, like `sign`). `where(c, a, b)` is a where c is
nonzero, else b. Its derivative is taken branch by branch (`_eval_derivative`), so within
one formula the branch not taken never enters the other's derivative: the derivative of
where(x > 0, log(x), 0) is where(x > 0, 1/x, 0), finite everywhere. `clip(x, lo, hi)` is
minimum(maximum(x, lo), hi), with those functions' kinks. `Lookup` is not in the language:
it is how `E[token]` reads entry by entry (row `token` of E), for `derive --scalar` and
the per-entry oracle of the tests; the numbers come from the graph's `gather`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy as sp

from .elementwise import Maximum, Minimum
from .language import CustomFunction, Elementwise


def _comparison(test: Callable[..., Any]) -> Callable[..., Any]:
    def compare(a: Any, b: Any) -> Any:
        return np.asarray(test(a, b), dtype=float)

    return compare


class Comparison:
    """One of < <= > >= == !=, as a 0/1 value. Not called by name: written as an operator.
    Each is a `CustomFunction` with this behaviour (a mixin: the base registers nothing)."""

    nargs = 2
    symbol: ClassVar[str] = ""
    test: ClassVar[Any]   # operator.lt ...: (a, b) → bool
    kinks: ClassVar[Any] = staticmethod(lambda a, b: [a - b])
    args: tuple[Any, ...]

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    @classmethod
    def eval(cls, a: Any, b: Any) -> Any:
        if a.is_Number and b.is_Number:
            return sp.S.One if cls.test(float(a), float(b)) else sp.S.Zero
        return None

    def _sympystr(self, printer: Any) -> str:
        a, b = (printer._print(arg) for arg in self.args)
        return f"({a} {self.symbol} {b})"

    def _latex(self, printer: Any) -> str:
        a, b = (printer._print(arg) for arg in self.args)
        symbol = {"<=": r"\le", ">=": r"\ge", "==": "=", "!=": r"\ne"}.get(self.symbol,
                                                                           self.symbol)
        return rf"\left[{a} {symbol} {b}\right]"


def _mp(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    return lambda a, b: mpmath.mpf(1 if test(a, b) else 0)


class Less(Comparison, CustomFunction):
    spec_name, symbol, test = "less", "<", staticmethod(operator.lt)
    numpy, mpmath = staticmethod(_comparison(np.less)), staticmethod(_mp(operator.lt))


class LessEqual(Comparison, CustomFunction):
    spec_name, symbol, test = "less_equal", "<=", staticmethod(operator.le)
    numpy, mpmath = staticmethod(_comparison(np.less_equal)), staticmethod(_mp(operator.le))


class Greater(Comparison, CustomFunction):
    spec_name, symbol, test = "greater", ">", staticmethod(operator.gt)
    numpy, mpmath = staticmethod(_comparison(np.greater)), staticmethod(_mp(operator.gt))


class GreaterEqual(Comparison, CustomFunction):
    spec_name, symbol, test = "greater_equal", ">=", staticmethod(operator.ge)
    numpy = staticmethod(_comparison(np.greater_equal))
    mpmath = staticmethod(_mp(operator.ge))


class Equal(Comparison, CustomFunction):
    spec_name, symbol, test = "equal", "==", staticmethod(operator.eq)
    numpy, mpmath = staticmethod(_comparison(np.equal)), staticmethod(_mp(operator.eq))


class NotEqual(Comparison, CustomFunction):
    spec_name, symbol, test = "not_equal", "!=", staticmethod(operator.ne)
    numpy, mpmath = staticmethod(_comparison(np.not_equal)), staticmethod(_mp(operator.ne))


# the ast operator of a comparison → its function
COMPARISONS: dict[str, type] = {"Lt": Less, "LtE": LessEqual, "Gt": Greater,
                                "GtE": GreaterEqual, "Eq": Equal, "NotEq": NotEqual}


def _where(condition: Any, a: Any, b: Any) -> Any:
    with np.errstate(all="ignore"):   # the branch not taken may be undefined there
        return np.where(np.asarray(condition) != 0, a, b)


class Where(CustomFunction, Elementwise):
    nargs = arity = 3
    spec_name, latex_name = "where", r"\operatorname{where}"
    numpy = staticmethod(_where)
    mpmath = staticmethod(lambda c, a, b: a if c != 0 else b)
    fold = staticmethod(lambda c, a, b: a if c != 0 else b)

    @classmethod
    def eval(cls, condition: Any, a: Any, b: Any) -> Any:
        if condition.is_Number:
            return a if condition != 0 else b
        if a == b:
            return a
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        condition = self.args[0]
        if argindex == 1:
            return sp.S.Zero
        return Where(condition, 1, 0) if argindex == 2 else Where(condition, 0, 1)

    def _eval_derivative(self, symbol: sp.Symbol) -> sp.Expr:
        condition, a, b = self.args
        return Where(condition, sp.diff(a, symbol), sp.diff(b, symbol))


def _clip(x: Any, low: Any, high: Any) -> Any:
    return Minimum(Maximum(x, low), high)


class Clip(Elementwise):
    spec_name, arity = "clip", 3
    sympy = staticmethod(_clip)
    fold = staticmethod(lambda x, low, high: min(max(x, low), high))


def _lookup(index: Any, *table: Any) -> Any:
    return np.choose(np.asarray(index).astype(np.intp), table)


class Lookup(CustomFunction):
    """Lookup(i, t0, t1, ...): t_i, for an integer id i (row i of a table, one column)."""

    spec_name, latex_name = "lookup", r"\operatorname{lookup}"
    numpy = staticmethod(_lookup)
    mpmath = staticmethod(lambda i, *table: table[int(i)])

    @classmethod
    def eval(cls, index: Any, *table: Any) -> Any:
        if index.is_Integer and 0 <= int(index) < len(table):
            return table[int(index)]
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero if argindex == 1 else Equal(self.args[0], argindex - 2)

    def _sympystr(self, printer: Any) -> str:
        return f"lookup({printer._print(self.args[0])}, [{len(self.args) - 1} rows])"


def not_an_id(name: str) -> str:
    """Why `E[name]` cannot be read when `name` is not an integer input."""
    return (f"'{name}' is not an integer input: an index by name needs an input declared "
            f"with dtype: int and range: N (like {name}: {{dtype: int, range: 1000}})")
