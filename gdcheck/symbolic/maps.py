"""Elementwise nodes: a SymPy template of X0, X1, ... per node, and its exact partials.

How it works: a `map` node computes its template at every entry of its broadcast
arguments. The local derivative of argument i is `sympy.diff(template, Xi)`, taken once per
template and cached, with the template itself replaced by the symbol OUT so the backward
pass reuses the forward value (tanh's partial is 1 − OUT², sigmoid's OUT·(1 − OUT)). So
every derivative gdcheck calls exact is SymPy's.

Building a map also folds what need not be a node: scalar literals become numbers in
the template, and a map of maps is merged into one when the merged template is rewritten
into a stabler form (`STABLE_FORMS`): log(sigmoid(z)) is −softplus(−z), 1 − sigmoid(z) is
sigmoid(−z) (so log(1 − sigmoid(z)) is −softplus(z)), and log(exp(u)) is u, which makes
log(softmax(v)) a log-softmax.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sympy as sp

from .elementwise import Sigmoid, Softplus
from .tensor import Graph, Node, broadcast_shapes, symbols

OUT = sp.Symbol("OUT", real=True)


def _stable_forms() -> list[tuple[Any, Any]]:
    u = sp.Wild("u")
    return [(sp.log(Sigmoid(u)), lambda u: -Softplus(-u)),
            (1 - Sigmoid(u), lambda u: Sigmoid(-u))]


STABLE_FORMS = _stable_forms()


def stabilised(template: sp.Expr) -> sp.Expr:
    """The template with every stable form applied (bottom-up, until nothing changes)."""
    for _ in range(8):
        before = template
        for pattern, replacement in STABLE_FORMS:
            template = template.replace(pattern, replacement)
        if template == before:
            break
    return template


@cache
def partial(template: sp.Expr, index: int) -> sp.Expr:
    """∂template/∂X_index, with the template itself written OUT."""
    x = sp.Symbol(f"X{index}", real=True)
    derivative = sp.diff(template, x)
    if template.is_Atom or not isinstance(template, sp.Function | sp.Pow | sp.Mul | sp.Add):
        return derivative
    return derivative.xreplace({template: OUT})


def simplified_map(graph: Graph, template: sp.Expr, args: tuple[Node, ...],
                   stable: bool = True) -> Node:
    """A map node of `template` over `args`, with literals folded in and stable merges."""
    shape = broadcast_shapes(*(arg.shape for arg in args)) if args else ()
    if any(a.op == "to_samples" for a in args) and all(a.op == "to_samples"
                                                       for a in args if a.sampled):
        # the same for every sample: computed once, repeated per sample afterwards
        inner = tuple(a.args[0] if a.op == "to_samples" else a for a in args)
        return graph.to_samples(simplified_map(graph, template, inner, stable))
    template = _fold_scalar_literals(template, args)
    if stable:
        template, args = _merge_for_stability(template, args)
    template, args = _unused_removed(template, args)
    if not args:
        result = graph.literal(float(template))
    elif isinstance(template, sp.Symbol):
        result = args[int(template.name[1:])]
    else:
        result = graph.raw_map(template, args)
    return graph.broadcast(result, shape) if result.shape != shape else result


def _fold_scalar_literals(template: sp.Expr, args: tuple[Node, ...]) -> sp.Expr:
    """Numbers written into the template: scalar literals, also broadcast or reshaped (the
    shape is kept by the caller)."""
    names = symbols(len(args))
    values = {}
    for i, arg in enumerate(args):
        inner = arg
        while inner.op in ("broadcast", "reshape"):   # one number, however it is shaped
            inner = inner.args[0]
        if inner.op == "literal" and len(inner.attrs[0]) == 1:
            values[names[i]] = _number(inner.attrs[0][0])
    return template.xreplace(values) if values else template


def _number(value: float) -> sp.Expr:
    if float(value).is_integer() and abs(value) < 2**53:
        return sp.Integer(int(value))
    return sp.Float(value, 17)


def _calls(expression: sp.Expr) -> int:
    return sum(1 for node in sp.preorder_traversal(expression) if isinstance(node, sp.Function))


def _merge_for_stability(template: sp.Expr, args: tuple[Node, ...]
                         ) -> tuple[sp.Expr, tuple[Node, ...]]:
    """Merge an argument map into this one where the merged template is stabler or smaller
    (a stable form applies, or SymPy's own evaluation removed a function: log(exp(u)) = u);
    otherwise the argument stays a node of its own, computed once however often it is used."""
    names = symbols(len(args))
    for i, arg in enumerate(args):
        if arg.op != "map" or names[i] not in template.free_symbols:
            continue
        merged, merged_args = _substituted(template, args, i)
        stable = stabilised(merged)
        if stable != merged or _calls(merged) < _calls(template) + _calls(arg.attrs[0]):
            return _merge_for_stability(stable, merged_args)
    return template, args


def _substituted(template: sp.Expr, args: tuple[Node, ...], i: int
                 ) -> tuple[sp.Expr, tuple[Node, ...]]:
    """template with argument i (a map) written out over that map's own arguments."""
    inner = args[i]
    others = args[:i] + args[i + 1:]
    merged_args = others + inner.args
    outer_names, fresh = symbols(len(args)), symbols(len(merged_args))
    renamed = {outer_names[j]: fresh[k]
               for k, j in enumerate(j for j in range(len(args)) if j != i)}
    inner_names = symbols(len(inner.args))
    renamed[outer_names[i]] = inner.attrs[0].xreplace(
        {inner_names[k]: fresh[len(others) + k] for k in range(len(inner.args))})
    return template.xreplace(renamed), merged_args


def _unused_removed(template: sp.Expr, args: tuple[Node, ...]
                    ) -> tuple[sp.Expr, tuple[Node, ...]]:
    """Arguments the template does not use dropped (and repeated arguments merged)."""
    names = symbols(len(args))
    keep: list[Node] = []
    mapping: dict[sp.Symbol, sp.Symbol] = {}
    for i, arg in enumerate(args):
        if names[i] not in template.free_symbols:
            continue
        if arg in keep:
            mapping[names[i]] = sp.Symbol(f"X{keep.index(arg)}", real=True)
            continue
        mapping[names[i]] = sp.Symbol(f"X{len(keep)}", real=True)
        keep.append(arg)
    if len(keep) == len(args) and all(mapping[n] == n for n in names):
        return template, args
    # rename in two steps, so X1 -> X0 and X0 -> X1 do not collide
    staged = {old: sp.Symbol(f"T{new.name}", real=True) for old, new in mapping.items()}
    final = {sp.Symbol(f"T{new.name}", real=True): new for new in mapping.values()}
    return template.xreplace(staged).xreplace(final), tuple(keep)
