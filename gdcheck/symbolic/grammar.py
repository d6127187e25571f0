"""Pass 1 over a spec expression: what Python parsed must be in the grammar.

How it works: the text is parsed by Python's `ast` (after the length and
character checks), then walked iteratively before any SymPy work: only the
node types of the grammar, declared names, listed functions with their arity,
and the limits (nesting depth, numeric exponents). Constant subtrees are
folded with plain floats, so `2**2**2**2**2` or `exp(1000)` is rejected as an
overflow instead of being built.
"""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .. import defaults
from ..errors import ExpressionError, LimitError, did_you_mean, excerpt
from ..spec import Text
from .functions import CONSTANTS, FUNCTIONS
from .keywords import integer_literal, literal

MAX_LENGTH = defaults.MAX_EXPRESSION_LENGTH
MAX_DEPTH = defaults.MAX_EXPRESSION_DEPTH
MAX_EXPONENT = defaults.MAX_EXPONENT


_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call,
                  ast.Subscript, ast.List, ast.Tuple, ast.Load, ast.USub, ast.UAdd,
                  ast.Compare, ast.keyword) + _OPERATORS + _COMPARISONS
CHAIN_GROUPS: dict[type, str] = {ast.Add: "+", ast.Sub: "+", ast.Mult: "*", ast.Div: "*"}
_DESCRIPTIONS: dict[type, str] = {
    ast.Attribute: "attribute access", ast.Lambda: "lambda", ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.DictComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.BoolOp: "and/or (multiply two conditions for 'and': (a > 0) * (b > 0))",
    ast.IfExp: "if/else (write where(condition, a, b))", ast.JoinedStr: "an f-string",
    ast.NamedExpr: "':='", ast.Starred: "starred arguments",
    ast.Slice: "a slice outside an index", ast.Dict: "a dict",
    ast.Set: "a set", ast.Await: "await", ast.Yield: "yield",
    ast.Is: "'is' (compare with ==)", ast.IsNot: "'is not' (compare with !=)",
    ast.In: "'in'", ast.NotIn: "'not in'", ast.Not: "'not' (write 1 - condition)",
    ast.BitXor: "'^' (exclusive or; a power is written a**2)", ast.BitAnd: "'&'",
    ast.BitOr: "'|'", ast.Invert: "'~'", ast.LShift: "'<<'", ast.RShift: "'>>'",
}


class Checker:
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
            if len(segment) > 60:   # printable already: parse_tree let only ASCII through
                segment = segment[:57] + "..."
            column = node.col_offset + self.lead + 1
            snippet = f" in '{segment}' (column {column})" if segment else ""
        return kind(self.source.location, message + snippet)


def parse_tree(source: Text) -> ast.expr:
    """Python's parse of the text, with the length and character checks first."""
    checker = Checker(source)
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
    checker = Checker(source)
    _check_depth(checker, tree)
    folded: dict[ast.AST, float | None] = {}
    # The Tuple of W[1, 2] is part of an index, and the `f` of f(x) names a function:
    # neither is a value, and _check_call and _check_index check them.
    parts = {id(node.slice) for node in ast.walk(tree)
             if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple)}
    parts |= {id(node.func) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    # A keyword's value and a slice of an index are literals, which _check_call and
    # _check_index read whole (True, inf and x[1:3] are allowed there only).
    literals = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Call)
                for keyword in node.keywords for inner in ast.walk(keyword.value)}
    literals |= {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Subscript)
                 for part in _index_parts(node) if isinstance(part, ast.Slice)
                 for inner in ast.walk(part)}
    parts |= literals
    # Constructs outside the grammar first, outermost first (ast.walk is breadth-first),
    # so the message names what was written (a lambda, not its arguments).
    for node in ast.walk(tree):
        if id(node) not in literals:
            _check_allowed(checker, node)
    order = post_order(tree)
    for node in reversed(order):
        if id(node) not in parts:
            _check_node(checker, node, names, elsewhere or {})
    for node in order:
        folded[node] = _fold(checker, node, folded, constants)


def post_order(tree: ast.AST) -> list[ast.AST]:
    """Every node, children before parents (reversed: parents before children)."""
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return order[::-1]


