"""`hessian`: the exact Hessian agrees with finite differences of the exact gradient."""

from __future__ import annotations

import numpy as np

from ..finite_diff import central_jacobian, compare
from ..spec import Spec
from . import CheckResult, Counterexample
from .context import SKIP, Context, falsify


def enabled(spec: Spec) -> bool:
    return spec.checks.hessian is not None


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.hessian
    assert settings is not None
    problem = context.problem
    names = problem.parameter_names
    worst = {"abs": 0.0, "rel": 0.0}

    def agrees(theta: np.ndarray) -> str | None:
        exact = problem.hessian(theta)
        estimate = central_jacobian(problem.gradient, theta)
        comparison = compare(exact, estimate.jacobian, rtol=settings.rtol, atol=settings.atol,
                             error=estimate.error)
        worst["abs"] = max(worst["abs"], comparison.max_abs_error)
        worst["rel"] = max(worst["rel"], comparison.max_rel_error)
        if comparison.passed:
            return None
        if problem.crosses_kink(theta, estimate.step):
            return SKIP
        i, j = np.unravel_index(comparison.worst, exact.shape)
        value, approximation = comparison.worst_values
        return (f"Hessian entry ({names[i]}, {names[j]}) at {context.point_text(theta)}: "
                f"exact {value:.6g}, finite-difference of the gradient {approximation:.6g} "
                f"(|diff| {comparison.abs_error.flat[comparison.worst]:.2e} > tol "
                f"{comparison.tolerance.flat[comparison.worst]:.2e})")

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    details = {"examples": examples, "evaluated": search.examples, "skipped": search.skipped,
               "rtol": settings.rtol, "atol": settings.atol,
               "max_abs_error": worst["abs"], "max_rel_error": worst["rel"]}
    if search.failure is None:
        return CheckResult("hessian", True, f"exact Hessian matches finite differences at "
                           f"{search.examples - search.skipped} points", details)
    theta, detail = search.failure
    return CheckResult("hessian", False, detail, details,
                       Counterexample(context.point(theta), detail, context.replay))
