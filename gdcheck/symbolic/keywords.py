"""Keyword arguments: literal values only, for the functions that declare them.

A function lists its keywords and their kinds (`Function.keywords`); a spec writes each
as a literal (`axis=0`, `axis=(0, 1)`, `keepdims=True`, `ord=inf`, `stride=2`). Nothing
here evaluates: the value is read off the `ast` node, and anything else is refused with
what was expected. Pass 1 (`grammar.py`) checks every keyword; the builders read them.
"""

from __future__ import annotations

import ast
from typing import Any

from ..errors import excerpt


def integer_literal(node: ast.AST) -> int | None:
    """The integer a node writes (`3`, `-1`), or None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


# kind → what a spec may write
EXPECTED = {
    "axes": "an integer or a tuple of integers, like axis=0 or axis=(0, 1)",
    "flag": "True or False",
    "order": "1, 2 or inf",
    "window": "a positive integer or a tuple of them, like stride=2 or size=(2, 2)",
    "padding": "a non-negative integer or a tuple of them, like padding=1",
}


def literal(node: ast.AST, kind: str) -> Any:
    """The value of a keyword of `kind`, or ValueError saying what was expected."""
    value = _read(node, kind)
    if value is None:
        raise ValueError(f"expected {EXPECTED[kind]}")
    return value


def _read(node: ast.AST, kind: str) -> Any:
    if kind == "flag":
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        return None
    if kind == "order":
        if isinstance(node, ast.Name) and node.id == "inf":
            return "inf"
        number = integer_literal(node)
        return number if number in (1, 2) else None
    if isinstance(node, ast.Tuple):
        items = [integer_literal(item) for item in node.elts]
        if not items or any(item is None for item in items):
            return None
        numbers = tuple(items)
    else:
        number = integer_literal(node)
        if number is None:
            return None
        numbers = (number,)
    if kind == "window" and any(n < 1 for n in numbers):   # type: ignore[operator]
        return None
    if kind == "padding" and any(n < 0 for n in numbers):   # type: ignore[operator]
        return None
    return numbers


def keyword_values(call: ast.Call, allowed: dict[str, str]) -> dict[str, Any]:
    """Every keyword of a checked call, by name (pass 1 refused anything else)."""
    return {keyword.arg: literal(keyword.value, allowed[keyword.arg])
            for keyword in call.keywords if keyword.arg is not None}


def axes_of(axis: tuple[int, ...] | None, rank: int) -> tuple[int, ...]:
    """`axis` normalised against a value of `rank` axes (all of them for None)."""
    if axis is None:
        return tuple(range(rank))
    normal = []
    for item in axis:
        if not -rank <= item < rank:
            raise ValueError(f"axis {item} is out of range for a value of {rank} "
                             f"ax{'is' if rank == 1 else 'es'}")
        normal.append(item % rank)
    if len(set(normal)) != len(normal):
        raise ValueError(f"axis {axis} names an axis twice")
    return tuple(sorted(normal))


def per_axis(value: tuple[int, ...], count: int, name: str) -> tuple[int, ...]:
    """A window setting for `count` spatial axes: one number for all, or one each."""
    if len(value) == 1:
        return value * count
    if len(value) != count:
        raise ValueError(f"{name} has {len(value)} numbers for {count} spatial axes")
    return value


def index_items(node: ast.Subscript, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """The literal index of `node` against a value of `shape`: integers and slices
    (start, stop, step), each checked to lie within its axis."""
    parts = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    text = f"[{', '.join(map(str, shape))}]"
    if len(parts) > len(shape):
        raise ValueError(f"{len(parts)} index(es) into a value of shape {text}")
    items: list[Any] = []
    for axis, (part, size) in enumerate(zip(parts, shape, strict=False)):
        if not isinstance(part, ast.Slice):
            i = integer_literal(part)
            assert i is not None   # pass 1 let integers, slices and names through only
            if not -size <= i < size:
                raise ValueError(f"index {excerpt(i)} is out of range for axis {axis} of "
                                 f"shape {text}")
            items.append(i)
            continue
        bounds = [None if b is None else integer_literal(b)
                  for b in (part.lower, part.upper, part.step)]
        for bound in bounds[:2]:
            if bound is not None and not -size <= bound <= size:
                raise ValueError(f"slice bound {excerpt(bound)} is out of range for axis {axis} of "
                                 f"shape {text} (bounds run from {-size} to {size})")
        if not range(size)[slice(*bounds)]:
            raise ValueError(f"the slice {ast.unparse(part)} of axis {axis} (length {size}) "
                             "is empty")
        items.append(tuple(bounds))
    return tuple(items)
