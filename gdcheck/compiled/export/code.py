"""The generated functions of an export: the objective's graph as straight-line code on named
arrays, by the same `Writer` that compiles a `Problem`, without its buffers.

How it works: the writer's inputs are given the spec's names (`w`, `x`) instead of `P[0]`
and `D[0]`; its lines (those computed once per data set first) become one function whose
arguments are the parameters, the data and the number of samples. Every name the code uses
without defining it (numpy's `exp`, gdcheck's `gdcheck_sigmoid`, a constant `C0`) is then
replaced by what the target says it is (`np.exp`, a helper copied into the module), in the
syntax tree, so no text substitution can reach into a name of the spec's.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ...symbolic.derivation import GraphObjective
from ...symbolic.tensor import Node
from ..program import Writer

# names the writer makes up: values (v3), shared calls (s0), hoisted values (h1), constants
GENERATED = re.compile(r"[vshbC]\d+$")
SAMPLES = "N"   # the writer's name for the number of samples


def local_names(declared: Sequence[str], taken: set[str]) -> dict[str, str]:
    """A Python name for each declared one: itself, or with `_` added where it is taken (by a
    module-level name of the export or one the writer makes up)."""
    names: dict[str, str] = {}
    for name in declared:
        local = name
        while local in taken or GENERATED.match(local) or keyword.iskeyword(local):
            local += "_"
        taken.add(local)
        names[name] = local
    return names


@dataclass
class Functions:
    """The functions written so far, the constants they share and the free names they call."""

    objective: GraphObjective
    names: dict[str, str]      # parameter or data name → its name in the code
    samples: str               # the number of samples' name in the code
    sources: list[str] = field(default_factory=list)
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    calls: set[str] = field(default_factory=set)

    @property
    def arguments(self) -> list[str]:
        return [*self.names.values(), self.samples]

    def add(self, name: str, outputs: Sequence[Node], doc: str) -> None:
        """Write `name(parameters..., data..., n)` returning the outputs' values."""
        objective = self.objective
        writer = Writer(list(objective.parameters.values()), list(objective.data.values()),
                        None)
        writer.inputs = {id(node): self.names[key] for key, node in
                         [*objective.parameters.items(), *objective.data.items()]}
        static, body = writer.lines(list(outputs))
        returned = ", ".join(writer.returned(node) for node in outputs)
        text = "\n".join([f"def {name}({', '.join(self.arguments)}):",
                          *(f"    {line}" for line in static + body), f"    return {returned}"])
        tree = ast.parse(text)
        function = tree.body[0]
        assert isinstance(function, ast.FunctionDef)
        function.body.insert(0, ast.Expr(ast.Constant(doc)))
        renamed = self._constants(writer.constants)
        renamed[SAMPLES] = self.samples
        free = free_names(function) - set(renamed)
        self.calls |= free
        self.sources.append(ast.unparse(Replace(renamed).visit(tree)))

    def _constants(self, constants: Mapping[str, np.ndarray]) -> dict[str, str]:
        """The writer's constants under the names of the module's, one name per value."""
        renamed = {}
        for local, values in constants.items():
            same = next((name for name, kept in self.constants.items()
                         if kept.shape == values.shape and np.array_equal(kept, values)), None)
            if same is None:
                same = f"C{len(self.constants)}"
                self.constants[same] = np.asarray(values, dtype=float)
            renamed[local] = same
        return renamed

    def resolve(self, reference: Callable[[str], str]) -> None:
        """Replace each free name the functions call by `reference(name)`: code text such as
        `np.exp`."""
        table = {name: reference(name) for name in sorted(self.calls)}
        self.sources = [ast.unparse(Replace(table).visit(ast.parse(source)))
                        for source in self.sources]


def free_names(function: ast.FunctionDef) -> set[str]:
    """The names a function reads that it neither takes nor assigns."""
    local = {a.arg for a in function.args.args}
    local |= {node.id for node in ast.walk(function)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return {node.id for node in ast.walk(function)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            and node.id not in local}


class Replace(ast.NodeTransformer):
    """Each name read in `table` → the expression its entry is (`exp` → `np.exp`)."""

    def __init__(self, table: Mapping[str, str]):
        self.table = table

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.table:
            return ast.parse(self.table[node.id], mode="eval").body
        return node
