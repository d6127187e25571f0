"""`Problem`: a spec compiled for numbers: loss, exact gradient and Hessian over a flat θ.

A small facade over three parts: the parameter layout (θ ↔ named arrays),
the data columns, and the compiled kernels; `compile_spec` builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from ..errors import UsageError
from ..spec import GenerateData, Spec, load
from ..spec.data import load_data
from ..symbolic.derivation import GraphObjective
from ..symbolic.l1 import required_l1_weights
from ..symbolic.objective import SymbolicObjective, derive
from .columns import DataColumns
from .creases import gradient_jumps
from .kernels import Kernels
from .layout import ParameterLayout
from .program import Program


class Problem:
    """A compiled objective: loss, exact gradient and Hessian over a flat θ.

    θ holds the parameters in declaration order, each flattened row-major.
    `loss`, `gradient` and `hessian` accept θ of shape (P,) or a batch (K, P).
    """

    def __init__(self, objective: GraphObjective, data: Mapping[str, np.ndarray]):
        self.objective = objective
        self.spec = objective.spec
        self.layout = ParameterLayout(self.spec.parameters)
        self.columns = DataColumns(self.spec, data)
        self.kernels = Kernels(objective, self.columns, self.layout)

    def __repr__(self) -> str:
        return (f"Problem({self.spec.name!r}: P={self.size} parameters "
                f"{', '.join(p.name for p in self.spec.parameters)}; "
                f"{self.samples} sample{'s' if self.samples != 1 else ''})")

    @cached_property
    def symbolic(self) -> SymbolicObjective:
        """The objective entry by entry in SymPy, for people to read (small specs)."""
        return derive(self.spec)

    @cached_property
    def gradient_jumps(self) -> tuple[bool, ...]:
        """Per kink of the objective: True where the exact gradient jumps across it, False
        where it was measured continuous (a crease, as in Huber's loss: `creases.py`)."""
        return gradient_jumps(self)

    @property
    def differentiable(self) -> bool:
        """No kink of the objective is a kink of its gradient (creases allowed)."""
        return not any(self.gradient_jumps)

    @cached_property
    def l1_weights(self) -> np.ndarray | None:
        """λ (P,) of the L1 terms a proximal step solves (`symbolic/l1.py`); None unless the
        spec's method is proximal_gradient. Raises SpecError when that method finds none."""
        if self.spec.optimizer.method != "proximal_gradient":
            return None
        weights = required_l1_weights(self.spec)
        return self.layout.join([np.full(p.shape, weights.get(p.name, 0.0))
                                 for p in self.spec.parameters])

    @property
    def parameter_names(self) -> list[str]:
        return list(self.layout.names)

    @property
    def size(self) -> int:
        return self.layout.size

    @property
    def data(self) -> dict[str, np.ndarray]:
        """The data by input and target name, each (n, *declared shape)."""
        return self.columns.arrays

    @property
    def samples(self) -> int:
        return self.columns.samples

    @property
    def gradient_expressions(self) -> list[sp.Expr]:
        """∂L/∂θᵢ as SymPy expressions for people to read (mean_i(...) over the data)."""
        return list(self.symbolic.gradient_expressions)

    @property
    def objective_expression(self) -> sp.Expr:
        return self.symbolic.objective_expression

    @property
    def warnings(self) -> list[str]:
        """Suspicious but legal: a parameter the objective does not depend on."""
        unused = self.objective.unused
        if not unused:
            return []
        return [f"the objective does not depend on {', '.join(unused)}: its gradient is "
                "identically zero"]

    def pack(self, values: Mapping[str, Any]) -> np.ndarray:
        """θ from a mapping of parameter name → value of its declared shape."""
        return self.layout.pack(values)

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter name → array of its declared shape (with a leading K for a batch θ)."""
        return self.layout.unpack(theta)

    def loss(self, theta: np.ndarray) -> Any:
        """L(θ): a float for θ (P,), an array (K,) for θ (K, P)."""
        return self.kernels.loss(self.layout.checked(theta))

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇L(θ): shape (P,) for θ (P,), (K, P) for θ (K, P)."""
        return self.kernels.gradient(self.layout.checked(theta))

    def loss_and_gradient(self, theta: np.ndarray) -> tuple[Any, np.ndarray]:
        """(L(θ), ∇L(θ)) in one pass: what one descent step needs."""
        return self.kernels.loss_and_gradient(self.layout.checked(theta))

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²L(θ): shape (P, P) for θ (P,), (K, P, P) for θ (K, P); from P Hessian-vector
        products, so meant for small P."""
        return self.kernels.hessian(self.layout.checked(theta))

    def hessian_vector(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²L(θ)·v, exact, without forming the Hessian: shape (P,) (or (K, P) for both
        θ and v of shape (K, P)); costs about what a few gradients do, whatever P is."""
        theta = self.layout.checked(theta)
        vector = self.layout.checked(v)
        if vector.shape != theta.shape:
            raise UsageError(f"hessian_vector: v has shape {vector.shape}, theta {theta.shape};"
                             " they must be equal")
        return self.kernels.hessian_vector(theta, vector)

    def crosses_kink(self, theta: np.ndarray, steps: np.ndarray) -> bool:
        """Whether moving θ by up to `steps` (per coordinate) may cross a point where the
        objective is not differentiable, for any sample (a first-order bound, with margin)."""
        return self.kernels.crosses_kink(self.layout.checked(theta), steps)


def model_function(objective: GraphObjective) -> Callable[..., np.ndarray]:
    """model(parameters, inputs) → outputs (n, *target shape), for generating data."""
    spec = objective.spec
    assert objective.model is not None and spec.target is not None
    program = Program([objective.model], list(objective.parameters.values()),
                      [objective.data[v.name] for v in spec.inputs])
    target_shape = spec.target.shape

    def model(parameters: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        values = [np.asarray(parameters[p.name], dtype=float) for p in spec.parameters]
        inputs = [np.asarray(arrays[v.name], dtype=float) for v in spec.inputs]
        n = len(inputs[0]) if inputs else 1
        with np.errstate(all="ignore"):
            (output,) = program(values, inputs, n)
        output = np.asarray(output, dtype=float)
        if output.shape[:1] != (n,):   # the model does not depend on the inputs
            output = np.broadcast_to(output, (n,) + target_shape)
        return np.array(output.reshape((n,) + target_shape))

    return model


def compile_spec(spec: Spec | str | Path) -> Problem:
    """Derive and compile a spec (or a spec file's path) into a `Problem`.

    Raises SpecError for a bad spec or bad data.
    Example: `problem = gdcheck.compile("specs/logistic.yaml"); problem.gradient(theta)`.
    """
    if not isinstance(spec, Spec):
        spec = load(spec)
    objective = GraphObjective(spec)
    if spec.kind == "objective":
        problem = Problem(objective, {})
    else:
        generates = isinstance(spec.data, GenerateData)  # only generated data needs the model
        problem = Problem(objective, load_data(spec, model_function(objective) if generates
                                               else None))
    problem.l1_weights  # noqa: B018 - a proximal method without an L1 term fails here, early
    return problem
