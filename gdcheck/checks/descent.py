"""`descent`: one optimizer step lowers the objective.

At drawn initialisations where the gradient is not zero, the first step of
the spec's optimizer must lower L. Points where the decrease a step can make
(η‖∇L‖²) is below the rounding of L say nothing and are skipped. A failure
names both values and the largest learning rate (halving from η) that would
have lowered L there. A step that raised L across a kink of the objective
says nothing (a gradient holds only up to the kink, and on the kink itself −∇L
is a subgradient's direction, which need not descend): that point is skipped.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..engine.optimizers import gradient_mapping, step
from ..engine.oracle import EPSILON
from ..results import CheckResult, Counterexample
from .context import SKIP, Context, falsify

ROUNDING = 64 * EPSILON   # changes in L smaller than this (relative) are rounding noise
HALVINGS = 60



def run(context: Context) -> CheckResult:
    settings = context.spec.checks.descent
    assert settings is not None
    problem, optimizer = context.problem, context.spec.optimizer

    def lowers(theta: np.ndarray) -> str | None:
        loss, gradient = problem.loss(theta), problem.gradient(theta)
        if not (np.isfinite(loss) and np.all(np.isfinite(gradient))):
            return (f"at {context.point_text(theta)} the objective or its gradient is not "
                    f"finite (L = {loss:.6g})")
        noise = ROUNDING * max(1.0, abs(loss))
        moving = gradient if problem.l1_weights is None else gradient_mapping(
            theta, gradient, optimizer.learning_rate, problem.l1_weights)
        if optimizer.learning_rate * float(moving @ moving) <= noise:
            return SKIP
        moved = step(optimizer, theta[None], gradient[None], l1=problem.l1_weights)[0][0]
        after = problem.loss(moved)
        if after < loss + noise:
            return None
        if problem.crosses_kink(theta, np.abs(moved - theta)):
            # the step crossed a kink: past it the gradient at θ says nothing of L (on the
            # kink itself −g need not descend at any rate); the point says nothing
            return SKIP
        rate = _largest_rate(context, theta, loss, gradient)
        advice = (f"a learning rate of {rate:.3g} would have lowered it there" if rate else
                  "no smaller learning rate lowered it there either (is the gradient's sign "
                  "wrong?)")
        return (f"one {optimizer.method} step (learning_rate {optimizer.learning_rate:g}) from "
                f"{context.point_text(theta)} raised the objective from {loss:.6g} to "
                f"{after:.6g}; {advice}")

    examples = context.examples_for(settings.examples)
    search = falsify(context, examples, lowers)
    details = {"examples": examples, "evaluated": search.examples, "skipped": search.skipped}
    checked = search.examples - search.skipped
    if search.failure is None and checked == 0:   # like gradient: nothing checked, no pass
        return CheckResult("descent", False, f"no point could be checked: all "
                           f"{search.examples} drawn points were skipped (a gradient too small "
                           "to move the objective past its rounding, or a point on a kink); "
                           "widen the parameters' init ranges", details)
    if search.failure is None:
        return CheckResult("descent", True, f"one {optimizer.method} step lowered the objective "
                           f"at {checked} points", details)
    theta, detail = search.failure
    return CheckResult("descent", False, detail, details,
                       Counterexample(context.point(theta), detail, context.replay))


def _largest_rate(context: Context, theta: np.ndarray, loss: float,
                  gradient: np.ndarray) -> float | None:
    """The largest η/2^k (1 ≤ k ≤ HALVINGS) whose step lowers L at θ; None if none does."""
    optimizer = context.spec.optimizer
    rate = optimizer.learning_rate
    for _ in range(HALVINGS):
        rate /= 2
        trial = dataclasses.replace(optimizer, learning_rate=rate)
        after = context.problem.loss(step(trial, theta[None], gradient[None],
                                          l1=context.problem.l1_weights)[0][0])
        if np.isfinite(after) and after < loss:
            return rate
    return None
