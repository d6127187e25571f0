"""Gradient descent from K initialisations at once.

How it works: the K runs are the rows of one (K, P) array; each step makes one
batched loss call and one batched gradient call for the runs still going
(Nesterov adds one gradient call at its look-ahead point). A run finishes
when its gradient norm (under proximal_gradient, its gradient mapping's norm,
which vanishes at a minimiser as the gradient of an L1 term does not) falls
below `optimizer.tolerance` (if > 0), when it
diverges, or after `optimizer.steps` updates; a finished run is frozen and
dropped from the batch, the others continue. A run diverges at step t when
its loss or gradient norm at θ_t is not finite, or its loss exceeds
`|L₀| + DIVERGENCE_FACTOR·max(1, |L₀|)` (L₀ its initial loss). Overflow on
the way is reported as divergence, never warned about.

History is kept in blocks that grow with the steps actually taken, so a
descent of T steps stores O(T·K) floats, whatever `optimizer.steps` allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np

from ..errors import UsageError
from ..spec import Optimizer
from .optimizers import gradient_mapping, learning_rate_at, step

DIVERGENCE_FACTOR = 1e8  # a loss this many times past its start is not coming back
PROGRESS_CALLS = 100  # progress(step, total) is called about this many times per descent
MIN_RATE_STEPS = 4  # fewer steps than this give no linear-rate estimate

Progress = Callable[[int, int], object]


class BatchedObjective(Protocol):
    """What descend needs: loss (K, P) → (K,) and gradient (K, P) → (K, P), vectorised.

    Both also accept one point (P,) → float / (P,); descend always passes (K, P).
    """

    def loss(self, theta: np.ndarray) -> Any: ...

    def gradient(self, theta: np.ndarray) -> Any: ...


@dataclass(frozen=True, eq=False)
class Descent:
    """The trajectories of K runs.

    `losses[t, k]` and `grad_norms[t, k]` are run k's loss and gradient norm at
    θ_t, for t = 0 … max(steps), NaN after the run finished (row `steps[k]` is
    its last). `initial` and `final` are (K, P); `final[k]` is the point where
    run k stopped — for a diverged run, the point where it diverged.
    `steps[k]` counts the updates run k took; `diverged_at[k]` is the step at
    which it diverged, or -1. `converged[k]`: not diverged and final gradient
    norm < `grad_tol` (or < `optimizer.tolerance` when `grad_tol` is None; with
    both 0 no run counts as converged).
    """

    losses: np.ndarray
    grad_norms: np.ndarray
    initial: np.ndarray
    final: np.ndarray
    steps: np.ndarray
    diverged_at: np.ndarray
    converged: np.ndarray

    def run(self, i: int) -> dict[str, Any]:
        """Run i as plain JSON-ready values; `diverged_at` is None when it did not diverge."""
        last = int(self.steps[i])
        return {
            "initial": self.initial[i].tolist(),
            "final": self.final[i].tolist(),
            "steps": last,
            "initial_loss": float(self.losses[0, i]),
            "final_loss": float(self.losses[last, i]),
            "grad_norm": float(self.grad_norms[last, i]),
            "converged": bool(self.converged[i]),
            "diverged_at": None if self.diverged_at[i] < 0 else int(self.diverged_at[i]),
        }

    def linear_rate(self, i: int) -> float | None:
        """Run i's linear convergence rate: the per-step factor by which its gradient
        norm shrank over the second half of its steps (geometric mean of successive
        ratios). None if it diverged, took fewer than MIN_RATE_STEPS steps, or a
        norm in that window is zero or not finite.
        """
        last = int(self.steps[i])
        if self.diverged_at[i] >= 0 or last < MIN_RATE_STEPS:
            return None
        start = last - last // 2
        window = self.grad_norms[start:last + 1, i]
        if not np.all(np.isfinite(window)) or np.any(window == 0):
            return None
        return float((window[-1] / window[0]) ** (1.0 / (last - start)))


def descend(objective: BatchedObjective, initial: np.ndarray, optimizer: Optimizer, *,
            grad_tol: float | None = None, progress: Progress | None = None) -> Descent:
    """Run `optimizer` from every row of `initial` (K, P) at once.

    Args:
        objective: batched loss and gradient (see BatchedObjective).
        initial: K initialisations, shape (K, P).
        optimizer: method, learning_rate, steps, tolerance (a run stops when its
            gradient norm falls below it, if > 0) and the method's parameters.
        grad_tol: gradient-norm threshold for `converged`; default the tolerance.
        progress: called as progress(step, optimizer.steps) at most
            PROGRESS_CALLS + 1 times, the last at the step where descent ended.

    Returns:
        A Descent with every run's trajectory and outcome.

    Raises:
        UsageError: `initial` is not a (K, P) array.

    >>> quadratic = type("Q", (), {"loss": lambda self, x: 0.5 * (x**2).sum(-1),
    ...                            "gradient": lambda self, x: x})()
    >>> descend(quadratic, np.ones((2, 3)), Optimizer("gd", 0.5, 100, 1e-9)).steps
    array([31, 31])
    """
    initial = _initialisations(initial)
    every = -(-optimizer.steps // PROGRESS_CALLS)  # ceil: at most PROGRESS_CALLS calls
    gradient_at = partial(_evaluate_gradient, objective)
    l1 = getattr(objective, "l1_weights", None) if optimizer.method == "proximal_gradient" \
        else None
    with np.errstate(all="ignore"):
        loss, gradient = _evaluate(objective, initial)
        runs = _Runs(initial, loss)
        for t in range(optimizer.steps + 1):
            norm = _stationarity(runs.theta, gradient, optimizer, t + 1, l1)
            runs.history.record(runs.active, loss, norm)
            diverged = ~(np.isfinite(loss) & np.isfinite(norm)) | (loss > runs.limit)
            done = diverged | (norm < optimizer.tolerance) | (t == optimizer.steps)
            if done.any():
                gradient = runs.finish(done, diverged, t, gradient)
            if progress is not None and (t % every == 0 and t > 0 or not runs.active.size):
                progress(t, optimizer.steps)
            if not runs.active.size:
                break
            runs.theta, runs.state = step(optimizer, runs.theta, gradient, state=runs.state,
                                          t=t + 1, gradient_at=gradient_at, l1=l1)
            loss, gradient = _evaluate(objective, runs.theta)
    return runs.outcome(optimizer.tolerance if grad_tol is None else grad_tol)


def _stationarity(theta: np.ndarray, gradient: np.ndarray, optimizer: Optimizer, t: int,
                  l1: np.ndarray | None) -> np.ndarray:
    """Each run's distance from stationary: the gradient norm, or under a proximal method
    the norm of the gradient mapping at the rate of update t (zero at a minimiser)."""
    if l1 is not None:
        gradient = gradient_mapping(theta, gradient, learning_rate_at(optimizer, t), l1)
    return np.sqrt(np.einsum("kp,kp->k", gradient, gradient))


def _initialisations(initial: np.ndarray) -> np.ndarray:
    points = np.array(initial, dtype=float)
    if points.ndim != 2:
        raise UsageError(f"initial has shape {points.shape}; expected (K, P), one row per run "
                         "(use x[None, :] for a single run)")
    return points


def _evaluate(objective: BatchedObjective, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = getattr(objective, "loss_and_gradient", None)   # one pass where it is offered
    loss, gradient = both(theta) if both is not None else (objective.loss(theta),
                                                           objective.gradient(theta))
    loss = np.asarray(loss, dtype=float)
    # a constant expression may come back as a scalar for the whole batch
    if loss.shape != (len(theta),):
        loss = np.broadcast_to(loss.reshape(-1), (len(theta),))
    gradient = np.asarray(gradient, dtype=float)
    if gradient.shape != theta.shape:
        gradient = np.broadcast_to(gradient, theta.shape)
    return loss, gradient


def _evaluate_gradient(objective: BatchedObjective, theta: np.ndarray) -> np.ndarray:
    gradient = np.asarray(objective.gradient(theta), dtype=float)
    return gradient if gradient.shape == theta.shape else np.broadcast_to(gradient, theta.shape)


class _History:
    """Per-step rows of loss and gradient norm (NaN for finished runs), grown in blocks."""

    def __init__(self, runs: int):
        self.runs = runs
        self.block_rows = int(np.clip(2**18 // max(runs, 1), 16, 4096))
        self.blocks: list[np.ndarray] = []
        self.rows = 0

    def record(self, active: np.ndarray, loss: np.ndarray, norm: np.ndarray) -> None:
        row = self.rows % self.block_rows
        if row == 0:
            self.blocks.append(np.full((2, self.block_rows, self.runs), np.nan))
        self.blocks[-1][0, row, active] = loss
        self.blocks[-1][1, row, active] = norm
        self.rows += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        both = np.concatenate(self.blocks, axis=1)[:, :self.rows]
        return both[0], both[1]


class _Runs:
    """The runs still descending (rows of theta and state) and what finished runs left."""

    def __init__(self, initial: np.ndarray, initial_loss: np.ndarray):
        count = len(initial)
        self.initial = initial
        self.active = np.arange(count)
        self.theta = initial.copy()
        self.state: dict[str, np.ndarray] = {}
        magnitude = np.abs(initial_loss)
        self.limit = magnitude + DIVERGENCE_FACTOR * np.maximum(1.0, magnitude)
        self.final = initial.copy()
        self.steps = np.zeros(count, dtype=int)
        self.diverged_at = np.full(count, -1)
        self.history = _History(count)

    def finish(self, done: np.ndarray, diverged: np.ndarray, t: int,
               gradient: np.ndarray) -> np.ndarray:
        """Freeze the runs marked done at step t; returns the gradient rows of those left."""
        finished = self.active[done]
        self.final[finished] = self.theta[done]
        self.steps[finished] = t
        self.diverged_at[self.active[done & diverged]] = t
        keep = ~done
        self.active, self.theta, self.limit = self.active[keep], self.theta[keep], self.limit[keep]
        self.state = {name: value[keep] for name, value in self.state.items()}
        return gradient[keep]

    def outcome(self, grad_tol: float) -> Descent:
        losses, grad_norms = self.history.arrays()
        final_norm = grad_norms[self.steps, np.arange(len(self.steps))]
        converged = (self.diverged_at < 0) & (final_norm < grad_tol)
        return Descent(losses, grad_norms, self.initial, self.final, self.steps,
                       self.diverged_at, converged)
