"""`convergence`: descents from sampled initialisations reach a minimum.

`runs` initialisations are sampled from each parameter's `init` with the
seed and descended together. Each run must converge by the check's criterion,
must not diverge, and, where `expect` is given, must end within `expect.tol`
of the expected minimum (every listed parameter) and value.

The criterion fits the objective (`criterion: auto`, the default):

- `gradient`: the final gradient norm is below `grad_tol` (a differentiable
  objective); under proximal_gradient the norm of the gradient mapping
  (θ − S(θ − η∇f, ηλ))/η, which vanishes at a minimiser of f + λ‖θ‖₁ where the
  gradient of the L1 term does not;
- `objective`: the objective stopped decreasing: the best value of the last
  max(10, T/10) steps is within `loss_tol`·max(1, |best|) of the best before
  them. `auto` takes it for an objective with kinks under any other method: at
  a kink the gradient never vanishes, and a fixed step oscillates around the
  minimum. A run whose gradient does vanish converges by either.

Where a run ends is classified by the Hessian there (`end` in each run's
record): a `minimum` (positive definite), a `saddle`, `flat` in some direction,
`not stationary`, or `diverged`; runs that reached different minima are named
with their values. Classification needs the dense Hessian (up to 300
parameters) and a differentiable objective; otherwise `end` is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.descent import Descent, descend
from ..results import CheckResult, Counterexample
from .context import Context
from .convex import DENSE_UP_TO, smallest_curvature

WINDOW_FRACTION = 10   # the objective criterion compares the last T/10 steps with those before
MIN_WINDOW = 10
SAME_VALUE = 1e-6      # relative: two minima of values closer than this are one...
SAME_POINT = 1e-3      # ...if their points are this close too (relative to max(1, |θ|))


@dataclass(frozen=True)
class Criterion:
    """What "converged" means for this spec, and why (both in the report)."""

    name: str          # "gradient", "gradient_mapping" or "objective"
    reason: str

    def describe(self, grad_tol: float, loss_tol: float) -> str:
        if self.name == "objective":
            return f"objective stopped decreasing, within loss_tol {loss_tol:g}"
        measure = "gradient mapping norm" if self.name == "gradient_mapping" else "gradient norm"
        return f"{measure} < {grad_tol:g}"


def criterion(context: Context) -> Criterion:
    settings = context.spec.checks.convergence
    assert settings is not None
    kinked = not context.problem.differentiable   # creases (Huber's loss) are no kinks
    if settings.criterion == "objective":
        return Criterion("objective", "set by checks.convergence.criterion")
    if context.spec.optimizer.method == "proximal_gradient":
        return Criterion("gradient_mapping", "proximal_gradient: the gradient mapping "
                         "vanishes at a minimiser of f + λ‖θ‖₁; the gradient of |θ| does not")
    if settings.criterion == "gradient":
        return Criterion("gradient", "set by checks.convergence.criterion")
    if kinked:
        return Criterion("objective", "the objective has kinks, where the gradient need not "
                         "vanish at a minimum")
    return DIFFERENTIABLE


DIFFERENTIABLE = Criterion("gradient", "the objective is differentiable")


def sample_initialisations(context: Context, runs: int) -> np.ndarray:
    """(runs, P) initialisations drawn from each parameter's init with the seed."""
    rng = np.random.default_rng(context.seed)
    return context.problem.layout.join([p.init.sample(rng, (runs,) + p.shape)
                                        for p in context.spec.parameters])


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.convergence
    assert settings is not None
    optimizer = context.spec.optimizer
    rule = criterion(context)

    def progress(done: int, total: int) -> None:
        if context.progress is not None:
            context.progress("convergence", done, total)

    initial = sample_initialisations(context, settings.runs)
    descent = descend(context.problem, initial, optimizer, grad_tol=settings.grad_tol,
                      progress=progress)
    runs = [_run_record(context, descent, i, rule) for i in range(settings.runs)]
    minima = _distinct_minima(context, descent, runs)
    failures = [(i, record["problem"]) for i, record in enumerate(runs) if record["problem"]]
    curves = {"loss": [_series(descent.losses, descent, i) for i in range(len(runs))],
              "grad_norm": [_series(descent.grad_norms, descent, i) for i in range(len(runs))]}
    details: dict[str, Any] = {"grad_tol": settings.grad_tol, "loss_tol": settings.loss_tol,
                               "criterion": rule.name, "criterion_reason": rule.reason,
                               "runs": runs, "minima": minima}
    found = _minima_text(context, minima)
    if not failures:
        steps = max(record["steps"] for record in runs)
        why = "" if rule == DIFFERENTIABLE else f"; {rule.reason}"
        return CheckResult("convergence", True, f"{len(runs)} {optimizer.method} runs converged "
                           f"({rule.describe(settings.grad_tol, settings.loss_tol)}{why}) "
                           f"within {steps} steps{found}", details, curves=curves)
    i, problem = failures[0]
    detail = (f"run {i + 1} of {len(runs)} from {context.point_text(initial[i])}: {problem}"
              + (f" ({len(failures) - 1} other runs failed too)" if len(failures) > 1 else "")
              + found)
    return CheckResult("convergence", False, detail, details,
                       Counterexample(context.point(initial[i]), detail, context.replay),
                       curves=curves)


