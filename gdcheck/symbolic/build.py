"""Spec expressions → the shaped graph, through the same `ast` allowlist. Nothing is evaluated.

How it works: pass 1 (`grammar.validate`) checks the text as before. Pass 2 walks the
checked tree: a subtree that mentions no parameter, input or target is built exactly,
entry by entry, by the SymPy builder of `expressions.py` (which also refuses constants
that overflow, divide by zero or turn complex) and becomes one `literal` node; every other
subtree becomes graph nodes whose count does not depend on the shapes. Each function of
the language says how it builds its node in `GRAPH_BUILDERS` (elementwise functions are
maps of their own SymPy function).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

import numpy as np
import sympy as sp

from ..errors import LimitError, excerpt
from ..spec import Text
from .elementwise import AbsoluteValue
from .expressions import _Builder, _chain, _constant_nodes
from .functions import CONSTANTS, FUNCTIONS
from .grammar import CHAIN_GROUPS, MAX_EXPONENT, Checker, parse_tree, validate
from .keywords import axes_of, index_items, keyword_values
from .language import Elementwise, value_of
from .maps import partial
from .selections import COMPARISONS, not_an_id
from .tensor import Graph, Node, symbols, topological
from .windows import AvgPool, Conv1d, Conv2d, MaxPool

X0, X1 = symbols(2)


def _dot(graph: Graph, a: Node, b: Node) -> Node:
    if len(a.shape) > 1 or len(b.shape) > 1 or a.shape != b.shape:
        raise ValueError(f"dot needs two vectors of one length, got {list(a.shape)} and "
                         f"{list(b.shape)}")
    if not a.shape:
        return graph.map(X0 * X1, (a, b))
    return graph.contract(a, b, "k,k->")


def _kept(graph: Graph, x: Node, value: Node, axes: tuple[int, ...], keepdims: bool) -> Node:
    """A reduction's result, with the reduced axes back as ones if `keepdims`."""
    if not keepdims:
        return value
    return graph.reshape(value, tuple(1 if i in axes else size
                                      for i, size in enumerate(x.shape)))


def _reduction(op: str) -> Callable[..., Node]:
    """sum, logsumexp, max or min: of every entry, or along `axis`."""

    def build(graph: Graph, x: Node, axis: tuple[int, ...] | None = None,
              keepdims: bool = False) -> Node:
        if x.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {list(x.shape)}")
        axes = axes_of(axis, len(x.shape))
        value = graph.sum(x, axes) if op == "sum" else graph.reduce(op, x, axes)
        return _kept(graph, x, value, axes, keepdims)

    return build


def _mean(graph: Graph, x: Node, axis: tuple[int, ...] | None = None,
          keepdims: bool = False) -> Node:
    axes = axes_of(axis, len(x.shape))
    count = math.prod(x.shape[i] for i in axes)
    return graph.map(X0 / count, (_reduction("sum")(graph, x, axis, keepdims),))


def _norm(graph: Graph, x: Node, ord: int | str = 2, axis: tuple[int, ...] | None = None,
          keepdims: bool = False) -> Node:
    if ord == 2:
        squares = _reduction("sum")(graph, graph.map(X0**2, (x,)), axis, keepdims)
        return graph.map(sp.sqrt(X0), (squares,))
    size = graph.map(AbsoluteValue(X0), (x,))
    return _reduction("sum" if ord == 1 else "max")(graph, size, axis, keepdims)


def _along(x: Node, axis: tuple[int, ...], name: str) -> tuple[int, ...]:
    if not x.shape:
        raise ValueError(f"expected a vector, got shape {list(x.shape)}")
    if len(axis) != 1:
        raise ValueError(f"{name} works along one axis, got axis={axis}")
    return axes_of(axis, len(x.shape))


def _softmax(graph: Graph, v: Node, axis: tuple[int, ...] = (-1,)) -> Node:
    axes = _along(v, axis, "softmax")
    total = _kept(graph, v, graph.reduce("logsumexp", v, axes), axes, True)
    return graph.map(sp.exp(X0 - X1), (v, total))


def _log_softmax(graph: Graph, v: Node, axis: tuple[int, ...] = (-1,)) -> Node:
    axes = _along(v, axis, "log_softmax")
    total = _kept(graph, v, graph.reduce("logsumexp", v, axes), axes, True)
    return graph.map(X0 - X1, (v, total))


