"""Exact derivatives on the shaped graph: reverse mode in one pass, and Hessian-vector products.

How it works: visiting the graph parents first, each node's adjoint (∂L/∂node, of the
node's shape) is the sum of what its parents send back. What a node sends to each
argument is its vector-Jacobian product, one rule per op in `VJP`: for a map, the adjoint
times SymPy's partial of the template (`maps.partial`), summed down to the argument's
shape where it was broadcast (`sum_to`, which also sums over samples where a parameter
met data); for a contraction, another contraction (einsum's rule); for the structural ops,
their adjoint op (sum ↔ broadcast, index ↔ scatter, gather ↔ scatter_add, patches ↔
unpatches, stack → index, transpose, reshape).
Every rule builds ordinary nodes, so the gradient is a graph like any other: the
Hessian-vector product H·v is the gradient of Σ ∇L ⊙ v, by a second reverse pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from .maps import OUT, partial
from .tensor import Graph, Node, symbols, topological

Rule = Callable[[Graph, Node, Node], list[tuple[int, Node]]]


def _map(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    template, count = node.attrs[0], len(node.args)
    names = symbols(count + 2)   # X0 the adjoint, X1.. the arguments, the last the output
    moved = {sp.Symbol(f"X{i}", real=True): names[i + 1] for i in range(count)}
    sent = []
    for i, arg in enumerate(node.args):
        if arg.op in ("literal", "samples", "constant"):
            continue
        local = partial(template, i)
        if local == 0:
            continue
        product = names[0] * local.xreplace({**moved, OUT: names[count + 1]})
        value = graph.map(product, (g, *node.args, node), stable=False)
        sent.append((i, graph.sum_to(value, arg.shape, arg.sampled)))
    return sent


def _contract(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    a, b = node.args
    a_sub, b_sub, out = node.attrs
    return [(0, graph.contract(g, b, f"{out},{b_sub}->{a_sub}",
                               sampled=a.sampled and (g.sampled or b.sampled))),
            (1, graph.contract(a, g, f"{a_sub},{out}->{b_sub}",
                               sampled=b.sampled and (g.sampled or a.sampled)))]


def _sum(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    x = node.args[0]
    kept = tuple(1 if i in node.attrs[0] else size for i, size in enumerate(x.shape))
    return [(0, graph.broadcast(graph.reshape(g, kept), x.shape))]


def _sample_reduce(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    # one value per sample (the same for each), so that every adjoint of a sampled node
    # is sampled and sums over the samples happen where a parameter meets it
    if node.attrs[0] == "sum":
        return [(0, graph.to_samples(g))]
    x0, x1 = symbols(2)
    return [(0, graph.to_samples(graph.map(x0 / x1, (g, graph.samples()))))]


def _to_samples(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.sum_to(g, node.shape, False))]


def _broadcast(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    x = node.args[0]
    return [(0, graph.sum_to(g, x.shape, x.sampled))]


def _sum_to(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.broadcast(graph.reshape(g, _aligned(g.shape, node.args[0].shape)),
                                node.args[0].shape))]


def _aligned(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with leading ones, to the rank of `target` (numpy's broadcast alignment)."""
    return (1,) * (len(target) - len(shape)) + tuple(shape)


def _reshape(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.reshape(g, node.args[0].shape))]


def _index(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.scatter(g, node.attrs[0], node.args[0].shape))]


def _scatter(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.index(g, node.attrs[0]))]


def _stack(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(i, graph.index(g, (i,))) for i in range(len(node.args))]


def _transpose(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.transpose(g))]


def _kept(graph: Graph, value: Node, x: Node, axes: tuple[int, ...]) -> Node:
    """A value reduced over `axes` of x, with those axes back as ones (keepdims)."""
    return graph.reshape(value, tuple(1 if i in axes else size for i, size in enumerate(x.shape)))