def _series(values: np.ndarray, descent: Descent, i: int) -> np.ndarray:
    return values[:int(descent.steps[i]) + 1, i].copy()


def _run_record(context: Context, descent: Descent, i: int, rule: Criterion) -> dict[str, Any]:
    record = descent.run(i)
    record["rate"] = descent.linear_rate(i)
    losses = descent.losses[:record["steps"] + 1, i]
    record["best_loss"] = float(np.min(losses)) if np.all(np.isfinite(losses)) else None
    if rule.name == "objective" and record["diverged_at"] is None:
        record["converged"] = record["converged"] or _stalled(context, losses)
    record["end"] = _end(context, descent.final[i], record)
    record["problem"] = _what_went_wrong(context, descent, i, record, rule)
    return record


def _stalled(context: Context, losses: np.ndarray) -> bool:
    """The objective stopped decreasing: the best of the last window is within loss_tol
    (relative to max(1, |best|)) of the best before it."""
    settings = context.spec.checks.convergence
    assert settings is not None
    window = max(MIN_WINDOW, (len(losses) - 1) // WINDOW_FRACTION)
    if len(losses) <= window or not np.all(np.isfinite(losses)):
        return False
    before, last = float(np.min(losses[:-window])), float(np.min(losses[-window:]))
    return before - last <= settings.loss_tol * max(1.0, abs(last))


def _end(context: Context, final: np.ndarray, record: dict[str, Any]) -> str | None:
    """Where the run ended, by the Hessian there; None where that cannot be told cheaply
    or does not apply (above DENSE_UP_TO parameters, an objective with kinks)."""
    if record["diverged_at"] is not None:
        return "diverged"
    if not record["converged"]:
        return "not stationary"
    if context.problem.size > DENSE_UP_TO or not context.problem.differentiable:
        return None
    try:
        with np.errstate(all="ignore"):
            smallest, tolerance = smallest_curvature(context.problem, final, context.seed)
    except Exception:  # noqa: BLE001 - no curvature, no classification; the verdict stands
        return None
    if not np.isfinite(smallest):
        return None
    if smallest > tolerance:
        return "minimum"
    return "saddle" if smallest < -tolerance else "flat"


def _what_went_wrong(context: Context, descent: Descent, i: int, record: dict[str, Any],
                     rule: Criterion) -> str | None:
    settings = context.spec.checks.convergence
    assert settings is not None
    if record["diverged_at"] is not None:
        return (f"diverged at step {record['diverged_at']} (loss {record['final_loss']:.3g}, "
                f"gradient norm {record['grad_norm']:.3g}) at "
                f"{context.point_text(descent.final[i])}; lower the learning rate")
    if not record["converged"]:
        if rule.name == "objective":
            return (f"the objective was still decreasing after {record['steps']} steps "
                    f"(loss {record['final_loss']:.6g}, best {record['best_loss']:.6g}; "
                    f"criterion: {rule.describe(settings.grad_tol, settings.loss_tol)}, as "
                    f"{rule.reason}); raise optimizer.steps or use a decreasing learning "
                    "rate schedule")
        measure = "gradient mapping norm" if rule.name == "gradient_mapping" else "gradient norm"
        return (f"{measure} {record['grad_norm']:.3g} > grad_tol {settings.grad_tol:g} "
                f"after {record['steps']} steps (loss {record['final_loss']:.6g}); "
                "raise optimizer.steps or the learning rate")
    return _missed_expectation(context, descent.final[i], record)


def _missed_expectation(context: Context, final: np.ndarray,
                        record: dict[str, Any]) -> str | None:
    expect = context.spec.expect
    final_loss = record["final_loss"]
    if expect is None:
        return None
    if expect.minimum is not None:
        reached = context.problem.unpack(final)
        for name, expected in expect.minimum.items():
            gap = float(np.max(np.abs(reached[name] - np.asarray(expected, dtype=float))))
            if not gap <= expect.tol:
                return _elsewhere(context, final, record, name, expected, gap)
    if expect.value is not None and not abs(final_loss - expect.value) <= expect.tol:
        return (f"ended at objective {final_loss:.6g}, expected {expect.value:g} "
                f"(off by {abs(final_loss - expect.value):.3g} > expect.tol {expect.tol:g})")
    return None


def _elsewhere(context: Context, final: np.ndarray, record: dict[str, Any], name: str,
               expected: Any, gap: float) -> str:
    """A run that ended away from `expect.minimum`: where, and what kind of point it is."""
    expect = context.spec.expect
    assert expect is not None and expect.minimum is not None
    off = f"{name} off by {gap:.3g} > expect.tol {expect.tol:g}"
    point, value = context.point_text(final), record["final_loss"]
    kind = record["end"]
    if kind == "minimum":
        there = _expected_value(context)
        if there is None:
            return (f"reached a local minimum at {point} (value {value:.6g}), not the "
                    f"expected one, {_expected_text(expect.minimum)} ({off})")
        if there < value:
            return (f"reached a local minimum at {point} (value {value:.6g}), not the "
                    f"expected global one, {_expected_text(expect.minimum)} (value "
                    f"{there:.6g}; {off})")
        return (f"reached a minimum at {point} (value {value:.6g}), but expected "
                f"{_expected_text(expect.minimum)}, where the objective is {there:.6g}, no "
                f"lower ({off}): is expect.minimum right?")
    if kind == "saddle":
        return f"ended at a saddle point {point} (value {value:.6g}; {off})"
    if kind == "flat":
        return (f"ended at {point} (value {value:.6g}), flat in some direction there "
                f"({off})")
    reached = np.round(context.problem.unpack(final)[name], 6).tolist()
    return f"ended at {name}={reached}, expected {expected} ({off}; value {value:.6g})"


def _expected_value(context: Context) -> float | None:
    """The objective at `expect.minimum`, when it lists every parameter."""
    expect = context.spec.expect
    assert expect is not None and expect.minimum is not None
    if set(expect.minimum) != {p.name for p in context.spec.parameters}:
        return None
    with np.errstate(all="ignore"):
        value = float(context.problem.loss(context.problem.pack(expect.minimum)))
    return value if np.isfinite(value) else None


def _expected_text(minimum: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in minimum.items())


def _distinct_minima(context: Context, descent: Descent,
                     runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The minima the runs reached, lowest first: value, point and the runs (from 1)."""
    groups: list[dict[str, Any]] = []
    for i, record in enumerate(runs):
        if record["end"] != "minimum":
            continue
        final, value = descent.final[i], record["final_loss"]
        for group in groups:
            scale = max(1.0, float(np.max(np.abs(group["theta"]))))
            if (abs(group["value"] - value) <= SAME_VALUE * max(1.0, abs(value))
                    and float(np.max(np.abs(group["theta"] - final))) <= SAME_POINT * scale):
                group["runs"].append(i + 1)
                break
        else:
            groups.append({"value": value, "theta": final, "runs": [i + 1]})
    groups.sort(key=lambda group: group["value"])
    return [{"value": group["value"], "point": context.point(group["theta"]),
             "runs": group["runs"]} for group in groups]


def _minima_text(context: Context, minima: list[dict[str, Any]]) -> str:
    if len(minima) < 2:
        return ""
    shown = "; ".join(
        f"value {minimum['value']:.6g} at "
        f"{context.point_text(context.problem.pack(minimum['point']))} "
        f"(run{'s' if len(minimum['runs']) > 1 else ''} "
        f"{', '.join(map(str, minimum['runs']))})" for minimum in minima[:4])
    more = f"; and {len(minima) - 4} more" if len(minima) > 4 else ""
    return f". The runs reached {len(minima)} different minima: {shown}{more}"