# spec name → how a function that is not elementwise builds its node
GRAPH_BUILDERS: dict[str, Callable[..., Node]] = {
    "sum": _reduction("sum"),
    "mean": _mean,
    "dot": _dot,
    "norm": _norm,
    "logsumexp": _reduction("logsumexp"),
    "max": _reduction("max"),
    "min": _reduction("min"),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "transpose": lambda graph, x: graph.transpose(x),
    **{cls.spec_name: cls.graph for cls in (Conv1d, Conv2d, MaxPool, AvgPool)},
}

_BINARY: dict[type, sp.Expr] = {ast.Add: X0 + X1, ast.Sub: X0 - X1, ast.Mult: X0 * X1,
                                ast.Div: X0 / X1, ast.Pow: X0**X1}


class GraphBuilder:
    def __init__(self, graph: Graph, source: Text, environment: dict[str, Node],
                 constants: dict[str, float], tree: ast.AST):
        self.graph = graph
        self.checker = Checker(source)
        self.environment = environment
        self.constant = _constant_nodes(tree, constants)
        self.constants = constants
        self.checked: set[int] = set()
        exact = {name: value_of(sp.Symbol(name, real=True)) for name in constants}
        self.exact = _Builder(source, exact, constants, tree)

    def build(self, node: ast.AST) -> Node:
        if id(node) in self.constant:
            if not self._names_constant(node):
                return self._literal(node)   # exact, and checked: overflow, division by zero
            if id(node) not in self.checked:   # checked whole, then built keeping the names
                self._literal(node)
                self.checked |= {id(inner) for inner in ast.walk(node)}
        try:
            method = getattr(self, f"_{type(node).__name__.lower()}")
            return method(node)
        except (ValueError, TypeError, IndexError) as error:
            raise self.checker.error(str(error), node) from None

    def _literal(self, node: ast.AST) -> Node:
        value = self.exact.build(node)   # exact, and checked for overflow and complex values
        numbers = np.empty(value.shape)
        for index in np.ndindex(value.shape):
            numbers[index] = float(sp.N(value[index], 17, subs=self.exact.values))
        return self.graph.literal(numbers)

    def _names_constant(self, node: ast.AST) -> bool:
        """Whether a constant subtree mentions a named constant (kept by name, not folded)."""
        return any(isinstance(n, ast.Name) and n.id in self.constants for n in ast.walk(node))

    def _name(self, node: ast.Name) -> Node:
        if node.id in self.constants:
            return self.graph.constant(node.id, self.constants[node.id])
        if node.id in CONSTANTS:
            return self.graph.literal(CONSTANTS[node.id][1])
        return self.environment[node.id]

    def _unaryop(self, node: ast.UnaryOp) -> Node:
        operand = self.build(node.operand)
        return self.graph.map(-X0, (operand,)) if isinstance(node.op, ast.USub) else operand

    def _binop(self, node: ast.BinOp) -> Node:
        if isinstance(node.op, ast.MatMult):
            return self.graph.matmul(self.build(node.left), self.build(node.right))
        group = CHAIN_GROUPS.get(type(node.op))
        if group is None:   # a power
            base, exponent = self.build(node.left), self.build(node.right)
            self._check_exponent(node, exponent)
            if id(node.left) in self.constant and _varies(exponent):
                self._check_base(node)
            return self.graph.map(_BINARY[ast.Pow], (base, exponent))
        result: Node | None = None
        for operand, inverse in _chain(node, group):
            value = self.build(operand)
            if result is None:
                result = self.graph.map(-X0 if inverse else X0, (value,)) if group == "+" \
                    else (self.graph.map(1 / X0, (value,)) if inverse else value)
                continue
            operation = {("+", False): ast.Add, ("+", True): ast.Sub, ("*", False): ast.Mult,
                         ("*", True): ast.Div}[(group, inverse)]
            result = self.graph.map(_BINARY[operation], (result, value))
        assert result is not None
        return result

    def _check_exponent(self, node: ast.AST, exponent: Node) -> None:
        if exponent.op != "literal":
            return
        for value in exponent.attrs[0]:
            if abs(value) > MAX_EXPONENT:
                raise self.checker.error(f"exponent {value:g} is larger than {MAX_EXPONENT} in "
                                         "magnitude", node, LimitError)

    def _check_base(self, node: ast.BinOp) -> None:
        """c**w with w varying with the parameters needs c > 0 at every entry: the derivative
        in w is c**w·log(c), and 0**w (undefined for w <= 0) or (-2)**w (complex unless w is
        an integer) has none."""
        for item in self.exact.build(node.left).flat:
            number = complex(sp.N(item, 17, subs=self.exact.values))
            if number.imag != 0 or number.real <= 0:
                raise self.checker.error(
                    f"a power whose exponent varies needs a base > 0, got {number.real:g}: "
                    "0**w is undefined for w <= 0, (-2)**w is complex unless w is an integer, "
                    "and the derivative of c**w, c**w·log(c), needs c > 0", node)

    def _call(self, node: ast.Call) -> Node:
        name = node.func.id   # type: ignore[attr-defined]
        function = FUNCTIONS[name]
        args = tuple(self.build(arg) for arg in node.args)
        keywords = keyword_values(node, function.keywords)
        if issubclass(function, Elementwise):
            scalar = function if function.sympy is None else function.sympy
            return self.graph.map(scalar(*symbols(len(args))), args)
        return GRAPH_BUILDERS[name](self.graph, *args, **keywords)

    def _compare(self, node: ast.Compare) -> Node:
        left, right = self.build(node.left), self.build(node.comparators[0])
        comparison = COMPARISONS[type(node.ops[0]).__name__]
        return self.graph.map(comparison(X0, X1), (left, right))

    def _subscript(self, node: ast.Subscript) -> Node:
        value = self.build(node.value)
        if isinstance(node.slice, ast.Name):
            return self._lookup(node, value, self.build(node.slice))
        return self.graph.index(value, index_items(node, value.shape))

    def _lookup(self, node: ast.Subscript, table: Node, index: Node) -> Node:
        name = node.slice.id   # type: ignore[attr-defined]
        if index.op != "data" or len(index.attrs) < 2:
            raise ValueError(not_an_id(name))
        ids = index.attrs[1]
        if not table.shape or table.shape[0] != ids:
            rows = table.shape[0] if table.shape else 0
            raise ValueError(f"'{name}' takes {ids} ids (range: {ids}), so the table it "
                             f"indexes needs {ids} rows, got shape {list(table.shape)}"
                             + (f" ({rows} rows)" if table.shape else ""))
        return self.graph.gather(table, index)

    def _list(self, node: ast.List) -> Node:
        items = tuple(self.build(element) for element in node.elts)
        if not items:
            raise ValueError("an empty list is not allowed")
        if len({item.shape for item in items}) > 1:
            raise ValueError("a list literal must hold values of one shape: numbers (a "
                             "vector), vectors of one length (a matrix), matrices ...")
        return self.graph.stack(items)


