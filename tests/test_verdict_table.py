"""check_gradient's verdict on a table of cases whose truth comes from the mathematics.

Every row is a function, a gradient (derived by hand, or with a bug planted on purpose),
a point and the verdict: "pass" for a correct gradient, "fail" for a planted bug, and
"inconclusive" only where the comment shows that f's own rounding leaves no finite
difference in float64 able to decide. `allowed` lists other verdicts that are also true
there (a correct gradient may be "inconclusive" where f's noise sits near the cut, a
wrong one may be "inconclusive" but never "pass"), never one that would be false.

How a row's verdict was decided: the derivative in closed form, evaluated at the float64
point as an exact number (each was checked against mpmath at 50 digits); and how tightly a
finite difference can measure it. If each evaluation of f is off by at most σ (its
rounding "noise") and |f'''| ≤ M along the line, the best central difference is off by
about σ^(2/3)·M^(1/3) (at h ≈ (3σ/M)^(1/3)); a higher-order (Richardson) difference gets
close to σ/L for a length scale L. The contract makes a check inconclusive only when that
is worse than about 1e-3 of the derivative, so a row is "pass" or "fail" outright when it
is far better, and allows "inconclusive" only when it is within a small factor of 1e-3 or
worse. σ for float32/float16 arithmetic, cancellation and long sums is worked out in the
comments (ε64 = 2.2e-16, ε32 = 1.2e-7, ε16 = 9.8e-4, ulp = the spacing of floats there).

    pytest tests/test_verdict_table.py        # tests/benchmarks/bench_verdicts.py: every scheme
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest

from gdcheck import check_gradient

Verdict = Literal["pass", "fail", "inconclusive"]
Function = Callable[[np.ndarray], float]
Gradient = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class Case:
    """One row: check_gradient(f, grad, x) must return `verdict` or one of `allowed`.

    `bug` says what is wrong with grad (None: grad is the exact gradient); `worst` is the
    only wrong component, which a "fail" must name; `noisy`: f's rounding keeps even the
    best difference worse than ~1e-6 of this gradient (float32/float16 arithmetic, long
    sums, an offset, a tiny gradient beside values ~1); `complex_ok`: f carries complex
    input through (for the benchmark's complex-step scheme).
    """

    name: str
    f: Function
    grad: Gradient
    x: np.ndarray
    verdict: Verdict
    allowed: tuple[Verdict, ...] = ()
    bug: str | None = None
    worst: tuple[int, ...] | None = None
    noisy: bool = False
    complex_ok: bool = True

    @property
    def acceptable(self) -> tuple[Verdict, ...]:
        return (self.verdict, *self.allowed)


def point(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def scaled(grad: Gradient, factor: float) -> Gradient:
    """grad times `factor` in every component."""
    return lambda x: factor * np.asarray(grad(x))


def with_entry(grad: Gradient, index: int | tuple[int, ...], factor: float) -> Gradient:
    """grad with component `index` multiplied by `factor` (-1: its sign flipped)."""
    def changed(x: np.ndarray) -> np.ndarray:
        gradient = np.array(grad(x), dtype=float)
        gradient[index] *= factor
        return gradient
    return changed


def sum_sin(x: np.ndarray) -> float:
    return np.sum(np.sin(x))


def sum_sin_gradient(x: np.ndarray) -> np.ndarray:
    return np.cos(x)


# ---------------------------------------------------------------- functions of the rows

CENTRE = 5e5  # exact in binary, so x - CENTRE is exact (Sterbenz) for x near it


def bump(x: np.ndarray) -> float:
    return np.sum(np.exp(-((x - CENTRE) ** 2)))


def bump_gradient(x: np.ndarray) -> np.ndarray:
    return -2 * (x - CENTRE) * np.exp(-((x - CENTRE) ** 2))


SCALE = 1e-8  # the length scale of the tiny-coordinate functions


def tanh_scaled(x: np.ndarray) -> float:
    return np.sum(np.tanh(x / SCALE))


def tanh_scaled_gradient(x: np.ndarray) -> np.ndarray:
    return (1 - np.tanh(x / SCALE) ** 2) / SCALE


def gaussian_scaled(x: np.ndarray) -> float:
    return np.sum(np.exp(-((x / SCALE) ** 2)))


def gaussian_scaled_gradient(x: np.ndarray) -> np.ndarray:
    return -2 * x / SCALE**2 * np.exp(-((x / SCALE) ** 2))


def sin_1000(x: np.ndarray) -> float:
    return np.sum(np.sin(1000 * x))


def sin_1000_gradient(x: np.ndarray) -> np.ndarray:
    return 1000 * np.cos(1000 * x)


def sin_x_plus_square(x: np.ndarray) -> float:
    return np.sum(np.sin(x) * x + x**2)


def sin_x_plus_square_gradient(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + x * np.cos(x) + 2 * x


def sin_x_plus_square_float32(x: np.ndarray) -> float:
    x32 = x.astype(np.float32)
    return float(np.sum(np.sin(x32) * x32 + x32 * x32))


def sum_sin_float32(x: np.ndarray) -> float:
    return float(np.sum(np.sin(x.astype(np.float32))))


def sin_times_x(x: np.ndarray) -> float:
    return np.sum(np.sin(x) * x)


def sin_times_x_gradient(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + x * np.cos(x)


def sin_times_x_float16(x: np.ndarray) -> float:
    x16 = x.astype(np.float16)
    return float(np.sum(np.sin(x16) * x16, dtype=np.float16))


def square_plus_max(x: np.ndarray) -> float:
    return float(x[0] ** 2 + max(x[0], 0.1))


def reciprocal(x: np.ndarray) -> float:
    return 2 / x[0]   # complex in, complex out (for the complex step)


def reciprocal_gradient(x: np.ndarray) -> np.ndarray:
    return -2 / x**2


def sin_power_64(x: np.ndarray) -> float:
    return np.sin(x[0] ** 64)


def sin_power_64_gradient(x: np.ndarray) -> np.ndarray:
    return np.array([64 * x[0] ** 63 * np.cos(x[0] ** 64)])


def valley(x: np.ndarray) -> float:
    """1e8·(x0 − x1)² + ½|x − 1|², the first term expanded: terms of 2e8, a value near 1."""
    x0, x1 = x
    return (1e8 * x0**2 - 2e8 * x0 * x1 + 1e8 * x1**2
            + 0.5 * ((x0 - 1) ** 2 + (x1 - 1) ** 2))


def valley_gradient(x: np.ndarray) -> np.ndarray:
    stiff = 2e8 * (x[0] - x[1])
    return np.array([stiff + (x[0] - 1), -stiff + (x[1] - 1)])


def valley_gradient_stiff_only(x: np.ndarray) -> np.ndarray:
    stiff = 2e8 * (x[0] - x[1])
    return np.array([stiff, -stiff])


def exp_minus_tangent(x: np.ndarray) -> float:
    return np.sum(np.exp(x) - 1 - x)


def exp_minus_tangent_gradient(x: np.ndarray) -> np.ndarray:
    return np.expm1(x)


# 10^5 terms: offsets of size 1e3 that cancel (their sum is a constant) and weights of
# size 1/n, so f is a constant + S0·sin(x0) + S1·sin(x1) with S0, S1 ≈ 1.
TERMS = 100_000
_terms = np.random.default_rng(20_240_611)
OFFSETS = _terms.normal(0.0, 1e3, TERMS)
OFFSETS -= OFFSETS.mean()
WEIGHTS = _terms.uniform(0.5, 1.5, (2, TERMS)) / TERMS
WEIGHT_SUMS = np.array([math.fsum(row) for row in WEIGHTS])  # exact to the last bit
DECAY = 2e-3


def cancelling_terms(x: np.ndarray) -> np.ndarray:
    return OFFSETS + WEIGHTS[0] * np.sin(x[0]) + WEIGHTS[1] * np.sin(x[1])


def long_sum(x: np.ndarray) -> float:
    """The terms added one after the other (cumsum is sequential, not pairwise)."""
    return np.cumsum(cancelling_terms(x))[-1]


def long_sum_gradient(x: np.ndarray) -> np.ndarray:
    return WEIGHT_SUMS * np.cos(x)


def long_sum_float32(x: np.ndarray) -> float:
    return float(np.cumsum(cancelling_terms(x).astype(np.float32), dtype=np.float32)[-1])


def long_sum_with_decay(x: np.ndarray) -> float:
    return long_sum(x) + 0.5 * DECAY * np.sum(x**2)


def long_sum_with_decay_gradient(x: np.ndarray) -> np.ndarray:
    return long_sum_gradient(x) + DECAY * x


def positive_sum_float32(x: np.ndarray) -> float:
    """The terms without their offsets (positive for 0 < x < π), summed pairwise by np.sum,
    in float32."""
    terms = WEIGHTS[0] * np.sin(x[0]) + WEIGHTS[1] * np.sin(x[1])
    return float(np.sum(terms.astype(np.float32)))


OFFSET_X = point(0.3, 1.1, -0.7)


def offset_by(offset: float) -> Function:
    return lambda x: offset + np.sum(np.sin(x))


def sum_log(x: np.ndarray) -> float:
    return np.sum(np.log(x))


def sum_sqrt(x: np.ndarray) -> float:
    return np.sum(np.sqrt(x))


def entropy_terms(x: np.ndarray) -> float:
    return np.sum(x * np.log(x))


def abs_kink_ahead(x: np.ndarray) -> float:
    return np.sum(np.abs(x - 1e-7))


def leaky_relu(x: np.ndarray) -> float:
    return np.sum(np.maximum(x, 0.1 * x))


def leaky_relu_gradient(threshold: float) -> Gradient:
    return lambda x: np.where(x > threshold, 1.0, 0.1)


def larger_of_sin_cos(x: np.ndarray) -> float:
    return np.sum(np.maximum(np.sin(x), np.cos(x)))


def tiny_quadratic(x: np.ndarray) -> float:
    return 1e-12 * np.sum(x**2)


def tiny_quadratic_gradient(x: np.ndarray) -> np.ndarray:
    return 2e-12 * x


def sum_cos(x: np.ndarray) -> float:
    return np.sum(np.cos(x))


def sum_cos_gradient(x: np.ndarray) -> np.ndarray:
    return -np.sin(x)


LARGE_SIZE, LARGE_WRONG = 10_000, 6173
LARGE_X = np.random.default_rng(10_000).uniform(-2.0, 2.0, LARGE_SIZE)
LARGE_X[LARGE_WRONG] = 1.25  # gradient 1.25 + sin 1.25 + 1.25·cos 1.25 = 2.59


def square_plus_x_sin(x: np.ndarray) -> float:
    return np.sum(0.5 * x**2 + x * np.sin(x))


def square_plus_x_sin_gradient(x: np.ndarray) -> np.ndarray:
    return x + np.sin(x) + x * np.cos(x)


def sin_stretched(x: np.ndarray) -> float:
    return np.sum(np.sin(1.001 * x))


def softplus_with_decay(x: np.ndarray) -> float:
    return np.sum(np.log1p(np.exp(x))) + 0.5 * DECAY * np.sum(x**2)  # x ≤ 2: exp is safe


def softplus_with_decay_gradient(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x)) + DECAY * x


LEFT, RIGHT = point(1.0, -2.0, 0.5), point(0.3, 1.7, -1.1, 2.4, -0.6)
RECTANGLE = np.random.default_rng(35).uniform(-1.0, 1.0, (3, 5))
SQUARE_LEFT, SQUARE_RIGHT = point(1.0, -2.0, 0.5, 3.0), point(0.3, 1.7, -1.1, 2.4)
SQUARE = np.random.default_rng(44).uniform(-1.0, 1.0, (4, 4))


def bilinear(left: np.ndarray, right: np.ndarray) -> Function:
    """f(W) = left · (W right), whose gradient is the outer product left ⊗ right."""
    return lambda w: left @ (w @ right)


# ---------------------------------------------------------------- the table

CASES: list[Case] = [
    # -- large coordinates, short length scales. A step grown with |x| (ε^(1/3)·5e5 ≈ 3)
    # spans half a period of sin; the right step is ~1e-5 whatever |x|. x ± h is exactly
    # representable and numpy's sin reduces its argument exactly, so σ ≈ ε64: decidable to
    # ~1e-10. d/dx sin x = cos x, exact; |cos| ≥ 0.52 at these three points.
    Case("large-x-sin", sum_sin, sum_sin_gradient, CENTRE + point(0.1, 0.9, 2.3), "pass"),
    # the same with cos's sign flipped in component 1: off by 2|cos| ≈ 1.2
    Case("large-x-sin-sign-flip", sum_sin, with_entry(sum_sin_gradient, 1, -1.0),
         CENTRE + point(0.1, 0.9, 2.3), "fail", bug="sign of component 1", worst=(1,)),
    # d/dx cos 3x = −3 sin 3x; 1.01 times it is 1% off. 3x is rounded by ≤ ulp(3e6)/2 =
    # 2.3e-10, so σ ≈ 2.3e-10, M = 27: a central difference is good to ~1e-6 absolute, 3e-6
    # of |3 sin 3x| = 0.38.
    Case("large-x-cos3x-1pct", lambda x: np.sum(np.cos(3 * x)),
         lambda x: -3.03 * np.sin(3 * x), point(1e6 + 0.4), "fail", bug="1% too large"),
    # d/dx exp(−(x − c)²) = −2(x − c)·exp(−(x − c)²), c = 5e5, at x − c = 0.7 (exact): a
    # length scale of 1 at |x| = 5e5, σ ≈ ε64.
    Case("large-x-bump", bump, bump_gradient, point(CENTRE + 0.7), "pass"),

    # -- tiny coordinates with length scale s = 1e-8: steps must be ~1e-13, not ε^(1/3).
    # d/dx tanh(x/s) = (1 − tanh²(x/s))/s ≈ 1e8·(0.92, 0.56, 0.18), exact; σ ≈ ε64 of a value
    # near 1, M ≈ 2/s³: decidable to ~1e-10.
    Case("tiny-x-tanh", tanh_scaled, tanh_scaled_gradient, SCALE * point(0.3, -0.8, 1.5),
         "pass"),
    # the chain rule's 1/s forgotten: 1e8 times too small
    Case("tiny-x-tanh-missing-1/s", tanh_scaled, lambda x: 1 - np.tanh(x / SCALE) ** 2,
         SCALE * point(0.3, -0.8, 1.5), "fail", bug="missing factor 1/s"),
    # d/dx exp(−(x/s)²) = −2x/s²·exp(−(x/s)²) = 1e8·(−0.84, 0.66), exact; scales as for tanh
    Case("tiny-x-gaussian", gaussian_scaled, gaussian_scaled_gradient,
         SCALE * point(0.6, -1.1), "pass"),
    # ... 1% too large in component 0 (8.4e5 off)
    Case("tiny-x-gaussian-1pct", gaussian_scaled, with_entry(gaussian_scaled_gradient, 0, 1.01),
         SCALE * point(0.6, -1.1), "fail", bug="component 0 1% too large", worst=(0,)),

    # -- oscillation: d/dx sin(1000x) = 1000 cos(1000x), exact; |cos| = 0.058 and 0.53 at
    # 1000x = 100300 and 99710. 1000x is rounded by ≤ ulp(1e5)/2 = 7.3e-12, so σ ≈ 7.3e-12,
    # M = 1e9: a central difference is good to ~4e-5 absolute of derivatives 58 and −530.
    Case("sin1000x-at-100", sin_1000, sin_1000_gradient, point(100.3, 99.71), "pass"),
    # the inner derivative 1000 forgotten
    Case("sin1000x-missing-1000", sin_1000, lambda x: np.cos(1000 * x), point(100.3, 99.71),
         "fail", bug="missing chain factor 1000"),
    # component 1 is 1% too small
    Case("sin1000x-1pct", sin_1000, with_entry(sin_1000_gradient, 1, 0.99), point(100.3, 99.71),
         "fail", bug="component 1 1% too small", worst=(1,)),

    # -- float32 inside f. f = Σ sin x·x + x², d/dx = sin x + x cos x + 2x = (2.58, 3.91, −1.56),
    # exact. x is cast to float32 (moved by ≤ ulp32/2 ≤ 6e-8, times |f'| ≤ 4) and three
    # float32 operations round values near 3 by ≤ 1.2e-7 each: σ ≲ 6e-7, M ≤ 4, so a central
    # difference is good to ~1.2e-4 absolute, 8e-5 of the smallest component, 12x inside the
    # 1e-3 cut even with the noise at its bound: decidable (float32's ε^(2/3) ≈ 2e-5 is the
    # textbook figure).
    Case("float32-correct", sin_x_plus_square_float32, sin_x_plus_square_gradient,
         point(0.7, 1.3, -0.4), "pass", noisy=True, complex_ok=False),
    # ... and 1% wrong in component 2 (the smallest): 1.6e-2 off, 130x the error above
    Case("float32-1pct", sin_x_plus_square_float32, with_entry(sin_x_plus_square_gradient, 2, 1.01),
         point(0.7, 1.3, -0.4), "fail", bug="component 2 1% too large", worst=(2,),
         noisy=True, complex_ok=False),
    # float32 at x ≈ 100: casting x moves it by ≤ ulp32(100)/2 = 3.8e-6, so σ ≈ 3.8e-6
    # (times |cos| ≤ 1), M = 1; a central difference is good to ~2.5e-4 absolute, 6.5e-4 of
    # |cos 101.7| = 0.39, within 2x of the cut (a higher-order difference at h ~ 1 reaches
    # ~1e-5): "inconclusive" is as true as "pass" for the exact gradient cos x ...
    Case("float32-at-100", sum_sin_float32, sum_sin_gradient, point(100.2, 101.7), "pass",
         allowed=("inconclusive",), noisy=True, complex_ok=False),
    # ... and a 1% error (3.9e-3 in component 1) is 15x the central difference's error:
    # it must not pass; "inconclusive" is allowed for the same reason
    Case("float32-at-100-1pct", sum_sin_float32, with_entry(sum_sin_gradient, 1, 1.01),
         point(100.2, 101.7), "fail", allowed=("inconclusive",), bug="component 1 1% too large",
         worst=(1,), noisy=True, complex_ok=False),
    # f entirely in float16: x moved by ≤ ulp16/2 (2.4e-4 at 0.7, 4.9e-4 at 1.3) times
    # |f'| ≈ 1.2, and each float16 operation rounds by ≤ 4.9e-4 of ~1: σ ≈ 1e-3 (up to 2e-3),
    # M ≈ 3.2, so a central difference is good to ~5e-3 (relative) at its best step, a
    # higher-order one to about σ/L ≈ 1e-3 (L = 1): none gets inside the 1e-3 cut. The exact
    # gradient sin x + x cos x: inconclusive (a "pass" would be no lie, only unproven) ...
    Case("float16-correct", sin_times_x_float16, sin_times_x_gradient, point(0.7, 1.3),
         "inconclusive", allowed=("pass",), noisy=True, complex_ok=False),
    # ... 1% too large everywhere (1.2e-2 off, ~2x the best central error): never a pass
    Case("float16-1pct", sin_times_x_float16, scaled(sin_times_x_gradient, 1.01),
         point(0.7, 1.3), "inconclusive", allowed=("fail",), bug="1% too large",
         noisy=True, complex_ok=False),
    # ... the sign of component 1 flipped: 2.6 off, 400x the central difference's error, so
    # decidable; the contract may still call any f this noisy inconclusive
    Case("float16-sign-flip", sin_times_x_float16, with_entry(sin_times_x_gradient, 1, -1.0),
         point(0.7, 1.3), "fail", allowed=("inconclusive",), bug="sign of component 1",
         worst=(1,), noisy=True, complex_ok=False),

    # -- cancellation. valley: terms of 2.25e8 cancel to 1e8·(1e-4)² + ½|x − 1|² = 1.25;
    # the gradient (2e4 + 0.5001, −2e4 + 0.5), exact. Each term rounds by ≤ ulp(4.5e8)/2, so
    # σ ≲ 1.5e-7; f is quadratic (M = 0), so a central difference errs by σ/h only: 1.5e-5 at
    # h = 1e-2, 1e-9 of the gradient.
    Case("valley-cancelling-terms", valley, valley_gradient, point(1.5 + 1e-4, 1.5), "pass"),
    # ... grad without the ½|x − 1|² part: 0.5 missing of 2e4 (2.5e-5), 3e4x that error
    Case("valley-missing-small-term", valley, valley_gradient_stiff_only, point(1.5 + 1e-4, 1.5),
         "fail", bug="missing the gradient of the small quadratic"),
    # sin a + sin b with b = a + π: the sum is ~1e-16, its gradient (cos a, cos b) =
    # (0.454, −0.454), exact. Each sin rounds by ε64·0.9, so σ ≈ 2e-16 (absolute: |f| says
    # nothing about it), M = 1: decidable to ~1e-11.
    Case("sin-a-plus-sin-b-near-0", sum_sin, sum_sin_gradient, point(1.1, 1.1 + math.pi), "pass"),
    # ... the sign of component 1 flipped
    Case("sin-a-plus-sin-b-sign-flip", sum_sin, with_entry(sum_sin_gradient, 1, -1.0),
         point(1.1, 1.1 + math.pi), "fail", bug="sign of component 1", worst=(1,)),
    # exp(x) − 1 − x at x ~ 1e-3: values of ~4e-6 left from terms ~1, σ ≈ 2ε64 (absolute),
    # M = e^x ≈ 1: a central difference is good to ~6e-11 of a derivative
    # e^x − 1 ≈ (2.0e-3, −3.0e-3), which np.expm1 computes to the last bit ...
    Case("expm1-cancellation", exp_minus_tangent, exp_minus_tangent_gradient,
         point(2e-3, -3e-3), "pass"),
    # ... and grad = x, which misses the x²/2 of e^x − 1: 1.0e-3 and 1.5e-3 relative, 3e4x
    # the difference's error
    Case("expm1-first-order-gradient", exp_minus_tangent, lambda x: x.copy(), point(2e-3, -3e-3),
         "fail", bug="missing x²/2 (1e-3 relative)"),

    # -- long sums of 10^5 terms. long_sum adds 10^5 terms of size 1e3 one by one, partial
    # sums up to 2.8e5: each addition rounds by ≤ ulp(3e5)/2 = 2.9e-11, σ ≲ 10^5·2.9e-11 =
    # 2.9e-6 even if no two roundings cancel (they do: ~5e-9). f = const + S0 sin x0 +
    # S1 sin x1, S = Σ weights (math.fsum), gradient S·cos x = (0.92, 0.62), exact; M ≈ 1, so a
    # central difference is good to ≤ 2e-4 absolute in the worst case: decidable.
    Case("long-sum-1e5", long_sum, long_sum_gradient, point(0.4, 0.9), "pass", noisy=True),
    # ... 1% too small in component 0
    Case("long-sum-1e5-1pct", long_sum, with_entry(long_sum_gradient, 0, 0.99), point(0.4, 0.9),
         "fail", bug="component 0 1% too small", worst=(0,), noisy=True),
    # ... plus weight decay ½·2e-3·|x|², which grad forgets: 8.7e-4 and 2.9e-3 of the
    # components, ≥ 4x the worst-case error and ≥ 300x the likely one (σ ≈ 5e-9)
    Case("long-sum-1e5-forgot-decay", long_sum_with_decay, long_sum_gradient, point(0.4, 0.9),
         "fail", bug="missing weight decay (~1e-3 relative)", noisy=True),
    # the same f less its constant: positive terms ~1e-5 summed pairwise in float32 (np.sum:
    # blocks of 128 in 8 running sums, then a binary tree), ≤ 30 roundings by ε32/2 of partial
    # sums ≤ 1.2 on any path, σ ≲ 2e-6; gradient S·cos x as above, M ≈ 1: a central
    # difference is good to ≤ 1.7e-4 absolute, 2.7e-4 relative, in the worst case ...
    Case("float32-pairwise-sum-1e5", positive_sum_float32, long_sum_gradient, point(0.4, 0.9),
         "pass", noisy=True, complex_ok=False),
    # ... and 1% too large in component 1 (6e-3 off)
    Case("float32-pairwise-sum-1e5-1pct", positive_sum_float32,
         with_entry(long_sum_gradient, 1, 1.01), point(0.4, 0.9), "fail",
         bug="component 1 1% too large", worst=(1,), noisy=True, complex_ok=False),
    # the cancelling terms added one by one in float32: each term (~1e3) is rounded to
    # ulp32(1e3) = 6e-5, so its x-part (~1e-5·Δx) changes nothing for |Δx| ≲ 1e-6 (f is a
    # staircase); the partial sums (to 2.8e5) round by up to ulp32/2 = 1.6e-2 at each of 10^5
    # steps. f's error (−0.23 here) moves by ~0.04, up to 0.15, as x0 moves by ≤ 0.5, against
    # a derivative of 0.92: central differences are ≥ 15% off at every step from 1e-3 to 1
    # (measured), so nothing checks to 1e-3, nor to 1%. Correct gradient: inconclusive ...
    Case("float32-sequential-sum-1e5", long_sum_float32, long_sum_gradient, point(0.4, 0.9),
         "inconclusive", noisy=True, complex_ok=False),
    # ... and a 1% error hides in the same noise: inconclusive
    Case("float32-sequential-sum-1e5-1pct", long_sum_float32, scaled(long_sum_gradient, 1.01),
         point(0.4, 0.9), "inconclusive", bug="1% too large", noisy=True, complex_ok=False),

    # -- a huge offset. 1e12 + Σ sin x is rounded by ≤ ulp(1e12)/2 = 6.1e-5: σ = 6.1e-5, M = 1,
    # so a central difference is good to ~1.6e-3 absolute (1.7e-3 to 3.5e-3 of |cos x| =
    # 0.96, 0.45, 0.76; 5e-4 to 1.1e-3 at its best step, measured), a higher-order one to
    # σ/h ≈ 1e-4 at h ≈ 0.5: the exact cos x may pass or be inconclusive ...
    Case("offset-1e12", offset_by(1e12), sum_sin_gradient, OFFSET_X, "pass",
         allowed=("inconclusive",), noisy=True),
    # ... but 1% off (4.5e-3 to 9.6e-3) must not pass: above every error bound here
    Case("offset-1e12-1pct", offset_by(1e12), scaled(sum_sin_gradient, 1.01), OFFSET_X, "fail",
         allowed=("inconclusive",), bug="1% too large", noisy=True),
    # ... nor a flipped sign (0.9 off, 500x the central difference's error)
    Case("offset-1e12-sign-flip", offset_by(1e12), with_entry(sum_sin_gradient, 1, -1.0),
         OFFSET_X, "fail", allowed=("inconclusive",), bug="sign of component 1", worst=(1,),
         noisy=True),
    # 1e8 + Σ sin x: σ = ulp(1e8)/2 = 7.5e-9, a central difference is good to ~4e-6 absolute,
    # 1e-5 of the smallest |cos x|: decidable, the exact cos x passes ...
    Case("offset-1e8", offset_by(1e8), sum_sin_gradient, OFFSET_X, "pass", noisy=True),
    # ... and 1% off (≥ 4.5e-3, 1000x that error) fails
    Case("offset-1e8-1pct", offset_by(1e8), scaled(sum_sin_gradient, 1.01), OFFSET_X, "fail",
         bug="1% too large", noisy=True),

    # -- domain edges. d/dp log p = 1/p (1e9, 4, 1/3), exact; log is smooth on (0, ∞), so on
    # |h| < p/2 around p = 1e-9 (length scale p), σ ≈ ε64·21: decidable to ~1e-10 ...
    Case("log-at-1e-9", sum_log, lambda x: 1 / x, point(1e-9, 0.25, 3.0), "pass"),
    # ... and a "stabilised" 1/(p + 1e-10): 9% small at p = 1e-9, 4e-10 elsewhere (< rtol)
    Case("log-at-1e-9-epsilon-in-gradient", sum_log, lambda x: 1 / (x + 1e-10),
         point(1e-9, 0.25, 3.0), "fail", bug="1/(p + 1e-10)", worst=(0,)),
    # d/dx √x = 1/(2√x) (5e4, 250, 0.91), exact; smooth on |h| < x/2
    Case("sqrt-near-0", sum_sqrt, lambda x: 0.5 / np.sqrt(x), point(1e-10, 4e-6, 0.3), "pass"),
    # ... the ½ forgotten: twice too large everywhere
    Case("sqrt-near-0-missing-half", sum_sqrt, lambda x: 1 / np.sqrt(x),
         point(1e-10, 4e-6, 0.3), "fail", bug="missing factor 1/2"),
    # d/dp p log p = log p + 1 (−19.7, 0.084), exact; smooth on |h| < p/2
    Case("entropy-at-1e-9", entropy_terms, lambda x: np.log(x) + 1, point(1e-9, 0.4), "pass"),
    # ... the + 1 forgotten: 5% off at 1e-9, 12x at 0.4
    Case("entropy-at-1e-9-missing-one", entropy_terms, lambda x: np.log(x), point(1e-9, 0.4),
         "fail", bug="missing + 1"),

    # -- near (not at) kinks: f is linear, hence exactly differentiable, on the interval
    # around x that stops at the kink, so any difference with steps inside it is exact.
    # |x − 1e-7| at x = 0 is 1e-7 − x on (−∞, 1e-7): derivative −1 ...
    Case("abs-kink-1e-7-ahead", abs_kink_ahead, lambda x: np.sign(x - 1e-7), point(0.0), "pass",
         complex_ok=False),
    # ... and grad = sign(x + 1e-7) = +1, the kink put on the wrong side
    Case("abs-kink-wrong-side", abs_kink_ahead, lambda x: np.sign(x + 1e-7), point(0.0), "fail",
         bug="sign(x + 1e-7)", complex_ok=False),
    # max(x, 0.1x): slope 1 on (0, ∞), 0.1 on (−∞, 0); at ±1e-6 the kink is 1e-6 away
    Case("leaky-relu-1e-6-from-kink", leaky_relu, leaky_relu_gradient(0.0),
         point(1e-6, -1e-6, 0.5), "pass"),
    # ... grad switching at 1e-5 instead of 0: says 0.1 at x = 1e-6, where the slope is 1
    Case("leaky-relu-threshold-1e-5", leaky_relu, leaky_relu_gradient(1e-5),
         point(1e-6, -1e-6, 0.5), "fail", bug="kink placed at 1e-5", worst=(0,)),
    # max(sin x, cos x) at π/4 + 1e-6 (float π/4 is 1e-17 below π/4): sin > cos on
    # (π/4, 5π/4), so f = sin x there, derivative cos x = 0.7071 ...
    Case("max-sin-cos-1e-6-past-crossing", larger_of_sin_cos, lambda x: np.cos(x),
         point(math.pi / 4 + 1e-6), "pass"),
    # ... and the other branch's derivative −sin x = −0.7071
    Case("max-sin-cos-wrong-branch", larger_of_sin_cos, lambda x: -np.sin(x),
         point(math.pi / 4 + 1e-6), "fail", bug="derivative of the other branch"),

    # -- tiny gradients, judged relative to themselves (atol = 0). 1e-12·Σx²: gradient
    # 2e-12·x, exact; a quadratic scaled by 1e-12 is as decidable as Σx² (σ ≈ ε64·|f|,
    # M = 0) ...
    Case("tiny-scale-quadratic", tiny_quadratic, tiny_quadratic_gradient, point(0.5, -1.3, 2.0),
         "pass"),
    # ... its sign flipped (4e-12 off, 100% relative: an absolute floor of 1e-9 hid it) ...
    Case("tiny-scale-quadratic-sign-flip", tiny_quadratic, scaled(tiny_quadratic_gradient, -1.0),
         point(0.5, -1.3, 2.0), "fail", bug="sign flipped"),
    # ... or 1% off in component 1
    Case("tiny-scale-quadratic-1pct", tiny_quadratic, with_entry(tiny_quadratic_gradient, 1, 1.01),
         point(0.5, -1.3, 2.0), "fail", bug="component 1 1% too large", worst=(1,)),
    # Σ cos x at x ~ 1e-9: the gradient −sin x ≈ (−1e-9, 3e-9), exact, beside values ≈ 2.
    # (cos(x0 + h) − cos(x0 − h))/2h = −sin x0·sin h/h exactly, so the truncation is the
    # factor sin h/h (removable by extrapolation), and σ ≈ ε64: at h = 0.01 the difference
    # is good to ~2e-14 absolute, 2e-5 relative. Decidable ...
    Case("near-stationary-cos", sum_cos, sum_cos_gradient, point(1e-9, -3e-9), "pass", noisy=True),
    # ... and its sign flipped
    Case("near-stationary-cos-sign-flip", sum_cos, scaled(sum_cos_gradient, -1.0),
         point(1e-9, -3e-9), "fail", bug="sign flipped", noisy=True),

    # -- one wrong entry in 10^4. Σ ½x² + x sin x, gradient x + sin x + x cos x, exact; f is a
    # sum of 10^4 terms ≤ 4, σ ≲ 5e-11, M ≤ 4 along any unit direction ...
    Case("ten-thousand-correct", square_plus_x_sin, square_plus_x_sin_gradient, LARGE_X, "pass"),
    # ... and entry 6173 1% too large (2.6e-2 off, 2.6e4 x rtol)
    Case("ten-thousand-one-entry-1pct", square_plus_x_sin,
         with_entry(square_plus_x_sin_gradient, LARGE_WRONG, 1.01), LARGE_X, "fail",
         bug="entry 6173 1% too large", worst=(LARGE_WRONG,)),

    # -- small missing terms. d/dx sin(1.001x) = 1.001 cos(1.001x), exact ...
    Case("stretched-sin", sin_stretched, lambda x: 1.001 * np.cos(1.001 * x),
         point(0.4, 1.2, 2.5), "pass"),
    # ... without the inner 1.001: every component 1e-3 (relative) small, σ ≈ ε64
    Case("stretched-sin-missing-1.001", sin_stretched, lambda x: np.cos(1.001 * x),
         point(0.4, 1.2, 2.5), "fail", bug="missing chain factor 1.001"),
    # softplus plus ½·2e-3·|x|²: gradient σ(x) + 2e-3·x, exact ...
    Case("softplus-with-decay", softplus_with_decay, softplus_with_decay_gradient,
         point(0.5, 1.0, 2.0), "pass"),
    # ... without the decay: 1.6e-3, 2.7e-3 and 4.5e-3 (relative) missing
    Case("softplus-forgot-decay", softplus_with_decay, lambda x: 1 / (1 + np.exp(-x)),
         point(0.5, 1.0, 2.0), "fail", bug="missing weight decay (~2e-3 relative)"),

    # -- transposed matrix gradients. f(W) = a·(W b) is linear in W, gradient a ⊗ b
    # (∂f/∂W_ij = a_i b_j), exact; linear, so differences are exact up to σ ≈ ε64 ...
    Case("bilinear-3x5", bilinear(LEFT, RIGHT), lambda w: np.outer(LEFT, RIGHT), RECTANGLE,
         "pass"),
    # ... the 5x3 transpose b ⊗ a laid out as 3x5: 11 of 15 entries wrong (by 9% to 33x)
    Case("bilinear-3x5-transposed-layout", bilinear(LEFT, RIGHT),
         lambda w: np.outer(RIGHT, LEFT).reshape(w.shape), RECTANGLE, "fail",
         bug="transpose reshaped to W's shape"),
    # square W: the same, and the transpose b ⊗ a, which has W's shape, is wrong off the
    # diagonal wherever a_i b_j ≠ a_j b_i: all 12 entries there (by 61% to 8x)
    Case("bilinear-4x4", bilinear(SQUARE_LEFT, SQUARE_RIGHT),
         lambda w: np.outer(SQUARE_LEFT, SQUARE_RIGHT), SQUARE, "pass"),
    Case("bilinear-4x4-transposed", bilinear(SQUARE_LEFT, SQUARE_RIGHT),
         lambda w: np.outer(SQUARE_RIGHT, SQUARE_LEFT), SQUARE, "fail", bug="b ⊗ a for a ⊗ b"),

    # -- symmetric about x, a kink further out. f = x² + max(x, 0.1) at x = 0: f(±h) agree
    # exactly for h < 0.1 (f' = 0, every central difference 0), while larger steps reach
    # the kink and f changes unevenly; exact 0 against 0 at every small step ...
    Case("symmetric-before-kink", square_plus_max, lambda x: 2 * x, point(0.0), "pass",
         complex_ok=False),
    # ... and 1e-3 for it (a stray constant), against a difference known to ~1e-9
    Case("symmetric-before-kink-stray-1e-3", square_plus_max, lambda x: 2 * x + 1e-3,
         point(0.0), "fail", bug="1e-3 added", complex_ok=False),

    # -- a pole closer than any usual step. 2/x at x = 3e-15: smooth on the scale of x
    # itself (length scale 3e-15), but every step of 1e-7 … 1e-15 (relative to max(1, |x|))
    # straddles the pole at 0. Steps below 1e-16 are exact (x + h is representable) and
    # see f = 6.7e14 with rounding σ ≈ 0.1, so f' = -2/x² = -2.2e29 is decided to ~1e-10 ...
    Case("pole-3e-15-away", reciprocal, reciprocal_gradient, point(3e-15), "pass"),
    # ... and a gradient of -2/x (the square forgotten) is 15 orders of magnitude off
    Case("pole-3e-15-away-missing-square", reciprocal, lambda x: -2 / x, point(3e-15),
         "fail", bug="-2/x for -2/x²"),
    # the same pole 1e-100 away: f = 2e100, steps down to 1e-102 are exact
    Case("pole-1e-100-away", reciprocal, reciprocal_gradient, point(1e-100), "pass"),

    # -- chaos. sin(x⁶⁴) at x = 2: x⁶⁴ = 1.8e19, and one ulp of x (4.4e-16) moves it by
    # 64·4.4e-16/2·1.8e19 ≈ 2.6e5 radians, so neighbouring floats give unrelated values in
    # [-1, 1]: no difference, and no complex step (numpy's complex power rounds its real
    # part by ~1e3 radians), knows f' = 64x⁶³cos(x⁶⁴) ≈ -5.9e20 to any digit. Inconclusive
    # whether the gradient is right ...
    Case("chaotic-sin-x64", sin_power_64, sin_power_64_gradient, point(2.0), "inconclusive",
         noisy=True),
    # ... or wrong (the factor 64 missing): a "fail" would be true, but only by luck
    Case("chaotic-sin-x64-missing-64", sin_power_64, scaled(sin_power_64_gradient, 1 / 64),
         point(2.0), "inconclusive", allowed=("fail",), bug="missing factor 64", noisy=True),
]

BY_NAME = {case.name: case for case in CASES}

# Planted bugs that one random unit direction v can miss: ⟨bug, v⟩ is within the
# tolerance for a fraction of the directions (the default scheme, per component or over
# several directions, must still catch them).
WEAK_PROJECTIONS = {
    # ⟨bug, v⟩ = 0.5·(v0 + v1) against rtol·2e4·|v0 − v1|: within 3·rtol for 8% of v
    "valley-missing-small-term",
    # ⟨bug, v⟩ = 0.026·v_6173, v_6173 ~ N(0, 1)/100, against ⟨g, v⟩ ~ 1.5: within 3·rtol for
    # 1.6% of v (for 90% with a tolerance of rtol·Σ|g_i·v_i|)
    "ten-thousand-one-entry-1pct",
}


def suits(scheme: str, case: Case) -> bool:
    """Whether a row's verdict follows from the mathematics under `scheme` as by default."""
    if scheme == "richardson":  # ~24 evaluations per component: 240,000 on the 10^4 rows
        return case.x.size <= 200
    # directional checks the one derivative ⟨g, v⟩, which a random v can make as small as it
    # likes: where f is noisy, the 1e-3 cut relative to it depends on the draw
    return not case.noisy and case.name not in WEAK_PROJECTIONS


SCHEME_RUNS = [pytest.param(scheme, case, id=f"{scheme}-{case.name}")
               for scheme in ("richardson", "directional") for case in CASES
               if suits(scheme, case)]


def test_the_table_never_accepts_a_false_verdict() -> None:
    assert len(BY_NAME) == len(CASES) >= 42
    for case in CASES:
        false = "fail" if case.bug is None else "pass"
        assert false not in case.acceptable, case.name
        assert len(set(case.acceptable)) == len(case.acceptable), case.name
        assert case.worst is None or case.bug is not None, case.name


def assert_verdict(case: Case, **options: str) -> None:
    check = check_gradient(case.f, case.grad, case.x, **options)
    scheme = options.get("scheme", "the default scheme")
    assert check.verdict in case.acceptable, (
        f"{case.name} ({scheme}): {check.verdict}, expected {' or '.join(case.acceptable)}; "
        f"reason: {check.reason}; {check}")
    assert check.passed == (check.verdict == "pass")
    if check.verdict == "inconclusive":
        assert isinstance(check.reason, str) and check.reason
    if not options and check.verdict == "fail" and case.worst is not None:
        assert check.worst == case.worst, f"{case.name}: {check}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_verdict(case: Case) -> None:
    assert_verdict(case)  # the default scheme, "central"


@pytest.mark.parametrize("scheme, case", SCHEME_RUNS)
def test_verdict_with_other_schemes(scheme: str, case: Case) -> None:
    assert_verdict(case, scheme=scheme)
