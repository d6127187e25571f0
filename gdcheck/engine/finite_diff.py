"""Exact values against reference values, component by component: `compare`.

`compare` applies `|exact − estimate| ≤ atol + rtol·|estimate| + error` per component,
`error` being the reference's own allowance (for `against`, the rounding of two exact
gradients). The finite-difference verdicts themselves are the oracle's (`oracle.py`,
`verdicts.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
