"""`against`: a user's own gradient code agrees with the spec's exact gradient.

The user's function is called with every parameter and every data array as
keyword arguments (`w=..., b=..., x=..., y=...`, data with the sample axis
first) and returns the gradient of the objective by parameter name, each of
its parameter's shape. Hypothesis searches the initialisation ranges for a
point where it disagrees with the exact gradient beyond the spec's gradient
tolerance (both are exact, so there is no finite-difference allowance), and
shrinks the point. Both sides are exact, so the only allowance beyond rtol is rounding:
256 ulps of the gradient's largest entry. An exception raised by the user's function is
a failure at that point, not a crash.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..engine.finite_diff import Comparison
from ..errors import UsageError, excerpt
from ..results import CheckResult
from ..spec import ToleranceCheck
from .agreement import Reference, agreement, worst_component
from .context import Context, PointFailure

UserGradient = Callable[..., Mapping[str, Any]]
ROUNDING_ULPS = 256.0
EPSILON = float(np.finfo(np.float64).eps)


def run(context: Context) -> CheckResult:
    problem, function = context.problem, context.against
    assert function is not None
    label = context.against_label or getattr(function, "__qualname__", "the function")

    def yours(theta: np.ndarray) -> np.ndarray:
        return _flatten(context, function(**problem.unpack(theta), **problem.data))

    def exact(theta: np.ndarray) -> Reference:
        # both sides are exact up to their own rounding: a few hundred ulps of the
        # gradient's largest entry (no fixed floor: a gradient of 1e-12 is still judged)
        gradient = problem.gradient(theta)
        rounding = ROUNDING_ULPS * EPSILON * float(np.max(np.abs(gradient), initial=0.0))
        return Reference(gradient, np.full(gradient.shape, rounding))

    def describe(comparison: Comparison, theta: np.ndarray) -> str:
        return (f"{label}: gradient of {problem.parameter_names[comparison.worst]} at "
                f"{context.point_text(theta)}: yours "
                + worst_component(comparison).format(reference="exact"))

    def failing_safely(theta: np.ndarray) -> np.ndarray:
        try:
            return yours(theta)
        except Exception as error:  # the user's code failing is the finding, not a crash
            raise PointFailure(f"{label} raised {type(error).__name__}: {error} at "
                               f"{context.point_text(theta)}") from None

    settings = context.spec.checks.gradient or ToleranceCheck()
    result = agreement(context, "against", settings, failing_safely, exact, describe,
                       f"{label} matches the exact gradient at {{points}} points (max rel "
                       "error {rel:.1e})", replay=context.replay)
    return replace(result, details={**result.details, "function": label})


def _flatten(context: Context, gradient: Mapping[str, Any]) -> np.ndarray:
    """The user's gradient by name as a flat θ-ordered vector; a mismatch is an error."""
    if not isinstance(gradient, Mapping):
        raise TypeError(f"expected a mapping of parameter name to gradient, got "
                        f"{type(gradient).__name__}")
    pieces = []
    for parameter in context.problem.layout.parameters:
        if parameter.name not in gradient:
            raise KeyError(f"no gradient for parameter '{parameter.name}' (returned: "
                           f"{', '.join(map(str, gradient)) or 'nothing'})")
        value = np.asarray(gradient[parameter.name], dtype=float)
        if value.shape != parameter.shape:
            raise ValueError(f"gradient of '{parameter.name}' has shape {list(value.shape)}, "
                             f"expected {list(parameter.shape)}")
        pieces.append(value)
    return context.problem.layout.join(pieces)


def import_function(reference: str) -> Callable[..., Any]:
    """`module:function` (module importable from the current folder) → the function."""
    module_name, _, name = reference.partition(":")
    if not module_name or not name:
        raise UsageError(f"--against {reference!r}: expected MODULE:FUNCTION, such as "
                         "'mymodel:gradient'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"--against {excerpt(reference)}: cannot import {module_name!r}: "
                         f"{excerpt(error, 200)}") from None
    except Exception as error:   # the user's module raised while it was imported
        raise UsageError(f"--against {excerpt(reference)}: importing {excerpt(module_name)} "
                         f"raised {type(error).__name__}: {excerpt(error, 200)}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"--against {reference!r}: {module_name} has no function {name!r}")
    return function
