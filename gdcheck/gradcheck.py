"""Check any gradient function against finite differences of its function.

How it works: `f` is a plain function of one point, called point by point and counted.
The verdict comes from gdcheck's finite-difference oracle (`engine/oracle.py`,
`engine/verdicts.py`): f's noise is measured at x (Moré–Wild), each coordinate's step is
chosen from it on a ladder of steps, and component i fails when
`|gᵢ − g_fdᵢ| > bound + rtol·|gᵢ| + atol`, the bound being what that difference can know
(truncation plus noise over h). It passes when the bound was tight enough to see an error
of max(rtol, 1e-3) of the derivative, and is inconclusive otherwise: no finite difference
can decide there, and the check says why. Above 200 components, random directions are
checked instead of every coordinate, and a failing one is localised by bisection.

The schemes (`scheme=`): "central" (the ladder; where it is inconclusive, Richardson
extrapolation, then the complex step if f accepts complex input), "richardson", "complex"
(Im f(x + ih·eᵢ)/h with h = 1e-20, or 1e-20·|xᵢ| where |xᵢ| < 1: no cancellation,
machine precision; f must carry complex numbers through) and "directional" (random
directions whatever the size of x).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from math import inf
from numbers import Integral, Real
from typing import Any

import numpy as np

from . import defaults
from .engine.oracle import EPSILON, Estimate, judge
from .engine.schemes import COMPLEX_STEP, SCHEME_NAMES, PointFunction, describe_value
from .engine.verdicts import DIRECTIONAL_ABOVE, GradientVerdict, screen, verify_gradient
from .errors import (
    GradientInconclusive,
    GradientMismatch,
    GradientWarning,
    UsageError,
    did_you_mean,
)

INCONCLUSIVE_CHOICES = ("raise", "warn")
COMPLEX_TRUNCATION = 1e-30   # the complex step's h²·|f‴|/6 for |f‴| up to 6e10
COMPLEX_ZERO = 1e-27         # below this a derivative counts as 0 for the complex step


@dataclass(frozen=True, eq=False)
class GradientCheck:
    """The outcome of `check_gradient`; `str()` reads it out.

    `verdict` is "pass", "fail" or "inconclusive" (`reason` says why when it is not a
    pass); `passed` is True only for "pass". `analytic` is grad(x); `numeric`,
    `abs_error`, `rel_error`, `tolerance` and `error_estimate` (the difference's bound)
    the difference side per component, all of x's shape (NaN where a component was not
    differenced on its own, as in the directional mode). `worst` indexes x at the
    component that failed (or is furthest from passing); None if none was singled out.
    `directional`: (analytic, numeric) derivative along the first random unit
    `direction` checked (directional mode); `fallback`: a direction failed, and bisection
    named the component. `noise` is f's measured noise at x.
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
    verdict: str = "pass"
    reason: str | None = None
    noise: float = float("nan")
    directions: list = field(default_factory=list)

    def summary(self) -> str:
        calls = f"{self.evaluations} evaluations of f ({self.scheme})"
        if self.verdict == "fail":
            count = int(np.sum(self.disagreeing))
            others = (f"; {count} of {self.analytic.size} components disagree"
                      if count and self.analytic.size > 1 else "")
            return f"FAIL: {self.reason}{others}; {calls}"
        if self.verdict == "inconclusive":
            return f"INCONCLUSIVE: {self.reason}; {calls}"
        if self.directions:
            bound = max(b for _, _, b, _ in self.directions)
            return (f"gradient matches finite differences along {len(self.directions)} random "
                    f"directions (largest bound {bound:.1e}; f's noise {self.noise:.1e}); "
                    f"{calls}")
        size = self.analytic.size
        every = "its 1 component" if size == 1 else f"all {size} components"
        bound = float(np.nanmax(np.asarray(self.error_estimate), initial=0.0))
        return (f"gradient matches finite differences at {every} (largest bound {bound:.1e}; "
                f"f's noise {self.noise:.1e}); {calls}")

    __str__ = summary

    @property
    def disagreeing(self) -> np.ndarray:
        """Which components fail: beyond their tolerance, or not finite on either side."""
        finite = np.isfinite(self.analytic) & np.isfinite(self.numeric)
        compared = ~np.isnan(self.numeric)
        return compared & ~(finite & (self.abs_error <= self.tolerance))


