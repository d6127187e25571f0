"""What the checks that compare values share: `agreement` (exact values against a
reference, component by component, searched by Hypothesis; `against`) and
`oracle_result` (the result of an oracle-driven search; `gradient`, `hessian`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.finite_diff import Comparison, compare
from ..results import CheckResult, Counterexample
from ..spec import ToleranceCheck
from .context import Context, falsify


@dataclass(frozen=True)
class Reference:
    """A reference at θ: `values` (shape of the exact values), their `error` estimate (or
    None)."""

    values: np.ndarray
    error: np.ndarray | None = None


def agreement(context: Context, name: str, settings: ToleranceCheck,
              exact: Callable[[np.ndarray], np.ndarray],
              reference: Callable[[np.ndarray], Reference],
              describe: Callable[[Comparison, np.ndarray], str],
              summary: str, replay: str | None = None) -> CheckResult:
    """Search for θ where `exact(θ)` and `reference(θ)` disagree beyond the tolerance.

    `describe(comparison, θ)` words a failure; `summary` (formatted with `points` and
    `rel`) words a pass.
    """
    worst = {"abs": 0.0, "rel": 0.0}

    def agrees(theta: np.ndarray) -> str | None:
        values, against = exact(theta), reference(theta)
        comparison = compare(values, against.values, rtol=settings.rtol, atol=settings.atol,
                             error=against.error)
        worst["abs"] = max(worst["abs"], comparison.max_abs_error)
        worst["rel"] = max(worst["rel"], comparison.max_rel_error)
        if comparison.passed:
            return None
        return describe(comparison, theta)

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    details: dict[str, Any] = {
        "examples": examples, "evaluated": search.examples, "skipped": search.skipped,
        "rtol": settings.rtol, "atol": settings.atol,
        "max_abs_error": worst["abs"], "max_rel_error": worst["rel"]}
    if search.failure is None:
        points = search.examples - search.skipped
        return CheckResult(name, True, summary.format(points=points, rel=worst["rel"]), details)
    theta, detail = search.failure
    return CheckResult(name, False, detail, details, Counterexample(
        context.point(theta), detail, replay or context.replay))


def worst_component(comparison: Comparison) -> str:
    """'exact 0.312, <reference> 0.287 (|diff| 2.5e-02 > tol 1.0e-06)' for the worst one."""
    i = comparison.worst
    value, reference = comparison.worst_values
    return (f"{value:.6g}, {{reference}} {reference:.6g} (|diff| "
            f"{comparison.abs_error.flat[i]:.2e} > tol {comparison.tolerance.flat[i]:.2e})")


def oracle_result(context: Context, name: str, settings: ToleranceCheck, search: Any,
                  examples: int, inconclusive: list[str], extra: dict[str, Any],
                  passed: Callable[[int, str], str]) -> CheckResult:
    """The CheckResult of `gradient` or `hessian` from an oracle-driven search: a failure
    with its counterexample; a failure if no point could be decided; else a pass worded by
    `passed(decided points, the inconclusive note)`, inconclusive points reported."""
    details: dict[str, Any] = {
        "examples": examples, "evaluated": search.examples, "skipped": search.skipped,
        "inconclusive": len(inconclusive), "rtol": settings.rtol, "atol": settings.atol,
        **extra}
    if inconclusive:
        details["inconclusive_reason"] = inconclusive[0]
    if search.failure is not None:
        theta, detail = search.failure
        return CheckResult(name, False, detail, details, Counterexample(
            context.point(theta), detail, context.replay))
    decided = search.examples - search.skipped - len(inconclusive)
    if decided <= 0 and inconclusive:
        detail = f"no point could be decided: {inconclusive[0]}"
        return CheckResult(name, False, detail, details,
                           Counterexample({}, detail, context.replay))
    note = f"; {len(inconclusive)} inconclusive: {inconclusive[0]}" if inconclusive else ""
    return CheckResult(name, True, passed(decided, note), details)
