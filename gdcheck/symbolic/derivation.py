"""A spec's objective as one shaped graph, with its exact gradient and Hessian-vector product.

How it works: each parameter, input and the target is a leaf node of its declared shape;
the model is parsed first and handed to the loss as `y_pred`, so the per-sample loss is
one sampled scalar node. The objective is its mean (or sum) over the samples plus the
penalty, or the bare `objective`. With `batched`, the parameters themselves carry the
sample axis instead (a bare objective evaluated at K points at once: row k is point k),
and nothing is reduced over it. The gradient is one reverse pass (`backward.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from ..errors import ExpressionError
from ..spec import Spec, Text
from .backward import gradient, hessian_vector
from .build import parse_graph
from .expressions import names_used
from .functions import KINKS
from .tensor import Graph, Node, symbols, topological


@dataclass
class GraphObjective:
    """The graph of one spec's objective; `batched`: parameters carry the sample axis."""

    spec: Spec
    batched: bool = False
    graph: Graph = field(default_factory=Graph)

    def __post_init__(self) -> None:
        spec, graph = self.spec, self.graph
        self.parameters = {p.name: graph.parameter(p.name, p.shape, self.batched)
                           for p in spec.parameters}
        variables = [*spec.inputs, *([spec.target] if spec.target else [])]
        self.data = {v.name: graph.data(v.name, v.shape, getattr(v, "range", None))
                     for v in variables}
        # array constants: literal values, usable wherever a named constant is
        self.arrays = {name: graph.literal(value)
                       for name, value in getattr(spec, "arrays", {}).items()}
        self.model: Node | None = None
        self.objective = self._objective()

    def _objective(self) -> Node:
        spec, x0, x1 = self.spec, *symbols(2)
        constants, reasons = dict(spec.constants), placement_reasons(spec)
        self.penalty: Node | None = None
        if spec.penalty is not None:
            self.penalty = self._scalar(spec.penalty, parse_graph(
                self.graph, spec.penalty, {**self.parameters, **self.arrays}, constants,
                reasons), "penalty")
        if spec.objective is not None:
            self.sample_loss = self._scalar(spec.objective, parse_graph(
                self.graph, spec.objective, {**self.parameters, **self.arrays}, constants,
                reasons), "objective")
            total = self.sample_loss
        else:
            self.sample_loss = self._sample_loss()
            total = self.graph.sample_reduce(self.sample_loss, spec.reduction)
        penalty = self.penalty
        return total if penalty is None else self.graph.map(x0 + x1, (total, penalty))

    def _sample_loss(self) -> Node:
        spec = self.spec
        assert spec.model is not None and spec.loss is not None and spec.target is not None
        inputs = {v.name: self.data[v.name] for v in spec.inputs}
        model = parse_graph(self.graph, spec.model, {**self.parameters, **self.arrays, **inputs},
                            dict(spec.constants), placement_reasons(spec))
        target = self.data[spec.target.name]
        if model.shape != target.shape:
            raise ExpressionError(spec.model.location, f"the model has shape "
                                  f"{list(model.shape)} but the target '{spec.target.name}' "
                                  f"has shape {list(target.shape)}; they must be equal")
        self.model = model
        if "y_pred" not in names_used(spec.loss):
            raise ExpressionError(spec.loss.location, "the loss never uses y_pred (the model "
                                  "output); a loss compares y_pred with the target")
        environment = {**self.parameters, **self.arrays, **inputs, spec.target.name: target,
                       "y_pred": model}
        return self._scalar(spec.loss, parse_graph(self.graph, spec.loss, environment,
                                                   dict(spec.constants)), "loss")

    def _scalar(self, source: Text, node: Node, what: str) -> Node:
        if node.shape != ():
            raise ExpressionError(source.location, f"the {what} must be a scalar, but it has "
                                  f"shape {list(node.shape)} (reduce it with sum(...) or "
                                  "mean(...))")
        return node

    @cached_property
    def gradients(self) -> list[Node]:
        """∂L/∂p for each parameter p, in declaration order."""
        return gradient(self.graph, self.objective, list(self.parameters.values()))

    @cached_property
    def directions(self) -> list[Node]:
        """One input per parameter, the direction v of a Hessian-vector product."""
        return [self.graph.parameter(f"{name}'", node.shape, self.batched)
                for name, node in self.parameters.items()]

    @cached_property
    def hessian_vector(self) -> list[Node]:
        return hessian_vector(self.graph, self.objective, list(self.parameters.values()),
                              self.directions)

    @cached_property
    def kinks(self) -> list[Node]:
        """Nodes that are zero where the objective is not differentiable (maps of abs, relu,
        maximum ...; the gap between the two largest entries of a max)."""
        found: list[Node] = []
        for node in topological([self.objective]):
            if node.op in ("max", "min") and node.args[0].size > node.size:
                found.append(self.graph.gap(node.args[0], node.op, node.attrs[0]))
            if node.op != "map":
                continue
            for kind, where in KINKS.items():
                for call in node.attrs[0].atoms(kind):
                    found.extend(self.graph.map(k, node.args) for k in where(*call.args)
                                 if k.free_symbols)
            # u**p with 0 < p < 1 (sqrt, so norm at the origin) has an infinite slope at u = 0
            found.extend(self.graph.map(power.base, node.args)
                         for power in node.attrs[0].atoms(sp.Pow)
                         if power.exp.is_number and 0 < power.exp < 1 and power.base.free_symbols)
        return list(dict.fromkeys(found))

    @cached_property
    def unused(self) -> list[str]:
        """Parameters the objective does not depend on."""
        reached = {id(node) for node in topological([self.objective])}
        return [name for name, node in self.parameters.items() if id(node) not in reached]


def placement_reasons(spec: Spec) -> dict[str, str]:
    """Why a declared name may not appear in model, penalty or objective."""
    reasons = {"y_pred": "y_pred (the model output) may appear only in the loss"}
    for variable in spec.inputs:
        reasons[variable.name] = "an input may appear in the model and the loss only"
    if spec.target is not None:
        reasons[spec.target.name] = "the target may appear in the loss only"
    return reasons

