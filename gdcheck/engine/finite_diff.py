"""Central finite differences with an estimate of their own error.

How it works: coordinate i is stepped by hᵢ = ε^(1/3)·max(1, |xᵢ|), the step
that balances the truncation error of a central difference (∝ h²) against
its rounding error (∝ ε/h); hᵢ is rounded so that xᵢ + hᵢ is exactly
representable. The function is evaluated at x ± hᵢeᵢ and x ± 2hᵢeᵢ, all 4P
points in one batched call (chunked when P is large), giving two estimates
D(h) and D(2h) of each derivative. Their truncation errors are about h²f'''/6
and 4h²f'''/6, so |D(h) − D(2h)|/3 estimates the truncation error of D(h);
we report |D(h) − D(2h)| itself, a threefold margin for higher-order terms
and noise. A few ulps of |f| divided by h estimate the rounding error. The
error is the sum of the two: usually an upper bound, not a guarantee
(rounding from cancellation inside f, as in sin a + sin b ≈ 0, goes unseen).

`compare` applies the tolerance of SPEC.md, `|g − g_fd| ≤ atol + rtol·|g_fd|`
per component, optionally widened by that error estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)
ROUNDING_ULPS = 4.0  # evaluating f costs a few ulps of |f|; each difference loses that over h
MAX_BATCH_ROWS = 4096  # points per call to the batched function
MAX_BATCH_VALUES = 2**22  # floats per batch of points (32 MiB), so large P stays in memory

BatchedFunction = Callable[[np.ndarray], np.ndarray]  # (K, P) -> (K,) or (K, M)


@dataclass(frozen=True, eq=False)
class FiniteDifference:
    """A finite-difference gradient: `gradient` (P,), its `error` estimate (P,), `step` h (P,)."""

    gradient: np.ndarray
    error: np.ndarray
    step: np.ndarray


@dataclass(frozen=True, eq=False)
class FiniteJacobian:
    """A finite-difference Jacobian of a vector function g: R^P -> R^M.

    `jacobian[i, j]` estimates ∂gᵢ/∂xⱼ, shape (M, P); for g the gradient of a
    loss it is the Hessian. `error` has the same shape; `step` is h (P,).
    """

    jacobian: np.ndarray
    error: np.ndarray
    step: np.ndarray


def step_sizes(x: np.ndarray) -> np.ndarray:
    """Central-difference step per coordinate: ε^(1/3)·max(1, |xᵢ|), exactly representable."""
    x = np.asarray(x, dtype=float)
    step = EPSILON ** (1 / 3) * np.maximum(1.0, np.abs(x))
    return (x + step) - x


def central_gradient(loss: BatchedFunction, x: np.ndarray) -> FiniteDifference:
    """Estimate the gradient of a batched scalar function at x (P,).

    `loss` maps points (K, P) to values (K,); it is called on 4P points, in
    batches of at most MAX_BATCH_ROWS rows. Non-finite values give non-finite
    components (and errors), never a warning.
    """
    derivative, error, step = _differences(loss, x, vector=False)
    return FiniteDifference(derivative, error, step)


def central_jacobian(function: BatchedFunction, x: np.ndarray) -> FiniteJacobian:
    """Estimate the Jacobian (M, P) of a batched vector function (K, P) -> (K, M) at x (P,).

    Used for Hessian checks: `central_jacobian(problem.gradient, x)`.
    """
    derivative, error, step = _differences(function, x, vector=True)
    return FiniteJacobian(derivative.T, error.T, step)


def _differences(function: BatchedFunction, x: np.ndarray, *,
                 vector: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D(h) (P,) or (P, M), its error estimate, and h: one row per coordinate stepped."""
    x = np.asarray(x, dtype=float).reshape(-1)
    step = step_sizes(x)
    wide = (x + 2 * step) - x
    with np.errstate(all="ignore"):
        values = _evaluate(function, x, np.concatenate([step, -step, wide, -wide]), vector)
        plus, minus, wide_plus, wide_minus = values.reshape((4, x.size) + values.shape[1:])
        if vector:
            step, wide = step[:, None], wide[:, None]
        near = (plus - minus) / (2 * step)
        far = (wide_plus - wide_minus) / (2 * wide)
        truncation = np.abs(near - far)  # 3x the asymptotic estimate, as a margin
        rounding = ROUNDING_ULPS * EPSILON * np.maximum(np.abs(plus), np.abs(minus)) / step
    return near, truncation + rounding, step.reshape(-1)


