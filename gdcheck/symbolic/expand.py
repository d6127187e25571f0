"""The tensor formulas written out entry by entry, as SymPy expressions (for small specs).

How it works: the graph is evaluated on numpy object arrays of SymPy expressions instead
of numbers, one op at a time (`EXPANSIONS`), for one symbolic sample: data leaves are
the per-sample symbols (x[0], y ...), and what the graph sums over the samples is left
per sample. So `gdcheck derive --scalar` and the per-entry view of the tests come from
the one derivation there is, the tensor one; nothing is derived a second way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import numpy as np
import sympy as sp

from .elementwise import Maximum, Minimum
from .expressions import MAX_ENTRIES
from .indexing import python_index
from .reductions import LogSumExp
from .selections import Lookup
from .tensor import Node, symbols, topological
from .windows import patches_of, unpatches_of

Values = dict[int, np.ndarray]   # id(node) → object array of the node's (per-sample) shape


def _objects(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(shape, dtype=object)
    array[...] = value
    return array


def _literal(node: Node, args: list[np.ndarray]) -> np.ndarray:
    values, shape = node.attrs
    from .maps import _number

    return np.array([_number(v) for v in values] + [None], dtype=object)[:-1].reshape(shape)


def _map(node: Node, args: list[np.ndarray]) -> np.ndarray:
    names = symbols(len(args))
    template = node.attrs[0]

    def entry(*items: Any) -> Any:
        return template.xreplace(dict(zip(names, items, strict=True)))

    spread = np.broadcast_arrays(*args) if args else []
    return _objects(np.frompyfunc(entry, len(args), 1)(*spread), node.shape) if args \
        else _objects(template, node.shape)


def _contract(node: Node, args: list[np.ndarray]) -> np.ndarray:
    a, b = args
    a_sub, b_sub, out = node.attrs
    sizes = dict(zip(a_sub, a.shape, strict=True)) | dict(zip(b_sub, b.shape, strict=True))
    summed = [c for c in sizes if c not in out]
    result = np.empty(node.shape, dtype=object)
    for index in np.ndindex(node.shape):
        fixed = dict(zip(out, index, strict=True))
        terms = []
        for inner in itertools.product(*(range(sizes[c]) for c in summed)):
            where = fixed | dict(zip(summed, inner, strict=True))
            terms.append(a[tuple(where[c] for c in a_sub)] * b[tuple(where[c] for c in b_sub)])
        result[index] = sp.Add(*terms)
    return result


def _sum_to(node: Node, args: list[np.ndarray]) -> np.ndarray:
    (value,) = args
    shape = node.attrs[0]
    extra = value.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, size in enumerate(shape)
                                       if size == 1 and value.shape[extra + i] != 1)
    summed = np.sum(value, axis=axes) if axes else value
    return _objects(np.asarray(summed, dtype=object).reshape(shape), shape)


def _scatter(node: Node, args: list[np.ndarray]) -> np.ndarray:
    result = _objects(sp.S.Zero, node.attrs[1])
    result[python_index(node.attrs[0])] = args[0]
    return result


def _along(node: Node, value: np.ndarray, combine: Callable[[list[Any]], Any]) -> np.ndarray:
    """`combine` of the entries along a reduction's axes, at every other position."""
    axes = node.attrs[-1]
    moved = np.moveaxis(value, axes, tuple(range(-len(axes), 0))) if axes else value
    rows = moved.reshape(node.shape + (-1,))
    result = np.empty(node.shape, dtype=object)
    for index in np.ndindex(node.shape):
        result[index] = combine(list(rows[index]))
    return result


def _fold(pair: type) -> Callable[[Node, list[np.ndarray]], np.ndarray]:
    def expand(node: Node, args: list[np.ndarray]) -> np.ndarray:
        return _along(node, args[0], lambda items: reduce(pair, items))

    return expand


def _logsumexp(node: Node, args: list[np.ndarray]) -> np.ndarray:
    return _along(node, args[0], lambda items: items[0] if len(items) == 1
                  else LogSumExp(*items))


