"""`hessian`: the exact Hessian agrees with finite differences of the exact gradient.

The same oracle as `gradient` (`engine/verdicts.py`), on the gradient: for every
coordinate up to 200 parameters (each column of the Hessian, as exact Hessian-vector
products H·eⱼ), and for a few random directions above (H·v, never a P×P matrix), each
entry against the derivative of the exact gradient along that direction, with f's noise
measured and the step chosen from it. Inconclusive points are reported, not counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.verdicts import verify_hessian
from ..results import CheckResult
from .agreement import oracle_result
from .context import SKIP, Context, falsify


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.hessian
    assert settings is not None
    problem = context.problem
    names = problem.parameter_names
    seen: dict[str, Any] = {"rel": 0.0, "inconclusive": [], "mode": None}

    def agrees(theta: np.ndarray) -> str | None:
        found = verify_hessian(problem.gradient, problem.hessian_vector, theta,
                               rtol=settings.rtol, atol=settings.atol, seed=context.seed,
                               describe=lambda i: names[i])
        seen["mode"] = found.mode
        seen["rel"] = max(seen["rel"], found.max_rel_error)
        if found.verdict == "pass":
            return None
        if found.verdict == "inconclusive":
            seen["inconclusive"].append(f"{found.reason} at {context.point_text(theta)}")
            return None
        if problem.crosses_kink(theta, np.full(theta.size, 1e-3)):
            return SKIP
        return f"{found.reason} at {context.point_text(theta)}"

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    how = "" if seen["mode"] != "directions" else \
        " (Hessian-vector products along random directions)"
    return oracle_result(
        context, "hessian", settings, search, examples, seen["inconclusive"],
        {"max_rel_error": seen["rel"], "mode": seen["mode"]},
        lambda decided, note: f"exact Hessian matches finite differences{how} at {decided} "
                              f"points{note}")
