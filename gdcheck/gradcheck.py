"""Check any gradient function against finite differences of its function.

How it works: `f` is a plain function of one point, so it is called point by
point, at x moved along one coordinate (or one direction) at a time, and the
calls are counted. Each component of `grad(x)` must satisfy
`|g − g_fd| ≤ atol + rtol·|g_fd| + error`, `error` being the difference
scheme's estimate of its own error: no tolerance depends on the size of x.
The schemes (the SCHEMES table): `central` (finite_diff's, 4 calls a
component), `richardson` (finite_diff's Ridders extrapolation, 24),
`complex` (Im f(x + ih·eᵢ)/h, h = 1e-20: no cancellation, so machine
precision; 1), and `directional` (25 calls in all; see check_gradient).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from math import inf
from numbers import Integral, Real

import numpy as np

from . import defaults
from .engine import finite_diff
from .engine.schemes import (
    SCHEME_NAMES,
    SCHEMES,
    PointFunction,
    describe_value,
    directional_derivative,
)
from .errors import GradientMismatch, UsageError, did_you_mean


@dataclass(frozen=True, eq=False)
class GradientCheck:
    """The outcome of `check_gradient`; `str()` reads it out.

    `analytic` is grad(x); `numeric`, `abs_error`, `rel_error`, `tolerance`,
    `error_estimate` the difference side, all of x's shape (0-d for a passed
    directional check). `worst` indexes x at the component furthest beyond (or
    nearest) its tolerance; None if none differs or none was compared.
    `directional`: (analytic, numeric) derivative along the unit `direction`;
    `fallback`: it disagreed, so central differences compared every component.
    """

    passed: bool
    analytic: np.ndarray
    numeric: np.ndarray
    abs_error: np.ndarray
    rel_error: np.ndarray
    tolerance: np.ndarray
    error_estimate: np.ndarray | float
    worst: tuple[int, ...] | None
    worst_analytic: float | None
    worst_numeric: float | None
    evaluations: int
    scheme: str
    direction: np.ndarray | None = None
    directional: tuple[float, float] | None = None
    fallback: bool = False

    def summary(self) -> str:
        calls = f"{self.evaluations} evaluations of f"
        prefix = "" if self.directional is None else f"{self._directional_text()}; "
        if self.directional is not None and not self.fallback:
            return prefix + calls
        scheme, size = "central" if self.fallback else self.scheme, self.analytic.size
        if self.passed:
            nearest = "" if self.worst is None else f"; nearest its tolerance {self._worst_text()}"
            every = "its 1 component" if size == 1 else f"all {size} components"
            return f"{prefix}gradient matches {scheme} differences at {every}{nearest}; {calls}"
        return (f"{prefix}{self._worst_text()}; {int(np.sum(self.disagreeing))} of {size} "
                f"components disagree with {scheme} differences; {calls}")

    __str__ = summary

    @property
    def disagreeing(self) -> np.ndarray:
        """Which components fail: beyond their tolerance, or not finite on either side."""
        finite = np.isfinite(self.analytic) & np.isfinite(self.numeric)
        return ~(finite & (self.abs_error <= self.tolerance))

    def _worst_text(self) -> str:
        worst = self.worst or ()
        name = "gradient" + (f"[{', '.join(map(str, worst))}]" if worst else "")
        margin = _margin(self.abs_error[worst], self.tolerance[worst], not self.disagreeing[worst])
        return f"{name}: analytic {self.worst_analytic:.6g}, numeric {self.worst_numeric:.6g} " \
               f"{margin}"

    def _directional_text(self) -> str:
        analytic, numeric = self.directional or (np.nan, np.nan)
        values = f"analytic {analytic:.6g}, numeric {numeric:.6g}"
        if self.fallback:
            return (f"the derivative along a random unit direction disagreed ({values}), so "
                    f"central differences compared every component")
        margin = _margin(self.abs_error, self.tolerance, self.passed)
        return f"derivative along a random unit direction: {values} {margin}"


def _margin(difference: float | np.ndarray, tolerance: float | np.ndarray, within: bool) -> str:
    return f"(|diff| {float(difference):.1e} {'≤' if within else '>'} tol {float(tolerance):.1e})"


def check_gradient(f: Callable, grad: Callable, x, *, rtol: float = defaults.RTOL,
                   atol: float = defaults.ATOL, scheme: str = "central",
                   seed: int = 0) -> GradientCheck:
    """Compare `grad(x)` with finite differences of `f` at x, component by component.

    Args:
        f: f(x) -> a real number, for x of x's shape (called one point at a time).
        grad: grad(x) -> array of x's shape, the gradient to check.
        x: the point: a number or an array of any shape, finite.
        rtol, atol: component i passes when
            |gᵢ − g_fdᵢ| ≤ atol + rtol·|g_fdᵢ| + the difference's error estimate.
        scheme: "central" (4 calls of f per component), "richardson" (24 per
            component, ~1e-13 relative error), "complex" (1 per component,
            machine precision; f must accept complex x) or "directional"
            (a constant 25 calls, whatever the size of x).
        seed: fixes the random direction of the directional scheme.

    Returns:
        A GradientCheck; `.passed`, `.worst` (index into x), `str()` to read.

    Raises:
        UsageError: bad arguments, or f / grad returning the wrong kind of value.

    The directional scheme, like jax's `check_grads`, checks one directional
    derivative ⟨grad(x), v⟩ against a difference of t ↦ f(x + t·v) for v drawn
    from a normal distribution and normalised. A gradient wrong by δ ≠ 0 moves
    ⟨grad(x), v⟩ by ⟨δ, v⟩, which is 0 only on a hyperplane of directions, a
    set of probability 0 for a continuous v: any wrong component is detected
    (given enough margin) at the cost of one derivative, not one per component.
    Its tolerance is atol + rtol·Σ|gᵢvᵢ| + error: scaled by the magnitudes in
    the dot product (where its rounding comes from), not by the size of x. If
    it fails, the central scheme runs to locate the component and decides.

    >>> check_gradient(lambda x: (x**2).sum(), lambda x: 2 * x, [1.0, -2.0]).passed
    True
    """
    _check_options(f, grad, rtol, atol, scheme, seed)
    point = _point(x)
    analytic = _analytic(grad, point)
    objective = PointFunction(f, point.shape)
    objective.validate(point)
    if scheme == "directional":
        return _directional_check(objective, point, analytic, rtol, atol, seed)
    return _component_check(objective, point, analytic, rtol, atol, scheme)


def assert_gradient(f: Callable, grad: Callable, x, *, rtol: float = defaults.RTOL,
                    atol: float = defaults.ATOL, scheme: str = "central",
                    seed: int = 0) -> GradientCheck:
    """`check_gradient`, raising GradientMismatch (an AssertionError) if it does not pass.

    Returns the GradientCheck when it passes; the error's message names the
    worst component with both values, and the error carries it as `.check`.

    >>> assert_gradient(np.sin, np.cos, 0.5).passed
    True
    """
    check = check_gradient(f, grad, x, rtol=rtol, atol=atol, scheme=scheme, seed=seed)
    if not check.passed:
        error = GradientMismatch(
            f"{check}\n  fix grad there, or loosen rtol/atol if f is ill-conditioned at x; "
            f"replay: check_gradient(f, grad, x, rtol={rtol}, atol={atol}, "
            f"scheme={scheme!r}, seed={seed})")
        error.check = check  # type: ignore[attr-defined]
        raise error
    return check


def _component_check(objective: PointFunction, point: np.ndarray, analytic: np.ndarray,
                     rtol: float, atol: float, scheme: str) -> GradientCheck:
    numeric, error = SCHEMES[scheme](objective, point.reshape(-1))
    found = finite_diff.compare(analytic.reshape(-1), numeric, rtol=rtol, atol=atol, error=error)
    differs = bool(np.any(found.abs_error != 0)) or not found.passed
    worst = tuple(int(i) for i in np.unravel_index(found.worst, point.shape)) if differs else None
    exact, estimate = found.worst_values if differs else (None, None)
    numeric, abs_error, rel_error, tolerance, error = (np.reshape(array, point.shape) for array in (
        found.estimate, found.abs_error, found.rel_error, found.tolerance, error))
    return GradientCheck(found.passed, analytic, numeric, abs_error, rel_error, tolerance, error,
                         worst, exact, estimate, objective.calls, scheme)


def _directional_check(objective: PointFunction, point: np.ndarray, analytic: np.ndarray,
                       rtol: float, atol: float, seed: int) -> GradientCheck:
    normal = np.asarray(np.random.default_rng(seed).standard_normal(point.shape))
    direction = normal / np.sqrt(np.sum(normal**2))
    numeric, error = directional_derivative(objective, point, direction, analytic)
    products = analytic * direction
    along, scale = float(np.sum(products)), float(np.sum(np.abs(products)))
    found = finite_diff.compare(np.array(along), np.array(numeric), rtol=0.0, atol=atol,
                                error=np.array(error + rtol * scale))
    seen = {"direction": direction, "directional": (along, numeric)}
    if not found.passed:
        located = _component_check(objective, point, analytic, rtol, atol, "central")
        return dataclasses.replace(located, scheme="directional", evaluations=objective.calls,
                                   fallback=True, **seen)
    return GradientCheck(True, analytic, found.estimate, found.abs_error, found.rel_error,
                         found.tolerance, error, None, None, None, objective.calls,
                         "directional", **seen)


def _point(x) -> np.ndarray:
    point = np.asarray(x)
    if point.dtype.kind not in "iuf":
        raise UsageError(f"x={x!r} must be real numbers (a number or an array of floats); "
                         f"check complex parameters as separate real and imaginary parts")
    point = point.astype(float)
    if point.size == 0:
        raise UsageError(f"x has no components (shape {point.shape}): pass at least one")
    broken = np.argwhere(~np.isfinite(point))
    if broken.size:
        index = tuple(int(i) for i in broken[0])
        where = f"x[{', '.join(map(str, index))}]" if index else "x"
        raise UsageError(f"x is not finite: {where}={point[index]}; check the gradient at a "
                         f"point where every component is finite")
    return point


def _analytic(grad: Callable, point: np.ndarray) -> np.ndarray:
    gradient = np.asarray(grad(point.copy()))
    if gradient.dtype.kind not in "iuf":
        raise UsageError(f"grad(x) returned {describe_value(gradient)}, expected real numbers in "
                         f"x's shape {point.shape}")
    if gradient.shape != point.shape:
        raise UsageError(f"grad(x) returned shape {gradient.shape}, expected x's shape "
                         f"{point.shape}: return one derivative per component of x, in x's "
                         f"layout (e.g. np.reshape(g, np.shape(x)))")
    return gradient.astype(float)


def _check_options(f, grad, rtol, atol, scheme, seed) -> None:
    for name, function in (("f", f), ("grad", grad)):
        if not callable(function):
            raise UsageError(f"{name}={function!r} is not callable: pass a function of x")
    for name, value, example in (("rtol", rtol, "1e-6"), ("atol", atol, "1e-9")):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) < inf:
            raise UsageError(f"{name}={value!r} must be a finite number >= 0, e.g. "
                             f"{name}={example}")
    if scheme not in SCHEME_NAMES:
        raise UsageError(f"scheme={scheme!r} is not a difference scheme"
                         f"{did_you_mean(scheme, SCHEME_NAMES)}; expected one "
                         f"of: {', '.join(SCHEME_NAMES)}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or int(seed) < 0:
        raise UsageError(f"seed={seed!r} must be an integer >= 0 (it fixes the random "
                         f"direction), e.g. seed=0")
