"""Optimizer update rules, one small function per `optimizer.method`.

How it works: every rule maps a batch of points theta (K, P), the gradient
already computed at theta (K, P) and the rule's state to the next points and
the next state. State is a plain dict of (K, P) arrays (velocity, moments),
empty before the first step; a rule never mutates it, it returns a new dict.
Rows are independent runs, so the caller may drop rows of theta and of every
state array together. `t` counts updates from 1 (Adam's bias correction).

Only Nesterov needs a gradient elsewhere than at theta: at the look-ahead
point θ − ημv, through `gradient_at` (a batched gradient (K, P) → (K, P)).
On its first step v = 0, so it reuses the gradient at theta.

    gd        θ ← θ − η g
    momentum  v ← μ v + g;           θ ← θ − η v        (heavy ball)
    nesterov  v ← μ v + g(θ − ημv);  θ ← θ − η v
    adam      m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;
              θ ← θ − η m̂ / (√ŝ + ε),  m̂ = m/(1−β₁ᵗ),  ŝ = s/(1−β₂ᵗ)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UsageError, did_you_mean
from ..spec import Optimizer

State = dict[str, np.ndarray]
GradientAt = Callable[[np.ndarray], np.ndarray]
StepFunction = Callable[[np.ndarray, np.ndarray, State, Optimizer, int, GradientAt | None],
                        tuple[np.ndarray, State]]


def gd(theta: np.ndarray, gradient: np.ndarray, state: State, optimizer: Optimizer, t: int,
       gradient_at: GradientAt | None) -> tuple[np.ndarray, State]:
    return theta - optimizer.learning_rate * gradient, state


def momentum(theta: np.ndarray, gradient: np.ndarray, state: State, optimizer: Optimizer,
             t: int, gradient_at: GradientAt | None) -> tuple[np.ndarray, State]:
    velocity = optimizer.momentum * state.get("velocity", 0.0) + gradient
    return theta - optimizer.learning_rate * velocity, {"velocity": velocity}


def nesterov(theta: np.ndarray, gradient: np.ndarray, state: State, optimizer: Optimizer,
             t: int, gradient_at: GradientAt | None) -> tuple[np.ndarray, State]:
    velocity = gradient  # first step: v = 0, so the look-ahead point is theta itself
    if "velocity" in state:
        if gradient_at is None:
            raise UsageError("nesterov needs gradient_at= to evaluate the look-ahead gradient")
        look_ahead = theta - optimizer.learning_rate * optimizer.momentum * state["velocity"]
        velocity = optimizer.momentum * state["velocity"] + gradient_at(look_ahead)
    return theta - optimizer.learning_rate * velocity, {"velocity": velocity}


def adam(theta: np.ndarray, gradient: np.ndarray, state: State, optimizer: Optimizer, t: int,
         gradient_at: GradientAt | None) -> tuple[np.ndarray, State]:
    beta1, beta2 = optimizer.beta1, optimizer.beta2
    first = beta1 * state.get("first", 0.0) + (1 - beta1) * gradient
    second = beta2 * state.get("second", 0.0) + (1 - beta2) * gradient**2
    first_unbiased = first / (1 - beta1**t)
    second_unbiased = second / (1 - beta2**t)
    update = first_unbiased / (np.sqrt(second_unbiased) + optimizer.epsilon)
    return theta - optimizer.learning_rate * update, {"first": first, "second": second}


OPTIMIZERS: dict[str, StepFunction] = {
    "gd": gd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adam": adam,
}


def step(optimizer: Optimizer, theta: np.ndarray, gradient: np.ndarray, *,
         gradient_at: GradientAt | None = None, state: State | None = None,
         t: int = 1) -> tuple[np.ndarray, State]:
    """One update of `optimizer.method` for a batch of runs.

    Args:
        optimizer: the spec's optimizer (method, learning_rate and its parameters).
        theta: points (K, P); gradient: the gradient at theta (K, P).
        gradient_at: batched gradient function; Nesterov calls it at its
            look-ahead point from the second step on.
        state: what the previous step returned; None (or {}) before the first.
        t: the number of this update, from 1.

    Returns:
        (next theta (K, P), next state).

    Raises:
        UsageError: unknown method, or Nesterov's second step without gradient_at.

    >>> step(Optimizer("gd", learning_rate=0.5), np.ones((1, 2)), np.ones((1, 2)))[0]
    array([[0.5, 0.5]])
    """
    if optimizer.method not in OPTIMIZERS:
        hint = did_you_mean(optimizer.method, OPTIMIZERS)
        raise UsageError(f"unknown optimizer method={optimizer.method!r}{hint}; "
                         f"expected one of: {', '.join(OPTIMIZERS)}")
    rule = OPTIMIZERS[optimizer.method]
    return rule(theta, gradient, {} if state is None else state, optimizer, t, gradient_at)
