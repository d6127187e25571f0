"""verify(spec) → Verification: compile a spec and run each of its checks.

The command line and the pytest plugin are adapters over this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .checks import CheckResult
from .checks import against as against_check
from .checks.against import UserGradient
from .checks.context import Context
from .checks.registry import CHECKS
from .compiled import Problem, compile_spec
from .report import write_report
from .spec import Spec, load
from .symbolic import formula


@dataclass
class Verification:
    """Everything one spec's verification found, ready for reports.

    `checks` maps each check that ran (`gradient`, `descent`, `convergence`,
    `hessian`, `convex`) to its CheckResult; `passed` is True when all passed.
    """

    spec: Spec
    seed: int
    checks: dict[str, CheckResult]
    parameter_names: list[str]
    objective_formula: str
    gradient_formulas: list[str]
    nondifferentiable: list[str]      # expressions that are zero where L has a kink
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    report_dir: Path | None = None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks.values())

    @property
    def name(self) -> str:
        return self.spec.name

    def to_json(self) -> dict[str, Any]:
        """The report.json document (DESIGN.md's keys, and more)."""
        return {
            "spec": self.spec.name,
            "path": str(self.spec.path),
            "description": self.spec.description,
            "passed": self.passed,
            "seed": self.seed,
            "parameters": self.parameter_names,
            "objective": self.objective_formula,
            "gradient": dict(zip(self.parameter_names, self.gradient_formulas, strict=True)),
            "nondifferentiable": self.nondifferentiable,
            "warnings": self.warnings,
            "checks": {name: check.to_json() for name, check in self.checks.items()},
            "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()},
        }


Progress = Callable[[str, int, int], None]   # (what, done, total)
CheckDone = Callable[[CheckResult], None]


def verify(spec_or_path: Spec | str | Path, report_dir: str | Path | None = "reports",
           seed: int = 0, *, examples: int | None = None, progress: Progress | None = None,
           on_check: CheckDone | None = None, problem: Problem | None = None,
           against: UserGradient | None = None, against_label: str = "") -> Verification:
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
    context = Context(spec, problem, seed, examples, progress)
    runners = [(name, check.run) for name, check in CHECKS.items() if check.enabled(spec)]
    if against is not None:
        runners.append(("against", partial(against_check.run, function=against,
                                           label=against_label)))
    results: dict[str, CheckResult] = {}
    for name, run in runners:
        start = time.perf_counter()
        result = run(context)
        result.seconds = time.perf_counter() - start
        timings[name] = result.seconds
        results[name] = result
        if on_check is not None:
            on_check(result)
    verification = Verification(
        spec=spec, seed=seed, checks=results,
        parameter_names=problem.parameter_names,
        objective_formula=formula(problem.objective_expression),
        gradient_formulas=[formula(g) for g in problem.gradient_expressions],
        nondifferentiable=[f"{formula(k)} = 0" for k in problem.symbolic.kinks],
        warnings=problem.warnings + _kink_warning(problem),
        timings=timings,
    )
    if report_dir is not None:
        verification.report_dir = write_report(verification, Path(report_dir))
    return verification


def compare(spec_or_path: Spec | str | Path, function: UserGradient, *, seed: int = 0,
            examples: int | None = None, problem: Problem | None = None) -> CheckResult:
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
    return against_check.run(Context(spec, problem, seed, examples), function)


def _kink_warning(problem: Problem) -> list[str]:
    kinks = problem.symbolic.kinks
    if not kinks:
        return []
    shown = ", ".join(f"{formula(k)} = 0" for k in kinks[:3])
    more = f" (and {len(kinks) - 3} more)" if len(kinks) > 3 else ""
    return [f"the objective is not differentiable where {shown}{more}; gradient checks skip "
            "points whose finite-difference stencil crosses such a point"]
