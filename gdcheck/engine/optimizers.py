"""Optimizer update rules, one small function per `optimizer.method`.

How it works: every rule maps a batch of points theta (K, P), the gradient
already computed at theta (K, P) and the rule's state to the next points and
the next state. State is a plain dict of arrays with one row per run
(velocity, moments), empty before the first step; a rule never mutates it, it
returns a new dict. Rows are independent runs, so the caller may drop rows of
theta and of every state array together. `t` counts updates from 1 (Adam's
bias correction, the schedules); η is the learning rate of update t.

Only Nesterov and FISTA need a gradient elsewhere than at theta: at a
look-ahead point, through `gradient_at` (a batched gradient (K, P) → (K, P)).
On their first step the look-ahead point is theta itself.

    gd        θ ← θ − η g
    momentum  v ← μ v + g;           θ ← θ − η v        (heavy ball)
    nesterov  v ← μ v + g(θ − ημv);  θ ← θ − η v
    adam      m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;
              θ ← θ − η m̂ / (√ŝ + ε),  m̂ = m/(1−β₁ᵗ),  ŝ = s/(1−β₂ᵗ)
    proximal_gradient (ISTA), for L = f + Σ λⱼ|θⱼ|:
              θ ← S(θ − η ∇f(θ), ηλ),  S(x, τ) = sign(x)·max(|x| − τ, 0)
              with `accelerated` (FISTA): the same step from y = θ + ((s−1)/s⁺)(θ − θ₋),
              s⁺ = (1 + √(1 + 4s²))/2, s₁ = 1.
              ∇f = g − λ·sign(θ): the exact gradient of L holds λ·sign(θ) from each |θⱼ|.

Schedules give η of update t from the spec's rate η₀:

    constant η₀;  inverse_sqrt η₀/√t;  inverse η₀/t;  step η₀·factor^⌊(t−1)/every⌋;
    cosine final + (η₀ − final)(1 + cos(π(t−1)/steps))/2
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError, did_you_mean
from ..spec import Optimizer

State = dict[str, np.ndarray]
GradientAt = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Update:
    """What a rule knows of update t besides the points: the optimizer, t, its rate, the
    look-ahead gradient, and the L1 weights λ (P,) of a proximal step (None without)."""

    optimizer: Optimizer
    t: int
    rate: float
    gradient_at: GradientAt | None = None
    l1: np.ndarray | None = None

    def look_ahead_gradient(self, point: np.ndarray) -> np.ndarray:
        if self.gradient_at is None:
            raise UsageError(f"{self.optimizer.method} needs gradient_at= to evaluate the "
                             "look-ahead gradient")
        return self.gradient_at(point)


StepFunction = Callable[[np.ndarray, np.ndarray, State, Update], tuple[np.ndarray, State]]


def gd(theta: np.ndarray, gradient: np.ndarray, state: State,
       update: Update) -> tuple[np.ndarray, State]:
    return theta - update.rate * gradient, state


def momentum(theta: np.ndarray, gradient: np.ndarray, state: State,
             update: Update) -> tuple[np.ndarray, State]:
    velocity = update.optimizer.momentum * state.get("velocity", 0.0) + gradient
    return theta - update.rate * velocity, {"velocity": velocity}


def nesterov(theta: np.ndarray, gradient: np.ndarray, state: State,
             update: Update) -> tuple[np.ndarray, State]:
    velocity = gradient  # first step: v = 0, so the look-ahead point is theta itself
    mu = update.optimizer.momentum
    if "velocity" in state:
        look_ahead = theta - update.rate * mu * state["velocity"]
        velocity = mu * state["velocity"] + update.look_ahead_gradient(look_ahead)
    return theta - update.rate * velocity, {"velocity": velocity}


def adam(theta: np.ndarray, gradient: np.ndarray, state: State,
         update: Update) -> tuple[np.ndarray, State]:
    beta1, beta2, t = update.optimizer.beta1, update.optimizer.beta2, update.t
    first = beta1 * state.get("first", 0.0) + (1 - beta1) * gradient
    second = beta2 * state.get("second", 0.0) + (1 - beta2) * gradient**2
    first_unbiased = first / (1 - beta1**t)
    second_unbiased = second / (1 - beta2**t)
    step_ = first_unbiased / (np.sqrt(second_unbiased) + update.optimizer.epsilon)
    return theta - update.rate * step_, {"first": first, "second": second}


def soft_threshold(x: np.ndarray, threshold: Any) -> np.ndarray:
    """S(x, τ) = sign(x)·max(|x| − τ, 0): the proximal map of τ‖·‖₁."""
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)


def smooth_gradient(theta: np.ndarray, gradient: np.ndarray, l1: np.ndarray) -> np.ndarray:
    """∇f from the gradient of L = f + Σ λⱼ|θⱼ|, which holds λ·sign(θ) (0 where θⱼ = 0)."""
    return gradient - l1 * np.sign(theta)


def gradient_mapping(theta: np.ndarray, gradient: np.ndarray, rate: float,
                     l1: np.ndarray) -> np.ndarray:
    """G_η(θ) = (θ − S(θ − η∇f(θ), ηλ))/η: zero exactly at a minimiser of f + λ‖·‖₁ (f
    convex), the stationarity measure of a proximal method; ∇L where λ = 0."""
    moved = soft_threshold(theta - rate * smooth_gradient(theta, gradient, l1), rate * l1)
    return (theta - moved) / rate


def proximal_gradient(theta: np.ndarray, gradient: np.ndarray, state: State,
                      update: Update) -> tuple[np.ndarray, State]:
    if update.l1 is None:
        raise UsageError("proximal_gradient needs l1= (the L1 weights of the objective)")
    rate, l1 = update.rate, update.l1
    if not update.optimizer.accelerated:
        return soft_threshold(theta - rate * smooth_gradient(theta, gradient, l1),
                              rate * l1), state
    point, at = theta, gradient    # first step: the look-ahead point is theta itself
    if "previous" in state:
        s = state["s"]
        s_next = (1 + np.sqrt(1 + 4 * s**2)) / 2
        point = theta + ((s - 1) / s_next) * (theta - state["previous"])
        at = update.look_ahead_gradient(point)
    else:
        s_next = np.full((len(theta), 1), 1.0)
    moved = soft_threshold(point - rate * smooth_gradient(point, at, l1), rate * l1)
    return moved, {"previous": theta, "s": s_next}


OPTIMIZERS: dict[str, StepFunction] = {
    "gd": gd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adam": adam,
    "proximal_gradient": proximal_gradient,
}


def _cosine(optimizer: Optimizer, t: int) -> float:
    final = optimizer.final
    phase = math.pi * (t - 1) / max(1, optimizer.steps - 1)
    return final + (optimizer.learning_rate - final) * (1 + math.cos(phase)) / 2


SCHEDULES: dict[str, Callable[[Optimizer, int], float]] = {
    "constant": lambda optimizer, t: optimizer.learning_rate,
    "inverse_sqrt": lambda optimizer, t: optimizer.learning_rate / math.sqrt(t),
    "inverse": lambda optimizer, t: optimizer.learning_rate / t,
    "step": lambda optimizer, t: optimizer.learning_rate * optimizer.factor ** (
        (t - 1) // (optimizer.every or max(1, optimizer.steps // 10))),
    "cosine": _cosine,
}


def learning_rate_at(optimizer: Optimizer, t: int) -> float:
    """η of update t (from 1) under the optimizer's schedule."""
    return SCHEDULES[optimizer.schedule](optimizer, max(1, t))


