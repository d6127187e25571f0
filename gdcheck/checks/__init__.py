"""The checks of a spec, one module per `checks:` key, and the result they share.

Each check module exposes `run(context) -> CheckResult`; `CHECKS` lists them in
the order they run. A check never raises for a numeric fault: NaN, overflow
and divergence are failed results naming the step and the point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Counterexample:
    """The point where a check failed, what went wrong there, and how to replay it."""

    point: dict[str, Any]          # parameter name -> value (number or nested list)
    detail: str
    replay: str

    def to_json(self) -> dict[str, Any]:
        return {"point": self.point, "detail": self.detail, "replay": self.replay}


@dataclass
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
