"""Every partial derivative of one SymPy expression in a single reverse pass.

How it works: the expression is a graph of unique subexpressions (SymPy
shares equal subtrees). Visiting it parents-first, each node's adjoint
∂L/∂node is the sum of its parents' adjoints times their local partial
derivatives (a table per node type below), exactly as backpropagation does.
The cost grows with the size of the graph, not with the graph times the
number of parameters as one `sympy.diff` per parameter does, and adjoints
are shared between the gradients that use them, so code generation with
common subexpression elimination sees a small graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from .graph import children_first


def _add(node: sp.Add, i: int) -> sp.Expr:
    return sp.S.One


def _mul(node: sp.Mul, i: int) -> sp.Expr:
    return sp.Mul(*(node.args[:i] + node.args[i + 1:]))


def _pow(node: sp.Pow, i: int) -> sp.Expr:
    base, exponent = node.args
    if i == 0:
        return exponent * sp.Pow(base, exponent - 1)
    return node * sp.log(base)


def _function(node: sp.Function, i: int) -> sp.Expr:
    return node.fdiff(i + 1)


# node type -> ∂node/∂(its i-th argument)
LOCAL_PARTIALS: list[tuple[type, Callable[..., sp.Expr]]] = [
    (sp.Add, _add),
    (sp.Mul, _mul),
    (sp.Pow, _pow),
    (sp.Function, _function),
]


def _local_partial(node: sp.Basic, i: int) -> sp.Expr:
    for kind, rule in LOCAL_PARTIALS:
        if isinstance(node, kind):
            return rule(node, i)
    return sp.diff(node, node.args[i])  # rare node types: SymPy's own rule


DISTRIBUTE_TERMS = 4  # adjoints with at most this many terms are multiplied out


def _chain(adjoint: sp.Expr, local: sp.Expr) -> sp.Expr:
    """adjoint × local, multiplied out when the adjoint is a short sum.

    SymPy cancels within one product, so distributing lets sigmoid(u)(1 − sigmoid(u)) meet
    the 1/sigmoid(u) of a log-loss adjoint: −y(1 − p) + (1 − y)p instead of a form that
    divides by p and gives 0·∞ when p underflows. Bounded, so it never grows a sum beyond
    DISTRIBUTE_TERMS terms per step.
    """
    if isinstance(adjoint, sp.Add) and len(adjoint.args) <= DISTRIBUTE_TERMS and local != 1:
        return sp.Add(*[term * local for term in adjoint.args])
    return adjoint * local


def gradient(expression: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """∂expression/∂v for every v in `variables`, by one reverse-mode pass."""
    wanted = set(variables)
    order, _ = children_first([expression])
    dependent: set[sp.Basic] = set(wanted)   # the nodes a variable flows into
    for node in order:
        if any(arg in dependent for arg in node.args):
            dependent.add(node)
    contributions: dict[sp.Basic, list[sp.Expr]] = {expression: [sp.S.One]}
    for node in reversed(order):   # parents first: a node's adjoint is complete when reached
        terms = contributions.pop(node, None)
        if not terms or node not in dependent:
            continue
        adjoint = sp.Add(*terms)
        if adjoint == 0:
            continue
        for i, arg in enumerate(node.args):
            if arg in dependent:
                contributions.setdefault(arg, []).append(_chain(adjoint, _local_partial(node, i)))
    return tuple(sp.Add(*contributions.get(v, [sp.S.Zero])) for v in variables)
