"""What generated code is printed with and calls at run time besides numpy.

`printer()` prints SymPy templates as numpy code in which every number fits a machine word;
`RUNTIME` holds the helpers for the ops numpy has no one call for (a scatter, a stack of
sampled and unsampled values, logsumexp and the gap of max/min over per-sample axes, a
lookup and its scatter-add, the windows of a convolution and their adjoint).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..symbolic.functions import NUMPY_NAMESPACE
from ..symbolic.indexing import window_slices


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


def _logsumexp(x: Any, axes: tuple[int, ...]) -> Any:
    top = np.max(x, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axes) + np.log(np.sum(np.exp(x - top), axis=axes))


def _gap(x: Any, axes: tuple[int, ...], which: str) -> Any:
    """Over `axes`: the largest entry minus the second largest (max), or the second
    smallest minus the smallest (min)."""
    kept = [axis for axis in range(np.ndim(x)) if axis not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = np.sort(np.reshape(moved, moved.shape[:len(kept)] + (-1,)), axis=-1)
    return flat[..., -1] - flat[..., -2] if which == "max" else flat[..., 1] - flat[..., 0]


def _gathered(table: Any, index: Any) -> Any:
    return np.take(table, np.asarray(index).astype(np.intp), axis=0)


def _scatter_added(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Rows of g added into the rows of a zero table that `index` names (np.add.at: an id
    that repeats adds each time)."""
    result = np.zeros(shape)
    rows = np.asarray(index).astype(np.intp).ravel()
    np.add.at(result, rows, np.reshape(g, (rows.size,) + tuple(shape[1:])))
    return result


def _patched(x: Any, sampled: bool, kernel: tuple[int, ...], stride: tuple[int, ...],
             padding: tuple[int, ...]) -> Any:
    """Every window of the spatial axes: (n?, C, *spatial) → (n?, C, *kernel, *positions),
    a view where no padding is needed."""
    x = np.asarray(x, dtype=float)
    d, lead = len(kernel), 2 if sampled else 1
    if any(padding):
        x = np.pad(x, [(0, 0)] * lead + [(p, p) for p in padding])
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=tuple(range(lead, lead + d)))
    view = view[(slice(None),) * lead + tuple(slice(None, None, s) for s in stride)]
    # (n?, C, *positions, *kernel) → (n?, C, *kernel, *positions)
    order = list(range(lead)) + list(range(lead + d, lead + 2 * d)) + list(range(lead, lead + d))
    return np.transpose(view, order)


def _unpatched(g: Any, sampled: bool, shape: tuple[int, ...], kernel: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...]) -> Any:
    """The adjoint of `_patched`: each window's entries added back where they came from."""
    g = np.asarray(g, dtype=float)
    d, lead = len(kernel), 2 if sampled else 1
    outer = g.shape[:lead]
    padded = np.zeros(outer + tuple(size + 2 * p for size, p in
                                    zip(shape[1:], padding, strict=True)))
    positions = g.shape[lead + d:]
    for offset in np.ndindex(*kernel):
        where = window_slices(offset, stride, tuple(positions))
        padded[(slice(None),) * lead + where] += g[(slice(None),) * lead + offset]
    inner = tuple(slice(p, p + size) for p, size in zip(padding, shape[1:], strict=True))
    return padded[(slice(None),) * lead + inner]


RUNTIME: dict[str, Any] = {"gdcheck_scatter": _scattered, "gdcheck_stack": _stacked,
                           "gdcheck_lse": _logsumexp, "gdcheck_gap": _gap,
                           "gdcheck_gather": _gathered, "gdcheck_scatter_add": _scatter_added,
                           "gdcheck_patches": _patched, "gdcheck_unpatches": _unpatched}
