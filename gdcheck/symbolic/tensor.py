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
  `reshape` [shape], `to_samples` (an unsampled value, once per sample), `index` [items]
  (integers and slices, `indexing.py`), `scatter` [items, shape], `stack`, `transpose`,
  `logsumexp`, `max`, `min` [axes] (over per-sample axes), `gap` [max|min, axes] (between
  the two extreme entries: where it is 0, max or min has a kink);
- lookups and windows: `gather` (rows of an unsampled table picked by integer data),
  `scatter_add` [shape] (its adjoint: rows added back into the table), `patches` [kernel,
  stride, padding] (every window of the spatial axes of a (channels, *spatial) value, as
  (channels, *kernel, *positions): a convolution is a contraction of it) and its adjoint
  `unpatches` [shape, kernel, stride, padding].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import defaults
from .indexing import Item, indexed_shape, normal_slice, window_shape

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

    def data(self, name: str, shape: Shape, ids: int | None = None) -> Node:
        """An input or the target; `ids`: an integer input's range (its values are row
        numbers 0 .. ids-1 of a table)."""
        return self.node("data", (), shape, True, (name,) if ids is None else (name, ids))

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
        """numpy's `@`: vectors, matrices, and stacks of matrices (leading axes equal, or
        on one side only)."""
        if not a.shape or not b.shape or a.shape[-1] != b.shape[-2 if len(b.shape) > 1 else 0]:
            raise ValueError(f"cannot matrix-multiply shapes {list(a.shape)} and "
                             f"{list(b.shape)}")
        batch_a, batch_b = a.shape[:-2], b.shape[:-2]
        if batch_a and batch_b and batch_a != batch_b:
            raise ValueError(f"cannot matrix-multiply shapes {list(a.shape)} and "
                             f"{list(b.shape)}: their leading axes {list(batch_a)} and "
                             f"{list(batch_b)} differ")
        letters = "pqrstu"[:max(len(batch_a), len(batch_b))]
        left = letters[:len(batch_a)] + ("ik" if len(a.shape) >= 2 else "k")
        right = letters[:len(batch_b)] + ("kj" if len(b.shape) >= 2 else "k")
        out = letters + ("i" if len(a.shape) >= 2 else "") + ("j" if len(b.shape) >= 2 else "")
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

    def reduce(self, op: str, x: Node, axes: tuple[int, ...] | None = None) -> Node:
        """logsumexp, max or min over `axes` (every per-sample axis by default)."""
        if x.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {list(x.shape)}")
        axes = tuple(range(len(x.shape))) if axes is None else tuple(sorted(axes))
        if not axes and x.shape:
            return x
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return self.node(op, (x,), shape, x.sampled, (axes,))

    def gap(self, x: Node, which: str, axes: tuple[int, ...] | None = None) -> Node:
        """max: the largest entry minus the second largest; min: the second smallest minus
        the smallest (over `axes`, every axis by default). Zero where max (min) is not
        differentiable."""
        axes = tuple(range(len(x.shape))) if axes is None else tuple(sorted(axes))
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return self.node("gap", (x,), shape, x.sampled, (which, axes))

    # -- structure

    def index(self, x: Node, items: tuple[Item, ...]) -> Node:
        """x[items]: integers drop their axis, slices (start, stop, step) keep it."""
        normal: list[Item] = []
        for item, size in zip(items, x.shape, strict=False):
            normal.append(item % size if isinstance(item, int) else normal_slice(*item, size))
        items = tuple(normal)
        if all(item == (0, size, 1) for item, size in zip(items, x.shape, strict=False)):
            return x
        return self.node("index", (x,), indexed_shape(x.shape, items), x.sampled, (items,))

    def scatter(self, g: Node, items: tuple[Item, ...], shape: Shape) -> Node:
        return self.node("scatter", (g,), shape, g.sampled, (items, tuple(shape)))

    def gather(self, table: Node, index: Node) -> Node:
        """table[index]: the rows an integer value picks, one per entry of it."""
        if table.sampled or not table.shape:
            raise ValueError("a lookup table must be a parameter or constant with at least "
                             "one axis, not a value of the data")
        return self.node("gather", (table, index), index.shape + table.shape[1:], True)

    def scatter_add(self, g: Node, index: Node, shape: Shape) -> Node:
        """Each row of g added into row index[...] of a zero table of `shape` (summed over
        the samples too)."""
        return self.node("scatter_add", (g, index), tuple(shape), False)

    def patches(self, x: Node, kernel: Shape, stride: Shape, padding: Shape) -> Node:
        channels, spatial = x.shape[0], x.shape[1:]
        positions = window_shape(spatial, kernel, stride, padding)
        return self.node("patches", (x,), (channels, *kernel, *positions), x.sampled,
                         (tuple(kernel), tuple(stride), tuple(padding)))

    def unpatches(self, g: Node, shape: Shape, kernel: Shape, stride: Shape, padding: Shape
                  ) -> Node:
        return self.node("unpatches", (g,), tuple(shape), g.sampled,
                         (tuple(shape), tuple(kernel), tuple(stride), tuple(padding)))

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
