"""Typed reading of a YAML mapping: each getter checks a value and, when it is wrong,
raises a SpecError naming the file, line and field, the value and what was expected."""

from __future__ import annotations

import keyword
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from ..errors import Location, SpecError, did_you_mean
from .source import Node, describe
from .vocabulary import RESERVED_NAMES

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

class Fields:
    """A YAML mapping being read: typed getters that raise located SpecErrors."""

    def __init__(self, node: Node, where: Location, allowed: tuple[str, ...]):
        self.node = node
        self.where = where
        self.items: dict[str, Node] = node.value
        for key in self.items:
            if key not in allowed:
                raise SpecError(self.at(key), unknown_key(key, where.field, allowed))

    def at(self, key: str) -> Location:
        line = self.items[key].line if key in self.items else self.node.line
        return self.where.child(key, line)

    def has(self, key: str) -> bool:
        return key in self.items

    def raw(self, key: str) -> Any:
        return self.items[key].value if key in self.items else None

    def get(self, key: str, check: Callable[[Any, Location], Any], default: Any = None) -> Any:
        if key not in self.items:
            return default
        return check(self.items[key].value, self.at(key))

    def required(self, key: str, check: Callable[[Any, Location], Any]) -> Any:
        if key not in self.items:
            raise SpecError(self.where.child(key, self.node.line), "missing (required)")
        return check(self.items[key].value, self.at(key))

    def sub(self, key: str, allowed: tuple[str, ...]) -> Fields:
        node = self.items[key]
        if not isinstance(node.value, dict):
            raise SpecError(self.at(key), f"got {node.kind()}, expected a mapping")
        return Fields(node, self.at(key), allowed)


def unknown_key(key: str, parent: str, allowed: tuple[str, ...]) -> str:
    where = f" in {parent}" if parent else ""
    hint = did_you_mean(key, allowed) or f"; expected one of: {', '.join(allowed)}"
    return f"unknown key '{key}'{where}{hint}"


def number(low: float | None = None, *, above: bool = False, integer: bool = False,
           high: float | None = None) -> Callable[[Any, Location], Any]:
    """A checker for a number, optionally an integer, within bounds."""
    bound = ""
    if low is not None:
        bound = f" {'>' if above else '>='} {low:g}"
    if high is not None:
        bound += f"{' and' if bound else ''} <= {high:g}"
    kind = "an integer" if integer else "a number"

    def check(value: Any, where: Location) -> Any:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and integer and isinstance(value, float):
            ok = value.is_integer() and math.isfinite(value)
            value = int(value) if ok else value
        if ok and isinstance(value, int):   # a Python int has any number of digits
            ok = abs(value) <= sys.float_info.max
        elif ok and not math.isfinite(value):
            ok = False
        if ok and low is not None:
            ok = value > low if above else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            raise SpecError(where, f"got {describe(value)}, expected {kind}{bound}")
        return int(value) if integer else float(value)

    return check


def text(value: Any, where: Location) -> str:
    if not isinstance(value, str):
        raise SpecError(where, f"got {describe(value)}, expected text")
    return value




def choice(*options: str) -> Callable[[Any, Location], str]:
    def check(value: Any, where: Location) -> str:
        if value not in options:
            raise SpecError(where, f"got {describe(value)}, expected one of: "
                            f"{', '.join(options)}{did_you_mean(value, options)}")
        return value

    return check


def plain(value: Any, where: Location) -> Any:
    """A number or a (nested) list of numbers, returned as plain Python values."""
    if isinstance(value, list):
        return [plain(item.value, where.child(i, item.line)) for i, item in enumerate(value)]
    return number()(value, where)


def name_checker(kind: str) -> Callable[[str, Location], str]:
    def check(name: str, where: Location) -> str:
        if not _IDENTIFIER.match(name):
            raise SpecError(where, f"{kind} name '{name}' is not an ASCII identifier "
                            "([A-Za-z][A-Za-z0-9_]*)")
        if keyword.iskeyword(name) or keyword.issoftkeyword(name):
            raise SpecError(where, f"{kind} name '{name}' is a Python keyword; choose another")
        if name in RESERVED_NAMES:
            raise SpecError(where, f"{kind} name '{name}' is reserved (a function or constant "
                            "of the expression language); choose another")
        return name

    return check


def boolean(value: Any, where: Location) -> bool:
    if not isinstance(value, bool):
        raise SpecError(where, f"got {describe(value)}, expected true or false")
    return value


def mapping_of(value: Any, where: Location, what: str) -> dict[str, Node]:
    if not isinstance(value, dict):
        raise SpecError(where, f"got {describe(value)}, expected a mapping of {what}")
    return value
