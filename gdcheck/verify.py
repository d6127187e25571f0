"""verify(spec) → Verification: compile a spec, run each of its checks, write the report.

Two steps that every caller shares: `run_checks` (no I/O: the checks and the
Verification they make) and `written` (the report files, and the Verification
that knows where they are). The command line, the runner's child processes and
the pytest plugin are adapters over these.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import defaults
from .checks.against import UserGradient
from .checks.context import Context
from .checks.registry import CHECKS, enabled
from .compiled import Problem, compile_spec
from .engine.rates import Criterion, learning_rate_map
from .reports.files import render_report, store_report
from .results import CheckResult, Verification
from .spec import Spec, load
from .symbolic.notation import Notation

ProgressCallback = Callable[[str, int, int], None]   # (what, done, total)
CheckDone = Callable[[CheckResult], None]


def verify(spec_or_path: Spec | str | Path, report_dir: str | Path | None = defaults.REPORT_DIR,
           seed: int = defaults.SEED, *, examples: int | None = None,
           progress: ProgressCallback | None = None, on_check: CheckDone | None = None,
           problem: Problem | None = None, against: UserGradient | None = None,
           against_label: str = "") -> Verification:
    """Run every check of a spec and (unless `report_dir` is None) write its report.

    Args:
        spec_or_path: a Spec, or the path of a spec file.
        report_dir: where `<name>/report.json`, `report.md` and plots go; None writes nothing.
        seed: fixes every random draw (Hypothesis and sampled initialisations).
        examples: overrides `examples` of every property check.
        progress, on_check: callbacks for a progress display and each finished check.
        problem: a compiled Problem to use instead of compiling the spec (for tests).
        against: your own gradient function, checked as `compare` does (check "against").
    Returns: a Verification; `.passed` and `.checks[name].passed` give the verdicts.
    Raises: SpecError for a bad spec or bad data.
    Example: `gdcheck.verify("specs/logistic.yaml").passed`.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    spec = spec_or_path if isinstance(spec_or_path, Spec) else load(spec_or_path)
    timings["load"] = time.perf_counter() - start
    if problem is None:
        start = time.perf_counter()
        problem = compile_spec(spec)
        timings["compile"] = time.perf_counter() - start
    context = Context(spec, problem, seed, examples, progress, against, against_label)
    return written(run_checks(context, on_check, timings), report_dir)


def run_checks(context: Context, on_check: CheckDone | None = None,
               timings: dict[str, float] | None = None) -> Verification:
    """Run the context's enabled checks in order; the Verification they make (no I/O)."""
    timings = dict(timings or {})
    results: dict[str, CheckResult] = {}
    for name in enabled(context):
        start = time.perf_counter()
        result = CHECKS[name](context)
        result = replace(result, seconds=time.perf_counter() - start)
        timings[name] = result.seconds
        results[name] = result
        if on_check is not None:
            on_check(result)
    objective = context.problem.objective
    notation = Notation([objective.objective, *objective.gradients, *objective.kinks],
                        reserved=[*objective.parameters, *objective.data,
                                  *context.spec.constants])
    # a kink across which the gradient was measured continuous is a crease (Huber's loss),
    # where the objective is differentiable: not listed, not warned about
    kinks = [f"{notation.text(kink)} = 0" for kink, jumps
             in zip(objective.kinks, context.problem.gradient_jumps, strict=True) if jumps]
    start = time.perf_counter()
    rate_map = _learning_rate_map(context, results.get("convergence"), kinks)
    timings["learning_rate_map"] = time.perf_counter() - start
    return Verification(
        spec=context.spec, seed=context.seed, checks=results,
        parameter_names=context.problem.parameter_names,
        objective_formula=notation.text(objective.objective),
        gradient_formulas={name: notation.text(node) for name, node
                           in zip(objective.parameters, objective.gradients, strict=True)},
        nondifferentiable=kinks,
        warnings=context.problem.warnings + _kink_warning(kinks, notation.definitions),
        timings=timings,
        definitions=[f"{name} = {text}" for name, text in notation.definitions],
        learning_rate_map=rate_map,
    )


