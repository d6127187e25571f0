"""Which kinks of an objective are kinks of its gradient, and which are mere creases.

A kink node (the argument of abs, relu, maximum …, zero where that function switches
branch) marks where the objective *may* be non-differentiable. Often it is not: in
Huber's loss `0.5*minimum(abs(r), d)**2 + d*relu(abs(r) - d)` the gradient is
continuous everywhere (the two branch switches at |r| = d cancel, and the one of abs
at r = 0 is multiplied by min(|r|, d) = 0); `relu(u)**2` is C¹. Such a crease changes
only the second derivative, and neither the report nor the convergence criterion
should call it a kink.

How it works, per kink node: at a few points drawn from the parameters' inits, take
the entry of the kink argument nearest zero, follow a random direction u to where that
entry changes sign (secant steps, then bisection to the last bit), and compare the
exact gradient on both sides at two distances h ≫ h′:

    J(h) = ‖∇L(θ* + h·u) − ∇L(θ* − h·u)‖

A jump of the gradient keeps J(h′) ≈ J(h) (the jump itself); a continuous gradient has
J(h′) ≈ (h′/h)·J(h). A kink that no probe could reach (its argument never changes sign
along the lines tried) is kept as a kink: the cautious answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .problem import Problem

PROBES = 3               # points per kink at which the gradient's continuity is measured
ATTEMPTS = 4 * PROBES    # lines tried to reach a sign change of the kink argument
FAR, NEAR = 1e-6, 1e-8   # the two distances h, h′ (relative to max(1, |θ*|))
SHRINK = 0.1             # J(h′) at most this fraction of J(h): the gradient is continuous
FLOOR = 1e-9             # jumps below this (relative to 1 + |∇L|) are rounding, not jumps
SECANT_STEPS = 30
BISECTIONS = 50        # from a bracket of 1e-3·|θ|, to below 1e-18 of it


def gradient_jumps(problem: Problem, seed: int = 0) -> tuple[bool, ...]:
    """Per kink of `problem.objective.kinks`: True where the exact gradient jumps across it
    (a true kink), False where every probe found it continuous (a crease)."""
    kinks = problem.objective.kinks
    if not kinks:
        return ()
    rng = np.random.default_rng(seed)
    return tuple(_jumps(problem, index, rng) for index in range(len(kinks)))


def _jumps(problem: Problem, index: int, rng: np.random.Generator) -> bool:
    """True at the first probe that measures a jump (or when none could be made)."""
    continuous = 0
    for _ in range(ATTEMPTS):
        theta = problem.layout.join([p.init.sample(rng, p.shape)
                                     for p in problem.spec.parameters])
        direction = rng.normal(size=theta.size)
        direction /= max(float(np.linalg.norm(direction)), 1e-300)
        try:
            with np.errstate(all="ignore"):
                crossing = _crossing(problem, index, theta, direction)
                if crossing is None:
                    continue
                if _jump_at(problem, crossing, direction):
                    return True
        except (ArithmeticError, ValueError, MemoryError):   # no probe: the cautious answer
            return True
        continuous += 1
        if continuous == PROBES:
            return False
    return True


def _argument(problem: Problem, index: int, theta: np.ndarray) -> np.ndarray:
    return np.ravel(np.asarray(problem.kernels.kink_values(theta)[index], dtype=float))


def _crossing(problem: Problem, index: int, theta: np.ndarray,
              direction: np.ndarray) -> np.ndarray | None:
    """A point on the line θ + t·u where the entry of the kink argument nearest zero at θ
    changes sign; None if the secant steps find no sign change."""
    values = _argument(problem, index, theta)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    entry = int(np.argmin(np.where(finite, np.abs(values), np.inf)))

    def at(t: float) -> float:
        return float(_argument(problem, index, theta + t * direction)[entry])

    low, f_low = 0.0, float(values[entry])
    if f_low == 0.0:
        return theta
    high, f_high = 1e-3 * max(1.0, float(np.max(np.abs(theta)))), float("nan")
    for _ in range(SECANT_STEPS):
        f_high = at(high)
        if not np.isfinite(f_high):
            return None
        if np.sign(f_high) != np.sign(f_low):
            break
        slope = (f_high - f_low) / (high - low)
        guess = high - f_high / slope if slope != 0 else 2 * high
        low, f_low = high, f_high
        # overshoot a little, so the sign change is bracketed rather than approached
        high = low + 1.5 * (guess - low) if np.isfinite(guess) and guess != low else 2 * high
    else:
        return None
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        f_middle = at(middle)
        if np.sign(f_middle) == np.sign(f_low):
            low, f_low = middle, f_middle
        else:
            high = middle
    return theta + 0.5 * (low + high) * direction


def _jump_at(problem: Problem, point: np.ndarray, direction: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(point))))
    offsets = np.array([FAR, -FAR, NEAR, -NEAR]) * scale
    gradients = problem.gradient(point[None] + offsets[:, None] * direction[None])
    far = float(np.linalg.norm(gradients[0] - gradients[1]))
    near = float(np.linalg.norm(gradients[2] - gradients[3]))
    floor = FLOOR * (1.0 + float(np.linalg.norm(problem.gradient(point))))
    if not (np.isfinite(far) and np.isfinite(near)):
        return True
    return near > floor and near > SHRINK * far
