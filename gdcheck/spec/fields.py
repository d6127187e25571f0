"""Typed reading of a YAML mapping: each getter checks a value and, when it is wrong,
raises a SpecError naming the file, line and field, the value and what was expected."""

from __future__ import annotations

import keyword
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from ..errors import Location, SpecError, did_you_mean, excerpt
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
            check_key(key, where, self.items[key].line)
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
    return f"unknown key '{excerpt(key)}'{where}{hint}"


FLOAT_MAX = sys.float_info.max
# An integer a spec may give with no smaller bound of its own (a seed): what an int64 holds,
# which numpy (a seed, an array) and every later stage take without overflowing.
INTEGER_MAX = 2**63 - 1


def _bound_text(value: float, integer: bool) -> str:
    return f"{int(value):,}" if integer else f"{value:.4g}"


def number(low: float | None = None, *, above: bool = False, integer: bool = False,
           high: float | None = None) -> Callable[[Any, Location], Any]:
    """A checker for a number, optionally an integer, within bounds.

    Every number is bounded where it is read, never where it is used: a float is finite
    (at most FLOAT_MAX in magnitude), an integer at most `high` or else INTEGER_MAX, and
    the message states the range. A value is quoted only as an excerpt (400 digits are not).
    """
    widest = INTEGER_MAX if integer else FLOAT_MAX
    top = widest if high is None else high
    bottom = -widest if low is None else low
    kind = "an integer" if integer else "a number"
    if low is None and high is None:
        expected = f"{kind} between {_bound_text(bottom, integer)} and {_bound_text(top, integer)}"
    else:
        expected = (f"{kind} {'>' if above else '>='} {_bound_text(bottom, integer)} and "
                    f"<= {_bound_text(top, integer)}")

    def check(value: Any, where: Location) -> Any:
        if not _within(value, integer, bottom, above and low is not None, top):
            raise SpecError(where, f"got {describe(value)}, expected {expected}")
        return int(value) if integer else float(value)

    return check


def _within(value: Any, integer: bool, low: float, above: bool, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if integer and isinstance(value, float) and not value.is_integer():
        return False
    # compared as they are: a Python int has any number of digits, and float() of 10**400
    # would raise; int and float compare exactly
    return (value > low if above else value >= low) and value <= high


def text(value: Any, where: Location) -> str:
    if not isinstance(value, str):
        raise SpecError(where, f"got {describe(value)}, expected text")
    check_characters(value, where, "the text")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_characters(value: str, where: Location, what: str) -> None:
    """Refuse a lone surrogate (YAML's "\\ud800" escape makes one): it is no character,
    and no file, terminal or report can hold it as text."""
    found = _SURROGATE.search(value)
    if found:
        raise SpecError(where, f"{what} holds a lone surrogate {_escaped(found.group())} at "
                        f"character {found.start() + 1}, which is not a character; write the "
                        "character itself (as UTF-8) or leave it out")


def check_key(key: str, parent: Location, line: int) -> None:
    """A key's characters; its location shows a surrogate escaped, never the raw code."""
    if _SURROGATE.search(key):
        check_characters(key, parent.child(_escaped(excerpt(key)), line), "the key")


def _escaped(text: str) -> str:
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


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
            raise SpecError(where, f"{kind} name '{excerpt(name)}' is not an ASCII identifier "
                            "([A-Za-z][A-Za-z0-9_]*)")
        # A keyword cannot stand for a value in an expression (Python's parser refuses
        # `lambda + 1`). A soft keyword (match, case, type) can, and nothing downstream sees
        # a spec's names as code, so they are names like any other, on every Python.
        if keyword.iskeyword(name):
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
    for key, item in value.items():
        check_key(key, where, item.line)
    return value