def check_gradient(f: Callable, grad: Callable, x, *, rtol: float = defaults.RTOL,
                   atol: float = defaults.ATOL, scheme: str = "central",
                   seed: int = 0) -> GradientCheck:
    """Compare `grad(x)` with finite differences of `f` at x.

    Args:
        f: f(x) -> a real number, for x of x's shape (called one point at a time).
        grad: grad(x) -> array of x's shape, the gradient to check.
        x: the point: a number or an array of any shape, finite.
        rtol: component i fails when |gᵢ − g_fdᵢ| > bound + rtol·|gᵢ| + atol, the bound
            being the difference's own (truncation + f's measured noise over the step).
        atol: an extra absolute allowance; 0 by default: no floor hides a small gradient.
        scheme: "central" (escalating to "richardson", then "complex", where it is
            inconclusive), "richardson", "complex" (f must accept complex x) or
            "directional" (random directions, a constant number of calls whatever the
            size of x; used by "central" and "richardson" above 200 components).
        seed: fixes the random directions and the direction the noise is measured along.

    Returns:
        A GradientCheck: `.verdict` ("pass", "fail" or "inconclusive"), `.passed`,
        `.worst` (index into x), `.reason`, `str()` to read.

    Raises:
        UsageError: bad arguments, or f / grad returning the wrong kind of value.

    Worked example: f(x) = 1e12 + sin(x) at x = 0.3. Its values are rounded to the ulp of
    1e12 (1.2e-4): the measured noise is 5.6e-5, the best central difference is good to
    about 6e-3, so a gradient 1% wrong (0.965 for cos 0.3 = 0.955) fails; the correct one
    cannot pass on central differences (a pass needs a bound of 1e-3 of the derivative), so
    the check escalates to Richardson, then to the complex step, which passes it.

    >>> check_gradient(lambda x: (x**2).sum(), lambda x: 2 * x, [1.0, -2.0]).verdict
    'pass'
    """
    _check_options(f, grad, rtol, atol, scheme, seed)
    point = _point(x)
    analytic = _analytic(grad, point)
    objective = PointFunction(f, point.shape)
    objective.validate(point)
    flat = analytic.reshape(-1)
    if scheme == "complex":
        return _complex_check(objective, point, analytic, rtol, atol, seed=seed)
    found = verify_gradient(objective.batched, point.reshape(-1), flat, rtol=rtol, atol=atol,
                            richardson=scheme == "richardson", seed=seed,
                            describe=lambda i: _component_name(point.shape, i),
                            directional=True if scheme == "directional" else None)
    if scheme == "central" and found.verdict == "inconclusive" and not found.chaotic:
        found = verify_gradient(objective.batched, point.reshape(-1), flat, rtol=rtol,
                                atol=atol, richardson=True, seed=seed,
                                describe=lambda i: _component_name(point.shape, i),
                                directional=found.mode == "directions")
        if found.verdict == "inconclusive" and objective.accepts_complex(point.reshape(-1)) \
                and point.size <= DIRECTIONAL_ABOVE:
            return _complex_check(objective, point, analytic, rtol, atol, escalated=True)
        return _from_verdict(found, point, analytic, objective.calls, "central→richardson")
    return _from_verdict(found, point, analytic, objective.calls, found.scheme
                         if found.mode == "components" else f"{found.scheme}, directional")


def assert_gradient(f: Callable, grad: Callable, x, *, rtol: float = defaults.RTOL,
                    atol: float = defaults.ATOL, scheme: str = "central",
                    seed: int = 0, inconclusive: str = "raise") -> GradientCheck:
    """`check_gradient`, raising GradientMismatch (an AssertionError) if it fails and
    GradientInconclusive if no difference could decide (`inconclusive="warn"`: a
    GradientWarning instead, and the check is returned).

    The error's message names the component with both values, and carries the check as
    `.check`.

    >>> assert_gradient(np.sin, np.cos, 0.5).passed
    True
    """
    if inconclusive not in INCONCLUSIVE_CHOICES:
        raise UsageError(f"inconclusive={inconclusive!r}: expected one of "
                         f"{', '.join(map(repr, INCONCLUSIVE_CHOICES))}")
    check = check_gradient(f, grad, x, rtol=rtol, atol=atol, scheme=scheme, seed=seed)
    replay = (f"replay: check_gradient(f, grad, x, rtol={rtol}, atol={atol}, "
              f"scheme={scheme!r}, seed={seed})")
    if check.verdict == "fail":
        error: Exception = GradientMismatch(f"{check}\n  fix grad there, or loosen rtol if f "
                                            f"is ill-conditioned at x; {replay}")
    elif check.verdict == "inconclusive" and inconclusive == "raise":
        error = GradientInconclusive(f"{check}\n  no finite difference can decide at this "
                                     f"x; pass inconclusive='warn' to accept it; {replay}")
    else:
        if check.verdict == "inconclusive":
            warnings.warn(str(check), GradientWarning, stacklevel=2)
        return check
    error.check = check  # type: ignore[attr-defined]
    raise error


