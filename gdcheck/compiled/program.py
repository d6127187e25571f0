"""Graph nodes → one straight-line numpy function, one array operation per line.

How it works: the nodes the outputs need are visited arguments first, and each becomes a
line `vK = ...` (`EMITTERS`, one per op). Values of sampled nodes carry the sample axis
first, (n, *shape); the others are (*shape), and numpy's broadcasting lines them up, a
sampled operand of lower rank being reshaped to (n, 1, ..., *shape) first. A contraction
is written as a matrix product on (transposed) views wherever its axes allow, so
`W @ x` over the samples is one BLAS call, `x @ W.T`, and the weight's gradient
`G.T @ X` sums over the samples inside BLAS; other contractions use `einsum`. Every name
in the code is generated; the only values written into it are numbers. `source` keeps the
code for people to read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..symbolic.contraction import as_matrix_product, sampled_subscripts
from ..symbolic.functions import NUMPY_NAMESPACE
from ..symbolic.tensor import Node, broadcast_shapes, symbols, topological


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


def _printer() -> _Printer:
    return _Printer({"fully_qualified_modules": False, "inline": True,
                     "allow_unknown_functions": True, "order": "none",
                     "user_functions": {name: name for name in NUMPY_NAMESPACE}})


def _scattered(g: Any, index: tuple[int, ...], shape: tuple[int, ...], sampled: bool) -> Any:
    lead = (np.shape(g)[0],) if sampled else ()
    result = np.zeros(lead + shape)
    result[(slice(None),) * len(lead) + index] = g
    return result


def _stacked(items: list[Any], sampled: list[bool], out_sampled: bool) -> Any:
    if not out_sampled:
        return np.stack(items)
    n = next(np.shape(item)[0] for item, s in zip(items, sampled, strict=True) if s)
    spread = [item if s else np.broadcast_to(item, (n,) + np.shape(item))
              for item, s in zip(items, sampled, strict=True)]
    return np.stack(spread, axis=1)


def _logsumexp(x: Any, sampled: bool) -> Any:
    axes = tuple(range(1 if sampled else 0, np.ndim(x)))
    if not axes:
        return x
    top = np.max(x, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axes) + np.log(np.sum(np.exp(x - top), axis=axes))


def _gap(x: Any, sampled: bool, which: str) -> Any:
    flat = np.sort(np.reshape(x, (np.shape(x)[0], -1) if sampled else (-1,)), axis=-1)
    return flat[..., -1] - flat[..., -2] if which == "max" else flat[..., 1] - flat[..., 0]


RUNTIME: dict[str, Any] = {"gdcheck_scatter": _scattered, "gdcheck_stack": _stacked,
                           "gdcheck_lse": _logsumexp, "gdcheck_gap": _gap}


class Program:
    """A generated function of (parameters, data, n) → the outputs, with its source.

    Lines that do not depend on the parameters (`1 - y`, `y / n`) are computed once per data
    set, in a function of their own, and reused while the same data come in."""

    def __init__(self, outputs: Sequence[Node], parameters: Sequence[Node],
                 data: Sequence[Node], name: str = "program"):
        self.outputs = list(outputs)
        writer = _Writer(parameters, data)
        static, body = writer.lines(self.outputs)
        kept = writer.static_names
        returned = ", ".join(writer.names[id(node)] for node in self.outputs)
        unpacked = [f"({', '.join(kept)},) = S"] if kept else []
        self.source = "\n".join([
            "def prepare(D, N):", *(f"    {line}" for line in static),
            f"    return ({''.join(f'{name}, ' for name in kept)})", "",
            f"def {name}(P, D, N, S):", *(f"    {line}" for line in unpacked + body),
            f"    return ({returned},)"]) + "\n"
        namespace: dict[str, Any] = {**np.__dict__, **NUMPY_NAMESPACE, **RUNTIME,
                                     **writer.constants, "numpy": np}
        exec(compile(self.source, f"<gdcheck {name}>", "exec"), namespace)  # noqa: S102
        self.function: Callable[..., tuple[Any, ...]] = namespace[name]
        self.prepare: Callable[..., tuple[Any, ...]] = namespace["prepare"]
        self._prepared: tuple[Any, Any, tuple[Any, ...]] | None = None

    def __call__(self, parameters: Sequence[Any], data: Sequence[Any], n: int
                 ) -> tuple[Any, ...]:
        # the same data object (held here, so its identity cannot be reused) and n: reuse
        if self._prepared is None or self._prepared[0] is not data or self._prepared[1] != n:
            self._prepared = (data, n, self.prepare(data, n))
        return self.function(parameters, data, n, self._prepared[2])


class _Writer:
    def __init__(self, parameters: Sequence[Node], data: Sequence[Node]):
        self.inputs = {id(p): f"P[{i}]" for i, p in enumerate(parameters)}
        self.inputs.update({id(d): f"D[{i}]" for i, d in enumerate(data)})
        self.varying = {id(p) for p in parameters}
        self.names: dict[int, str] = {}
        self.static_names: list[str] = []   # computed once per data set, by prepare()
        self.constants: dict[str, Any] = {}
        self.printer = _printer()
        self.call_counts: Counter[tuple[Any, ...]] = Counter()
        self.shared_calls: dict[tuple[Any, ...], tuple[str, Node]] = {}
        self.pending: list[tuple[str, bool]] = []   # (line, varying) to go before the next

    def emit_call(self, call: sp.Basic, node: Node) -> tuple[str, Node]:
        """A line computing one function call of a map's template; its name and a stand-in
        node (its shape and samples, for the alignment of the maps that use it)."""
        used = sorted({int(a.name[1:]) for a in call.args})
        args = tuple(node.args[i] for i in used)
        local = call.xreplace({sp.Symbol(f"X{i}", real=True): sp.Symbol(f"X{k}", real=True)
                               for k, i in enumerate(used)})
        stand_in = Node("map", args, broadcast_shapes(*(a.shape for a in args)),
                        any(a.sampled for a in args), (local,))
        name = f"s{len(self.shared_calls)}"
        text = _printed(self, local, [(self.names[id(a)], a) for a in args],
                        len(stand_in.shape))
        varying = any(id(a) in self.varying for a in args)
        self.pending.append((f"{name} = {text}", varying))
        if not varying:
            self.static_names.append(name)
        return name, stand_in

    def lines(self, outputs: list[Node]) -> tuple[list[str], list[str]]:
        """(the lines that do not depend on the parameters, the lines that do)."""
        static: list[str] = []
        body: list[str] = []
        order = topological(outputs)
        for node in order:   # which calls several maps make on the same values
            if node.op == "map":
                self.call_counts.update({_call_key(call, node)
                                         for call in _shareable_calls(node.attrs[0])})
        for node in order:
            if id(node) in self.inputs:
                self.names[id(node)] = self.inputs[id(node)]
                continue
            if node.op in ("parameter", "data"):
                raise ValueError(f"the program has no input for {node}")
            name = f"v{len(self.names)}"
            expression = EMITTERS[node.op](self, node, [self.names[id(a)] for a in node.args])
            for line, varying in self.pending:
                (body if varying else static).append(line)
            self.pending.clear()
            if any(id(arg) in self.varying for arg in node.args):
                self.varying.add(id(node))
                body.append(f"{name} = {expression}")
            else:
                static.append(f"{name} = {expression}")
                self.static_names.append(name)
            self.names[id(node)] = name
        return static, body

    def constant(self, values: np.ndarray) -> str:
        if values.shape == ():
            return repr(float(values))
        name = f"C{len(self.constants)}"
        self.constants[name] = values
        return name


def _lead(node: Node) -> str:
    return ":, " if node.sampled else ""


def _aligned(name: str, arg: Node, rank: int) -> str:
    """A sampled value reshaped so numpy broadcasts it against values of `rank` axes."""
    missing = rank - len(arg.shape)
    if not arg.sampled or missing <= 0:
        return name
    return f"{name}.reshape({name}.shape[:1] + {(1,) * missing + arg.shape!r})"


def _map(writer: _Writer, node: Node, names: list[str]) -> str:
    """The template as numpy code; a function call that other maps of the program make on
    the same values (sigmoid(z) in two backward terms) is computed once, on a line of its
    own, and used by name."""
    template, rank = node.attrs[0], len(node.shape)
    arguments = list(zip(names, node.args, strict=True))
    replaced: dict[sp.Basic, sp.Symbol] = {}
    for call in _shareable_calls(template):
        key = _call_key(call, node)
        if writer.call_counts.get(key, 0) < 2:
            continue
        if key not in writer.shared_calls:
            writer.shared_calls[key] = writer.emit_call(call, node)
        shared_name, shared_node = writer.shared_calls[key]
        replaced[call] = sp.Symbol(f"X{len(arguments)}", real=True)
        arguments.append((shared_name, shared_node))
    return _printed(writer, template.xreplace(replaced), arguments, rank)


def _printed(writer: _Writer, template: sp.Expr, arguments: list[tuple[str, Node]],
             rank: int) -> str:
    aligned = [_aligned(name, arg, rank) for name, arg in arguments]
    renamed = {symbol: sp.Symbol(f"__A{i}__", real=True)
               for i, symbol in enumerate(symbols(len(arguments)))}
    text = writer.printer.doprint(template.xreplace(renamed))
    for i, expression in enumerate(aligned):
        text = text.replace(f"__A{i}__", f"({expression})" if "(" in expression else expression)
    return text


def _shareable_calls(template: sp.Expr) -> list[sp.Basic]:
    """Function calls of the template whose arguments are its plain arguments (sigmoid(X1))."""
    return [call for call in sp.preorder_traversal(template) if isinstance(call, sp.Function)
            and call.args and all(isinstance(a, sp.Symbol) and a.name[:1] == "X"
                                  for a in call.args)]


def _call_key(call: sp.Basic, node: Node) -> tuple[Any, ...]:
    return (call.func, tuple(id(node.args[int(a.name[1:])]) for a in call.args))


def _contract(writer: _Writer, node: Node, names: list[str]) -> str:
    a_sub, b_sub, out = sampled_subscripts(node)
    matrix = as_matrix_product(names[0], names[1], a_sub, b_sub, out)
    return matrix or f"einsum('{a_sub},{b_sub}->{out}', {names[0]}, {names[1]})"


def _sum(writer: _Writer, node: Node, names: list[str]) -> str:
    shift = 1 if node.sampled else 0
    return f"sum({names[0]}, axis={tuple(a + shift for a in node.attrs[0])!r})"


def _sample_reduce(writer: _Writer, node: Node, names: list[str]) -> str:
    return f"{node.attrs[0]}({names[0]}, axis=0)"


def _broadcast(writer: _Writer, node: Node, names: list[str]) -> str:
    arg = node.args[0]
    if not node.sampled:
        return f"broadcast_to({names[0]}, {node.shape!r})"
    value = _aligned(names[0], arg, len(node.shape))
    return f"broadcast_to({value}, {names[0]}.shape[:1] + {node.shape!r})"


def _sum_to(writer: _Writer, node: Node, names: list[str]) -> str:
    arg, (shape, _) = node.args[0], node.attrs
    extra = len(arg.shape) - len(shape)
    axes = list(range(extra)) + [extra + i for i, size in enumerate(shape)
                                 if size == 1 and arg.shape[extra + i] != 1]
    shift = 1 if arg.sampled else 0
    axes = [a + shift for a in axes] + ([0] if arg.sampled and not node.sampled else [])
    summed = f"sum({names[0]}, axis={tuple(sorted(axes))!r})" if axes else names[0]
    target = f"{names[0]}.shape[:1] + {shape!r}" if node.sampled else repr(shape)
    return f"{summed}.reshape({target})" if axes or node.shape != arg.shape else summed


def _reshape(writer: _Writer, node: Node, names: list[str]) -> str:
    if node.sampled:
        return f"{names[0]}.reshape({names[0]}.shape[:1] + {node.shape!r})"
    return f"reshape({names[0]}, {node.shape!r})"


def _index(writer: _Writer, node: Node, names: list[str]) -> str:
    return f"{names[0]}[{_lead(node)}{', '.join(map(str, node.attrs[0]))}]"


def _scatter(writer: _Writer, node: Node, names: list[str]) -> str:
    index, shape = node.attrs
    return f"gdcheck_scatter({names[0]}, {index!r}, {shape!r}, {node.sampled})"


def _stack(writer: _Writer, node: Node, names: list[str]) -> str:
    flags = [arg.sampled for arg in node.args]
    return f"gdcheck_stack([{', '.join(names)}], {flags!r}, {node.sampled})"


def _transpose(writer: _Writer, node: Node, names: list[str]) -> str:
    return f"swapaxes({names[0]}, -1, -2)"


def _reduction(function: str) -> Callable[[_Writer, Node, list[str]], str]:
    def emit(writer: _Writer, node: Node, names: list[str]) -> str:
        arg = node.args[0]
        if not arg.shape:
            return names[0]
        axes = tuple(range(1, len(arg.shape) + 1)) if arg.sampled else None
        return f"{function}({names[0]}, axis={axes!r})"

    return emit


def _logsumexp_emit(writer: _Writer, node: Node, names: list[str]) -> str:
    return f"gdcheck_lse({names[0]}, {node.args[0].sampled})"


def _literal(writer: _Writer, node: Node, names: list[str]) -> str:
    values, shape = node.attrs
    return writer.constant(np.array(values, dtype=float).reshape(shape))


EMITTERS: dict[str, Callable[[_Writer, Node, list[str]], str]] = {
    "map": _map, "contract": _contract, "sum": _sum, "sample_reduce": _sample_reduce,
    "broadcast": _broadcast, "sum_to": _sum_to, "reshape": _reshape, "index": _index,
    "scatter": _scatter, "stack": _stack, "transpose": _transpose,
    "logsumexp": _logsumexp_emit, "max": _reduction("amax"), "min": _reduction("amin"),
    "literal": _literal, "samples": lambda writer, node, names: "N",
    "to_samples": lambda writer, node, names: f"broadcast_to({names[0]}, (N,) + {node.shape!r})",
    "constant": lambda writer, node, names: repr(node.attrs[1]),
    "gap": lambda writer, node, names: (
        f"gdcheck_gap({names[0]}, {node.args[0].sampled}, {node.attrs[0]!r})"),
}
