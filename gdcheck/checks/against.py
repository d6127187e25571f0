"""`against`: a user's own gradient code agrees with the spec's exact gradient.

The user's function is called with every parameter and every data array as
keyword arguments (`w=..., b=..., x=..., y=...`, data with the sample axis
first) and returns the gradient of the objective by parameter name, each of
its parameter's shape. Hypothesis searches the initialisation ranges for a
point where it disagrees with the exact gradient beyond the spec's gradient
tolerance (both are exact, so there is no finite-difference allowance), and
shrinks the point. An exception raised by the user's function is a failure at
that point, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..finite_diff import compare
from ..spec import ToleranceCheck
from . import CheckResult, Counterexample
from .context import Context, falsify

UserGradient = Callable[..., Mapping[str, Any]]


def run(context: Context, function: UserGradient, label: str = "") -> CheckResult:
    settings = context.spec.checks.gradient or ToleranceCheck()
    problem = context.problem
    label = label or getattr(function, "__qualname__", "the function")
    worst = {"abs": 0.0, "rel": 0.0}

    def agrees(theta: np.ndarray) -> str | None:
        try:
            theirs = _flatten(context, function(**problem.unpack(theta), **problem.data))
        except Exception as error:  # the user's code failing is the finding, not a crash
            return (f"{label} raised {type(error).__name__}: {error} at "
                    f"{context.point_text(theta)}")
        comparison = compare(theirs, problem.gradient(theta), rtol=settings.rtol,
                             atol=settings.atol)
        worst["abs"] = max(worst["abs"], comparison.max_abs_error)
        worst["rel"] = max(worst["rel"], comparison.max_rel_error)
        if comparison.passed:
            return None
        i = comparison.worst
        value, exact = comparison.worst_values
        return (f"{label}: gradient of {problem.parameter_names[i]} at "
                f"{context.point_text(theta)}: yours {value:.6g}, exact {exact:.6g} "
                f"(|diff| {comparison.abs_error[i]:.2e} > tol {comparison.tolerance[i]:.2e})")

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, agrees)
    details = {"function": label, "examples": examples, "evaluated": search.examples,
               "rtol": settings.rtol, "atol": settings.atol,
               "max_abs_error": worst["abs"], "max_rel_error": worst["rel"]}
    if search.failure is None:
        return CheckResult("against", True, f"{label} matches the exact gradient at "
                           f"{search.examples} points (max rel error {worst['rel']:.1e})",
                           details)
    theta, detail = search.failure
    replay = f"{context.replay} --against {label}"
    return CheckResult("against", False, detail, details,
                       Counterexample(context.point(theta), detail, replay))


def _flatten(context: Context, gradient: Mapping[str, Any]) -> np.ndarray:
    """The user's gradient by name as a flat θ-ordered vector; a mismatch is an error."""
    if not isinstance(gradient, Mapping):
        raise TypeError(f"expected a mapping of parameter name to gradient, got "
                        f"{type(gradient).__name__}")
    pieces = []
    for parameter in context.spec.parameters:
        if parameter.name not in gradient:
            raise KeyError(f"no gradient for parameter '{parameter.name}' (returned: "
                           f"{', '.join(map(str, gradient)) or 'nothing'})")
        value = np.asarray(gradient[parameter.name], dtype=float)
        if value.shape != parameter.shape:
            raise ValueError(f"gradient of '{parameter.name}' has shape {list(value.shape)}, "
                             f"expected {list(parameter.shape)}")
        pieces.append(value.ravel())
    return np.concatenate(pieces)
