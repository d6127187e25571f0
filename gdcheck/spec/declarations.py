"""The names a spec declares: its constants (numbers and arrays), parameters, inputs and
target, each declared once, with its shape and, for an input of integer ids, their range."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import defaults
from ..errors import Location, SpecError
from .distributions import DEFAULT_INIT, parse_distribution
from .fields import Fields, check_key, choice, name_checker, number
from .model import Variable
from .source import Node, describe

if TYPE_CHECKING:  # numpy is imported only when a spec has an array constant
    import numpy as np

MAX_SCALARS = defaults.MAX_SCALARS
MAX_SHAPE_RANK = defaults.MAX_SHAPE_RANK
MAX_ID_RANGE = 10**9   # the `range` of an integer input: ids 0 .. range - 1
DTYPES = ("float", "int")


def declare(name: str, where: Location, declared: dict[str, Location], kind: str) -> str:
    """Check a name and record it: every name is declared once across the spec."""
    name_checker(kind)(name, where)
    if name in declared:
        raise SpecError(where, f"'{name}' is declared twice (first at line {declared[name].line}, "
                        f"as {declared[name].field})")
    declared[name] = where
    return name


# ----------------------------------------------------------------- constants


@dataclass(frozen=True)
class Constants:
    """`constants:` split by kind: numbers, and arrays (a nested list of numbers)."""

    numbers: dict[str, float] = field(default_factory=dict)
    number_locations: dict[str, Location] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    array_locations: dict[str, Location] = field(default_factory=dict)


def read_constants(top: Fields, declared: dict[str, Location]) -> Constants:
    if not top.has("constants"):
        return Constants()
    node = top.items["constants"]
    if not isinstance(node.value, dict):
        raise SpecError(top.at("constants"), f"got {node.kind()}, expected a mapping of "
                        "name: number (or a list of numbers)")
    numbers, number_locations, arrays, array_locations = {}, {}, {}, {}
    for name, item in node.value.items():
        check_key(name, top.at("constants"), item.line)
        where = top.at("constants").child(name, item.line)
        declare(name, where, declared, "constant")
        if isinstance(item.value, list):
            arrays[name], array_locations[name] = constant_array(item, where), where
        else:
            numbers[name], number_locations[name] = number()(item.value, where), where
    return Constants(numbers, number_locations, arrays, array_locations)


def constant_array(node: Node, where: Location) -> np.ndarray:
    """A nested list of finite numbers, rows of one length, as a read-only float64 array."""
    entries: list[float] = []
    shape = _rows(node, where, entries, depth=1)
    if len(entries) > MAX_SCALARS:
        raise SpecError(where, f"has {len(entries):,} entries; at most {MAX_SCALARS:,} are "
                        "allowed")
    import numpy as np

    array = np.array(entries, dtype=float).reshape(shape)
    array.setflags(write=False)
    return array


def _rows(node: Node, where: Location, entries: list[float], depth: int) -> tuple[int, ...]:
    """The shape of a list node, its numbers appended to `entries` row-major."""
    if not node.value:
        raise SpecError(where, "got an empty list, expected numbers: an array constant is a "
                        "(nested) list of numbers, such as [1, -2, 1] or [[2, 0.5], [0.5, 1]]")
    if depth > MAX_SHAPE_RANK:
        raise SpecError(where, f"is nested more than {MAX_SHAPE_RANK} deep; an array constant "
                        f"has at most {MAX_SHAPE_RANK} dimensions")
    shapes = []
    for i, item in enumerate(node.value):
        at = where.child(i, item.line)
        if isinstance(item.value, list):
            shapes.append(_rows(item, at, entries, depth + 1))
        else:
            entries.append(_entry(item.value, at))
            shapes.append(())
        if shapes[-1] != shapes[0]:
            raise SpecError(Location(where.file, item.line, where.field),
                            f"is ragged: {_ragged(i + 1, shapes[-1], shapes[0])}; every row of "
                            "an array needs the same shape")
    return (len(shapes), *shapes[0])


def _entry(value: Any, where: Location) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(where, f"got {describe(value)}, expected a finite number")
    return number()(value, where)


def _ragged(row: int, shape: tuple[int, ...], first: tuple[int, ...]) -> str:
    """`row 2 has 3 entries, row 1 has 2`; rows are counted from 1."""
    if len(shape) == len(first) == 1:
        entries = "entry" if shape[0] == 1 else "entries"
        return f"row {row} has {shape[0]} {entries}, row 1 has {first[0]}"
    return f"row {row} {_form(shape)}, row 1 {_form(first)}"


def _form(shape: tuple[int, ...]) -> str:
    if not shape:
        return "is a number"
    return f"is a list of {shape[0]}" if len(shape) == 1 else f"has shape {list(shape)}"


# ----------------------------------------------------------------- parameters, inputs, target


def read_variables(top: Fields, key: str, declared: dict[str, Location], *, with_init: bool,
                   required: bool) -> tuple[Variable, ...]:
    if not top.has(key):
        if required:
            raise SpecError(top.where.child(key, top.node.line), "missing (required)")
        return ()
    node = top.items[key]
    if not isinstance(node.value, dict) or (required and not node.value):
        raise SpecError(top.at(key), f"got {node.kind()}, expected a mapping of "
                        "name: {shape: [...]}")
    # dtype and range are read on parameters and the target too, to say only inputs take them
    allowed = ("shape", "init", "dtype", "range") if with_init else ("shape", "dtype", "range")
    kind = key.rstrip("s")
    variables = []
    for name, item in node.value.items():
        check_key(name, top.at(key), item.line)
        where = top.at(key).child(name, item.line)
        declare(name, where, declared, kind)
        if item.value is None:
            item = Node({}, item.line)
        if not isinstance(item.value, dict):
            raise SpecError(where, f"got {item.kind()}, expected a mapping such as "
                            "{shape: [2]}")
        fields = Fields(item, where, allowed)
        shape = fields.get("shape", read_shape, ())
        init = fields.get("init", parse_distribution, DEFAULT_INIT)
        dtype, ids = _dtype(fields, kind)
        variables.append(Variable(name, shape, where, init, dtype, ids))
    return tuple(variables)


def _dtype(fields: Fields, kind: str) -> tuple[str, int | None]:
    """`dtype` and `range`: a float, or (inputs only) integer ids in 0 .. range - 1."""
    for key in ("dtype", "range"):
        if fields.has(key) and kind != "input":
            raise SpecError(fields.at(key), f"only inputs can hold integer ids; a {kind} is "
                            f"always a float (leave out '{key}')")
    dtype = fields.get("dtype", choice(*DTYPES), "float")
    if dtype == "int" and not fields.has("range"):
        raise SpecError(fields.where.child("range", fields.node.line), "missing (required "
                        "with dtype: int): the number of ids, each value in 0 .. range - 1")
    if dtype != "int" and fields.has("range"):
        raise SpecError(fields.at("range"), "'range' goes with 'dtype: int' only: the number "
                        "of integer ids an input holds")
    return dtype, fields.get("range", number(1, integer=True, high=MAX_ID_RANGE))


def read_shape(value: Any, where: Location) -> tuple[int, ...]:
    expected = (f"at most {MAX_SHAPE_RANK} dimensions, each a non-negative integer ([] a "
                "scalar, [d] a vector, [m, n] a matrix, [a, b, c] ...)")
    if not isinstance(value, list):
        raise SpecError(where, f"got {describe(value)}, expected a list of {expected}")
    if len(value) > MAX_SHAPE_RANK:
        raise SpecError(where, f"got a list of {len(value)} dimensions; a shape has {expected}")
    dims = tuple(number(0, integer=True, high=MAX_SCALARS)(item.value, where.child(i, item.line))
                 for i, item in enumerate(value))
    if math.prod(dims) > MAX_SCALARS:
        raise SpecError(where, f"shape {list(dims)} has {math.prod(dims):,} entries; at most "
                        f"{MAX_SCALARS:,} are allowed")
    return dims