def step(optimizer: Optimizer, theta: np.ndarray, gradient: np.ndarray, *,
         gradient_at: GradientAt | None = None, state: State | None = None,
         t: int = 1, l1: np.ndarray | None = None) -> tuple[np.ndarray, State]:
    """One update of `optimizer.method` for a batch of runs.

    Args:
        optimizer: the spec's optimizer (method, learning rate and schedule, its parameters).
        theta: points (K, P); gradient: the gradient at theta (K, P).
        gradient_at: batched gradient function; Nesterov and FISTA call it at their
            look-ahead point from the second step on.
        state: what the previous step returned; None (or {}) before the first.
        t: the number of this update, from 1.
        l1: proximal_gradient's L1 weights λ (P,) (`Problem.l1_weights`).

    Returns:
        (next theta (K, P), next state).

    Raises:
        UsageError: unknown method, a look-ahead without gradient_at, or a proximal step
            without l1.

    >>> step(Optimizer("gd", learning_rate=0.5), np.ones((1, 2)), np.ones((1, 2)))[0]
    array([[0.5, 0.5]])
    """
    if optimizer.method not in OPTIMIZERS:
        hint = did_you_mean(optimizer.method, OPTIMIZERS)
        raise UsageError(f"unknown optimizer method={optimizer.method!r}{hint}; "
                         f"expected one of: {', '.join(OPTIMIZERS)}")
    rule = OPTIMIZERS[optimizer.method]
    update = Update(optimizer, t, learning_rate_at(optimizer, t), gradient_at, l1)
    return rule(theta, gradient, {} if state is None else state, update)
