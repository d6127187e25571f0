"""What generated code is printed with and calls at run time besides numpy.

`printer()` prints SymPy templates as numpy code in which every number fits a machine word;
`RUNTIME` holds the helpers for the ops numpy has no one call for (a scatter, a stack of
sampled and unsampled values, logsumexp and the gap of max/min over per-sample axes).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..symbolic.functions import NUMPY_NAMESPACE


class Printer(NumPyPrinter):
    """numpy code in which every number fits a machine word: an integer past 2**53 (2**64,
    a huge literal) is written as the float numpy would make of it, not a Python int that
    numpy refuses to convert."""

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(expr.p) if abs(expr.p) < 2**53 else _float_literal(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if max(abs(expr.p), expr.q) < 2**53:
            return super()._print_Rational(expr)
        return _float_literal(expr)


def _float_literal(expr: sp.Rational) -> str:
    try:
        value = float(expr)
    except OverflowError:
        value = math.copysign(math.inf, expr.p)
    return repr(value) if math.isfinite(value) else f"float('{value}')"


def printer() -> Printer:
    return Printer({"fully_qualified_modules": False, "inline": True,
                     "allow_unknown_functions": True, "order": "none",
                     "user_functions": {name: name for name in NUMPY_NAMESPACE}})


def _scattered(g: Any, index: tuple[int, ...], shape: tuple[int, ...], sampled: bool) -> Any:
    lead = (np.shape(g)[0],) if sampled else ()
    result = np.zeros(lead + shape)
    result[(slice(None),) * len(lead) + index] = g
    return result


def _stacked(items: list[Any], sampled: list[bool], out_sampled: bool) -> Any:
    if not out_sampled:
        return np.stack(items)
    n = next(np.shape(item)[0] for item, s in zip(items, sampled, strict=True) if s)
    spread = [item if s else np.broadcast_to(item, (n,) + np.shape(item))
              for item, s in zip(items, sampled, strict=True)]
    return np.stack(spread, axis=1)


def _logsumexp(x: Any, sampled: bool) -> Any:
    axes = tuple(range(1 if sampled else 0, np.ndim(x)))
    if not axes:
        return x
    top = np.max(x, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axes) + np.log(np.sum(np.exp(x - top), axis=axes))


def _gap(x: Any, sampled: bool, which: str) -> Any:
    flat = np.sort(np.reshape(x, (np.shape(x)[0], -1) if sampled else (-1,)), axis=-1)
    return flat[..., -1] - flat[..., -2] if which == "max" else flat[..., 1] - flat[..., 0]


RUNTIME: dict[str, Any] = {"gdcheck_scatter": _scattered, "gdcheck_stack": _stacked,
                           "gdcheck_lse": _logsumexp, "gdcheck_gap": _gap}
