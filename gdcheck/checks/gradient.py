"""`gradient`: the exact gradient agrees with central finite differences.

At initialisations drawn by Hypothesis, each component must satisfy
`|g − g_fd| ≤ atol + rtol·|g_fd|` (widened by the difference's own error
estimate). A point whose difference stencil straddles a point where the
objective is not differentiable says nothing and is skipped.
"""

from __future__ import annotations

import numpy as np

from ..finite_diff import central_gradient, compare
from ..spec import Spec
from . import CheckResult, Counterexample
from .context import SKIP, Context, falsify


def enabled(spec: Spec) -> bool:
    return spec.checks.gradient is not None


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.gradient
    assert settings is not None
    problem = context.problem
    worst = {"abs": 0.0, "rel": 0.0}

    def agrees(theta: np.ndarray) -> str | None:
        exact = problem.gradient(theta)
        estimate = central_gradient(problem.loss, theta)
        comparison = compare(exact, estimate.gradient, rtol=settings.rtol, atol=settings.atol,
                             error=estimate.error)
        worst["abs"] = max(worst["abs"], comparison.max_abs_error)
        worst["rel"] = max(worst["rel"], comparison.max_rel_error)
        if comparison.passed:
            return None
        if problem.crosses_kink(theta, estimate.step):
            return SKIP
        i = comparison.worst
        value, approximation = comparison.worst_values
        return (f"gradient of {problem.parameter_names[i]} at {context.point_text(theta)}: "
                f"exact {value:.6g}, finite-difference {approximation:.6g} "
                f"(|diff| {comparison.abs_error[i]:.2e} > tol {comparison.tolerance[i]:.2e})")

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    details = {"examples": examples, "evaluated": search.examples, "skipped": search.skipped,
               "rtol": settings.rtol, "atol": settings.atol,
               "max_abs_error": worst["abs"], "max_rel_error": worst["rel"]}
    if search.failure is None:
        return CheckResult("gradient", True, f"exact gradient matches finite differences at "
                           f"{search.examples - search.skipped} points (max rel error "
                           f"{worst['rel']:.1e})", details)
    theta, detail = search.failure
    return CheckResult("gradient", False, detail, details,
                       Counterexample(context.point(theta), detail, context.replay))