def parse_graph(graph: Graph, source: Text, environment: dict[str, Node],
                constants: dict[str, float], elsewhere: dict[str, str] | None = None) -> Node:
    """Parse one expression into a node of `graph`, given the names it may use.

    `environment` maps each usable name to its node; `constants` gives the named constants'
    numbers; `elsewhere` explains names that exist but may not be used in this field.
    """
    tree = parse_tree(source)
    names = list(environment) + [name for name in constants if name not in environment]
    validate(source, tree, names, constants, elsewhere)
    node = GraphBuilder(graph, source, environment, constants, tree).build(tree)
    _check_finite(source, node)
    return node


def _check_finite(source: Text, root: Node) -> None:
    """No map of the expression holds zoo, nan, infinity or I, nor does its derivative in any
    argument the parameters flow into (the gradient is built from those): either would make
    the gradient undefined."""
    varying: set[int] = set()
    for node in topological([root]):
        if node.op == "parameter" or any(id(arg) in varying for arg in node.args):
            varying.add(id(node))
        if node.op != "map":
            continue
        template = node.attrs[0]
        if _undefined(template):
            raise Checker(source).error("the expression divides by zero or is not finite "
                                        f"({excerpt(sp.sstr(template))})")
        for i, arg in enumerate(node.args):
            derivative = partial(template, i) if id(arg) in varying else sp.S.Zero
            if _undefined(derivative):
                raise Checker(source).error(
                    f"the expression is not differentiable: the derivative of "
                    f"{excerpt(_readable(template, node.args))} is "
                    f"{excerpt(sp.sstr(derivative))}")


def _varies(node: Node) -> bool:
    """Whether the parameters flow into the node."""
    return any(inner.op == "parameter" for inner in topological([node]))


def _readable(template: sp.Expr, args: tuple[Node, ...]) -> str:
    """A map's template with its parameters and data by name (X0, X1 for the rest)."""
    names = {symbol: sp.Symbol(arg.attrs[0]) for symbol, arg in zip(symbols(len(args)), args,
                                                                     strict=True)
             if arg.op in ("parameter", "data")}
    return sp.sstr(template.xreplace(names))


def _undefined(expression: sp.Expr) -> bool:
    return bool(expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I))


__all__ = ["CONSTANTS", "GRAPH_BUILDERS", "parse_graph"]
