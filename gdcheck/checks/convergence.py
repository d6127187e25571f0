"""`convergence`: descents from sampled initialisations reach a stationary point.

`runs` initialisations are sampled from each parameter's `init` with the
seed and descended together. Each run must end with a gradient norm below
`grad_tol`, must not diverge, and, where `expect` is given, must end within
`expect.tol` of the expected minimum (every listed parameter) and value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.descent import Descent, descend
from ..results import CheckResult, Counterexample
from .context import Context
from .convex import smallest_curvature


def sample_initialisations(context: Context, runs: int) -> np.ndarray:
    """(runs, P) initialisations drawn from each parameter's init with the seed."""
    rng = np.random.default_rng(context.seed)
    return context.problem.layout.join([p.init.sample(rng, (runs,) + p.shape)
                                        for p in context.spec.parameters])


def run(context: Context) -> CheckResult:
    settings = context.spec.checks.convergence
    assert settings is not None
    optimizer = context.spec.optimizer

    def progress(done: int, total: int) -> None:
        if context.progress is not None:
            context.progress("convergence", done, total)

    initial = sample_initialisations(context, settings.runs)
    descent = descend(context.problem, initial, optimizer, grad_tol=settings.grad_tol,
                      progress=progress)
    runs = [_run_record(context, descent, i) for i in range(settings.runs)]
    failures = [(i, record["problem"]) for i, record in enumerate(runs) if record["problem"]]
    curves = {"loss": [_series(descent.losses, descent, i) for i in range(len(runs))],
              "grad_norm": [_series(descent.grad_norms, descent, i) for i in range(len(runs))]}
    details: dict[str, Any] = {"grad_tol": settings.grad_tol, "runs": runs}
    if not failures:
        steps = max(record["steps"] for record in runs)
        return CheckResult("convergence", True, f"{len(runs)} {optimizer.method} runs converged "
                           f"(gradient norm < {settings.grad_tol:g}) within {steps} steps",
                           details, curves=curves)
    i, problem = failures[0]
    detail = (f"run {i + 1} of {len(runs)} from {context.point_text(initial[i])}: {problem}"
              + (f" ({len(failures) - 1} other runs failed too)" if len(failures) > 1 else ""))
    return CheckResult("convergence", False, detail, details,
                       Counterexample(context.point(initial[i]), detail, context.replay),
                       curves=curves)


def _series(values: np.ndarray, descent: Descent, i: int) -> np.ndarray:
    return values[:int(descent.steps[i]) + 1, i].copy()


def _run_record(context: Context, descent: Descent, i: int) -> dict[str, Any]:
    record = descent.run(i)
    record["rate"] = descent.linear_rate(i)
    record["problem"] = _what_went_wrong(context, descent, i, record)
    return record


def _what_went_wrong(context: Context, descent: Descent, i: int,
                     record: dict[str, Any]) -> str | None:
    settings = context.spec.checks.convergence
    assert settings is not None
    if record["diverged_at"] is not None:
        return (f"diverged at step {record['diverged_at']} (loss {record['final_loss']:.3g}, "
                f"gradient norm {record['grad_norm']:.3g}) at "
                f"{context.point_text(descent.final[i])}; lower the learning rate")
    if not record["converged"]:
        return (f"gradient norm {record['grad_norm']:.3g} > grad_tol {settings.grad_tol:g} "
                f"after {record['steps']} steps (loss {record['final_loss']:.6g}); "
                "raise optimizer.steps or the learning rate")
    return _missed_expectation(context, descent.final[i], record["final_loss"])


def _missed_expectation(context: Context, final: np.ndarray, final_loss: float) -> str | None:
    expect = context.spec.expect
    if expect is None:
        return None
    if expect.minimum is not None:
        reached = context.problem.unpack(final)
        for name, expected in expect.minimum.items():
            gap = float(np.max(np.abs(reached[name] - np.asarray(expected, dtype=float))))
            if not gap <= expect.tol:
                return (f"ended at {name}={np.round(reached[name], 6).tolist()}, expected "
                        f"{expected} (off by {gap:.3g} > expect.tol {expect.tol:g})"
                        f"{_where_it_ended(context, final, final_loss)}")
    if expect.value is not None and not abs(final_loss - expect.value) <= expect.tol:
        return (f"ended at objective {final_loss:.6g}, expected {expect.value:g} "
                f"(off by {abs(final_loss - expect.value):.3g} > expect.tol {expect.tol:g})")
    return None


def _where_it_ended(context: Context, final: np.ndarray, final_loss: float) -> str:
    """What the run's end point is, by the Hessian there: a local minimum other than the
    expected one (the lesson of a non-convex objective), a saddle, or a flat point."""
    try:
        with np.errstate(all="ignore"):
            smallest, tolerance = smallest_curvature(context.problem, final, context.seed)
    except Exception:  # noqa: BLE001 - no curvature, no classification; the failure stands
        return ""
    if not np.isfinite(smallest):
        return ""
    if smallest > tolerance:
        return (f"; that point is a local minimum (objective {final_loss:.6g}, smallest "
                f"Hessian eigenvalue {smallest:.3g} > 0): the run reached another minimum "
                "than the expected one")
    if smallest < -tolerance:
        return (f"; that point is a saddle (objective {final_loss:.6g}, Hessian eigenvalue "
                f"{smallest:.3g} < 0)")
    return f"; that point is flat in some direction (objective {final_loss:.6g})"
