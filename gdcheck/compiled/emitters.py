"""One emitter per graph op: the numpy code of a node's value, given its arguments' names.

An emitter returns an expression; it may put lines before it (`writer.pending`), such as a
function call several maps share, or the ufunc calls that write a sampled value into the
buffer the writer chose for it (`writer.target`, `inplace.py`). Values of sampled nodes
carry the sample axis first, (n, *shape); the others are (*shape), and numpy's broadcasting
lines them up, a sampled operand of lower rank being reshaped to (n, 1, ..., *shape) first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..symbolic.contraction import as_matrix_product, matrix_operands, sampled_subscripts
from ..symbolic.functions import NUMPY_NAMESPACE
from ..symbolic.indexing import python_index
from ..symbolic.tensor import Node, symbols
from .inplace import Fixed, statements

if TYPE_CHECKING:
    from .program import Writer


def _lead(node: Node) -> str:
    return ":, " if node.sampled else ""


def aligned(name: str, arg: Node, rank: int) -> str:
    """A sampled value reshaped so numpy broadcasts it against values of `rank` axes."""
    missing = rank - len(arg.shape)
    if not arg.sampled or missing <= 0:
        return name
    return f"{name}.reshape({name}.shape[:1] + {(1,) * missing + arg.shape!r})"


def _map(writer: Writer, node: Node, names: list[str]) -> str:
    """The template as numpy code; a function call that other maps of the program make on
    the same values (sigmoid(z) in two backward terms) is computed once, on a line of its
    own, and used by name."""
    template, rank = node.attrs[0], len(node.shape)
    arguments = list(zip(names, node.args, strict=True))
    if not template.free_symbols:   # a − a: one number, of the node's shape; a numpy one
        value = writer.printer.doprint(template)   # (0**-2 raises where float64 gives inf)
        if not node.sampled and not node.shape:
            return f"float64({value})"
        if not node.sampled:
            return f"full({node.shape!r}, {value})"
        lead = next(name for name, arg in arguments if arg.sampled)
        return f"full({lead}.shape[:1] + {node.shape!r}, {value})"
    replaced: dict[sp.Basic, sp.Symbol] = {}
    for call in shareable_calls(template):
        key = call_key(call, node)
        if writer.call_counts.get(key, 0) < 2:
            continue
        if key not in writer.shared_calls:
            writer.shared_calls[key] = writer.emit_call(call, node)
        shared_name, shared_node = writer.shared_calls[key]
        replaced[call] = sp.Symbol(f"X{len(arguments)}", real=True)
        arguments.append((shared_name, shared_node))
    if writer.target is not None:
        return in_place(writer, template.xreplace(replaced), arguments, node, writer.target)
    return printed(writer, template.xreplace(replaced), arguments, rank)


def in_place(writer: Writer, template: sp.Expr, arguments: list[tuple[str, Node]],
              node: Node, target: str) -> str:
    """The template as ufunc calls into buffers (lines added to the pending ones); the code
    of its value, `target` unless the template is a plain value or a call without `out=`."""
    rank = len(node.shape)
    operands = {symbol: (aligned(name, arg, rank),
                         (1,) * (rank - len(arg.shape)) + arg.shape if arg.sampled else None)
                for symbol, (name, arg) in zip(symbols(len(arguments)), arguments, strict=True)}
    ordered = list(operands)

    def plain(expr: sp.Expr) -> str:
        used = [s for s in ordered if s in expr.free_symbols]
        return printed(writer, expr.xreplace(dict(zip(used, symbols(len(used)), strict=True))),
                        [(name, arg) for s, (name, arg) in zip(ordered, arguments, strict=True)
                         if s in used], rank)

    def function_name(call: sp.Function) -> str:
        return writer.printer.doprint(call.func(*symbols(len(call.args)))).split("(")[0]

    def hoist(expr: sp.Expr) -> str:   # a line computed once per data set
        name = f"h{len(writer.static_names)}"
        writer.pending.append((f"{name} = {plain(expr)}", False))
        writer.static_names.append(name)
        return name

    fixed = Fixed({symbol for symbol, (_, arg) in zip(ordered, arguments, strict=True)
                   if id(arg) not in writer.varying}, hoist)
    namespace = {**np.__dict__, **NUMPY_NAMESPACE}
    assert writer.slots is not None
    lines, value = statements(template, operands, writer.slots, target, plain, function_name,
                              namespace, fixed)
    writer.pending.extend((line, True) for line in lines)
    return value


def printed(writer: Writer, template: sp.Expr, arguments: list[tuple[str, Node]],
             rank: int) -> str:
    codes = [aligned(name, arg, rank) for name, arg in arguments]
    renamed = {symbol: sp.Symbol(f"__A{i}__", real=True)
               for i, symbol in enumerate(symbols(len(arguments)))}
    text = writer.printer.doprint(template.xreplace(renamed))
    for i, expression in enumerate(codes):
        text = text.replace(f"__A{i}__", f"({expression})" if "(" in expression else expression)
    return text


def shareable_calls(template: sp.Expr) -> list[sp.Basic]:
    """Function calls of the template whose arguments are its plain arguments (sigmoid(X1))."""
    return [call for call in sp.preorder_traversal(template) if isinstance(call, sp.Function)
            and call.args and all(isinstance(a, sp.Symbol) and a.name[:1] == "X"
                                  for a in call.args)]


def call_key(call: sp.Basic, node: Node) -> tuple[Any, ...]:
    return (call.func, tuple(id(node.args[int(a.name[1:])]) for a in call.args))


def _contract(writer: Writer, node: Node, names: list[str]) -> str:
    a_sub, b_sub, out = sampled_subscripts(node)
    operands = matrix_operands(names[0], names[1], a_sub, b_sub, out)
    if writer.target is not None and operands is not None:
        left, right, inner = operands
        function = "matmul" if inner else "multiply.outer"
        writer.pending.append((f"{function}({left}, {right}, out={writer.target})", True))
        return writer.target
    matrix = as_matrix_product(names[0], names[1], a_sub, b_sub, out)
    return matrix or f"einsum('{a_sub},{b_sub}->{out}', {names[0]}, {names[1]})"


def _sum(writer: Writer, node: Node, names: list[str]) -> str:
    shift = 1 if node.sampled else 0
    return f"sum({names[0]}, axis={tuple(a + shift for a in node.attrs[0])!r})"


def _sample_reduce(writer: Writer, node: Node, names: list[str]) -> str:
    return f"{node.attrs[0]}({names[0]}, axis=0)"


def _broadcast(writer: Writer, node: Node, names: list[str]) -> str:
    arg = node.args[0]
    if not node.sampled:
        return f"broadcast_to({names[0]}, {node.shape!r})"
    value = aligned(names[0], arg, len(node.shape))
    return f"broadcast_to({value}, {names[0]}.shape[:1] + {node.shape!r})"


def _sum_to(writer: Writer, node: Node, names: list[str]) -> str:
    arg, (shape, _) = node.args[0], node.attrs
    extra = len(arg.shape) - len(shape)
    axes = list(range(extra)) + [extra + i for i, size in enumerate(shape)
                                 if size == 1 and arg.shape[extra + i] != 1]
    shift = 1 if arg.sampled else 0
    axes = [a + shift for a in axes] + ([0] if arg.sampled and not node.sampled else [])
    summed = f"sum({names[0]}, axis={tuple(sorted(axes))!r})" if axes else names[0]
    target = f"{names[0]}.shape[:1] + {shape!r}" if node.sampled else repr(shape)
    return f"{summed}.reshape({target})" if axes or node.shape != arg.shape else summed


def _reshape(writer: Writer, node: Node, names: list[str]) -> str:
    if node.sampled:
        return f"{names[0]}.reshape({names[0]}.shape[:1] + {node.shape!r})"
    return f"reshape({names[0]}, {node.shape!r})"


def _index(writer: Writer, node: Node, names: list[str]) -> str:
    items = ", ".join(str(item) if isinstance(item, int) else
                      ":".join("" if part is None else str(part) for part in item)
                      for item in node.attrs[0])
    return f"{names[0]}[{_lead(node)}{items}]"


def _scatter(writer: Writer, node: Node, names: list[str]) -> str:
    items, shape = node.attrs
    return f"gdcheck_scatter({names[0]}, {python_index(items)!r}, {shape!r}, {node.sampled})"


def _gather(writer: Writer, node: Node, names: list[str]) -> str:
    return f"gdcheck_gather({names[0]}, {names[1]})"


def _scatter_add(writer: Writer, node: Node, names: list[str]) -> str:
    return f"gdcheck_scatter_add({names[0]}, {names[1]}, {node.shape!r})"


def _patches(writer: Writer, node: Node, names: list[str]) -> str:
    kernel, stride, padding = node.attrs
    return f"gdcheck_patches({names[0]}, {node.sampled}, {kernel!r}, {stride!r}, {padding!r})"


def _unpatches(writer: Writer, node: Node, names: list[str]) -> str:
    shape, kernel, stride, padding = node.attrs
    return (f"gdcheck_unpatches({names[0]}, {node.sampled}, {shape!r}, {kernel!r}, "
            f"{stride!r}, {padding!r})")


def _stack(writer: Writer, node: Node, names: list[str]) -> str:
    flags = [arg.sampled for arg in node.args]
    return f"gdcheck_stack([{', '.join(names)}], {flags!r}, {node.sampled})"


def _transpose(writer: Writer, node: Node, names: list[str]) -> str:
    return f"swapaxes({names[0]}, -1, -2)"


def _axes(node: Node) -> tuple[int, ...]:
    """A reduction's axes in the generated value (the sample axis first, where it has one)."""
    shift = 1 if node.args[0].sampled else 0
    axes: tuple[int, ...] = node.attrs[-1]
    return tuple(axis + shift for axis in axes)


