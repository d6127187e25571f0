"""The compiled functions of one objective over one data block, each made on first use.

How it works: the objective's graph (`symbolic.derivation`) is turned into straight-line
numpy programs (`program.py`): the loss; the loss and gradient together (the backward pass
reuses the forward values); the Hessian-vector product; the kink test. Data enter as whole
arrays with the sample axis first. A batch θ of shape (K, P) is one call for a bare
objective, whose graph is built a second time with the parameters carrying the batch as
their sample axis, and K calls for a supervised spec (where one call already spans n
samples). The dense Hessian is assembled from Hessian-vector products with the unit
vectors: one batched call for a bare objective, P calls otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from ..symbolic.derivation import GraphObjective
from ..symbolic.reach import reaches
from ..symbolic.tensor import Node
from .columns import DataColumns
from .layout import ParameterLayout
from .program import Program

KINK_MARGIN = 2.0  # how far past the first-order reach of a step a kink still counts as crossed


def _none(objective: GraphObjective) -> list[Node]:
    return []


# quantity → (the program's outputs, its inputs beyond the parameters)
QUANTITIES: dict[str, tuple[Callable[[GraphObjective], list[Node]],
                            Callable[[GraphObjective], list[Node]]]] = {
    "loss": (lambda o: [o.objective], _none),
    "gradient": (lambda o: o.gradients, _none),
    "loss_gradient": (lambda o: [o.objective, *o.gradients], _none),
    "hvp": (lambda o: o.hessian_vector, lambda o: o.directions),
}


class Kernels:
    """loss, gradient, Hessian (-vector product) and the kink test at a checked θ."""

    def __init__(self, objective: GraphObjective, data: DataColumns, layout: ParameterLayout):
        self.objective = objective
        self.data = data
        self.layout = layout
        self._data_arrays = [data.arrays[name] for name in objective.data]
        self._programs: dict[tuple[str, bool], Program] = {}

    # -- evaluation

    def loss(self, theta: np.ndarray) -> Any:
        if theta.ndim == 1:
            return float(self._run(self.program("loss"), theta)[0])
        if self._batched is not None:
            values = np.asarray(self._run(self.program("loss", True), theta)[0], dtype=float)
            return np.array(np.broadcast_to(values, theta.shape[:1]))
        return np.array([float(self._run(self.program("loss"), row)[0]) for row in theta])

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        if theta.ndim == 1:
            return self._flat(self._run(self.program("gradient"), theta), ())
        if self._batched is not None:
            return self._flat(self._run(self.program("gradient", True), theta), theta.shape[:1])
        return np.stack([self.gradient(row) for row in theta]) if len(theta) else \
            np.zeros((0, self.layout.size))

    def loss_and_gradient(self, theta: np.ndarray) -> tuple[Any, np.ndarray]:
        """Both in one pass (the backward pass reuses the forward values)."""
        if theta.ndim == 1:
            values = self._run(self.program("loss_gradient"), theta)
            return float(values[0]), self._flat(values[1:], ())
        if self._batched is not None:
            values = self._run(self.program("loss_gradient", True), theta)
            losses = np.array(np.broadcast_to(np.asarray(values[0], dtype=float),
                                              theta.shape[:1]))
            return losses, self._flat(values[1:], theta.shape[:1])
        pairs = [self.loss_and_gradient(row) for row in theta]
        return (np.array([loss for loss, _ in pairs]),
                np.stack([g for _, g in pairs]) if pairs else np.zeros((0, self.layout.size)))

    def hessian_vector(self, theta: np.ndarray, vector: np.ndarray) -> np.ndarray:
        if theta.ndim == 2:
            return np.stack([self.hessian_vector(t, v) for t, v in zip(theta, vector,
                                                                       strict=True)])
        directions = list(self.layout.unpack(vector).values())
        return self._flat(self._run(self.program("hvp"), theta, directions), ())

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        if theta.ndim == 2:
            return np.stack([self.hessian(row) for row in theta]).reshape(
                theta.shape[:1] + (self.layout.size,) * 2)
        size = self.layout.size
        if self._batched is not None and size:
            units = np.eye(size)
            at = np.broadcast_to(theta, (size, size))
            rows = self._flat(self._run(self.program("hvp", True), at,
                                        list(self.layout.unpack(units).values())), (size,))
        else:
            rows = np.stack([self.hessian_vector(theta, e) for e in np.eye(size)]) if size \
                else np.zeros((0, 0))
        return 0.5 * (rows + rows.T)

    def crosses_kink(self, theta: np.ndarray, steps: np.ndarray) -> bool:
        if not self.objective.kinks:
            return False
        with np.errstate(all="ignore"):
            values = self._run(self._kink, theta, list(self.layout.unpack(steps).values()))
        count = len(self.objective.kinks)
        # a kink argument that does not move with θ (reach 0) cannot be crossed
        return any(bool(np.any((np.abs(k) <= KINK_MARGIN * np.asarray(r)) & (np.asarray(r) > 0)))
                   for k, r in zip(values[:count], values[count:], strict=True))

    def kink_values(self, theta: np.ndarray) -> tuple[Any, ...]:
        """Each kink's argument at θ, entry by entry (zero where it switches branch)."""
        steps = list(self.layout.unpack(np.zeros(self.layout.size)).values())
        return self._run(self._kink, theta, steps)[:len(self.objective.kinks)]

    # -- helpers

    def _run(self, program: Program, theta: np.ndarray, extra: list[Any] | None = None
             ) -> tuple[Any, ...]:
        parameters = list(self.layout.unpack(theta).values()) + (extra or [])
        return program(parameters, self._data_arrays, self.data.samples)

    def _flat(self, values: tuple[Any, ...], batch: tuple[int, ...]) -> np.ndarray:
        """Per-parameter arrays → θ-shaped (*batch, P), each broadcast to its full shape."""
        pieces = [np.broadcast_to(np.asarray(value, dtype=float), batch + p.shape)
                  for value, p in zip(values, self.layout.parameters, strict=True)]
        return self.layout.join(pieces) if pieces else np.zeros(batch + (0,))

    # -- programs, each compiled on first use

    @cached_property
    def _batched(self) -> GraphObjective | None:
        spec = self.objective.spec
        return GraphObjective(spec, batched=True) if spec.kind == "objective" else None

    def program(self, quantity: str, batched: bool = False) -> Program:
        """The compiled program of one of `QUANTITIES` (for the batched graph of a bare
        objective with `batched`), made on first use and kept."""
        key = (quantity, batched)
        if key not in self._programs:
            objective = self._batched if batched else self.objective
            assert objective is not None
            outputs, extra = QUANTITIES[quantity]
            inputs = list(objective.parameters.values()) + extra(objective)
            self._programs[key] = Program(outputs(objective), inputs,
                                          list(objective.data.values()), buffered=not batched)
        return self._programs[key]

    @cached_property
    def _steps(self) -> list[Any]:
        objective = self.objective
        return [objective.graph.parameter(f"{name}~", node.shape)
                for name, node in objective.parameters.items()]

    @cached_property
    def _kink(self) -> Program:
        objective = self.objective
        steps = {id(p): s for p, s in zip(objective.parameters.values(), self._steps,
                                          strict=True)}
        bounds = reaches(objective.graph, objective.kinks, steps)
        return Program([*objective.kinks, *bounds],
                       list(objective.parameters.values()) + self._steps,
                       list(objective.data.values()), buffered=True)
