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
import difflib
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from .errors import ExpressionError, LimitError
from .functions import (AbsoluteValue, LogSumExp, Maximum, Minimum, Relu, Sigmoid, Sign,
                        Softplus)
from .spec import Text

MAX_LENGTH = 10_000
MAX_DEPTH = 100
MAX_EXPONENT = 64

Value = np.ndarray  # object array of SymPy scalars, ndim 0, 1 or 2


def value_of(item: Any) -> Value:
    """Wrap a SymPy scalar (or pass an object array through) as a Value."""
    if isinstance(item, np.ndarray):
        return item
    value = np.empty((), dtype=object)
    value[()] = item
    return value


def shape_text(value: Value) -> str:
    return f"[{', '.join(str(d) for d in value.shape)}]"


# ----------------------------------------------------------------- the function table


@dataclass(frozen=True)
class Function:
    """One function of the language: its arity, how to build it and (if scalar) fold it."""

    arity: int
    build: Callable[..., Value]
    fold: Callable[..., float] | None = None   # float version, for constant folding
    signature: str = ""


def elementwise(sympy_function: Callable[..., Any], fold: Callable[..., float],
                arity: int = 1) -> Function:
    mapped = np.frompyfunc(sympy_function, arity, 1)
    return Function(arity, lambda *args: value_of(mapped(*args)), fold)


def reduction(combine: Callable[[list[Any]], Any]) -> Function:
    def build(v: Value) -> Value:
        if v.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {shape_text(v)}")
        return value_of(combine(list(v.flat)))

    return Function(1, build)


def vector_map(transform: Callable[[list[Any]], list[Any]]) -> Function:
    def build(v: Value) -> Value:
        if v.ndim != 1:
            raise ValueError(f"expected a vector, got shape {shape_text(v)}")
        return np.array(transform(list(v)) + [None], dtype=object)[:-1]

    return Function(1, build)


def _fold_max(items: list[Any], pair: type) -> Any:
    result = items[0]
    for item in items[1:]:
        result = pair(result, item)
    return result


def _logsumexp(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else LogSumExp(*items)


def _dot(a: Value, b: Value) -> Value:
    if a.ndim > 1 or b.ndim > 1 or a.shape != b.shape:
        raise ValueError(f"dot needs two vectors of one length, got {shape_text(a)} and "
                         f"{shape_text(b)}")
    return value_of(sp.Add(*[x * y for x, y in zip(a.flat, b.flat, strict=True)]))


def _transpose(v: Value) -> Value:
    return v.T.copy()


def _sign(v: float) -> float:
    return float(np.sign(v))


FUNCTIONS: dict[str, Function] = {
    "exp": elementwise(sp.exp, math.exp),
    "log": elementwise(sp.log, math.log),
    "sqrt": elementwise(sp.sqrt, math.sqrt),
    "abs": elementwise(AbsoluteValue, abs),
    "sin": elementwise(sp.sin, math.sin),
    "cos": elementwise(sp.cos, math.cos),
    "tan": elementwise(sp.tan, math.tan),
    "tanh": elementwise(sp.tanh, math.tanh),
    "sigmoid": elementwise(Sigmoid, lambda v: 0.5 * (1 + math.tanh(v / 2))),
    "softplus": elementwise(Softplus, lambda v: max(v, 0) + math.log1p(math.exp(-abs(v)))),
    "relu": elementwise(Relu, lambda v: max(v, 0.0)),
    "log1p": elementwise(log1p, math.log1p),
    "expm1": elementwise(expm1, math.expm1),
    "erf": elementwise(sp.erf, math.erf),
    "sign": elementwise(Sign, _sign),
    "maximum": elementwise(Maximum, max, arity=2),
    "minimum": elementwise(Minimum, min, arity=2),
    "sum": reduction(lambda items: sp.Add(*items)),
    "mean": reduction(lambda items: sp.Add(*items) / len(items)),
    "dot": Function(2, _dot),
    "norm": reduction(lambda items: sp.sqrt(sp.Add(*[item**2 for item in items]))),
    "logsumexp": reduction(_logsumexp),
    "max": reduction(lambda items: _fold_max(items, Maximum)),
    "min": reduction(lambda items: _fold_max(items, Minimum)),
    "softmax": vector_map(lambda v: [sp.exp(x - _logsumexp(v)) for x in v]),
    "log_softmax": vector_map(lambda v: [x - _logsumexp(v) for x in v]),
    "transpose": Function(1, _transpose),
}

CONSTANTS: dict[str, tuple[Any, float]] = {"pi": (sp.pi, math.pi), "e": (sp.E, math.e)}


# ----------------------------------------------------------------- pass 1: validate


_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call,
                  ast.Subscript, ast.List, ast.Tuple, ast.Load, ast.USub, ast.UAdd) + _OPERATORS
