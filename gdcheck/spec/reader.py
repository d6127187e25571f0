"""YAML spec text → the frozen dataclasses of `model.py`, each field with its file and line.

Nothing after this module touches raw YAML. Expressions are kept as text
(`Text`, with their location) and parsed later by `gdcheck.symbolic`.
"""

from __future__ import annotations

import re
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from .. import defaults
from ..errors import Location, SpecError
from .declarations import read_constants, read_variables
from .fields import (
    Fields,
    boolean,
    choice,
    mapping_of,
    number,
    plain,
    text,
    unknown_key,
)
from .model import (
    CHECK_KEYS,
    Checks,
    Expect,
    Optimizer,
    Spec,
    Text,
)
from .source import describe, parse_yaml, read_text
from .sources import data_source

FORMAT_VERSION = defaults.FORMAT_VERSION
MAX_SCALARS = defaults.MAX_SCALARS
_SPEC_NAME = re.compile(r"^[a-z0-9_-]+$")


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
    constants = read_constants(top, declared)
    parameters = read_variables(top, "parameters", declared, with_init=True, required=True)
    size = sum(p.size for p in parameters)
    if size > defaults.MAX_PARAMETERS:
        raise SpecError(top.at("parameters"), f"{size:,} scalar parameters; at most "
                        f"{defaults.MAX_PARAMETERS:,} are allowed")
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
    inputs = read_variables(top, "inputs", declared, with_init=False, required=False)
    targets = read_variables(top, "target", declared, with_init=False, required=False)
    if objective is None and len(targets) != 1:
        raise SpecError(top.at("target"), f"declares {len(targets)} entries; "
                        "expected exactly one target")
    return Spec(
        name=name,
        path=path,
        description=top.get("description", text, ""),
        constants=constants.numbers,
        constant_locations=constants.number_locations,
        arrays=constants.arrays,
        array_locations=constants.array_locations,
        parameters=parameters,
        inputs=inputs,
        target=targets[0] if targets else None,
        model=top.get("model", expression),
        loss=top.get("loss", expression),
        reduction=top.get("reduction", choice("mean", "sum"), defaults.REDUCTION),
        penalty=top.get("penalty", expression),
        objective=objective,
        data=data_source(top, path) if top.has("data") else None,
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


OPTIMIZER_METHODS = ("gd", "momentum", "nesterov", "adam", "proximal_gradient")
_RATE = number(0, above=True)


def _optimizer(top: Fields) -> Optimizer:
    if not top.has("optimizer"):
        raise SpecError(top.where.child("optimizer", top.node.line), "missing (required)")
    fields = top.sub("optimizer", ("method", "learning_rate", "steps", "tolerance", "momentum",
                                   "beta1", "beta2", "epsilon", "accelerated"))
    method = fields.required("method", choice(*OPTIMIZER_METHODS))
    extras = {"momentum": ("momentum", "nesterov"), "beta1": ("adam",), "beta2": ("adam",),
              "epsilon": ("adam",), "accelerated": ("proximal_gradient",)}
    for key, methods in extras.items():
        if fields.has(key) and method not in methods:
            raise SpecError(fields.at(key), f"'{key}' applies to method "
                            f"{' or '.join(methods)}, not '{method}'")
    below_one = number(0, high=1)
    if not fields.has("learning_rate"):
        fields.required("learning_rate", _RATE)
    schedule = (_schedule(fields.sub("learning_rate", _SCHEDULE_KEYS))
                if isinstance(fields.raw("learning_rate"), dict)
                else {"learning_rate": fields.get("learning_rate", _RATE)})
    return Optimizer(
        method=method,
        **schedule,
        accelerated=fields.get("accelerated", boolean, False),
        steps=fields.required("steps", number(1, integer=True, high=defaults.MAX_STEPS)),
        tolerance=fields.get("tolerance", number(0), defaults.TOLERANCE),
        momentum=fields.get("momentum", below_one, defaults.MOMENTUM),
        beta1=fields.get("beta1", below_one, defaults.BETA1),
        beta2=fields.get("beta2", below_one, defaults.BETA2),
        epsilon=fields.get("epsilon", number(0, above=True), defaults.EPSILON),
        location=fields.where,
    )


_SCHEDULE_KEYS = ("initial", "schedule", "every", "factor", "final")
# the settings each schedule takes beyond `initial`
_SCHEDULE_SETTINGS = {"step": ("every", "factor"), "cosine": ("final",)}


def _schedule(fields: Fields) -> dict[str, Any]:
    """`learning_rate: {initial: 0.1, schedule: inverse_sqrt, ...}` as Optimizer fields."""
    schedule = fields.get("schedule", choice(*defaults.SCHEDULES), "constant")
    for key in ("every", "factor", "final"):
        takes = [name for name, keys in _SCHEDULE_SETTINGS.items() if key in keys]
        if fields.has(key) and schedule not in takes:
            raise SpecError(fields.at(key), f"'{key}' applies to schedule {takes[0]}, "
                            f"not '{schedule}'")
    initial = fields.required("initial", _RATE)
    final = fields.get("final", number(0), 0.0)
    if final > initial:
        raise SpecError(fields.at("final"), f"got {final:g}, expected at most the initial "
                        f"rate {initial:g} (a cosine schedule decays)")
    return {"learning_rate": initial, "schedule": schedule,
            "every": fields.get("every", number(1, integer=True, high=defaults.MAX_STEPS)),
            "factor": fields.get("factor", number(0, above=True, high=1),
                                 defaults.STEP_FACTOR),
            "final": final}


MAX_EXAMPLES = defaults.MAX_EXAMPLES


def _checks(top: Fields) -> Checks:
    if not top.has("checks"):
        return Checks()
    fields = top.sub("checks", CHECK_KEYS)
    return Checks(**{item.name: _check(fields, item.name, item.metadata["settings"])
                     for item in dataclass_fields(Checks) if fields.has(item.name)})


def _check(fields: Fields, key: str, settings: type | None) -> Any:
    """One `checks:` entry: `true`/`false`, empty (the defaults), or a mapping of settings."""
    if settings is None:
        return fields.get(key, boolean)
    value = fields.raw(key)
    if isinstance(value, bool):
        return settings() if value else None
    if value is None:
        return settings()
    validators = {item.name: item.metadata["validator"] for item in dataclass_fields(settings)}
    sub = fields.sub(key, tuple(validators))
    return settings(**{name: sub.get(name, check) for name, check in validators.items()
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
                  tol=fields.get("tol", number(0, above=True), defaults.EXPECT_TOL),
                  location=fields.where)
