"""The shaped expression graph: tensor nodes whose number does not grow with the shapes.

How it works: every node has an `op`, its argument nodes, its per-sample `shape` and a flag
`sampled`: whether it carries the implicit sample axis (axis 0 of every input and target,
of length n, reduced by the spec's `reduction`). A 784×256 weight is one `parameter` node.
`Graph` builds nodes through small constructors that check and compute shapes, and shares
equal nodes (same op, same arguments, same attributes), so a subexpression written twice
is computed once.

The ops (`attrs` in brackets):
- leaves: `parameter` [name], `data` [name] (sampled), `samples` (n, a scalar),
  `constant` [name, value] (a named constant), `literal` [values, shape];
- `map` [template]: an elementwise SymPy expression of the symbols X0, X1, ... standing for
  its arguments, which broadcast like numpy's (`maps.py`);
- `contract` [a, b, out, sampled]: two-operand einsum over per-sample axes; a sampled
  operand's sample axis is kept when `sampled`, summed otherwise;
- `sum` [axes], `sample_reduce` [mean|sum], `broadcast` [shape], `sum_to` [shape, sampled],
  `reshape` [shape], `to_samples` (an unsampled value, once per sample), `index` [index],
  `scatter` [index, shape], `stack`, `transpose`, `logsumexp`, `max`, `min` (the last
  three over every per-sample axis), `gap` [max|min] (between the two extreme entries:
  where it is 0, max or min has a kink).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import defaults

Shape = tuple[int, ...]
MAX_ENTRIES = defaults.MAX_SCALARS   # per sample, for any node: bounds intermediates


@dataclass(frozen=True, eq=False)
class Node:
    op: str
    args: tuple[Node, ...]
    shape: Shape
    sampled: bool
    attrs: tuple[Any, ...] = ()

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __repr__(self) -> str:
        mark = "n×" if self.sampled else ""
        return f"<{self.op} {mark}{list(self.shape)} {self.attrs[:1] if self.attrs else ''}>"


def symbols(count: int) -> tuple[sp.Symbol, ...]:
    """X0, X1, ...: the arguments of a map's template."""
    return tuple(sp.Symbol(f"X{i}", real=True) for i in range(count))


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy's broadcast of per-sample shapes; ValueError naming them if they do not."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("shapes " + " and ".join(f"[{', '.join(map(str, s))}]" for s in shapes)
                         + " do not broadcast") from None