_CHAIN_GROUPS: dict[type, str] = {ast.Add: "+", ast.Sub: "+", ast.Mult: "*", ast.Div: "*"}
_DESCRIPTIONS: dict[type, str] = {
    ast.Attribute: "attribute access", ast.Lambda: "lambda", ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.DictComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.Compare: "a comparison", ast.BoolOp: "and/or",
    ast.IfExp: "if/else", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
    ast.Starred: "starred arguments", ast.Slice: "a slice", ast.Dict: "a dict",
    ast.Set: "a set", ast.Await: "await", ast.Yield: "yield",
    ast.keyword: "keyword arguments",
}


class _Checker:
    """Carries the text and location for located errors."""

    def __init__(self, source: Text):
        self.source = source
        flat = " ".join(source.text.splitlines())
        self.flat = flat.lstrip()  # what Python parses: one line, no indent
        self.lead = len(flat) - len(self.flat)

    def error(self, message: str, node: ast.AST | None = None, kind: type = ExpressionError
              ) -> ExpressionError:
        snippet = ""
        if node is not None and hasattr(node, "col_offset"):
            segment = ast.get_source_segment(self.flat, node) or ""
            if len(segment) > 60:
                segment = segment[:57] + "..."
            snippet = f" in '{segment}' (column {node.col_offset + self.lead + 1})" if segment else ""
        return kind(self.source.location, message + snippet)


