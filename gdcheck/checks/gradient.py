"""`gradient`: the exact gradient agrees with central finite differences.

At initialisations drawn by Hypothesis, each component must satisfy
`|g − g_fd| ≤ atol + rtol·|g_fd|` (widened by the difference's own error
estimate). A point whose difference stencil straddles a point where the
objective is not differentiable says nothing and is skipped.
"""

from __future__ import annotations

import numpy as np

from ..engine.finite_diff import Comparison, central_gradient
from ..results import CheckResult
from .agreement import Reference, agreement, worst_component
from .context import Context


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.gradient
    assert settings is not None
    problem = context.problem

    def finite_difference(theta: np.ndarray) -> Reference:
        estimate = central_gradient(problem.loss, theta)
        return Reference(estimate.gradient, estimate.error, estimate.step)

    def describe(comparison: Comparison, theta: np.ndarray) -> str:
        return (f"gradient of {problem.parameter_names[comparison.worst]} at "
                f"{context.point_text(theta)}: exact "
                + worst_component(comparison).format(reference="finite-difference"))

    return agreement(context, "gradient", settings, problem.gradient, finite_difference,
                     describe, "exact gradient matches finite differences at {points} points "
                               "(max rel error {rel:.1e})")