class Graph:
    """Builds nodes, sharing equal ones."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[Any, ...], Node] = {}

    def node(self, op: str, args: tuple[Node, ...], shape: Shape, sampled: bool,
             attrs: tuple[Any, ...] = ()) -> Node:
        key = (op, tuple(id(arg) for arg in args), attrs, shape, sampled)
        found = self._nodes.get(key)
        if found is None and math.prod(shape) > MAX_ENTRIES:
            raise ValueError(f"a value of shape {list(shape)} would have "
                             f"{math.prod(shape):,} entries per sample; at most "
                             f"{MAX_ENTRIES:,} are allowed")
        if found is None:
            found = self._nodes[key] = Node(op, args, tuple(shape), sampled, attrs)
        return found

    # -- leaves

    def parameter(self, name: str, shape: Shape, sampled: bool = False) -> Node:
        return self.node("parameter", (), shape, sampled, (name,))

    def data(self, name: str, shape: Shape) -> Node:
        return self.node("data", (), shape, True, (name,))

    def samples(self) -> Node:
        return self.node("samples", (), (), False)

    def constant(self, name: str, value: float) -> Node:
        """A named constant of the spec: a number, kept by name for the formulas."""
        return self.node("constant", (), (), False, (name, float(value)))

    def literal(self, values: Any) -> Node:
        array = np.asarray(values, dtype=float)
        return self.node("literal", (), array.shape, False,
                         (tuple(array.ravel().tolist()), array.shape))

    # -- elementwise

    def map(self, template: sp.Expr, args: tuple[Node, ...], stable: bool = True) -> Node:
        """The elementwise `template` (of X0, X1, ...) of `args`, broadcast (`stable`: merge
        argument maps where a stabler form applies; the forward pass wants it)."""
        from .maps import simplified_map  # maps.py builds on this module

        return simplified_map(self, template, args, stable)

    def raw_map(self, template: sp.Expr, args: tuple[Node, ...]) -> Node:
        shape = broadcast_shapes(*(arg.shape for arg in args)) if args else ()
        return self.node("map", args, shape, any(arg.sampled for arg in args), (template,))

    # -- contractions and reductions

    def contract(self, a: Node, b: Node, subscripts: str, sampled: bool | None = None) -> Node:
        """einsum('a_sub,b_sub->out_sub') over per-sample axes (`sampled`: keep the sample
        axis; by default when either operand has it)."""
        inputs, out = subscripts.split("->")
        a_sub, b_sub = inputs.split(",")
        sizes: dict[str, int] = {}
        for letters, node in ((a_sub, a), (b_sub, b)):
            if len(letters) != len(node.shape):
                raise ValueError(f"{letters} does not fit shape {list(node.shape)}")
            for letter, size in zip(letters, node.shape, strict=True):
                if sizes.setdefault(letter, size) != size:
                    raise ValueError(f"axis '{letter}': {sizes[letter]} against {size}")
        keep = (a.sampled or b.sampled) if sampled is None else sampled
        if keep == (a.sampled or b.sampled) and ((not a_sub and b_sub == out)
                                                 or (not b_sub and a_sub == out)):
            x0, x1 = symbols(2)   # a scalar times a value: elementwise, no contraction
            return self.map(x0 * x1, (a, b))
        return self.node("contract", (a, b), tuple(sizes[c] for c in out), keep,
                         (a_sub, b_sub, out))

    def matmul(self, a: Node, b: Node) -> Node:
        if not a.shape or not b.shape or a.shape[-1] != b.shape[0]:
            raise ValueError(f"cannot matrix-multiply shapes {list(a.shape)} and "
                             f"{list(b.shape)}")
        left = "ik" if len(a.shape) == 2 else "k"
        right = "kj" if len(b.shape) == 2 else "k"
        out = left.replace("k", "") + right.replace("k", "")
        return self.contract(a, b, f"{left},{right}->{out}")

    def sum(self, x: Node, axes: tuple[int, ...] | None = None) -> Node:
        axes = tuple(range(len(x.shape))) if axes is None else axes
        if not axes:
            return x
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return self.node("sum", (x,), shape, x.sampled, (axes,))

    def sample_reduce(self, x: Node, how: str) -> Node:
        if not x.sampled:   # the same for every sample
            return x if how == "mean" else self.map(symbols(2)[0] * symbols(2)[1],
                                                    (x, self.samples()))
        return self.node("sample_reduce", (x,), x.shape, False, (how,))

    def to_samples(self, x: Node) -> Node:
        """An unsampled value as one value per sample (the same for each)."""
        if x.sampled:
            return x
        return self.node("to_samples", (x,), x.shape, True)

    def broadcast(self, x: Node, shape: Shape) -> Node:
        if x.shape == tuple(shape):
            return x
        return self.node("broadcast", (x,), shape, x.sampled, (tuple(shape),))

    def sum_to(self, x: Node, shape: Shape, sampled: bool) -> Node:
        """`x` summed down to a broadcast operand's shape (and over samples if it had none)."""
        if x.shape == tuple(shape) and (x.sampled == sampled or not x.sampled):
            return x
        return self.node("sum_to", (x,), shape, sampled and x.sampled, (tuple(shape), sampled))

    def reshape(self, x: Node, shape: Shape) -> Node:
        if x.shape == tuple(shape):
            return x
        return self.node("reshape", (x,), shape, x.sampled, (tuple(shape),))

    def reduce(self, op: str, x: Node) -> Node:
        """logsumexp, max or min over every per-sample axis."""
        if x.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {list(x.shape)}")
        return self.node(op, (x,), (), x.sampled)

    def gap(self, x: Node, which: str) -> Node:
        """max: the largest entry minus the second largest; min: the second smallest minus
        the smallest. Zero where max (min) is not differentiable."""
        return self.node("gap", (x,), (), x.sampled, (which,))

    # -- structure

    def index(self, x: Node, index: tuple[int, ...]) -> Node:
        normal = tuple(i % size for i, size in zip(index, x.shape, strict=False))
        return self.node("index", (x,), x.shape[len(index):], x.sampled, (normal,))

    def scatter(self, g: Node, index: tuple[int, ...], shape: Shape) -> Node:
        return self.node("scatter", (g,), shape, g.sampled, (index, tuple(shape)))

    def stack(self, items: tuple[Node, ...]) -> Node:
        shapes = {item.shape for item in items}
        if len(shapes) != 1:
            raise ValueError("a list literal must hold values of one shape")
        return self.node("stack", items, (len(items),) + items[0].shape,
                         any(item.sampled for item in items))

    def transpose(self, x: Node) -> Node:
        if len(x.shape) < 2:
            return x
        return self.node("transpose", (x,), x.shape[:-2] + x.shape[-2:][::-1], x.sampled)


def topological(roots: list[Node]) -> list[Node]:
    """Every node the roots need, arguments first (iterative: deep graphs are fine)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((arg, False) for arg in reversed(node.args) if id(arg) not in seen)
    return order
