"""`hessian`: the exact Hessian agrees with finite differences of the exact gradient."""

from __future__ import annotations

import numpy as np

from ..engine.finite_diff import Comparison, central_jacobian
from ..results import CheckResult
from .agreement import Reference, agreement, worst_component
from .context import Context


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.hessian
    assert settings is not None
    problem = context.problem
    names = problem.parameter_names

    def finite_difference(theta: np.ndarray) -> Reference:
        estimate = central_jacobian(problem.gradient, theta)
        return Reference(estimate.jacobian, estimate.error, estimate.step)

    def describe(comparison: Comparison, theta: np.ndarray) -> str:
        i, j = np.unravel_index(comparison.worst, comparison.exact.shape)
        return (f"Hessian entry ({names[i]}, {names[j]}) at {context.point_text(theta)}: "
                "exact " + worst_component(comparison).format(
                    reference="finite-difference of the gradient"))

    return agreement(context, "hessian", settings, problem.hessian, finite_difference, describe,
                     "exact Hessian matches finite differences at {points} points")
