"""Distributions for `init`, `generate.inputs` and `generate.noise`.

Written `normal(mean, std)`, `uniform(low, high)`, `constant(value)` or
`zeros`; parsed with `ast` (numbers only, nothing evaluated).
"""

from __future__ import annotations

import ast
import math
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import defaults
from ..errors import Location, SpecError, excerpt

if TYPE_CHECKING:  # numpy is needed only to sample; reading a spec stays light without it
    import numpy as np

NORMAL_RANGE_STDS = defaults.NORMAL_RANGE_STDS
MAX_LENGTH = 200   # characters: a distribution is a call with at most two numbers

# name -> the argument names it takes
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "constant": ("value",),
    "zeros": (),
}


@dataclass(frozen=True)
class Distribution:
    kind: str
    args: tuple[float, ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return self.kind
        return f"{self.kind}({', '.join(f'{a:g}' for a in self.args)})"

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Draw an array of `shape` (a leading batch axis may be included)."""
        if self.kind == "normal":
            return rng.normal(self.args[0], self.args[1], size=shape)
        if self.kind == "uniform":
            return rng.uniform(self.args[0], self.args[1], size=shape)
        import numpy as np

        value = self.args[0] if self.args else 0.0
        return np.full(shape, value, dtype=float)

    def bounds(self) -> tuple[float, float]:
        """The range Hypothesis draws from: mean ± 4 std for `normal`."""
        if self.kind == "normal":
            mean, std = self.args
            return mean - NORMAL_RANGE_STDS * std, mean + NORMAL_RANGE_STDS * std
        if self.kind == "uniform":
            return self.args[0], self.args[1]
        value = self.args[0] if self.args else 0.0
        return value, value


DEFAULT_INIT = Distribution("normal", (0.0, 1.0))


def parse_distribution(text: object, where: Location) -> Distribution:
    """Parse `normal(0, 0.5)` and friends; raise SpecError naming `where` otherwise."""
    expected = "expected one of normal(mean, std), uniform(low, high), constant(value), zeros"
    if not isinstance(text, str):
        raise SpecError(where, f"got {_quoted(text)}, {expected}")
    if len(text) > MAX_LENGTH:
        raise SpecError(where, f"got {_quoted(text)} ({len(text):,} characters; at most "
                        f"{MAX_LENGTH}), {expected}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise SpecError(where, f"got {_quoted(text)}, {expected}") from None
    if isinstance(tree, ast.Name):
        name, arg_nodes = tree.id, []
    elif isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and not tree.keywords:
        name, arg_nodes = tree.func.id, tree.args
    else:
        raise SpecError(where, f"got {_quoted(text)}, {expected}")
    if name not in DISTRIBUTIONS:
        raise SpecError(where, f"unknown distribution '{excerpt(name)}'; {expected}")
    wanted = DISTRIBUTIONS[name]
    if len(arg_nodes) != len(wanted):
        signature = f"{name}({', '.join(wanted)})" if wanted else name
        raise SpecError(where, f"{name} takes {len(wanted)} argument(s): {signature}")
    args = tuple(_number(node, text, where) for node in arg_nodes)
    _check_arguments(name, args, text, where)
    return Distribution(name, args)


def _quoted(text: object) -> str:
    return f"'{excerpt(text)}'" if isinstance(text, str) else excerpt(repr(text))


def _number(node: ast.expr, text: str, where: Location) -> float:
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)):
        try:
            value = sign * float(node.value)
        except OverflowError:   # an integer of 400 digits
            value = math.inf
        if math.isfinite(value):
            return value
    raise SpecError(where, f"in {_quoted(text)}: arguments must be finite numbers (at most "
                    f"{sys.float_info.max:.4g} in magnitude)")


def _check_arguments(name: str, args: tuple[float, ...], text: str, where: Location) -> None:
    if name == "normal" and args[1] < 0:
        raise SpecError(where, f"in {_quoted(text)}: std must be >= 0")
    if name == "uniform" and args[0] > args[1]:
        raise SpecError(where, f"in {_quoted(text)}: low must be <= high")
    # what is drawn from must be a range of floats: mean ± 4 std for Hypothesis, and
    # high − low for numpy's uniform, which refuses a range that overflows
    if name == "normal" and not all(math.isfinite(end) for end in
                                    Distribution(name, args).bounds()):
        raise SpecError(where, f"in {_quoted(text)}: mean ± {NORMAL_RANGE_STDS:g} std overflows "
                        "a float (Hypothesis draws from that range)")
    if name == "uniform" and not math.isfinite(args[1] - args[0]):
        raise SpecError(where, f"in {_quoted(text)}: high − low overflows a float")
