"""The checks in the order they run: `checks:` key → module with enabled() and run()."""

from __future__ import annotations

from types import ModuleType

from . import convergence, convex, descent, gradient, hessian

CHECKS: dict[str, ModuleType] = {
    "gradient": gradient,
    "hessian": hessian,
    "convex": convex,
    "descent": descent,
    "convergence": convergence,
}
