"""`gradient`: the exact gradient agrees with finite differences of the objective.

At initialisations drawn by Hypothesis, the finite-difference oracle
(`engine/verdicts.py`) judges the exact gradient: f's noise measured at the point, a step
chosen per coordinate (or, above 200 parameters, per random direction, with a failure
localised by bisection to the entry), and a component fails when
`|g − g_fd| > bound + rtol·|g| + atol`. A point whose difference stencil straddles a
point where the objective is not differentiable says nothing and is skipped; a point
where no difference can decide (f's noise too large for the tolerance), even after
escalating to Richardson extrapolation, is inconclusive: reported, not counted as a pass.
A check whose points are all inconclusive fails, with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.verdicts import verify_gradient
from ..results import CheckResult
from .agreement import oracle_result
from .context import SKIP, Context, falsify


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.gradient
    assert settings is not None
    problem = context.problem
    names = problem.parameter_names
    seen: dict[str, Any] = {"rel": 0.0, "inconclusive": [], "evaluations": [], "mode": None}

    def agrees(theta: np.ndarray) -> str | None:
        exact = problem.gradient(theta)
        found = verify_gradient(problem.loss, theta, exact, rtol=settings.rtol,
                                atol=settings.atol, seed=context.seed,
                                describe=lambda i: names[i])
        if found.verdict == "inconclusive":   # escalate: Richardson extrapolation
            found = verify_gradient(problem.loss, theta, exact, rtol=settings.rtol,
                                    atol=settings.atol, seed=context.seed, richardson=True,
                                    describe=lambda i: names[i])
        seen["evaluations"].append(found.evaluations)
        seen["mode"] = found.mode
        if found.verdict == "pass":   # the largest error is over the points compared
            seen["rel"] = max(seen["rel"], found.max_rel_error)
            return None
        if found.verdict == "inconclusive":
            seen["inconclusive"].append(_located(found.reason, context.point_text(theta)))
            return None
        if np.any(found.steps > 0) and problem.crosses_kink(theta, found.steps):
            return SKIP
        return _located(found.reason, context.point_text(theta))

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    how = "" if seen["mode"] != "directions" else " (random directions)"
    evaluations = int(np.median(seen["evaluations"])) if seen["evaluations"] else 0
    return oracle_result(
        context, "gradient", settings, search, examples, seen["inconclusive"],
        {"max_rel_error": seen["rel"], "mode": seen["mode"],
         "evaluations_per_point": evaluations},
        lambda decided, note: f"exact gradient matches finite differences{how} at {decided} "
                              f"points (max rel error {seen['rel']:.1e}){_skipped(search)}"
                              f"{note}")


def _skipped(search: Any) -> str:
    if not search.skipped:
        return ""
    return (f"; {search.skipped} more skipped: their differences crossed a point where the "
            "objective is not differentiable")


def _located(reason: str | None, point: str) -> str:
    """'gradient of b: exact 40, ...' → 'gradient of b at a=0, b=0: exact 40, ...'."""
    head, colon, rest = (reason or "").partition(": ")
    if colon and head.startswith("gradient of "):
        return f"{head} at {point}: {rest}"
    return f"{reason} at {point}"