def _from_verdict(found: GradientVerdict, point: np.ndarray, analytic: np.ndarray,
                  calls: int, scheme: str) -> GradientCheck:
    shape = point.shape
    numeric, bound, tolerance, difference = (np.reshape(a, shape) for a in (
        found.estimate, found.bound, found.tolerance, found.difference))
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(analytic), np.abs(numeric))
        relative = np.where(difference > 0, difference / size, 0.0)
    worst = None if found.worst is None else _index(shape, found.worst)
    exact = None if worst is None else float(analytic[worst])
    estimate = None if worst is None else float(numeric[worst])
    extra: dict[str, Any] = {}
    if found.directions:
        first = found.directions[0]
        extra = {"directional": (first[0], first[1]), "fallback": found.verdict == "fail",
                 "direction": None if found.direction is None
                 else found.direction.reshape(shape)}
    return GradientCheck(found.verdict == "pass", analytic, numeric, difference, relative,
                         tolerance, bound, worst, exact, estimate, calls, scheme,
                         verdict=found.verdict, reason=found.reason, noise=found.noise,
                         directions=found.directions, **extra)


def _complex_check(objective: PointFunction, point: np.ndarray, analytic: np.ndarray,
                   rtol: float, atol: float, escalated: bool = False, seed: int = 0
                   ) -> GradientCheck:
    flat = point.reshape(-1)
    if not escalated:   # (escalated: the central check has screened f already)
        chaotic = screen(objective.batched, flat, analytic.reshape(-1), seed)
        if chaotic is not None:
            return _from_verdict(chaotic, point, analytic, objective.calls, "complex")
    # h = 1e-20, or 1e-20·|xᵢ| below 1: the step must stay far inside f's length scale,
    # which may be |xᵢ| itself (2/x at x = 1e-100); with no subtraction, any h is exact
    h = COMPLEX_STEP * np.where((flat != 0) & (np.abs(flat) < 1), np.abs(flat), 1.0)
    steps = [objective.complex_at(_moved(flat, i, 1j * h[i])) for i in range(flat.size)]
    numeric = np.imag(steps) / h
    # no subtraction, so a few ulps; and the truncation h²·f‴/6, below COMPLEX_TRUNCATION
    # unless |f‴| > 6e10
    bound = 8 * EPSILON * np.abs(numeric) + COMPLEX_TRUNCATION
    estimate = Estimate(numeric, bound, h, np.zeros(flat.size),
                        np.abs(numeric))
    judged = judge(analytic.reshape(-1), estimate, rtol=rtol, atol=atol,
                   scale=max(1e-6 * float(np.max(np.abs(analytic), initial=0.0)),
                             COMPLEX_ZERO))
    verdict = judged.overall()
    with np.errstate(all="ignore"):
        ratio = np.where(judged.difference > 0, judged.difference / judged.tolerance, 0.0)
    order = np.flatnonzero(judged.verdicts == verdict) if verdict != "pass" else \
        np.arange(flat.size)
    pick = int(order[int(np.argmax(ratio[order]))]) if order.size else None
    reason = None
    if verdict != "pass" and pick is not None:
        name = _component_name(point.shape, pick)
        values = (f"gradient of {name}: exact {analytic.reshape(-1)[pick]:.6g}, complex-step "
                  f"{numeric[pick]:.6g}")
        reason = (f"{values} (|diff| {judged.difference[pick]:.2e} > tol "
                  f"{judged.tolerance[pick]:.2e})" if verdict == "fail" else
                  f"{values}: below the complex step's resolution ({COMPLEX_TRUNCATION:g})")
    worst = None if pick is None else _index(point.shape, pick)
    shape = point.shape
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(analytic.reshape(-1)), np.abs(numeric))
        relative = np.where(judged.difference > 0, judged.difference / size, 0.0)
    return GradientCheck(
        verdict == "pass", analytic, numeric.reshape(shape), judged.difference.reshape(shape),
        relative.reshape(shape), judged.tolerance.reshape(shape), bound.reshape(shape), worst,
        None if worst is None else float(analytic[worst]),
        None if worst is None else float(numeric.reshape(shape)[worst]), objective.calls,
        "central→richardson→complex" if escalated else "complex", verdict=verdict,
        reason=reason, noise=0.0)


def _moved(x: np.ndarray, index: int, amount: complex) -> np.ndarray:
    point = x.astype(complex)
    point[index] += amount
    return point


def _index(shape: tuple[int, ...], flat: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _component_name(shape: tuple[int, ...], flat: int) -> str:
    index = _index(shape, flat)
    return "x" if not index else f"x[{', '.join(map(str, index))}]"


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
