"""Spec expressions → SymPy, through an `ast` allowlist. Nothing is evaluated.

How it works, in two passes over Python's own parse tree:

1. `validate` walks the tree iteratively before any SymPy work: only the
   node types of the grammar, declared names, listed functions with their
   arity, and the limits (length, nesting depth, numeric exponents). Constant
   subtrees are folded with plain floats, so `2**2**2**2**2` or `exp(1000)`
   is rejected as an overflow instead of being built.
2. `build` turns the checked tree into a *value*: a numpy object array of
   SymPy scalars with shape (), (d,) or (m, n). numpy supplies broadcasting
   and indexing; sums and products are built flat (`Add(*terms)`), so long
   chains stay linear.

Errors name the spec file, line, field and the offending text.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from .. import defaults
from ..errors import LimitError, excerpt
from ..spec import Text
from .functions import CONSTANTS, FUNCTIONS, Function, Value, shape_text, value_of
from .grammar import (
    CHAIN_GROUPS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    Checker,
    parse_tree,
    post_order,
    validate,
)
from .indexing import python_index
from .keywords import index_items, keyword_values
from .selections import COMPARISONS, Lookup, not_an_id

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "Function",
           "Value", "names_used", "parse", "parse_tree", "shape_text", "validate", "value_of"]


EXACT_RANGE = (1e-20, 1e20)  # float literals written as exact rationals within this range
EXACT_POWER_BITS = 1100  # exact rational powers beyond this many bits are computed as floats
# Entries of one value built entry by entry, each a SymPy expression of its own (constant
# subexpressions; the entry-by-entry view of `derive --scalar`): about 20 µs each, so this
# bound keeps a value under a second. The shaped graph (build.py) has no such per-entry cost.
MAX_ENTRIES = 10 * defaults.MAX_SCALAR_DISPLAY


class _Builder:
    def __init__(self, source: Text, environment: dict[str, Value], constants: dict[str, float],
                 tree: ast.AST, ids: frozenset[str] = frozenset()):
        self.checker = Checker(source)
        self.ids = ids   # the integer inputs, which may index a table
        self.environment = environment
        self.values = {sp.Symbol(name, real=True): value for name, value in constants.items()}
        self.constant = _constant_nodes(tree, constants)

    def build(self, node: ast.AST) -> Value:
        try:
            method = getattr(self, f"_{type(node).__name__.lower()}")
            value = method(node)
        except _ExponentTooLarge as error:
            raise self.checker.error(str(error), node, LimitError) from None
        except (ValueError, TypeError, IndexError) as error:
            raise self.checker.error(str(error), node) from None
        if id(node) in self.constant and not isinstance(node, ast.Constant):
            self._check_constant(node, value)
        return value

    def _check_constant(self, node: ast.AST, value: Value) -> None:
        """Constants that pass pass 1 unfolded (through sum, lists, indexing) are checked here."""
        for item in value.flat:
            try:
                number = complex(sp.N(item, 17, subs=self.values))
            except (TypeError, ValueError, OverflowError):
                number = complex(math.nan)
            if not (math.isfinite(number.real) and math.isfinite(number.imag)):
                raise self.checker.error("a constant here overflows a float or is undefined",
                                         node, LimitError)
            if number.imag != 0:
                raise self.checker.error("a constant here folds to a complex number", node)

    def _constant(self, node: ast.Constant) -> Value:
        if isinstance(node.value, int):
            return value_of(sp.Integer(node.value))
        number = float(node.value)  # type: ignore[arg-type]  # pass 1 allowed numbers only
        if number == 0 or EXACT_RANGE[0] <= abs(number) <= EXACT_RANGE[1]:
            return value_of(sp.Rational(repr(number)))  # 0.1 stays exactly 1/10
        # far from 1, an exact rational's digits explode under powers (1e-300**15 has 4,500)
        return value_of(sp.Float(number))

    def _name(self, node: ast.Name) -> Value:
        if node.id in CONSTANTS:
            return value_of(CONSTANTS[node.id][0])
        return self.environment[node.id]

    def _unaryop(self, node: ast.UnaryOp) -> Value:
        operand = self.build(node.operand)
        return value_of(-operand) if isinstance(node.op, ast.USub) else operand

    def _binop(self, node: ast.BinOp) -> Value:
        group = CHAIN_GROUPS.get(type(node.op))
        if group is None:
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.MatMult):
                return self._matmul(node, left, right)
            return self._combine(node, [left, right], _power)
        terms = [(self.build(operand), inverse) for operand, inverse in _chain(node, group)]
        if group == "+":
            signed = [value_of(-term) if inverse else term for term, inverse in terms]
            return self._combine(node, signed, sp.Add)
        factors = [value_of(_reciprocal(term)) if inverse else term for term, inverse in terms]
        return self._combine(node, factors, sp.Mul)

    def _combine(self, node: ast.AST, values: list[Value], combine: Callable[..., Any]) -> Value:
        """Elementwise `combine(*values)` with numpy broadcasting, for any number of values."""
        shape: tuple[int, ...] = ()
        for value in values:
            try:
                shape = np.broadcast_shapes(shape, value.shape)
            except ValueError:
                raise self.checker.error(
                    f"shapes [{', '.join(map(str, shape))}] and {shape_text(value)} do not "
                    "broadcast", node) from None
        self._check_entries(node, math.prod(shape))
        spread = [np.broadcast_to(value, shape) for value in values]
        result = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            result[index] = combine(*[value[index] for value in spread])
        return result

    def _matmul(self, node: ast.AST, left: Value, right: Value) -> Value:
        if left.ndim == 0 or right.ndim == 0 or left.shape[-1] != right.shape[0]:
            raise self.checker.error(f"cannot matrix-multiply shapes {shape_text(left)} and "
                                     f"{shape_text(right)}", node)
        if left.ndim > 2 or right.ndim > 2:   # stacks of matrices: numpy's matmul, exact
            if left.ndim > 2 and right.ndim > 2 and left.shape[:-2] != right.shape[:-2]:
                raise self.checker.error(f"cannot matrix-multiply shapes {shape_text(left)} "
                                         f"and {shape_text(right)}", node)
            self._check_entries(node, max(left.size, right.size) * left.shape[-1])
            return value_of(np.matmul(left, right))
        rows = left if left.ndim == 2 else left[None, :]
        columns = right if right.ndim == 2 else right[:, None]
        self._check_entries(node, rows.shape[0] * columns.shape[1] * max(rows.shape[1], 1))
        product = np.empty((rows.shape[0], columns.shape[1]), dtype=object)
        for i in range(rows.shape[0]):
            for j in range(columns.shape[1]):
                product[i, j] = sp.Add(*[a * b for a, b in zip(rows[i], columns[:, j],
                                                                strict=True)])
        if left.ndim == 1:
            product = product[0]
        if right.ndim == 1:
            product = product[..., 0]
        return value_of(product)

    def _check_entries(self, node: ast.AST, entries: int) -> None:
        if entries > MAX_ENTRIES:
            raise self.checker.error(
                f"this would write out {entries:,} terms one by one (as constants and `derive "
                f"--scalar` are built); at most {MAX_ENTRIES:,} are allowed", node, LimitError)

    def _call(self, node: ast.Call) -> Value:
        function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        args = [self.build(arg) for arg in node.args]
        if function.arity >= 2 and function.fold is not None:  # elementwise: must broadcast
            self._combine(node, args, lambda *items: None)
        return value_of(function.build(*args, **keyword_values(node, function.keywords)))

    def _compare(self, node: ast.Compare) -> Value:
        left, right = self.build(node.left), self.build(node.comparators[0])
        return self._combine(node, [left, right], COMPARISONS[type(node.ops[0]).__name__])

    def _subscript(self, node: ast.Subscript) -> Value:
        value = self.build(node.value)
        if isinstance(node.slice, ast.Name):
            return self._lookup(node, value, self.build(node.slice))
        return value_of(value[python_index(index_items(node, value.shape))])

    def _lookup(self, node: ast.Subscript, table: Value, index: Value) -> Value:
        """table[token], entry by entry: Lookup(token, rows...) at every column."""
        name = node.slice.id   # type: ignore[attr-defined]
        if name not in self.ids:
            raise self.checker.error(not_an_id(name), node)
        if table.ndim == 0:
            raise self.checker.error("a lookup needs a table with at least one axis", node)
        self._check_entries(node, index.size * table.size)
        result = np.empty(index.shape + table.shape[1:], dtype=object)
        for at in np.ndindex(index.shape):
            for column in np.ndindex(table.shape[1:]):
                result[at + column] = Lookup(index[at], *table[(slice(None),) + column])
        return result

    def _list(self, node: ast.List) -> Value:
        items = [self.build(element) for element in node.elts]
        if not items:
            raise self.checker.error("an empty list is not allowed", node)
        shapes = {item.shape for item in items}
        if len(shapes) > 1:
            raise self.checker.error("a list literal must hold values of one shape: numbers "
                                     "(a vector), vectors of one length (a matrix), "
                                     "matrices ...", node)
        result = np.empty((len(items),) + items[0].shape, dtype=object)
        for i, item in enumerate(items):
            result[i] = item[()] if item.ndim == 0 else item
        return result


class _ExponentTooLarge(ValueError):
    pass


def _power(base: Any, exponent: Any) -> Any:
    # checked before SymPy computes an exact power, which for 3**10**8 would not finish
    if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
        raise _ExponentTooLarge(f"exponent {excerpt(exponent)} is larger than {MAX_EXPONENT} in "
                                "magnitude")
    if base.is_Rational and exponent.is_Integer and base != 0:
        # an exact power far outside float range has thousands of digits ((1e2**-64)**64):
        # there, as a float, it is 0 or overflows, and pass 1 already ruled out the latter
        bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(int(exponent))
        if bits > EXACT_POWER_BITS:
            return sp.Pow(sp.Float(base), exponent)
    return sp.Pow(base, exponent)


def _constant_nodes(tree: ast.AST, constants: dict[str, float]) -> set[int]:
    """ids of the subtrees that mention no parameter, input or target."""
    constant: set[int] = set()
    for node in post_order(tree):
        if isinstance(node, ast.Name):
            if node.id in constants or node.id in CONSTANTS:
                constant.add(id(node))
        elif isinstance(node, ast.Call):
            if all(id(arg) in constant for arg in node.args):
                constant.add(id(node))
        elif isinstance(node, ast.expr) and all(
                id(child) in constant for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.expr)):
            constant.add(id(node))
    return constant


_reciprocal = np.frompyfunc(lambda term: sp.Pow(term, -1), 1, 1)


def _chain(node: ast.BinOp, group: str) -> list[tuple[ast.AST, bool]]:
    """Operands of a flat `a + b - c` (or `a * b / c`) chain, each with 'is subtracted/divided'."""
    operands: list[tuple[ast.AST, bool]] = []
    stack: list[tuple[ast.AST, bool]] = [(node, False)]
    while stack:
        current, inverse = stack.pop()
        if isinstance(current, ast.BinOp) and CHAIN_GROUPS.get(type(current.op)) == group:
            flips = isinstance(current.op, (ast.Sub, ast.Div))
            stack.append((current.right, inverse != flips))
            stack.append((current.left, inverse))
        else:
            operands.append((current, inverse))
    return operands


def parse(source: Text, environment: dict[str, Value], constants: dict[str, float],
          elsewhere: dict[str, str] | None = None, ids: frozenset[str] = frozenset()) -> Value:
    """Parse one expression into a Value, given the names it may use.

    `environment` maps each usable name to its Value (object array of Symbols);
    `constants` gives the numbers of named constants (for constant folding);
    `elsewhere` explains names that exist but may not be used in this field; `ids` are the
    integer inputs (which may index a table).
    """
    tree = parse_tree(source)
    validate(source, tree, list(environment), constants, elsewhere)
    value = _Builder(source, environment, constants, tree, ids).build(tree)
    for item in value.flat:
        if item.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise Checker(source).error("the expression divides by zero or is not finite "
                                         f"({excerpt(sp.sstr(item))})")
        if item.has(sp.I):  # a constant element of a larger array (log([-1, a])[0])
            raise Checker(source).error("a constant here folds to a complex number "
                                         f"({excerpt(sp.sstr(item))})")
    return value


def names_used(source: Text) -> set[str]:
    """The names an expression mentions (after it parsed)."""
    tree = parse_tree(source)
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and id(node) not in functions}
