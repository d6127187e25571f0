"""The user's plain function of one point, as the finite-difference oracle calls it:
reshaped, checked to return one number, counted; and the names of the schemes."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..errors import UsageError

COMPLEX_STEP = 1e-20
COMPLEX_HELP = ("scheme='complex' evaluates f at x + ih·eᵢ (h = 1e-20, less for tiny xᵢ), "
                "so f must accept complex input and carry it through (no abs, np.real, float() "
                "or comparisons on x); "
                "use scheme='richardson' for the same accuracy with real arithmetic")



SCHEME_NAMES = ("central", "richardson", "complex", "directional")


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

    def accepts_complex(self, point: np.ndarray) -> bool:
        """Whether f carries a complex step through (so the complex step can decide)."""
        moved = point.astype(complex)
        moved[0] += 1j * COMPLEX_STEP
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")   # a ComplexWarning: the step was cast away
                value = self.f(moved.reshape(self.shape))
        except Exception:  # noqa: BLE001 - any failure means: no
            return False
        self.calls += 1
        return isinstance(np.asarray(value).reshape(-1)[0].item(), complex)

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
