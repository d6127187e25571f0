"""What a verification finds, as frozen values: a check's result, a spec's verification,
a spec that could not be verified, the totals of a run, and the events of a run.

Every stage after the checks (reports, the runner, the command line, the pytest
plugin) reads these and nothing else; none of them is changed once made (a new
one is made with `dataclasses.replace`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .spec import Spec


@dataclass(frozen=True)
class Counterexample:
    """The point where a check failed, what went wrong there, and how to replay it."""

    point: dict[str, Any]          # parameter name -> value (number or nested list)
    detail: str
    replay: str

    def to_json(self) -> dict[str, Any]:
        return {"point": self.point, "detail": self.detail, "replay": self.replay}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    `details` holds the JSON keys beside `passed` and `counterexample`
    (`examples`, `max_abs_error`, `runs`, ...); `curves` holds per-run series
    for plots (`{"loss": [array, ...], "grad_norm": [...]}`).
    """

    name: str
    passed: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    counterexample: Counterexample | None = None
    warnings: list[str] = field(default_factory=list)
    curves: dict[str, list[np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        counterexample = self.counterexample.to_json() if self.counterexample else None
        return {"passed": self.passed, **self.details, "counterexample": counterexample,
                "summary": self.summary, "warnings": list(self.warnings)}


@dataclass(frozen=True)
class Verification:
    """Everything one spec's verification found, ready for reports.

    `checks` maps each check that ran (`gradient`, `descent`, `convergence`,
    `hessian`, `convex`, `against`) to its CheckResult; `passed` is True when
    all passed. `learning_rate_map` is the learning-rate map as report.json holds it
    (`{"rates": [...], "final_loss": [...], ..., "verdict": ...}`, or `{"skipped": why}`;
    None: not computed). `report_dir` is the folder its report was written to, if any.
    """

    spec: Spec
    seed: int
    checks: dict[str, CheckResult]
    parameter_names: list[str]
    objective_formula: str
    gradient_formulas: dict[str, str]   # parameter name → ∂L/∂parameter, in matrix notation
    nondifferentiable: list[str]      # expressions that are zero where L has a kink
    warnings: list[str] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)   # "t1 = ...", used by the formulas
    timings: dict[str, float] = field(default_factory=dict)
    learning_rate_map: dict[str, Any] | None = None
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
            "gradient": dict(self.gradient_formulas),
            "definitions": list(self.definitions),
            "nondifferentiable": self.nondifferentiable,
            "warnings": self.warnings,
            "checks": {name: check.to_json() for name, check in self.checks.items()},
            "learning_rate_map": self.learning_rate_map if self.learning_rate_map is not None
            else {"skipped": "no learning-rate map was computed"},
        }

    def timings_json(self) -> dict[str, Any]:
        """timings.json: seconds per step. Apart from report.json and report.md, which the
        same seed makes byte-identical from run to run."""
        return {"spec": self.spec.name,
                "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()}}


@dataclass(frozen=True)
class SpecFailure:
    """A spec that could not be loaded, compiled or verified: its path and the error message."""

    path: str
    message: str


Outcome = Verification | SpecFailure


def counted(number: int, noun: str) -> str:
    """'1 spec', '3 specs', '0 errors': the one wording of counts."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class RunTotals:
    """How a run of many specs went: passed, failed (a check found a defect), errors."""

    specs: int
    passed: int
    failed: int
    errors: int

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> RunTotals:
        outcomes = list(outcomes)
        errors = sum(isinstance(outcome, SpecFailure) for outcome in outcomes)
        passed = sum(isinstance(outcome, Verification) and outcome.passed
                     for outcome in outcomes)
        return cls(len(outcomes), passed, len(outcomes) - passed - errors, errors)

    @property
    def exit_status(self) -> int:
        """2 if a spec could not be verified, else 1 if a check failed, else 0."""
        return 2 if self.errors else 1 if self.failed else 0

    def __str__(self) -> str:
        return (f"{counted(self.specs, 'spec')}: {self.passed} passed, {self.failed} failed, "
                f"{counted(self.errors, 'error')}")


# -- the events of a run, as the runner hands them out spec by spec


@dataclass(frozen=True)
class Progress:
    """A long step of a check is under way: `done` of `total` (e.g. descent steps)."""

    what: str
    done: int
    total: int


@dataclass(frozen=True)
class CheckFinished:
    result: CheckResult


@dataclass(frozen=True)
class Finished:
    """The spec's verification ended: `outcome` is its Verification or its SpecFailure."""

    outcome: Outcome


Event = Progress | CheckFinished | Finished
