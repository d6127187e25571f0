"""`convex`: the Hessian is positive semidefinite at every drawn point (or, for
`convex: false`, some drawn point has a negative eigenvalue: a witness).

An eigenvalue counts as negative below −1e-8·max(1, largest |eigenvalue|),
so rounding in a singular Hessian (as in least squares with a free intercept)
is not mistaken for non-convexity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import defaults
from ..results import CheckResult, Counterexample
from .context import SKIP, Context, falsify

RELATIVE_TOLERANCE = 1e-8



def smallest_eigenvalue(hessian: np.ndarray) -> tuple[float, float]:
    """(smallest eigenvalue, the tolerance below which it counts as negative)."""
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    scale = max(1.0, float(np.max(np.abs(eigenvalues))))
    return float(eigenvalues[0]), RELATIVE_TOLERANCE * scale


def run(context: Context) -> CheckResult:
    problem = context.problem
    faults: list[str] = []
    examples = context.examples_for(context.spec.checks.gradient.examples
                                    if context.spec.checks.gradient else defaults.EXAMPLES)

    def positive_semidefinite(theta: np.ndarray) -> str | None:
        hessian = problem.hessian(theta)
        if not np.all(np.isfinite(hessian)):
            faults.append(f"the Hessian is not finite at {context.point_text(theta)}")
            return faults[-1] if context.spec.checks.convex else SKIP
        smallest, tolerance = smallest_eigenvalue(hessian)
        if smallest >= -tolerance:
            return None
        return (f"the Hessian at {context.point_text(theta)} has eigenvalue {smallest:.6g} < 0 "
                "(the objective is not convex there)")

    search = falsify(context, examples, positive_semidefinite)
    details: dict[str, Any] = {"expected": context.spec.checks.convex, "examples": examples,
               "evaluated": search.examples}
    if context.spec.checks.convex:
        if search.failure is None:
            return CheckResult("convex", True, f"the Hessian was positive semidefinite at "
                               f"{search.examples} points", details)
        return _failed(context, details, *search.failure)
    if search.failure is not None:
        theta, detail = search.failure
        details["witness"] = {"point": context.point(theta), "detail": detail}
        return CheckResult("convex", True, f"not convex, as declared: {detail}", details)
    detail = faults[0] if faults else (
        f"declared not convex, but the Hessian was positive semidefinite at all "
        f"{search.examples} drawn points")
    return _failed(context, details, None, detail)


def _failed(context: Context, details: dict, theta: np.ndarray | None, detail: str
            ) -> CheckResult:
    point = {} if theta is None else context.point(theta)
    return CheckResult("convex", False, detail, details,
                       Counterexample(point, detail, context.replay))