def _logsumexp(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    x0, x1, x2 = symbols(3)
    x, axes = node.args[0], node.attrs[0]
    return [(0, graph.map(x0 * sp.exp(x1 - x2), (_kept(graph, g, x, axes), x,
                                                  _kept(graph, node, x, axes))))]


def _extreme(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    from .elementwise import Step

    x0, x1, x2 = symbols(3)
    x, axes = node.args[0], node.attrs[0]
    # Step is 1/2 at 0 and the entry minus the max is never above 0: 2·Step is 1 at the
    # largest entry and 0 elsewhere (a tie gives each: there the objective has a kink)
    at = Step(x1 - x2) if node.op == "max" else Step(x2 - x1)
    return [(0, graph.map(2 * x0 * at, (_kept(graph, g, x, axes), x,
                                        _kept(graph, node, x, axes))))]


def _gather(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    table, index = node.args
    return [(0, graph.scatter_add(g, index, table.shape))]


def _scatter_add(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.gather(g, node.args[1]))]


def _patches(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.unpatches(g, node.args[0].shape, *node.attrs))]


def _unpatches(graph: Graph, node: Node, g: Node) -> list[tuple[int, Node]]:
    return [(0, graph.patches(g, *node.attrs[1:]))]


VJP: dict[str, Rule] = {
    "map": _map, "contract": _contract, "sum": _sum, "sample_reduce": _sample_reduce,
    "broadcast": _broadcast, "sum_to": _sum_to, "to_samples": _to_samples,
    "reshape": _reshape, "index": _index,
    "scatter": _scatter, "stack": _stack, "transpose": _transpose,
    "logsumexp": _logsumexp, "max": _extreme, "min": _extreme, "gather": _gather,
    "scatter_add": _scatter_add, "patches": _patches, "unpatches": _unpatches,
}
LEAVES = ("parameter", "data", "samples", "literal", "constant")


def gradient(graph: Graph, output: Node, variables: Sequence[Node]) -> list[Node]:
    """∂output/∂v for every v in `variables` (output a scalar, per sample or not), as nodes
    of v's shape; a literal 0 where output does not depend on v."""
    order = topological([output])
    wanted = {id(v) for v in variables}
    needed: set[int] = set(wanted)
    for node in order:   # arguments first: a node is needed if a variable flows into it
        if any(id(arg) in needed for arg in node.args):
            needed.add(id(node))
    contributions: dict[int, list[Node]] = {id(output): [graph.literal(1.0)]}
    adjoints: dict[int, Node] = {}
    for node in reversed(order):
        terms = contributions.pop(id(node), None)
        if not terms or id(node) not in needed:
            continue
        adjoint = _total(graph, terms, node)
        adjoints[id(node)] = adjoint
        if node.op in LEAVES:
            continue
        for i, sent in VJP[node.op](graph, node, adjoint):
            arg = node.args[i]
            if id(arg) in needed:
                contributions.setdefault(id(arg), []).append(_summed(graph, node, arg, sent))
    return [adjoints.get(id(v)) or graph.broadcast(graph.literal(0.0), v.shape)
            for v in variables]


def _summed(graph: Graph, node: Node, arg: Node, sent: Node) -> Node:
    """What a node sends an argument, summed over the samples where the argument has one
    value for all of them (every adjoint of a sampled node is sampled: see sample_reduce)."""
    return graph.sum_to(sent, arg.shape, arg.sampled)


def _total(graph: Graph, terms: list[Node], node: Node) -> Node:
    x0, x1 = symbols(2)
    total = terms[0]
    for term in terms[1:]:
        total = graph.map(x0 + x1, (total, term), stable=False)
    return graph.broadcast(total, node.shape) if total.shape != node.shape else total


def hessian_vector(graph: Graph, output: Node, variables: Sequence[Node],
                   directions: Sequence[Node]) -> list[Node]:
    """H·v for the Hessian of `output` over `variables`: the gradient of Σ ∇output ⊙ v."""
    x0, x1 = symbols(2)
    gradients = gradient(graph, output, variables)
    directional: Node | None = None
    for g, v in zip(gradients, directions, strict=True):
        term = graph.sum(graph.map(x0 * x1, (g, v)))
        directional = term if directional is None else graph.map(x0 + x1, (directional, term))
    assert directional is not None
    return gradient(graph, directional, variables)
