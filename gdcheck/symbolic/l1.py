"""The L1 terms of an objective, for `method: proximal_gradient`.

A proximal step splits L = f + Σ λⱼ|θⱼ| into a differentiable f, stepped by its
gradient, and the L1 part, solved exactly by the soft threshold. The split is
read off the expression: among the top-level `+` terms of `penalty` (model +
loss specs) or of `objective` (bare objectives), a term is an L1 term when it is

    abs(p)  sum(abs(p))  mean(abs(p))      p a parameter's name
    c * X,  X * c,  X / c                  X one of those, c > 0 a number or constant

(c itself a product, quotient, sum or power of numbers and constants). λ of p is
the sum of its terms' weights (mean divides by p's size). Nothing else counts:
`abs(w - 1)` is a kink for f, not a term the soft threshold solves.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from ..errors import SpecError
from ..spec import Spec, Text
from .grammar import parse_tree

_COEFFICIENT_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Add: operator.add,
    ast.Sub: operator.sub, ast.Pow: operator.pow,
}
_REDUCTIONS = ("sum", "mean")


def l1_source(spec: Spec) -> Text | None:
    """The expression whose top-level terms may hold L1 terms: the objective or penalty."""
    return spec.objective if spec.objective is not None else spec.penalty


def l1_weights(spec: Spec) -> dict[str, float]:
    """{parameter name: λ} of the L1 terms of the spec's objective (empty when none)."""
    source = l1_source(spec)
    if source is None:
        return {}
    sizes = {p.name: p.size for p in spec.parameters}
    weights: dict[str, float] = {}
    for term in _terms(parse_tree(source)):
        found = _l1_term(term, sizes, spec.constants)
        if found is not None:
            name, weight = found
            weights[name] = weights.get(name, 0.0) + weight
    return weights


def required_l1_weights(spec: Spec) -> dict[str, float]:
    """`l1_weights`, or a SpecError at `optimizer.method` when a proximal method finds none."""
    weights = l1_weights(spec)
    if not weights:
        where = spec.optimizer.location
        field = "objective" if spec.objective is not None else "penalty"
        assert where is not None
        raise SpecError(where.child("method", where.line),
                        f"proximal_gradient needs an L1 term among the top-level terms of "
                        f"'{field}', such as lam * sum(abs(w)); found none")
    return weights


def _terms(tree: ast.expr) -> list[ast.expr]:
    """The top-level `+` terms (a subtracted term is not one: −λ|w| is no L1 penalty)."""
    terms, pending = [], [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pending += [node.right, node.left]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            pending.append(node.left)
        else:
            terms.append(node)
    return terms


def _l1_term(node: ast.expr, sizes: dict[str, int],
             constants: dict[str, float]) -> tuple[str, float] | None:
    weight = 1.0
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        left = _coefficient(node.left, constants)
        right = _coefficient(node.right, constants)
        if isinstance(node.op, ast.Mult) and left is not None:
            weight, node = left, node.right
        elif right is not None:
            weight, node = (right if isinstance(node.op, ast.Mult) else 1 / right), node.left
        else:
            return None
    if not (math.isfinite(weight) and weight > 0):
        return None
    reduction = _call(node)
    if reduction is not None and reduction[0] in _REDUCTIONS:
        kind, node = reduction
        inner = _call(node)
        if inner is None or inner[0] != "abs" or not _is_parameter(inner[1], sizes):
            return None
        name = inner[1].id  # type: ignore[attr-defined]
        return name, weight / (sizes[name] if kind == "mean" else 1)
    if reduction is not None and reduction[0] == "abs" and _is_parameter(reduction[1], sizes):
        name = reduction[1].id  # type: ignore[attr-defined]
        return (name, weight) if sizes[name] == 1 else None
    return None


def _call(node: ast.expr) -> tuple[str, ast.expr] | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and len(node.args) == 1 and not node.keywords):
        return node.func.id, node.args[0]
    return None


def _is_parameter(node: ast.expr, sizes: dict[str, int]) -> bool:
    return isinstance(node, ast.Name) and node.id in sizes


def _coefficient(node: ast.expr, constants: dict[str, float]) -> float | None:
    """A coefficient's value: numbers and constants under + − * / **, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _COEFFICIENT_OPERATORS:
        left, right = _coefficient(node.left, constants), _coefficient(node.right, constants)
        if left is None or right is None:
            return None
        try:
            return _COEFFICIENT_OPERATORS[type(node.op)](left, right)
        except (ArithmeticError, ValueError):
            return None
    return None