def _reduction(function: str) -> Callable[[Writer, Node, list[str]], str]:
    def emit(writer: Writer, node: Node, names: list[str]) -> str:
        if not node.args[0].shape:
            return names[0]
        return f"{function}({names[0]}, axis={_axes(node)!r})"

    return emit


def _logsumexp_emit(writer: Writer, node: Node, names: list[str]) -> str:
    if not node.args[0].shape:
        return names[0]
    return f"gdcheck_lse({names[0]}, {_axes(node)!r})"


def _literal(writer: Writer, node: Node, names: list[str]) -> str:
    values, shape = node.attrs
    return writer.constant(np.array(values, dtype=float).reshape(shape))


EMITTERS: dict[str, Callable[[Writer, Node, list[str]], str]] = {
    "map": _map, "contract": _contract, "sum": _sum, "sample_reduce": _sample_reduce,
    "broadcast": _broadcast, "sum_to": _sum_to, "reshape": _reshape, "index": _index,
    "scatter": _scatter, "stack": _stack, "transpose": _transpose,
    "logsumexp": _logsumexp_emit, "max": _reduction("amax"), "min": _reduction("amin"),
    "literal": _literal, "samples": lambda writer, node, names: "N",
    "to_samples": lambda writer, node, names: f"broadcast_to({names[0]}, (N,) + {node.shape!r})",
    # a numpy scalar, not a Python number: 0**-2 raises ZeroDivisionError, float64 gives inf
    "constant": lambda writer, node, names: f"float64({float(node.attrs[1])!r})",
    "gap": lambda writer, node, names: (
        f"gdcheck_gap({names[0]}, {_axes(node)!r}, {node.attrs[0]!r})"),
    "gather": _gather, "scatter_add": _scatter_add, "patches": _patches,
    "unpatches": _unpatches,
}