def _gather(node: Node, args: list[np.ndarray]) -> np.ndarray:
    """Row index[...] of the table, read as Lookup(id, rows...) at each column (a number
    id picks its row outright)."""
    table, index = args
    result = np.empty(node.shape, dtype=object)
    rest = table.shape[1:]
    for at in np.ndindex(index.shape):
        for column in np.ndindex(rest):
            result[at + column] = Lookup(index[at], *table[(slice(None),) + column])
    return result


def _scatter_add(node: Node, args: list[np.ndarray]) -> np.ndarray:
    """Σ over the entries of g of [index == row]·g, row by row of the table."""
    g, index = args
    from .selections import Equal

    result = _objects(sp.S.Zero, node.shape)
    rest = node.shape[1:]
    for row in range(node.shape[0]):
        for column in np.ndindex(rest):
            result[(row,) + column] = sp.Add(*[Equal(index[at], row) * g[at + column]
                                               for at in np.ndindex(index.shape)])
    return result


EXPANSIONS: dict[str, Callable[[Node, list[np.ndarray]], np.ndarray]] = {
    "literal": _literal,
    "samples": lambda node, args: _objects(sp.Symbol("n", positive=True), ()),
    "constant": lambda node, args: _objects(sp.Symbol(node.attrs[0], real=True), ()),
    "map": _map,
    "contract": _contract,
    "sum": lambda node, args: _objects(np.sum(args[0], axis=node.attrs[0]), node.shape),
    "sample_reduce": lambda node, args: args[0],   # one symbolic sample: per sample
    "to_samples": lambda node, args: args[0],
    "broadcast": lambda node, args: np.array(np.broadcast_to(args[0], node.shape)),
    "sum_to": _sum_to,
    "reshape": lambda node, args: args[0].reshape(node.shape),
    "index": lambda node, args: _objects(args[0][python_index(node.attrs[0])], node.shape),
    "scatter": _scatter,
    "stack": lambda node, args: np.stack([np.asarray(a, dtype=object) for a in args]),
    "transpose": lambda node, args: np.swapaxes(args[0], -1, -2).copy(),
    "logsumexp": _logsumexp,
    "max": _fold(Maximum),
    "min": _fold(Minimum),
    "gather": _gather,
    "scatter_add": _scatter_add,
    "patches": lambda node, args: patches_of(args[0], *node.attrs),
    "unpatches": lambda node, args: unpatches_of(args[0], *node.attrs),
}


class TooLarge(ValueError):
    """A node would take more than MAX_ENTRIES terms to write out entry by entry."""


def _terms(node: Node) -> int:
    """How many SymPy terms writing the node out builds: a contraction sums over its
    summed axes at every entry of its output."""
    if node.op != "contract":
        return node.size
    a, b = node.args
    a_sub, b_sub, out = node.attrs
    sizes = dict(zip(a_sub, a.shape, strict=True)) | dict(zip(b_sub, b.shape, strict=True))
    return node.size * math.prod(size for c, size in sizes.items() if c not in out)


def expand(roots: Sequence[Node], leaves: dict[int, np.ndarray]) -> list[np.ndarray]:
    """Each root as an object array of SymPy expressions, given every leaf's (parameters',
    data's, directions') object array of symbols by id(node).

    Raises TooLarge before a node that would build more than MAX_ENTRIES terms: the graph's
    sizes are bounded only by what numbers can hold, not what SymPy writes out quickly.
    """
    values: Values = dict(leaves)
    for node in topological(list(roots)):
        if id(node) not in values and _terms(node) > MAX_ENTRIES:
            raise TooLarge(f"written out entry by entry, one step of it builds "
                           f"{_terms(node):,} terms; at most {MAX_ENTRIES:,} are allowed")
        if id(node) not in values:
            values[id(node)] = EXPANSIONS[node.op](node, [values[id(a)] for a in node.args])
    return [values[id(root)] for root in roots]
