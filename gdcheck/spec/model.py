"""A spec as frozen dataclasses: what `load` returns and every later stage reads.

Each check's settings are one class here; its fields carry their defaults and
the validator `reader.py` applies (`setting(default, validator)`), and `Checks`
has one field per `checks:` key, in the order the checks run, whose default
says whether the check is on when a spec does not mention it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..errors import Location
from .distributions import DEFAULT_INIT, Distribution
from .fields import choice, number

if TYPE_CHECKING:  # an array constant's value; reading a spec without one needs no numpy
    import numpy as np


@dataclass(frozen=True)
class Text:
    """An expression as written in the spec, with where it was written."""

    text: str
    location: Location


@dataclass(frozen=True)
class Variable:
    """A declared parameter, input or target: a name, a shape and (parameters) an init.

    An input of dtype "int" holds integer ids (tokens for a lookup), each in 0 .. range - 1;
    its data are float64 arrays of whole numbers all the same.
    """

    name: str
    shape: tuple[int, ...]
    location: Location
    init: Distribution = DEFAULT_INIT
    dtype: str = "float"           # "float", or "int" (inputs only)
    range: int | None = None       # dtype "int": the number of ids

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class GenerateData:
    n: int
    seed: int
    inputs: dict[str, Distribution]
    truth: dict[str, Any]          # name -> number or nested list, as written
    noise: Distribution | None
    labels: str | None             # None, "bernoulli" or "categorical"
    location: Location


@dataclass(frozen=True)
class CsvData:
    path: Path                     # resolved against the spec's folder
    columns: dict[str, tuple[str, ...] | str]   # a list of columns, or one column
    location: Location


@dataclass(frozen=True)
class NpzData:
    path: Path
    location: Location


@dataclass(frozen=True)
class InlineData:
    values: dict[str, Any]         # name -> number or nested list, as written
    locations: dict[str, Location]
    location: Location


DataSource = GenerateData | CsvData | NpzData | InlineData


@dataclass(frozen=True)
class Optimizer:
    method: str = "gd"
    learning_rate: float = defaults.LEARNING_RATE
    steps: int = defaults.STEPS
    tolerance: float = defaults.TOLERANCE
    momentum: float = defaults.MOMENTUM
    beta1: float = defaults.BETA1
    beta2: float = defaults.BETA2
    epsilon: float = defaults.EPSILON
    location: Location | None = None
    schedule: str = "constant"     # how the learning rate changes with the update t
    every: int | None = None       # `step`: updates between decays (None: steps // 10)
    factor: float = defaults.STEP_FACTOR   # `step`: the decay per `every` updates
    final: float = 0.0             # `cosine`: the rate at the last update
    accelerated: bool = False      # proximal_gradient: FISTA instead of ISTA


def setting(default: Any, validator: Any) -> Any:
    """A settings field: its default and the validator that reads it from the spec."""
    return field(default=default, metadata={"validator": validator})


_EXAMPLES = number(1, integer=True, high=defaults.MAX_EXAMPLES)


@dataclass(frozen=True)
class ToleranceCheck:
    """`gradient` and `hessian`: compare with finite differences."""

    examples: int = setting(defaults.EXAMPLES, _EXAMPLES)
    rtol: float = setting(defaults.RTOL, number(0))
    atol: float = setting(defaults.ATOL, number(0))


@dataclass(frozen=True)
class DescentCheck:
    examples: int = setting(defaults.EXAMPLES, _EXAMPLES)


@dataclass(frozen=True)
class ConvergenceCheck:
    runs: int = setting(defaults.RUNS, number(1, integer=True, high=defaults.MAX_RUNS))
    grad_tol: float = setting(defaults.GRAD_TOL, number(0))
    # what "converged" means: `gradient` (its norm, or for proximal_gradient the gradient
    # mapping's, below grad_tol), `objective` (it stopped decreasing, within loss_tol), or
    # `auto`: `objective` where the objective has kinks and the method is not proximal
    criterion: str = setting("auto", choice("auto", "gradient", "objective"))
    loss_tol: float = setting(defaults.LOSS_TOL, number(0))


def check(settings: type | None, on: bool) -> Any:
    """A `Checks` field: the settings class (None: a plain true/false) and whether the check
    runs when the spec does not mention it."""
    default = settings() if on and settings is not None else None
    return field(default=default, metadata={"settings": settings})


@dataclass(frozen=True)
class Checks:
    """One field per `checks:` key, in the order the checks run; None means off."""

    gradient: ToleranceCheck | None = check(ToleranceCheck, on=True)
    hessian: ToleranceCheck | None = check(ToleranceCheck, on=False)
    convex: bool | None = check(None, on=False)
    descent: DescentCheck | None = check(DescentCheck, on=True)
    convergence: ConvergenceCheck | None = check(ConvergenceCheck, on=True)

    def enabled(self) -> list[str]:
        """The names of the checks that run, in run order."""
        return [item.name for item in fields(self) if getattr(self, item.name) is not None]


CHECK_KEYS = tuple(item.name for item in fields(Checks))


@dataclass(frozen=True)
class Expect:
    minimum: dict[str, Any] | None = None   # name -> number or nested list
    value: float | None = None
    tol: float = defaults.EXPECT_TOL
    location: Location | None = None


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    parameters: tuple[Variable, ...]
    optimizer: Optimizer
    checks: Checks
    description: str = ""
    constants: dict[str, float] = field(default_factory=dict)   # the scalar constants
    constant_locations: dict[str, Location] = field(default_factory=dict)
    # the array constants (a nested list in `constants:`): read-only float64, in order
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    array_locations: dict[str, Location] = field(default_factory=dict)
    inputs: tuple[Variable, ...] = ()
    target: Variable | None = None
    model: Text | None = None
    loss: Text | None = None
    reduction: str = defaults.REDUCTION
    penalty: Text | None = None
    objective: Text | None = None
    data: DataSource | None = None
    expect: Expect | None = None

    @property
    def kind(self) -> str:
        """'objective' for a bare objective, 'supervised' for model + loss + data."""
        return "objective" if self.objective is not None else "supervised"

    @property
    def parameter_size(self) -> int:
        return sum(p.size for p in self.parameters)
