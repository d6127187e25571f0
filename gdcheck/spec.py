"""YAML spec → frozen dataclasses, with the file and line of every field.

Nothing after this module touches raw YAML. Expressions are kept as text
(`Text`, with their location) and parsed by `expressions.py`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .distributions import DEFAULT_INIT, Distribution, parse_distribution
from .errors import Location, SpecError
from .fields import (
    Fields,
    boolean,
    choice,
    mapping_of,
    name_checker,
    number,
    plain,
    text,
    unknown_key,
)
from .yamlsource import Node, describe, parse_yaml, read_text

FORMAT_VERSION = 1
MAX_SCALARS = 100_000
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SPEC_NAME = re.compile(r"^[a-z0-9_-]+$")


# ----------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Text:
    """An expression as written in the spec, with where it was written."""

    text: str
    location: Location


@dataclass(frozen=True)
class Variable:
    """A declared parameter, input or target: a name, a shape and (parameters) an init."""

    name: str
    shape: tuple[int, ...]
    location: Location
    init: Distribution = DEFAULT_INIT

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
    learning_rate: float = 0.01
    steps: int = 1000
    tolerance: float = 0.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    location: Location | None = None


@dataclass(frozen=True)
class ToleranceCheck:
    """`gradient` and `hessian`: compare with finite differences."""

    examples: int = 50
    rtol: float = 1e-6
    atol: float = 1e-9


@dataclass(frozen=True)
class DescentCheck:
    examples: int = 50


@dataclass(frozen=True)
class ConvergenceCheck:
    runs: int = 8
    grad_tol: float = 1e-6


@dataclass(frozen=True)
class Checks:
    gradient: ToleranceCheck | None = ToleranceCheck()
    descent: DescentCheck | None = DescentCheck()
    convergence: ConvergenceCheck | None = ConvergenceCheck()
    hessian: ToleranceCheck | None = None
    convex: bool | None = None


@dataclass(frozen=True)
class Expect:
    minimum: dict[str, Any] | None = None   # name -> number or nested list
    value: float | None = None
    tol: float = 1e-6
    location: Location | None = None


@dataclass(frozen=True)
class Spec:
    name: str
    path: Path
    parameters: tuple[Variable, ...]
    optimizer: Optimizer
    checks: Checks
    description: str = ""
    constants: dict[str, float] = field(default_factory=dict)
    constant_locations: dict[str, Location] = field(default_factory=dict)
    inputs: tuple[Variable, ...] = ()
    target: Variable | None = None
    model: Text | None = None
    loss: Text | None = None
    reduction: str = "mean"
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


# ----------------------------------------------------------------- reading

def expression(value: Any, where: Location) -> Text:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Text(repr(value), where)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(where, f"got {describe(value)}, expected an expression")
    return Text(value, where)


# ----------------------------------------------------------------- the spec


TOP_KEYS = ("gdcheck", "name", "description", "constants", "parameters", "inputs", "target",
            "model", "loss", "reduction", "penalty", "objective", "data", "optimizer",
            "checks", "expect")
SUPERVISED_KEYS = ("model", "loss", "inputs", "target", "data")


def load(path: str | Path) -> Spec:
    """Read and validate a spec file.

    Raises SpecError naming the file, line and field of the first problem.
    Example: `spec = gdcheck.load("specs/logistic.yaml")`.
    """
    path = Path(path)
    return parse(read_text(path), path)


def parse(source: str, path: Path) -> Spec:
    """Validate spec text; `path` names it in errors and anchors relative data paths."""
    file = str(path)
    root = parse_yaml(source, file)
    top = Fields(root, Location(file, root.line, ""), TOP_KEYS)
    top.required("gdcheck", _version)
    name = top.required("name", _spec_name)
    declared: dict[str, Location] = {}
    constants, constant_locations = _constants(top, declared)
    parameters = _variables(top, "parameters", declared, with_init=True, required=True)
    size = sum(p.size for p in parameters)
    if size > MAX_SCALARS:
        raise SpecError(top.at("parameters"), f"{size} scalar parameters; at most "
                        f"{MAX_SCALARS:,} are allowed")
    objective = top.get("objective", expression)
    supervised = [key for key in SUPERVISED_KEYS if top.has(key)]
    if objective is not None and supervised:
        raise SpecError(top.at(supervised[0]), "a spec has either 'objective' or "
                        "model + loss + inputs + target + data, never both")
    if objective is None:
        for key in SUPERVISED_KEYS:
            if not top.has(key):
                raise SpecError(top.where.child(key, root.line),
                                "missing: a spec needs 'objective', or model + loss + inputs "
                                "+ target + data")
    for key in ("reduction",):
        if objective is not None and top.has(key):
            raise SpecError(top.at(key), f"'{key}' applies only to model + loss specs")
    inputs = _variables(top, "inputs", declared, with_init=False, required=False)
    targets = _variables(top, "target", declared, with_init=False, required=False)
    if objective is None and len(targets) != 1:
        raise SpecError(top.at("target"), f"declares {len(targets)} entries; "
                        "expected exactly one target")
    return Spec(
        name=name,
        path=path,
        description=top.get("description", text, ""),
        constants=constants,
        constant_locations=constant_locations,
        parameters=parameters,
        inputs=inputs,
        target=targets[0] if targets else None,
        model=top.get("model", expression),
        loss=top.get("loss", expression),
        reduction=top.get("reduction", choice("mean", "sum"), "mean"),
        penalty=top.get("penalty", expression),
        objective=objective,
        data=_data(top, path) if top.has("data") else None,
        optimizer=_optimizer(top),
        checks=_checks(top),
        expect=_expect(top, {p.name: p.shape for p in parameters}),
    )


def _version(value: Any, where: Location) -> int:
    if value != FORMAT_VERSION or isinstance(value, bool):
        raise SpecError(where, f"got {describe(value)}, expected {FORMAT_VERSION} "
                        "(the spec format version)")
    return FORMAT_VERSION


def _spec_name(value: Any, where: Location) -> str:
    if not isinstance(value, str) or not _SPEC_NAME.match(value) or len(value) > 100:
        raise SpecError(where, f"got {describe(value)}, expected a name of at most 100 "
                        "characters from [a-z0-9_-]")
    return value


def _declare(name: str, where: Location, declared: dict[str, Location], kind: str) -> str:
    name_checker(kind)(name, where)
    if name in declared:
        raise SpecError(where, f"'{name}' is declared twice (first at line {declared[name].line}, "
                        f"as {declared[name].field})")
    declared[name] = where
    return name


def _constants(top: Fields, declared: dict[str, Location]) -> tuple[dict[str, float],
                                                                     dict[str, Location]]:
    if not top.has("constants"):
        return {}, {}
    node = top.items["constants"]
    if not isinstance(node.value, dict):
        raise SpecError(top.at("constants"), f"got {node.kind()}, expected a mapping of "
                        "name: number")
    values, locations = {}, {}
    for name, item in node.value.items():
        where = top.at("constants").child(name, item.line)
        _declare(name, where, declared, "constant")
        values[name] = number()(item.value, where)
        locations[name] = where
    return values, locations


def _variables(top: Fields, key: str, declared: dict[str, Location], *, with_init: bool,
               required: bool) -> tuple[Variable, ...]:
    if not top.has(key):
        if required:
            raise SpecError(top.where.child(key, top.node.line), "missing (required)")
        return ()
    node = top.items[key]
    if not isinstance(node.value, dict) or (required and not node.value):
        raise SpecError(top.at(key), f"got {node.kind()}, expected a mapping of "
                        "name: {shape: [...]}")
    allowed = ("shape", "init") if with_init else ("shape",)
    variables = []
    for name, item in node.value.items():
        where = top.at(key).child(name, item.line)
        _declare(name, where, declared, key.rstrip("s"))
        if item.value is None:
            item = Node({}, item.line)
        if not isinstance(item.value, dict):
            raise SpecError(where, f"got {item.kind()}, expected a mapping such as "
                            "{shape: [2]}")
        fields = Fields(item, where, allowed)
        shape = fields.get("shape", _shape, ())
        init = fields.get("init", parse_distribution, DEFAULT_INIT)
        variables.append(Variable(name, shape, where, init))
    return tuple(variables)


def _shape(value: Any, where: Location) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 2:
        got = f"a list of {len(value)} dimensions" if isinstance(value, list) else describe(value)
        raise SpecError(where, f"got {got}, expected a list of at most two "
                        "non-negative integers ([], [d] or [m, n])")
    dims = tuple(number(0, integer=True, high=MAX_SCALARS)(item.value, where.child(i, item.line))
                 for i, item in enumerate(value))
    if math.prod(dims) > MAX_SCALARS:
        raise SpecError(where, f"shape {list(dims)} has {math.prod(dims):,} entries; at most "
                        f"{MAX_SCALARS:,} are allowed")
    return dims


def _data(top: Fields, path: Path) -> DataSource:
    sources = ("generate", "csv", "npz", "inline")
    data = top.sub("data", sources + ("columns",))
    given = [key for key in sources if data.has(key)]
    if len(given) != 1:
        raise SpecError(data.where, f"got {len(given)} data sources ({', '.join(given) or 'none'}),"
                        f" expected exactly one of: {', '.join(sources)}")
    kind = given[0]
    if data.has("columns") and kind != "csv":
        raise SpecError(data.at("columns"), "'columns' goes with 'csv' only")
    folder = path.parent
    if kind == "generate":
        return _generate(data.sub("generate", ("n", "seed", "inputs", "truth", "noise",
                                               "labels")))
    if kind == "csv":
        columns = data.required("columns", lambda v, w: mapping_of(v, w, "name: column(s)"))
        named: dict[str, tuple[str, ...] | str] = {}
        for name, item in columns.items():
            where = data.at("columns").child(name, item.line)
            if isinstance(item.value, list):
                named[name] = tuple(text(c.value, where.child(i, c.line))
                                    for i, c in enumerate(item.value))
            else:
                named[name] = text(str(item.value) if isinstance(item.value, int)
                                   else item.value, where)
        return CsvData(_data_path(folder, data, "csv"), named, data.at("csv"))
    if kind == "npz":
        return NpzData(_data_path(folder, data, "npz"), data.at("npz"))
    items = data.required("inline", lambda v, w: mapping_of(v, w, "name: values"))
    values = {name: _raw(item) for name, item in items.items()}
    locations = {name: data.at("inline").child(name, item.line) for name, item in items.items()}
    return InlineData(values, locations, data.at("inline"))


def _data_path(folder: Path, data: Fields, key: str) -> Path:
    """A data file's path: relative to the spec's folder and inside it (specs may be untrusted)."""
    written = data.required(key, text)
    relative = Path(written)
    resolved = (folder / relative).resolve()
    if relative.is_absolute() or not resolved.is_relative_to(folder.resolve()):
        raise SpecError(data.at(key), f"got '{written}', expected a path relative to the "
                        "spec's folder and inside it")
    return folder / relative


def _raw(node: Node) -> Any:
    """Plain Python values from a Node tree; data.py validates them with row numbers."""
    if isinstance(node.value, list):
        return [_raw(item) for item in node.value]
    if isinstance(node.value, dict):
        return {key: _raw(item) for key, item in node.value.items()}
    return node.value


def _generate(fields: Fields) -> GenerateData:
    inputs = fields.required("inputs", lambda v, w: mapping_of(v, w, "input: distribution"))
    truth = fields.get("truth", lambda v, w: mapping_of(v, w, "parameter: values"), {})
    return GenerateData(
        n=fields.required("n", number(1, integer=True, high=10_000_000)),
        seed=fields.get("seed", number(0, integer=True), 0),
        inputs={name: parse_distribution(item.value, fields.at("inputs").child(name, item.line))
                for name, item in inputs.items()},
        truth={name: plain(item.value, fields.at("truth").child(name, item.line))
               for name, item in truth.items()},
        noise=fields.get("noise", parse_distribution),
        labels=fields.get("labels", choice("bernoulli", "categorical")),
        location=fields.where,
    )


OPTIMIZER_METHODS = ("gd", "momentum", "nesterov", "adam")


def _optimizer(top: Fields) -> Optimizer:
    if not top.has("optimizer"):
        raise SpecError(top.where.child("optimizer", top.node.line), "missing (required)")
    fields = top.sub("optimizer", ("method", "learning_rate", "steps", "tolerance", "momentum",
                                   "beta1", "beta2", "epsilon"))
    method = fields.required("method", choice(*OPTIMIZER_METHODS))
    extras = {"momentum": ("momentum", "nesterov"), "beta1": ("adam",), "beta2": ("adam",),
              "epsilon": ("adam",)}
    for key, methods in extras.items():
        if fields.has(key) and method not in methods:
            raise SpecError(fields.at(key), f"'{key}' applies to method "
                            f"{' or '.join(methods)}, not '{method}'")
    below_one = number(0, high=1)
    return Optimizer(
        method=method,
        learning_rate=fields.required("learning_rate", number(0, above=True)),
        steps=fields.required("steps", number(1, integer=True, high=100_000_000)),
        tolerance=fields.get("tolerance", number(0), 0.0),
        momentum=fields.get("momentum", below_one, 0.9),
        beta1=fields.get("beta1", below_one, 0.9),
        beta2=fields.get("beta2", below_one, 0.999),
        epsilon=fields.get("epsilon", number(0, above=True), 1e-8),
        location=fields.where,
    )


CHECK_KEYS = ("gradient", "descent", "convergence", "hessian", "convex")
MAX_EXAMPLES = 100_000


def _checks(top: Fields) -> Checks:
    if not top.has("checks"):
        return Checks()
    fields = top.sub("checks", CHECK_KEYS)
    examples = number(1, integer=True, high=MAX_EXAMPLES)
    tolerances = {"examples": examples, "rtol": number(0), "atol": number(0)}
    return Checks(
        gradient=_check(fields, "gradient", ToleranceCheck, tolerances, on=True),
        descent=_check(fields, "descent", DescentCheck, {"examples": examples}, on=True),
        convergence=_check(fields, "convergence", ConvergenceCheck,
                           {"runs": number(1, integer=True, high=10_000),
                            "grad_tol": number(0)}, on=True),
        hessian=_check(fields, "hessian", ToleranceCheck, tolerances, on=False),
        convex=fields.get("convex", boolean),
    )


def _check(fields: Fields, key: str, kind: type, checkers: dict[str, Callable[[Any, Location],
                                                                              Any]],
           *, on: bool) -> Any:
    if not fields.has(key):
        return kind() if on else None
    value = fields.raw(key)
    if isinstance(value, bool):
        return kind() if value else None
    if value is None:
        return kind()
    sub = fields.sub(key, tuple(checkers))
    return kind(**{name: sub.get(name, check) for name, check in checkers.items()
                   if sub.has(name)})


def _nested_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of a number or nested list of numbers; None when ragged."""
    if not isinstance(value, list):
        return ()
    shapes = {_nested_shape(item) for item in value}
    if len(shapes) > 1 or None in shapes:
        return None
    inner = shapes.pop() if shapes else ()
    return None if inner is None else (len(value),) + inner


def _expect(top: Fields, parameters: dict[str, tuple[int, ...]]) -> Expect | None:
    if not top.has("expect"):
        return None
    fields = top.sub("expect", ("minimum", "value", "tol"))
    minimum = None
    if fields.has("minimum"):
        raw = mapping_of(fields.raw("minimum"), fields.at("minimum"), "parameter: values")
        minimum = {}
        for name, item in raw.items():
            where = fields.at("minimum").child(name, item.line)
            if name not in parameters:
                raise SpecError(where, unknown_key(name, "expect.minimum",
                                                   tuple(sorted(parameters))))
            minimum[name] = plain(item.value, where)
            shape = _nested_shape(minimum[name])
            if shape is None:
                raise SpecError(where, "is ragged: its rows have different lengths")
            if shape != parameters[name]:
                raise SpecError(where, f"got shape {list(shape) if shape else '[]'}, but "
                                f"parameter '{name}' has shape {list(parameters[name])}")
    return Expect(minimum=minimum, value=fields.get("value", number()),
                  tol=fields.get("tol", number(0, above=True), 1e-6), location=fields.where)
