"""SymPy expressions → numpy functions: the one `lambdify` wrapper.

How it works: each list of expressions is lambdified once, with every argument
renamed (no user-chosen name reaches generated code) and with common
subexpressions named in one pass over the graph of unique nodes
(`shared_nodes`, over `symbolic.graph`'s walk). Values reduced over samples
(`SampleReduction`) are averaged inside the generated code as soon as they are
computed, so no n × P intermediate is ever held.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..symbolic.functions import NUMPY_NAMESPACE
from ..symbolic.graph import children_first


class _Printer(NumPyPrinter):
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


class SampleReduction(sp.Function):
    """Marks a per-sample expression to be reduced over samples inside the generated code,
    so each gradient column is averaged as soon as it is computed (no n × P intermediate)."""

    nargs = 1

    def _numpycode(self, printer: Any) -> str:
        return f"gdcheck_reduce({printer._print(self.args[0])})"


def sample_reducer(samples: int, reduction: str) -> Callable[[Any], Any]:
    """Reduce a value over its sample axis: (n,) → scalar, (K, n) → (K,). Values that do not
    depend on the data ((K, 1) columns or scalars) are the same for every sample."""
    def reduce(value: Any) -> Any:
        value = np.asarray(value, dtype=float)
        if value.ndim and value.shape[-1] == samples and samples > 1:
            return value.mean(axis=-1) if reduction == "mean" else value.sum(axis=-1)
        constant = value[..., 0] if value.ndim == 2 else value
        return constant if reduction == "mean" else constant * samples

    return reduce


def numeric(expressions: Iterable[sp.Expr], arguments: Iterable[sp.Symbol],
            namespace: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The numpy function returning the list of `expressions` at `arguments`."""
    # order="none": code keeps each sum's terms as they are; sorting them for display
    # evaluates terms numerically and grows exponentially with nested tanh.
    printer = _Printer({"fully_qualified_modules": False, "inline": True,
                            "allow_unknown_functions": True, "order": "none",
                            "user_functions": {name: name for name in NUMPY_NAMESPACE}})
    # Arguments become generated names (no user-chosen name reaches the code), and stay real:
    # lambdify's own dummies are not, and rebuilding nested tanh over them is very slow.
    arguments = list(arguments)
    generated = [sp.Symbol(f"arg{i}", real=True) for i in range(len(arguments))]
    renamed: dict[sp.Basic, Any] = dict(zip(arguments, generated, strict=True))
    # use_imps=False: there are no implemented functions, and its scan walks every tree whole
    modules = [{**NUMPY_NAMESPACE, **(namespace or {})}, "numpy"]
    return sp.lambdify(generated, list(expressions), modules=modules,
                       printer=printer, use_imps=False,
                       cse=lambda code: shared_nodes(code, renamed))


def shared_nodes(expressions: list[Any], renamed: dict[sp.Basic, Any] | None = None
                 ) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[Any]]:
    """Common subexpression elimination in one pass over the graph of unique nodes.

    Every compound node used more than once becomes a named intermediate, in an order where
    each is defined before use; `renamed` symbols are replaced on the way. SymPy's own `cse`
    (and `xreplace`) walk shared subtrees again at every use, which is quadratic on the graphs
    reverse-mode derivatives are.
    """
    order, uses = children_first(expressions)
    names = iter(sp.numbered_symbols("x", real=True))
    rebuilt: dict[sp.Basic, Any] = dict(renamed or {})
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    for node in order:
        args = [rebuilt.get(arg, arg) for arg in node.args]
        same = all(new is old for new, old in zip(args, node.args, strict=True))
        expression = node if same else _rebuild(node, args)
        if uses[node] > 1:
            name = next(names)
            definitions.append((name, expression))
            expression = name
        if expression is not node:
            rebuilt[node] = expression
    return definitions, [rebuilt.get(e, e) if isinstance(e, sp.Basic) else e for e in expressions]


def _rebuild(node: sp.Basic, args: list[Any]) -> sp.Basic:
    # evaluate=False: the node was already evaluated once; doing it again costs assumptions
    return node.func(*args, evaluate=False)
