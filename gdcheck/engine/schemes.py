"""Finite-difference schemes over a user's plain function of one point, each returning the
derivative estimate per component and its error estimate; the calls are counted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UsageError
from . import finite_diff

COMPLEX_STEP = 1e-20
COMPLEX_HELP = ("scheme='complex' evaluates f at x + 1e-20j·eᵢ, so f must accept complex "
                "input and carry it through (no abs, np.real, float() or comparisons on x); "
                "use scheme='richardson' for the same accuracy with real arithmetic")



def _central(objective: PointFunction, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    estimate = finite_diff.central_gradient(objective.batched, x)
    return estimate.gradient, estimate.error


def _richardson(objective: PointFunction, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    def difference(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        step = (x + step) - x  # the step actually taken
        plus = np.array([objective(_moved(x, i, h)) for i, h in enumerate(step)])
        minus = np.array([objective(_moved(x, i, -h)) for i, h in enumerate(step)])
        derivative = (plus - minus) / (2 * step)
        return derivative, finite_diff.rounding_noise(plus, minus, np.abs(x * derivative), step)

    return finite_diff.richardson_derivative(difference, np.abs(x))


def _complex_step(objective: PointFunction, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = [objective.complex_at(_moved(x, i, 1j * COMPLEX_STEP)) for i in range(x.size)]
    numeric = np.imag(values) / COMPLEX_STEP
    return numeric, finite_diff.ROUNDING_ULPS * finite_diff.EPSILON * np.abs(numeric)


SCHEMES = {"central": _central, "richardson": _richardson, "complex": _complex_step}
SCHEME_NAMES = (*SCHEMES, "directional")


def _moved(x: np.ndarray, index: int, amount: float | complex) -> np.ndarray:
    point = x.astype(np.result_type(x, amount))
    point[index] += amount
    return point


def directional_derivative(objective: PointFunction, x: np.ndarray, direction: np.ndarray,
           analytic: np.ndarray) -> tuple[float, float]:
    """Derivative of t ↦ f(x + t·direction) at 0 (Ridders), and its error estimate."""
    # rounding x + t·v moves each coordinate by up to an ulp, changing f by about Σ|xᵢgᵢ|ε
    moved = np.array([np.sum(np.abs(x * analytic))])

    def difference(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        plus = np.array([objective(x + step[0] * direction)])
        minus = np.array([objective(x - step[0] * direction)])
        return (plus - minus) / (2 * step), finite_diff.rounding_noise(plus, minus, moved, step)

    value, error = finite_diff.richardson_derivative(difference, np.array([np.max(np.abs(x))]))
    return float(value[0]), float(error[0])


class PointFunction:
    """The user's f on flat points: reshaped to x's shape, checked to return a scalar, counted."""

    def __init__(self, f: Callable, shape: tuple[int, ...]):
        self.f, self.shape, self.calls = f, shape, 0

    def __call__(self, point: np.ndarray) -> float | complex:
        self.calls += 1
        value = np.asarray(self.f(point.reshape(self.shape)))
        if value.size != 1 or value.dtype.kind not in "iufc":
            raise UsageError(f"f(x) returned {describe_value(value)}, expected one number: f must "
                             f"map x to a scalar (e.g. sum a loss over its terms)")
        return value.reshape(()).item()

    def batched(self, points: np.ndarray) -> np.ndarray:
        return np.array([self(point) for point in points], dtype=float)

    def validate(self, point: np.ndarray) -> None:
        value = self(point.reshape(-1).copy())
        if isinstance(value, complex) or not np.isfinite(value):
            raise UsageError(f"f(x)={value!r} at x: f must return a finite real number there "
                             f"(check the gradient at a point inside f's domain)")

    def complex_at(self, point: np.ndarray) -> complex:
        try:
            value = self(point)
        except UsageError:
            raise
        except Exception as error:  # f's own failure on complex numbers
            raise UsageError(f"f failed on complex input ({type(error).__name__}: {error}); "
                             f"{COMPLEX_HELP}") from error
        if not isinstance(value, complex):
            raise UsageError(f"f returned the real {value!r} for complex input, so the complex "
                             f"step was lost; {COMPLEX_HELP}")
        return value


def describe_value(value: np.ndarray) -> str:
    if value.dtype.kind in "biufc":
        return f"shape {value.shape} ({value.dtype})"
    return repr(value.item()) if value.size == 1 else f"an array of {value.dtype}"
