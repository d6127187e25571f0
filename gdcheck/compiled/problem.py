"""`Problem`: a spec compiled for numbers: loss, exact gradient and Hessian over a flat θ.

A small facade over three parts: the parameter layout (θ ↔ named arrays),
the data columns, and the compiled kernels; `compile_spec` builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from ..spec import GenerateData, Spec, load
from ..spec.data import load_data
from ..symbolic.objective import SymbolicObjective, derive
from .codegen import numeric
from .columns import DataColumns, columns_of
from .kernels import Kernels
from .layout import ParameterLayout


class Problem:
    """A compiled objective: loss, exact gradient and Hessian over a flat θ.

    θ holds the parameters in declaration order, each flattened row-major.
    `loss`, `gradient` and `hessian` accept θ of shape (P,) or a batch (K, P).
    """

    def __init__(self, symbolic: SymbolicObjective, data: Mapping[str, np.ndarray]):
        self.symbolic = symbolic
        self.spec = symbolic.spec
        self.layout = ParameterLayout(self.spec.parameters)
        self.columns = DataColumns(self.spec, data)
        self.kernels = Kernels(symbolic, self.columns)

    def __repr__(self) -> str:
        return (f"Problem({self.spec.name!r}: P={self.size} parameters "
                f"{', '.join(p.name for p in self.spec.parameters)}; "
                f"{self.samples} sample{'s' if self.samples != 1 else ''})")

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
        return list(self.symbolic.warnings)

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

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²L(θ): shape (P, P) for θ (P,), (K, P, P) for θ (K, P)."""
        return self.kernels.hessian(self.layout.checked(theta))

    def crosses_kink(self, theta: np.ndarray, steps: np.ndarray) -> bool:
        """Whether moving θ by up to `steps` (per coordinate) may cross a point where the
        objective is not differentiable, for any sample (a first-order bound, with margin)."""
        return self.kernels.crosses_kink(self.layout.checked(theta), steps)


def model_function(symbolic: SymbolicObjective) -> Callable[..., np.ndarray]:
    """model(parameters, inputs) → outputs (n, *target shape), for generating data."""
    spec = symbolic.spec
    assert symbolic.model is not None and spec.target is not None
    inputs = tuple(s for value in symbolic.inputs.values() for s in value.flat)
    function = numeric(list(symbolic.model.flat),
                       symbolic.parameter_symbols + inputs + tuple(symbolic.constants))
    constants = list(symbolic.constants.values())

    target_shape = spec.target.shape

    def model(parameters: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        theta = [float(x) for p in spec.parameters
                 for x in np.asarray(parameters[p.name], dtype=float).ravel()]
        columns = columns_of(spec.inputs, arrays)
        n = len(columns[0]) if columns else 1
        with np.errstate(all="ignore"):
            outputs = function(*theta, *columns, *constants)
        stacked = np.stack([np.broadcast_to(np.asarray(o, dtype=float), (n,)) for o in outputs],
                           axis=-1)
        return stacked.reshape((n,) + target_shape)

    return model


def compile_spec(spec: Spec | str | Path) -> Problem:
    """Derive and compile a spec (or a spec file's path) into a `Problem`.

    Raises SpecError for a bad spec or bad data.
    Example: `problem = gdcheck.compile("specs/logistic.yaml"); problem.gradient(theta)`.
    """
    if not isinstance(spec, Spec):
        spec = load(spec)
    symbolic = derive(spec)
    if spec.kind == "objective":
        return Problem(symbolic, {})
    generates = isinstance(spec.data, GenerateData)  # only generated data needs the model
    return Problem(symbolic, load_data(spec, model_function(symbolic) if generates else None))
