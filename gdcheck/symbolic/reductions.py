"""The language's functions of whole values: reductions, vector maps, dot and transpose.

One class each. They take no float fold: constant folding (pass 1) sees scalars only, and
the build pass checks what these make of constants.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy as sp

from .elementwise import AbsoluteValue, Maximum, Minimum
from .language import CustomFunction, Function, Reduction, Value, VectorMap, shape_text, value_of


def _logsumexp(*terms: Any) -> Any:
    top = terms[0]
    for term in terms[1:]:
        top = np.maximum(top, term)
    top = np.where(np.isfinite(top), top, 0.0)
    return top + np.log(sum(np.exp(term - top) for term in terms))


class Sum(Reduction):
    spec_name = "sum"
    combine = staticmethod(lambda items: sp.Add(*items))


class Mean(Reduction):
    spec_name = "mean"
    combine = staticmethod(lambda items: sp.Add(*items) / len(items))


class Dot(Function):
    spec_name, arity = "dot", 2

    @classmethod
    def build(cls, a: Value, b: Value) -> Value:
        if a.ndim > 1 or b.ndim > 1 or a.shape != b.shape:
            raise ValueError(f"dot needs two vectors of one length, got {shape_text(a)} and "
                             f"{shape_text(b)}")
        return value_of(sp.Add(*[x * y for x, y in zip(a.flat, b.flat, strict=True)]))


class Norm(Reduction):
    """The entrywise norm: 2 (the default; Frobenius for a matrix), 1 or inf (`ord`)."""

    spec_name = "norm"
    keywords = {"ord": "order", "axis": "axes", "keepdims": "flag"}

    @staticmethod
    def combine(items: list[Any], ord: Any = 2) -> Any:
        if ord == 1:
            return sp.Add(*[AbsoluteValue(item) for item in items])
        if ord == "inf":
            return functools.reduce(Maximum, [AbsoluteValue(item) for item in items])
        return sp.sqrt(sp.Add(*[item**2 for item in items]))


class LogSumExp(CustomFunction, Reduction):
    """log(Σ exp(aᵢ)), evaluated stably; ∂/∂aᵢ = exp(aᵢ − logsumexp(a)).

    In the language it takes one value (arity 1); as a SymPy function, any number of terms.
    """

    spec_name, latex_name = "logsumexp", r"\operatorname{logsumexp}"
    numpy = staticmethod(_logsumexp)
    mpmath = staticmethod(lambda *a: mpmath.log(mpmath.fsum(mpmath.exp(x) for x in a)))

    @classmethod
    def combine(cls, items: list[Any]) -> Any:
        return items[0] if len(items) == 1 else cls(*items)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[argindex - 1] - self)


class _Pairwise(Reduction):
    """A reduction by a two-argument function, from the left: pair(pair(a, b), c)."""

    pair: ClassVar[type]

    @classmethod
    def combine(cls, items: list[Any]) -> Any:
        return functools.reduce(cls.pair, items)


class Max(_Pairwise):
    spec_name, pair = "max", Maximum


class Min(_Pairwise):
    spec_name, pair = "min", Minimum


class Softmax(VectorMap):
    spec_name = "softmax"

    @staticmethod
    def transform(items: list[Any]) -> list[Any]:
        total = LogSumExp.combine(items)
        return [sp.exp(item - total) for item in items]


class LogSoftmax(VectorMap):
    spec_name = "log_softmax"

    @staticmethod
    def transform(items: list[Any]) -> list[Any]:
        total = LogSumExp.combine(items)
        return [item - total for item in items]


class Transpose(Function):
    spec_name = "transpose"

    @classmethod
    def build(cls, value: Value) -> Value:
        return value.T.copy()