def _check_depth(checker: Checker, tree: ast.AST) -> None:
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
        group = CHAIN_GROUPS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
        for child in children:
            same_chain = (group is not None and isinstance(child, ast.BinOp)
                          and CHAIN_GROUPS.get(type(child.op)) == group)
            stack.append((child, depth - 1 if same_chain else depth))


def _check_allowed(checker: Checker, node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        what = _DESCRIPTIONS.get(type(node), type(node).__name__)
        raise checker.error(f"{what} is not allowed in an expression", node)
    if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        kind = {str: "text", bytes: "bytes", complex: "complex numbers",
                bool: "booleans"}.get(type(node.value), type(node.value).__name__)
        raise checker.error(f"{kind} are not allowed in an expression; only numbers", node)


def _check_node(checker: Checker, node: ast.AST, names: Sequence[str],
                elsewhere: dict[str, str]) -> None:
    if isinstance(node, ast.Name) and node.id not in names and node.id not in CONSTANTS:
        if node.id in FUNCTIONS:
            raise checker.error(f"'{node.id}' is a function; call it as {node.id}(...)", node)
        if node.id in elsewhere:
            raise checker.error(f"'{node.id}' cannot be used here: {elsewhere[node.id]}", node)
        hint = did_you_mean(node.id, list(names) + list(CONSTANTS)) or (
            f"; declared here: {', '.join(names)}" if names else "")
        raise checker.error(f"unknown name '{excerpt(node.id)}'{hint}", node)
    if isinstance(node, ast.Call):
        _check_call(checker, node)
    if isinstance(node, ast.Subscript):
        _check_index(checker, node)
    if isinstance(node, ast.Compare) and len(node.ops) > 1:
        raise checker.error("a chained comparison is not allowed; write one comparison at a "
                            "time, (a < b) * (b < c) for both", node)
    if isinstance(node, ast.Tuple):
        raise checker.error("a tuple is not allowed (only inside an index like W[0, 1])", node)


def _check_call(checker: Checker, node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name):
        what = _DESCRIPTIONS.get(type(node.func))
        message = f"{what} is not allowed in an expression" if what else (
            "only the listed functions can be called, by name")
        raise checker.error(message, node.func if what else node)
    name = node.func.id
    if name not in FUNCTIONS:
        raise checker.error(f"unknown function '{excerpt(name)}'{did_you_mean(name, FUNCTIONS)}; "
                            f"allowed: {', '.join(FUNCTIONS)}", node)
    allowed = FUNCTIONS[name].keywords
    for keyword in node.keywords:
        if keyword.arg is None:
            raise checker.error(f"'**' is not allowed in {name}(...)", node)
        if keyword.arg not in allowed:
            takes = (f"; it takes {', '.join(f'{k}=' for k in allowed)}" if allowed
                     else "; it takes none")
            raise checker.error(f"{name}(...) has no keyword '{excerpt(keyword.arg)}'{takes}",
                                node)
        try:
            literal(keyword.value, allowed[keyword.arg])
        except ValueError as error:
            raise checker.error(f"{keyword.arg}= of {name}(...) must be a literal: {error}",
                                keyword.value) from None
    arity = FUNCTIONS[name].arity
    if len(node.args) != arity:
        raise checker.error(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, "
                            f"got {len(node.args)}", node)


def _index_parts(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _check_index(checker: Checker, node: ast.Subscript) -> None:
    """Each part of an index: an integer, a slice with integer bounds and step, or (alone)
    a name, whose value the builder checks is an integer input."""
    parts = _index_parts(node)
    if len(parts) == 1 and isinstance(parts[0], ast.Name):
        return
    for part in parts:
        if integer_literal(part) is not None:
            continue
        if isinstance(part, ast.Slice) and all(
                bound is None or integer_literal(bound) is not None
                for bound in (part.lower, part.upper, part.step)):
            if part.step is not None and integer_literal(part.step) == 0:
                raise checker.error("a slice step cannot be zero", node)
            continue
        raise checker.error("an index is integers and slices with integer bounds, like "
                            "w[0], W[1, 2], x[1:3] or W[:, 0], or one integer input, like "
                            "E[token]", node)


_FLOAT_OPERATORS: dict[type, Callable[[float, float], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b,
}


def _fold(checker: Checker, node: ast.AST, folded: dict[ast.AST, float | None],
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
        return float(node.value)  # type: ignore[arg-type]  # _check_allowed: numbers only
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
