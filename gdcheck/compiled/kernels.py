"""The compiled functions of one objective over one data block, each made on first use.

Data enter as whole columns (n,), parameters as scalars for θ of shape (P,) or
as (K, 1) columns for a batch θ of shape (K, P), so one call evaluates every
sample of every point and numpy broadcasting gives (K, n); each value is then
reduced over samples (mean or sum) inside the generated code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.objective import SymbolicObjective
from .codegen import SampleReduction, numeric, sample_reducer
from .columns import DataColumns

KINK_MARGIN = 2.0  # how far past the first-order reach of a step a kink still counts as crossed


class Kernels:
    """loss, gradient, Hessian and the kink test at a checked θ ((P,) or (K, P))."""

    def __init__(self, symbolic: SymbolicObjective, data: DataColumns):
        self.symbolic = symbolic
        self.data = data
        self.size = len(symbolic.parameter_symbols)
        self._constants = list(symbolic.constants.values())
        self._arguments = (symbolic.parameter_symbols + symbolic.data_symbols
                           + tuple(symbolic.constants))
        self._penalty_arguments = symbolic.parameter_symbols + tuple(symbolic.constants)

    def loss(self, theta: np.ndarray) -> Any:
        """L(θ): a float for θ (P,), an array (K,) for θ (K, P)."""
        columns = self._parameter_columns(theta)
        per_sample = self._loss_function(*columns, *self.data.columns, *self._constants)[0]
        penalty = self._penalty_function(*columns, *self._constants)[0]
        total = (_stack([per_sample], theta.shape[:-1])
                 + _stack([penalty], theta.shape[:-1]))[..., 0]
        return float(total) if theta.ndim == 1 else total

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇L(θ): shape (P,) for θ (P,), (K, P) for θ (K, P)."""
        columns = self._parameter_columns(theta)
        per_sample = self._gradient_function(*columns, *self.data.columns, *self._constants)
        penalty = self._penalty_gradient_function(*columns, *self._constants)
        return _stack(per_sample, theta.shape[:-1]) + _stack(penalty, theta.shape[:-1])

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²L(θ): shape (P, P) for θ (P,), (K, P, P) for θ (K, P)."""
        columns = self._parameter_columns(theta)
        per_sample = self._hessian_function(*columns, *self.data.columns, *self._constants)
        penalty = self._penalty_hessian_function(*columns, *self._constants)
        flat = _stack(per_sample, theta.shape[:-1]) + _stack(penalty, theta.shape[:-1])
        return flat.reshape(theta.shape[:-1] + (self.size, self.size))

    def crosses_kink(self, theta: np.ndarray, steps: np.ndarray) -> bool:
        """Whether moving θ by up to `steps` (per coordinate) may cross a point where the
        objective is not differentiable, for any sample (a first-order bound, with margin)."""
        kinks = len(self.symbolic.kinks)
        if not kinks:
            return False
        with np.errstate(all="ignore"):
            rows = self._kink_function(*self._parameter_columns(theta), *self.data.columns,
                                       *self._constants)
        shape = (self.data.samples,)
        values = [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in rows[:kinks]]
        slopes = [np.broadcast_to(np.abs(np.asarray(v, dtype=float)), shape)
                  for v in rows[kinks:]]
        for i, value in enumerate(values):
            reach = sum(slopes[i * self.size + j] * steps[j] for j in range(self.size))
            if np.any(np.abs(value) <= KINK_MARGIN * reach):
                return True
        return False

    # -- compiled functions, each made on first use

    @cached_property
    def _kink_function(self) -> Callable[..., Any]:
        kinks = self.symbolic.kinks
        slopes = [sp.diff(k, s) for k in kinks for s in self.symbolic.parameter_symbols]
        return numeric(list(kinks) + slopes, self._arguments)

    @cached_property
    def _loss_function(self) -> Callable[..., Any]:
        return self._reduced([self.symbolic.sample_loss])

    @cached_property
    def _penalty_function(self) -> Callable[..., Any]:
        return numeric([self.symbolic.penalty], self._penalty_arguments)

    @cached_property
    def _gradient_function(self) -> Callable[..., Any]:
        return self._reduced(self.symbolic.sample_gradient)

    @cached_property
    def _penalty_gradient_function(self) -> Callable[..., Any]:
        return numeric(self.symbolic.penalty_gradient, self._penalty_arguments)

    @cached_property
    def _hessian_function(self) -> Callable[..., Any]:
        return self._reduced([e for row in self.symbolic.sample_hessian for e in row])

    def _reduced(self, per_sample: Iterable[sp.Expr]) -> Callable[..., Any]:
        """Compiled per-sample expressions, each reduced over samples as soon as computed."""
        reducer = sample_reducer(self.data.samples, self.symbolic.reduction)
        return numeric([SampleReduction(e) for e in per_sample], self._arguments,
                       {"gdcheck_reduce": reducer})

    @cached_property
    def _penalty_hessian_function(self) -> Callable[..., Any]:
        return numeric([e for row in self.symbolic.penalty_hessian for e in row],
                       self._penalty_arguments)

    def _parameter_columns(self, theta: np.ndarray) -> list[Any]:
        if theta.ndim == 1:
            return list(theta)
        return [theta[:, j:j + 1] for j in range(theta.shape[1])]


def _stack(values: list[Any], batch: tuple[int, ...]) -> np.ndarray:
    """Per-point values (scalars or (K, 1) columns) as one array (*batch, len(values))."""
    result = np.empty(batch + (len(values),))
    for j, value in enumerate(values):
        array = np.asarray(value, dtype=float)
        result[..., j] = array.reshape(array.shape[:1]) if array.ndim else array
    return result
