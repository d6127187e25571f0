"""Every check by name: `checks:` key (or `against`) → its run(context) function.

Which checks run, and in which order, is the spec's `Checks.enabled()`, then
`against` when a gradient function of the user's is given.
"""

from __future__ import annotations

from collections.abc import Callable

from ..results import CheckResult
from . import against, convergence, convex, descent, gradient, hessian
from .context import Context

CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "gradient": gradient.run,
    "hessian": hessian.run,
    "convex": convex.run,
    "descent": descent.run,
    "convergence": convergence.run,
    "against": against.run,
}


def enabled(context: Context) -> list[str]:
    """The names of the checks to run for `context`, in run order."""
    names = context.spec.checks.enabled()
    return names + ["against"] if context.against is not None else names