def parse_tree(source: Text) -> ast.expr:
    """Python's parse of the text, with the length and character checks first."""
    checker = _Checker(source)
    text = source.text
    if len(text) > MAX_LENGTH:
        raise checker.error(f"the expression is {len(text):,} characters; at most "
                            f"{MAX_LENGTH:,} are allowed", kind=LimitError)
    for position, char in enumerate(text):
        if not char.isascii() or (not char.isprintable() and char not in "\n\t\r"):
            raise checker.error(f"character {char!r} at column {position + 1} is not allowed "
                                "(names and operators are ASCII)")
    limit = sys.getrecursionlimit()
    try:
        # a chain of n terms is n levels deep for Python's parser; the length cap bounds n
        sys.setrecursionlimit(max(limit, 4 * MAX_LENGTH))
        tree = ast.parse(checker.flat, mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise checker.error(f"not a valid expression{column}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise checker.error(f"nested too deeply (at most {MAX_DEPTH} levels)",
                            kind=LimitError) from None
    finally:
        sys.setrecursionlimit(limit)
    return tree.body


def validate(source: Text, tree: ast.expr, names: Sequence[str], constants: dict[str, float],
             elsewhere: dict[str, str] | None = None) -> None:
    """Pass 1: allowlist, names, functions, arity, depth and constant limits; no SymPy.

    `elsewhere` maps names declared but not usable here to the reason, for the message.
    """
    checker = _Checker(source)
    _check_depth(checker, tree)
    folded: dict[ast.AST, float | None] = {}
    # The Tuple of W[1, 2] is part of an index, and the `f` of f(x) names a function:
    # neither is a value, and _check_call and _check_index check them.
    parts = {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
    parts |= {id(node.func) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    # Constructs outside the grammar first, outermost first (ast.walk is breadth-first),
    # so the message names what was written (a lambda, not its arguments).
    for node in ast.walk(tree):
        _check_allowed(checker, node)
    order = _post_order(tree)
    for node in reversed(order):
        if id(node) not in parts:
            _check_node(checker, node, names, elsewhere or {})
    for node in order:
        folded[node] = _fold(checker, node, folded, constants)


def _post_order(tree: ast.AST) -> list[ast.AST]:
    """Every node, children before parents (reversed: parents before children)."""
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return order[::-1]


def _check_depth(checker: _Checker, tree: ast.AST) -> None:
    """Nesting depth counts operations and calls; a name or number is not a level, and a
    flat chain `a + b - c + ...` (or `a * b / c`) is one level however long."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        if not children:
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise checker.error(f"nested more than {MAX_DEPTH} levels deep", node, LimitError)
        group = _CHAIN_GROUPS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
        for child in children:
            same_chain = (group is not None and isinstance(child, ast.BinOp)
                          and _CHAIN_GROUPS.get(type(child.op)) == group)
            stack.append((child, depth - 1 if same_chain else depth))


def _check_allowed(checker: _Checker, node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        what = _DESCRIPTIONS.get(type(node), type(node).__name__)
        raise checker.error(f"{what} is not allowed in an expression", node)
    if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        kind = {str: "text", bytes: "bytes", complex: "complex numbers",
                bool: "booleans"}.get(type(node.value), type(node.value).__name__)
        raise checker.error(f"{kind} are not allowed in an expression; only numbers", node)


def _check_node(checker: _Checker, node: ast.AST, names: Sequence[str],
                elsewhere: dict[str, str]) -> None:
    if isinstance(node, ast.Name) and node.id not in names and node.id not in CONSTANTS:
        if node.id in FUNCTIONS:
            raise checker.error(f"'{node.id}' is a function; call it as {node.id}(...)", node)
        if node.id in elsewhere:
            raise checker.error(f"'{node.id}' cannot be used here: {elsewhere[node.id]}", node)
        close = difflib.get_close_matches(node.id, list(names) + list(CONSTANTS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else (
            f"; declared here: {', '.join(names)}" if names else "")
        raise checker.error(f"unknown name '{node.id}'{hint}", node)
    if isinstance(node, ast.Call):
        _check_call(checker, node)
    if isinstance(node, ast.Subscript):
        _check_index(checker, node)
    if isinstance(node, ast.Tuple):
        raise checker.error("a tuple is not allowed (only inside an index like W[0, 1])", node)


def _check_call(checker: _Checker, node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        what = _DESCRIPTIONS.get(type(node.func))
        message = f"{what} is not allowed in an expression" if what else (
            "only the listed functions can be called, by name")
        raise checker.error(message, node.func if what else node)
    name = node.func.id
    if name not in FUNCTIONS:
        close = difflib.get_close_matches(name, FUNCTIONS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise checker.error(f"unknown function '{name}'{hint}; allowed: "
                            f"{', '.join(FUNCTIONS)}", node)
    if node.keywords:
        raise checker.error(f"keyword arguments are not allowed in {name}(...)", node)
    arity = FUNCTIONS[name].arity
    if len(node.args) != arity:
        raise checker.error(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, "
                            f"got {len(node.args)}", node)


def _check_index(checker: _Checker, node: ast.Subscript) -> None:
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if not 1 <= len(parts) <= 2 or not all(_integer_literal(p) is not None for p in parts):
        raise checker.error("an index must be one or two integers, like w[0] or W[1, 2]", node)


def _integer_literal(node: ast.AST) -> int | None:
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


_FLOAT_OPERATORS: dict[type, Callable[[float, float], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b,
}


def _fold(checker: _Checker, node: ast.AST, folded: dict[ast.AST, float | None],
          constants: dict[str, float]) -> float | None:
    """The float value of a constant scalar subtree, or None; raises on overflow or complex."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = folded.get(node.right)
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            raise checker.error(f"exponent {exponent:g} is larger than {MAX_EXPONENT} in "
                                "magnitude", node, LimitError)
    try:
        value = _fold_value(node, folded, constants)
    except ZeroDivisionError:
        raise checker.error("division by zero in a constant", node) from None
    except OverflowError:
        value = math.inf
    except ValueError:
        raise checker.error("a constant here is not a real number (it folds to a complex "
                            "number or is undefined)", node) from None
    if isinstance(value, complex):
        raise checker.error("a constant here folds to a complex number", node)
    if value is not None and not math.isfinite(value):
        raise checker.error("a constant here overflows a float", node, LimitError)
    return value


def _fold_value(node: ast.AST, folded: dict[ast.AST, float | None],
                constants: dict[str, float]) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id][1]
        return constants.get(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = folded.get(node.operand)
        return None if operand is None else (-operand if isinstance(node.op, ast.USub)
                                             else operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _FLOAT_OPERATORS:
        left, right = folded.get(node.left), folded.get(node.right)
        if left is None or right is None:
            return None
        return _FLOAT_OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = FUNCTIONS[node.func.id]
        args = [folded.get(arg) for arg in node.args]
        if function.fold is None or any(arg is None for arg in args):
            return None
        return function.fold(*args)
    return None


# ----------------------------------------------------------------- pass 2: build


class _Builder:
    def __init__(self, source: Text, environment: dict[str, Value], constants: dict[str, float],
                 tree: ast.AST):
        self.checker = _Checker(source)
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
        return value_of(sp.Rational(repr(node.value)))

    def _name(self, node: ast.Name) -> Value:
        if node.id in CONSTANTS:
            return value_of(CONSTANTS[node.id][0])
        return self.environment[node.id]

    def _unaryop(self, node: ast.UnaryOp) -> Value:
        operand = self.build(node.operand)
        return value_of(-operand) if isinstance(node.op, ast.USub) else operand

    def _binop(self, node: ast.BinOp) -> Value:
        group = _CHAIN_GROUPS.get(type(node.op))
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
        spread = [np.broadcast_to(value, shape) for value in values]
        result = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            result[index] = combine(*[value[index] for value in spread])
        return result

    def _matmul(self, node: ast.AST, left: Value, right: Value) -> Value:
        if left.ndim == 0 or right.ndim == 0 or left.shape[-1] != right.shape[0]:
            raise self.checker.error(f"cannot matrix-multiply shapes {shape_text(left)} and "
                                     f"{shape_text(right)}", node)
        rows = left if left.ndim == 2 else left[None, :]
        columns = right if right.ndim == 2 else right[:, None]
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

    def _call(self, node: ast.Call) -> Value:
        function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        args = [self.build(arg) for arg in node.args]
        if function.arity == 2 and function.fold is not None:  # elementwise: shapes must broadcast
            self._combine(node, args, lambda *items: None)
        return value_of(function.build(*args))

    def _subscript(self, node: ast.Subscript) -> Value:
        value = self.build(node.value)
        parts = node.slice.elts if isinstance(node.slice, (ast.List, ast.Tuple)) else [node.slice]
        index = tuple(_integer_literal(part) for part in parts)
        if len(index) > value.ndim:
            raise self.checker.error(f"{len(index)} index(es) into a value of shape "
                                     f"{shape_text(value)}", node)
        for axis, (i, size) in enumerate(zip(index, value.shape, strict=False)):
            if not -size <= i < size:  # type: ignore[operator]
                raise self.checker.error(f"index {i} is out of range for axis {axis} of shape "
                                         f"{shape_text(value)}", node)
        return value_of(value[index])

    def _list(self, node: ast.List) -> Value:
        items = [self.build(element) for element in node.elts]
        if not items:
            raise self.checker.error("an empty list is not allowed", node)
        shapes = {item.shape for item in items}
        if len(shapes) > 1 or items[0].ndim > 1:
            raise self.checker.error("a list literal must hold scalars (a vector) or vectors "
                                     "of one length (a matrix)", node)
        result = np.empty((len(items),) + items[0].shape, dtype=object)
        for i, item in enumerate(items):
            result[i] = item[()] if item.ndim == 0 else item
        return result


class _ExponentTooLarge(ValueError):
    pass


def _power(base: Any, exponent: Any) -> Any:
    # checked before SymPy computes an exact power, which for 3**10**8 would not finish
    if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
        raise _ExponentTooLarge(f"exponent {exponent} is larger than {MAX_EXPONENT} in "
                                "magnitude")
    return sp.Pow(base, exponent)


def _constant_nodes(tree: ast.AST, constants: dict[str, float]) -> set[int]:
    """ids of the subtrees that mention no parameter, input or target."""
    constant: set[int] = set()
    for node in _post_order(tree):
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
        if isinstance(current, ast.BinOp) and _CHAIN_GROUPS.get(type(current.op)) == group:
            flips = isinstance(current.op, (ast.Sub, ast.Div))
            stack.append((current.right, inverse != flips))
            stack.append((current.left, inverse))
        else:
            operands.append((current, inverse))
    return operands


def parse(source: Text, environment: dict[str, Value], constants: dict[str, float],
          elsewhere: dict[str, str] | None = None) -> Value:
    """Parse one expression into a Value, given the names it may use.

    `environment` maps each usable name to its Value (object array of Symbols);
    `constants` gives the numbers of named constants (for constant folding);
    `elsewhere` explains names that exist but may not be used in this field.
    """
    tree = parse_tree(source)
    validate(source, tree, list(environment), constants, elsewhere)
    value = _Builder(source, environment, constants, tree).build(tree)
    for item in value.flat:
        if item.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise _Checker(source).error("the expression divides by zero or is not finite "
                                         f"({sp.sstr(item)[:60]})")
    return value


def names_used(source: Text) -> set[str]:
    """The names an expression mentions (after it parsed)."""
    tree = parse_tree(source)
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and id(node) not in functions}
