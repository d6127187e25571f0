"""How far a node can move when the parameters move by at most `steps`: a first-order bound.

How it works: forward mode with every local derivative taken in absolute value, so
reach(node) ≥ Σ_j |∂node/∂θ_j|·step_j entry by entry (the triangle inequality). The kink
test asks whether |kink argument| ≤ margin · reach at any entry: then a finite-difference
stencil of those steps may straddle the kink. One extra forward pass, whatever P is.
"""

from __future__ import annotations

from collections.abc import Callable

from .elementwise import AbsoluteValue
from .maps import OUT, partial
from .tensor import Graph, Node, symbols, topological

Reach = Node | None   # None: the node does not move with the parameters


def _map(graph: Graph, node: Node, reaches: list[Reach]) -> Reach:
    count = len(node.args)
    names = symbols(count + 2)   # X0.. the arguments, then the output, then the reach
    total: Node | None = None
    for i, r in enumerate(reaches):
        if r is None:
            continue
        local = AbsoluteValue(partial(node.attrs[0], i).xreplace({OUT: names[count]}))
        term = graph.map(local * names[count + 1], (*node.args, node, r))
        total = term if total is None else graph.map(names[0] + names[1], (total, term))
    return total


def _contract(graph: Graph, node: Node, reaches: list[Reach]) -> Reach:
    a, b = node.args
    ra, rb = reaches
    x0 = symbols(1)[0]
    subscripts = f"{node.attrs[0]},{node.attrs[1]}->{node.attrs[2]}"
    terms = []
    if rb is not None:
        terms.append(graph.contract(graph.map(AbsoluteValue(x0), (a,)), rb, subscripts,
                                    node.sampled))
    if ra is not None:
        terms.append(graph.contract(ra, graph.map(AbsoluteValue(x0), (b,)), subscripts,
                                    node.sampled))
    return terms[0] if len(terms) == 1 else graph.map(sum(symbols(2)), tuple(terms))


_SAME_OP: dict[str, Callable[[Graph, Node, Node], Node]] = {
    "sum": lambda graph, node, r: graph.sum(r, node.attrs[0]),
    "sample_reduce": lambda graph, node, r: graph.sample_reduce(r, node.attrs[0]),
    "broadcast": lambda graph, node, r: graph.broadcast(r, node.attrs[0]),
    "sum_to": lambda graph, node, r: graph.sum_to(r, *node.attrs),
    "reshape": lambda graph, node, r: graph.reshape(r, node.attrs[0]),
    "index": lambda graph, node, r: graph.index(r, node.attrs[0]),
    "scatter": lambda graph, node, r: graph.scatter(r, *node.attrs),
    "transpose": lambda graph, node, r: graph.transpose(r),
    "to_samples": lambda graph, node, r: graph.to_samples(r),
    "patches": lambda graph, node, r: graph.patches(r, *node.attrs),
    "unpatches": lambda graph, node, r: graph.unpatches(r, *node.attrs),
}


def _linear(graph: Graph, node: Node, reaches: list[Reach]) -> Reach:
    """Ops that are linear in their arguments: the same op of the reaches (nonnegative)."""
    if node.op == "stack":
        zero = graph.literal(0.0)
        items = tuple(r if r is not None else graph.broadcast(zero, a.shape)
                      for a, r in zip(node.args, reaches, strict=True))
        return graph.stack(items)
    if node.op in ("gather", "scatter_add"):   # linear in their first argument only
        r = reaches[0]
        assert r is not None
        return (graph.gather(r, node.args[1]) if node.op == "gather"
                else graph.scatter_add(r, node.args[1], node.shape))
    (r,) = reaches
    assert r is not None
    return _SAME_OP[node.op](graph, node, r)


def _largest(graph: Graph, node: Node, reaches: list[Reach]) -> Reach:
    """The largest reach over the reduced axes (a max, a min or logsumexp moves no more
    than its most moving entry)."""
    (r,) = reaches
    assert r is not None
    return graph.reduce("max", r, node.attrs[-1]) if r.shape else r


def _gap(graph: Graph, node: Node, reaches: list[Reach]) -> Reach:
    largest = _largest(graph, node, reaches)
    assert largest is not None
    x0 = symbols(1)[0]
    return graph.map(2 * x0, (largest,))   # both ends of the gap may move


LINEAR = ("sum", "sample_reduce", "broadcast", "sum_to", "reshape", "index", "scatter",
          "stack", "transpose", "to_samples", "gather", "scatter_add", "patches", "unpatches")
RULES: dict[str, Callable[[Graph, Node, list[Reach]], Reach]] = {
    "map": _map, "contract": _contract, "logsumexp": _largest, "max": _largest,
    "min": _largest, "gap": _gap, **dict.fromkeys(LINEAR, _linear),
}


def reaches(graph: Graph, roots: list[Node], steps: dict[int, Node]) -> list[Node]:
    """reach(root) for each root, where `steps` maps id(parameter node) to its step node."""
    found: dict[int, Reach] = dict(steps)
    for node in topological(roots):
        if id(node) in found:
            continue
        incoming = [found.get(id(arg)) for arg in node.args]
        found[id(node)] = None if all(r is None for r in incoming) or not node.args \
            else RULES[node.op](graph, node, incoming)
    zero = graph.literal(0.0)
    return [found.get(id(root)) or graph.broadcast(zero, root.shape) for root in roots]

