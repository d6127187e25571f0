"""`convex`: the Hessian is positive semidefinite at every drawn point (or, for
`convex: false`, some drawn point has a negative eigenvalue: a witness).

An eigenvalue counts as negative below −1e-8·max(1, largest |eigenvalue|),
so rounding in a singular Hessian (as in least squares with a free intercept)
is not mistaken for non-convexity. Up to 300 parameters the dense Hessian's
eigenvalues are computed; above, the smallest and the largest are found by
Lanczos iteration on exact Hessian-vector products (no P×P matrix).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import defaults
from ..compiled import Problem
from ..results import CheckResult, Counterexample
from .context import SKIP, Context, falsify

RELATIVE_TOLERANCE = 1e-8



DENSE_UP_TO = 300   # parameters; above, Lanczos on Hessian-vector products


def smallest_eigenvalue(hessian: np.ndarray) -> tuple[float, float]:
    """(smallest eigenvalue, the tolerance below which it counts as negative)."""
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    scale = max(1.0, float(np.max(np.abs(eigenvalues))))
    return float(eigenvalues[0]), RELATIVE_TOLERANCE * scale


def smallest_curvature(problem: Problem, theta: np.ndarray, seed: int = 0
                       ) -> tuple[float, float]:
    """(the smallest Hessian eigenvalue at θ, its tolerance): from the dense Hessian up to
    DENSE_UP_TO parameters, else by Lanczos on Hessian-vector products."""
    if problem.size > DENSE_UP_TO:
        return lanczos_smallest(problem.size, lambda v: problem.hessian_vector(theta, v), seed)
    return smallest_eigenvalue(problem.hessian(theta))


def lanczos_smallest(size: int, product: Callable[[np.ndarray], np.ndarray],
                     seed: int = 0) -> tuple[float, float]:
    """`smallest_eigenvalue` without the matrix: Lanczos (scipy's eigsh) on v ↦ H·v, for
    the largest |eigenvalue| (the scale) and the smallest (algebraic) one, each to a
    relative 1e-6 of the scale. Costs some hundreds of products, never a P×P array."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    operator = LinearOperator((size, size), matvec=lambda v: product(np.ravel(v)),
                              dtype=float)
    start = np.random.default_rng(seed).normal(size=size)
    try:
        largest = float(np.max(np.abs(eigsh(operator, k=1, which="LM", v0=start, tol=1e-6,
                                            return_eigenvectors=False))))
        scale = max(1.0, largest)
        # the spectrum shifted by the scale has its smallest eigenvalue as its largest |.|
        shifted = LinearOperator((size, size), dtype=float,
                                 matvec=lambda v: product(np.ravel(v)) - scale * np.ravel(v))
        smallest = float(eigsh(shifted, k=1, which="LM", v0=start, tol=1e-8,
                               return_eigenvectors=False)[0]) + scale
    except ArpackNoConvergence as error:   # the best estimates so far
        values = np.asarray(error.eigenvalues, dtype=float)
        if values.size == 0:
            raise
        smallest, scale = float(np.min(values)), max(1.0, float(np.max(np.abs(values))))
    return smallest, RELATIVE_TOLERANCE * scale


def run(context: Context) -> CheckResult:
    problem = context.problem
    faults: list[str] = []
    examples = context.examples_for(context.spec.checks.gradient.examples
                                    if context.spec.checks.gradient else defaults.EXAMPLES)

    def positive_semidefinite(theta: np.ndarray) -> str | None:
        if problem.size > DENSE_UP_TO:
            probe = problem.hessian_vector(theta, np.ones(problem.size))
            finite = bool(np.all(np.isfinite(probe)))
        else:
            hessian = problem.hessian(theta)
            finite = bool(np.all(np.isfinite(hessian)))
        if not finite:
            faults.append(f"the Hessian is not finite at {context.point_text(theta)}")
            return faults[-1] if context.spec.checks.convex else SKIP
        if problem.size > DENSE_UP_TO:
            try:
                smallest, tolerance = lanczos_smallest(
                    problem.size, lambda v: problem.hessian_vector(theta, v), context.seed)
            except Exception as error:  # noqa: BLE001 - ARPACK's failure is the finding
                return (f"the smallest Hessian eigenvalue at {context.point_text(theta)} could "
                        f"not be found (Lanczos: {error})")
        else:
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