def _evaluate(function: BatchedFunction, x: np.ndarray, offsets: np.ndarray,
              vector: bool) -> np.ndarray:
    """function at x + offsets[r]·e_(r mod P) for every row r, in as few calls as memory allows."""
    rows = max(1, min(MAX_BATCH_ROWS, MAX_BATCH_VALUES // max(x.size, 1)))
    chunks = []
    for start in range(0, offsets.size, rows):
        index = np.arange(start, min(start + rows, offsets.size))
        coordinate = index % x.size
        points = np.tile(x, (index.size, 1))
        points[np.arange(index.size), coordinate] = x[coordinate] + offsets[index]
        values = np.asarray(function(points), dtype=float)
        chunks.append(values.reshape(index.size, -1) if vector
                      else np.broadcast_to(values.reshape(-1), (index.size,)))
    return np.concatenate(chunks) if chunks else np.zeros((0, 0) if vector else 0)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Exact derivatives against finite-difference estimates, component by component.

    A component passes when `|exact − estimate| ≤ atol + rtol·|estimate| + error`
    (`tolerance` holds the right-hand side). `rel_error` is
    `|exact − estimate| / max(|exact|, |estimate|)`, 0 where that scale is at most
    atol/rtol (there the tolerance is absolute and a relative error means nothing).
    `worst` is the flat (row-major) index of the component with the largest
    `|diff| / tolerance`, or the first non-finite one; every array has the
    shape of the inputs.
    """

    exact: np.ndarray
    estimate: np.ndarray
    tolerance: np.ndarray
    abs_error: np.ndarray
    rel_error: np.ndarray
    passed: bool
    worst: int

    @property
    def max_abs_error(self) -> float:
        return float(np.max(self.abs_error, initial=0.0))

    @property
    def max_rel_error(self) -> float:
        return float(np.max(self.rel_error, initial=0.0))

    @property
    def worst_values(self) -> tuple[float, float]:
        """The worst component's (exact, estimate)."""
        return float(self.exact.flat[self.worst]), float(self.estimate.flat[self.worst])


def compare(exact: np.ndarray, estimate: np.ndarray, *, rtol: float, atol: float,
            error: np.ndarray | None = None) -> Comparison:
    """Check `|exact − estimate| ≤ atol + rtol·|estimate| + error` per component.

    `error` (same shape, e.g. `FiniteDifference.error`) widens the tolerance by
    the finite difference's own error estimate; where it is not finite it
    widens nothing. A non-finite exact or estimate value fails its component.

    >>> compare(np.array([1.0, 2.0]), np.array([1.0, 2.5]), rtol=1e-6, atol=1e-9).worst
    1
    """
    exact = np.asarray(exact, dtype=float)
    estimate = np.asarray(estimate, dtype=float)
    allowance = 0.0 if error is None else np.asarray(error, dtype=float)
    with np.errstate(all="ignore"):
        allowance = np.where(np.isfinite(allowance), allowance, 0.0)
        tolerance = atol + rtol * np.abs(estimate) + allowance
        difference = np.abs(exact - estimate)
        scale = np.maximum(np.abs(exact), np.abs(estimate))
        # Below atol/rtol the tolerance is absolute; a relative error there means nothing.
        floor = atol / rtol if rtol > 0 else 0.0
        relative = np.where((difference == 0) | (scale <= floor), 0.0, difference / scale)
        ratio = np.where(difference == 0, 0.0, difference / tolerance)
    finite = np.isfinite(exact) & np.isfinite(estimate)
    passed = bool(np.all(finite) and np.all(difference <= tolerance))
    broken = np.flatnonzero(~finite)
    worst = int(broken[0]) if broken.size else int(np.argmax(ratio)) if ratio.size else 0
    return Comparison(exact, estimate, tolerance, difference, relative, passed, worst)


# Richardson extrapolation (Ridders' method), for callers that difference a
# function themselves: `difference(steps)` returns central differences at
# those steps, one per component, and their rounding noise (`rounding_noise`).

RICHARDSON_LEVELS = 10  # steps halved 9 times: 2 evaluations per level and component
RICHARDSON_START = 1.0  # the first step, absolute: f's length scale need not grow with |x|

Difference = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # steps -> (D, noise)


def richardson_derivative(difference: Difference,
                          magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives extrapolated to step 0, and their error estimates.

    How it works: central differences at steps halved RICHARDSON_LEVELS − 1
    times fill a Neville tableau, each column cancelling the next even power
    of the step; the entry closest to both of its parents wins, that gap (plus
    twice the rounding noise) being its error estimate. A first step far
    beyond f's length scale can fool the tableau (sin(100x) looks flat at
    step 1), so its result is kept only where it agrees with a plain central
    difference within both estimates; elsewhere that difference and its
    D(h)-against-D(2h) estimate are returned. `magnitude` is |x| per component:
    the last step stays above 1000 ulps of it. Costs 2·(RICHARDSON_LEVELS + 2)
    calls of `difference`'s function per component.
    """
    shrink = 2.0 ** (RICHARDSON_LEVELS - 1)
    start = np.maximum(RICHARDSON_START, 1000 * EPSILON * magnitude * shrink)
    central_step = np.minimum(step_sizes(magnitude), start / shrink / 4)  # finer than the tableau
    with np.errstate(all="ignore"):
        value, error = _ridders(difference, start)
        (near, noise), (far, _) = difference(central_step), difference(2 * central_step)
        central_error = np.abs(near - far) + noise
        trusted = np.abs(value - near) <= error + central_error
    return np.where(trusted, value, near), np.where(trusted, error, central_error)


def _ridders(difference: Difference, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    previous = [difference(step)[0]]
    best, error = previous[0], np.full(previous[0].shape, np.inf)
    for _ in range(1, RICHARDSON_LEVELS):
        step = step / 2
        derivative, noise = difference(step)
        row, factor = [derivative], 1.0
        for parent in previous:
            factor *= 4.0
            extrapolated = (row[-1] * factor - parent) / (factor - 1)
            gap = np.maximum(np.abs(extrapolated - row[-1]), np.abs(extrapolated - parent))
            gap = gap + 2 * noise  # the tableau roughly doubles rounding noise
            better = gap < error
            best, error = np.where(better, extrapolated, best), np.where(better, gap, error)
            row.append(extrapolated)
        previous = row
    return best, error


def rounding_noise(plus: np.ndarray, minus: np.ndarray, moved: np.ndarray,
                   step: np.ndarray) -> np.ndarray:
    """Rounding in (plus − minus)/2h: a few ulps of |f|, and of `moved` (≈ |x·f'|), over h.

    `moved` covers f's rounding of its argument (5x at x = 1e6 is off by an
    ulp of 5e6), which a few ulps of |f| miss.
    """
    size = np.maximum(np.abs(plus), np.abs(minus)) + moved
    return ROUNDING_ULPS * EPSILON * size / np.abs(step)
