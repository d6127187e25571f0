"""Graph nodes → one straight-line numpy function, one array operation per line.

How it works: the nodes the outputs need are visited arguments first, and each becomes a
line `vK = ...` (`emitters.py`, one per op). A contraction
is written as a matrix product on (transposed) views wherever its axes allow, so
`W @ x` over the samples is one BLAS call, `x @ W.T`, and the weight's gradient
`G.T @ X` sums over the samples inside BLAS; other contractions use `einsum`. Every name
in the code is generated; the only values written into it are numbers. `source` keeps the
code for people to read.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.functions import NUMPY_NAMESPACE
from ..symbolic.tensor import Node, broadcast_shapes, topological
from .emitters import EMITTERS, call_key, in_place, printed, shareable_calls
from .inplace import Slots
from .printing import RUNTIME, printer


class Program:
    """A generated function of (parameters, data, n) → the outputs, with its source.

    Lines that do not depend on the parameters (`1 - y`, `y / n`) are computed once per data
    set, in a function of their own, and reused while the same data come in. With `buffered`
    (for programs whose sample axis is the data's n), per-sample values are written into
    buffers allocated once per n and kept (`inplace.py`): the outputs are copies, and calls
    are serialised by a lock, as two calls at once would share the buffers."""

    def __init__(self, outputs: Sequence[Node], parameters: Sequence[Node],
                 data: Sequence[Node], name: str = "program", buffered: bool = False):
        self.outputs = list(outputs)
        writer = Writer(parameters, data, Slots() if buffered else None)
        static, body = writer.lines(self.outputs)
        kept = writer.static_names
        returned = ", ".join(writer.returned(node) for node in self.outputs)
        unpacked = [f"({', '.join(kept)},) = S"] if kept else []
        self.buffer_shapes = writer.slots.shapes if writer.slots is not None else []
        if self.buffer_shapes:
            unpacked.append(f"({', '.join(f'b{i}' for i in range(len(self.buffer_shapes)))},) = B")
        self.source = "\n".join([
            "def prepare(D, N):", *(f"    {line}" for line in static),
            f"    return ({''.join(f'{name}, ' for name in kept)})", "",
            f"def {name}(P, D, N, S, B):", *(f"    {line}" for line in unpacked + body),
            f"    return ({returned}{',' if self.outputs else ''})"]) + "\n"
        namespace: dict[str, Any] = {**np.__dict__, **NUMPY_NAMESPACE, **RUNTIME,
                                     **writer.constants, "numpy": np}
        exec(compile(self.source, f"<gdcheck {name}>", "exec"), namespace)  # noqa: S102
        self.function: Callable[..., tuple[Any, ...]] = namespace[name]
        self.prepare: Callable[..., tuple[Any, ...]] = namespace["prepare"]
        self._prepared: tuple[Any, Any, tuple[Any, ...]] | None = None
        self._buffers: tuple[int, list[np.ndarray]] | None = None
        self._lock = threading.Lock()

    def __call__(self, parameters: Sequence[Any], data: Sequence[Any], n: int
                 ) -> tuple[Any, ...]:
        with self._lock:
            # the same data object (held here, so its identity cannot be reused) and n: reuse
            if self._prepared is None or self._prepared[0] is not data or self._prepared[1] != n:
                self._prepared = (data, n, self.prepare(data, n))
            if self._buffers is None or self._buffers[0] != n:
                self._buffers = (n, [np.empty((n,) + shape) for shape in self.buffer_shapes])
            return self.function(parameters, data, n, self._prepared[2], self._buffers[1])


# ops whose value is always a new array, never a view of an argument's
_FRESH = frozenset({"contract", "sum", "sample_reduce", "scatter", "stack", "logsumexp", "gap",
                    "gather", "scatter_add", "unpatches"})


class Writer:
    def __init__(self, parameters: Sequence[Node], data: Sequence[Node], slots: Slots | None):
        self.slots = slots
        self.target: str | None = None      # the buffer the node being written goes into
        self.refs: dict[int, set[str]] = {}  # node → the buffers its value may be (a view of)
        self.ends: dict[str, int] = {}       # buffer → the last line that reads it
        self.shared_buffers: dict[str, str] = {}   # shared call → its buffer (kept to the end)
        self.inputs = {id(p): f"P[{i}]" for i, p in enumerate(parameters)}
        self.inputs.update({id(d): f"D[{i}]" for i, d in enumerate(data)})
        self.varying = {id(p) for p in parameters}
        self.names: dict[int, str] = {}
        self.static_names: list[str] = []   # computed once per data set, by prepare()
        self.constants: dict[str, Any] = {}
        self.printer = printer()
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
        varying = any(id(a) in self.varying for a in args)
        if varying:
            self.varying.add(id(stand_in))
        arguments = [(self.names[id(a)], a) for a in args]
        if self.slots is not None and varying and stand_in.sampled:
            # kept to the end of the call: the maps that use it are not known yet
            target = self.slots.take(stand_in.shape)
            text = in_place(self, local, arguments, stand_in, target)
            if text == target:
                self.shared_buffers[name] = target
        else:
            text = printed(self, local, arguments, len(stand_in.shape))
        self.pending.append((f"{name} = {text}", varying))
        if not varying:
            self.static_names.append(name)
        return name, stand_in

    def lines(self, outputs: list[Node]) -> tuple[list[str], list[str]]:
        """(the lines that do not depend on the parameters, the lines that do)."""
        static: list[str] = []
        body: list[str] = []
        order = topological(outputs)
        last_use = {id(node): len(order) for node in outputs}   # outputs: to the end
        for position, node in enumerate(order):
            for arg in node.args:
                last_use[id(arg)] = max(last_use.get(id(arg), 0), position)
            if node.op == "map":   # which calls several maps make on the same values
                self.call_counts.update({call_key(call, node)
                                         for call in shareable_calls(node.attrs[0])})
        for position, node in enumerate(order):
            if id(node) in self.inputs:
                self.names[id(node)] = self.inputs[id(node)]
                continue
            if node.op in ("parameter", "data"):
                raise ValueError(f"the program has no input for {node}")
            name = f"v{len(self.names)}"
            varying = any(id(arg) in self.varying for arg in node.args)
            self.target = None
            if (self.slots is not None and varying and node.sampled
                    and node.op in ("map", "contract") and last_use[id(node)] < len(order)):
                self.target = self.slots.take(node.shape)
            expression = EMITTERS[node.op](self, node, [self.names[id(a)] for a in node.args])
            for line, line_varies in self.pending:
                (body if line_varies else static).append(line)
            self.pending.clear()
            if varying:
                self.varying.add(id(node))
                body.append(f"{name} = {expression}")
            else:
                static.append(f"{name} = {expression}")
                self.static_names.append(name)
            self.names[id(node)] = name
            self._track(node, expression, last_use[id(node)], position)
        return static, body

    def _track(self, node: Node, expression: str, end: int, position: int) -> None:
        """Which buffers the node's value may be or view, how long each stays read, and
        which are free again after this line."""
        if self.slots is None:
            return
        if self.target is not None and expression == self.target:
            refs = {self.target}
        elif expression in self.shared_buffers:
            refs = {self.shared_buffers[expression]}
            if self.target is not None:
                self.slots.give_back(self.target)
        else:
            if self.target is not None:   # not used after all
                self.slots.give_back(self.target)
            refs = set() if node.op in _FRESH else set().union(
                *(self.refs.get(id(a), set()) for a in node.args))
        self.refs[id(node)] = refs
        for buffer in refs - set(self.shared_buffers.values()):
            self.ends[buffer] = max(self.ends.get(buffer, 0), end)
        for buffer in [b for b, last in self.ends.items() if last <= position]:
            del self.ends[buffer]
            self.slots.give_back(buffer)

    def returned(self, node: Node) -> str:
        """An output's name; a copy where it may be a buffer the next call overwrites."""
        name = self.names[id(node)]
        return f"{name}.copy()" if self.refs.get(id(node)) else name

    def constant(self, values: np.ndarray) -> str:
        if values.shape == ():
            return repr(float(values))
        name = f"C{len(self.constants)}"
        self.constants[name] = values
        return name