def _learning_rate_map(context: Context, convergence: CheckResult | None,
                       kinks: list[str]) -> dict[str, Any]:
    """The learning-rate map from the first convergence run's initial point, its curvature
    at the best converged run's end. Part of the convergence analysis: off with it (which is
    how a spec turns the map off, and keeps specs that check only gradients fast)."""
    if convergence is None:
        return {"skipped": "the convergence check is off (checks: {convergence: false}); the "
                "map is made beside its runs"}
    runs = convergence.details["runs"]
    initial = np.asarray(runs[0]["initial"], dtype=float)
    converged = [(run["final_loss"], i) for i, run in enumerate(runs) if run.get("converged")]
    best = min(converged)[1] if converged else None

    def progress(done: int, total: int) -> None:
        if context.progress is not None:
            context.progress("learning-rate map", done, total)

    try:
        return learning_rate_map(
            context.problem, context.spec.optimizer, initial,
            criterion=_criterion(context, convergence, kinks),
            run_steps=[run["steps"] for run in runs] if runs else None,
            minimum=None if best is None else np.asarray(runs[best]["final"], dtype=float),
            minimum_from="" if best is None else f"the end of convergence run {best + 1}",
            kinks=kinks, seed=context.seed, progress=progress)
    except Exception as error:  # noqa: BLE001 - the map is an extra: the checks' verdicts stand
        return {"skipped": f"the learning-rate map could not be computed: {error}"}


def _criterion(context: Context, convergence: CheckResult | None, kinks: list[str]
               ) -> Criterion:
    """When a rate of the map converged: as the convergence check said (without one, by the
    objective where it has kinks, else by the gradient norm)."""
    settings = context.spec.checks.convergence
    named = convergence.details.get("criterion") if convergence is not None else None
    by_objective = named == "objective" or (named is None and bool(kinks))
    return Criterion("objective" if by_objective else "gradient",
                     getattr(settings, "grad_tol", defaults.GRAD_TOL),
                     getattr(settings, "loss_tol", defaults.LOSS_TOL))


def written(verification: Verification, report_dir: str | Path | None, *,
            storing: Callable[[], ContextManager[object]] = contextlib.nullcontext
            ) -> Verification:
    """Write the verification's report under `report_dir` (None: nothing); it, knowing where.

    The files are rendered first, then stored inside `storing()` (the runner's child holds
    a stop request back there), so an interrupt never leaves half a report. Raises OSError
    naming the file that could not be written (a full disk: then no report is left)."""
    if report_dir is None:
        return verification
    files = render_report(verification)
    with storing():
        folder = store_report(files, Path(report_dir), verification.spec.name)
    return replace(verification, report_dir=folder)


def compare(spec_or_path: Spec | str | Path, function: UserGradient, *,
            seed: int = defaults.SEED, examples: int | None = None,
            problem: Problem | None = None) -> CheckResult:
    """Search for a point where your gradient code disagrees with the spec's exact gradient.

    Args:
        spec_or_path: a Spec or a spec file's path.
        function: called as `function(**parameters, **data)` with named numpy arrays (data
            with the sample axis first); returns {parameter name: gradient of L}.
        seed, examples: as for `verify`; the tolerance is the spec's `checks.gradient`.
    Returns: a CheckResult: `.passed`, and `.counterexample` with the shrunk point.
    Raises: SpecError for a bad spec.
    Example: `gdcheck.compare("specs/logistic.yaml", my_gradient).passed`.
    """
    spec = spec_or_path if isinstance(spec_or_path, Spec) else load(spec_or_path)
    problem = compile_spec(spec) if problem is None else problem
    module, name = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    importable = module not in (None, "__main__") and name.isidentifier()
    label = f"{module}:{name}" if importable else ""   # else the replay is this call
    return CHECKS["against"](Context(spec, problem, seed, examples, against=function,
                                     against_label=label))


def _kink_warning(kinks: list[str], definitions: list[tuple[str, str]]) -> list[str]:
    if not kinks:
        return []
    shown = ", ".join(kinks[:3])
    more = f" (and {len(kinks) - 3} more)" if len(kinks) > 3 else ""
    # the names of the report's definitions (t1 = ...) that the kinks shown use
    used = [f"{name} = {text}" for name, text in definitions
            if re.search(rf"\b{re.escape(name)}\b", shown)]
    where = f" (with {'; '.join(used)})" if used else ""
    return [f"the objective is not differentiable where {shown}{more}{where}; gradient checks "
            "skip points whose finite-difference stencil crosses such a point"]
