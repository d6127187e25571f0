"""Per-sample values written into buffers that live as long as the program: no fresh array
per operation.

Why: a line of generated code such as `v12 = -v6*sigmoid(v11)` makes up to three arrays of
n entries. glibc gives large freed blocks back to the system, so every call faults the same
pages in again; at n = 10⁴–10⁵ that was up to three quarters of a gradient's time. Here
each sampled elementwise template becomes a few ufunc calls with `out=` (`multiply(v6,
b2, out=b2)`), and a matrix product over the samples `matmul(x, W.T, out=b3)`, into
buffers (`b0, b1, ...`) that the program allocates once per sample count and reuses.

How it works: `Slots` hands out buffers by per-sample shape while the code is generated
and takes one back once no later line reads the value in it (or a view of it), so two
values whose lives do not overlap share a buffer. `statements` writes one template as those
calls: every compound subexpression that has the sample axis goes into a buffer, anything
without it (a function of the parameters alone) stays one small numpy expression. A
function that cannot write into a given array (a Python helper without `out=`) is called
as usual and its fresh result used as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..symbolic.tensor import Shape, broadcast_shapes


class Slots:
    """The buffers of one program: `take` one of a per-sample shape, `give_back` it when the
    value in it is dead. The program allocates `shapes[i]` (after the sample axis) for bi."""

    def __init__(self) -> None:
        self.shapes: list[Shape] = []
        self._free: dict[Shape, list[int]] = {}

    def take(self, shape: Shape) -> str:
        free = self._free.get(shape)
        if free:
            return f"b{free.pop()}"
        self.shapes.append(shape)
        return f"b{len(self.shapes) - 1}"

    def give_back(self, name: str) -> None:
        index = int(name[1:])
        self._free.setdefault(self.shapes[index], []).append(index)


def accepts_out(function: Any) -> bool:
    """Whether generated code may call `function(..., out=array)`."""
    return isinstance(function, np.ufunc) or getattr(function, "accepts_out", False)


# numpy ufuncs for SymPy's arithmetic
_ADD, _MULTIPLY, _DIVIDE = "add", "multiply", "divide"


class _Statements:
    def __init__(self, operands: Mapping[sp.Symbol, tuple[str, Shape | None]], slots: Slots,
                 plain: Callable[[sp.Expr], str], function_name: Callable[[sp.Function], str],
                 namespace: Mapping[str, Any], fixed: Fixed | None):
        self.operands = dict(operands)    # symbol -> (code, per-sample shape; None: unsampled)
        self.slots = slots
        self.plain = plain                # an expression as ordinary numpy code
        self.function_name = function_name
        self.namespace = namespace
        self.fixed = fixed
        self.lines: list[str] = []
        self.temporaries: list[str] = []

    def shape(self, expr: sp.Expr) -> Shape | None:
        """Its per-sample shape if it has the sample axis, else None."""
        shapes = [self.operands[s] for s in expr.free_symbols if s in self.operands]
        if not any(sampled is not None for _, sampled in shapes):
            return None
        return broadcast_shapes(*(sampled if sampled is not None else () for _, sampled in shapes))

    def buffer(self, shape: Shape, target: str | None) -> str:
        if target is not None:
            return target
        name = self.slots.take(shape)
        self.temporaries.append(name)
        return name

    def value(self, expr: sp.Expr, target: str | None = None) -> str:
        """Code for expr's value, written into `target` when given and it can be."""
        shape = self.shape(expr)
        if shape is None:
            return self.plain(expr)
        if expr in self.operands:
            return self.operands[expr][0]
        if isinstance(expr, sp.Add):
            return self.chain(_ADD, list(expr.args), shape, target)
        if isinstance(expr, sp.Mul):
            return self.product(expr, shape, target)
        if isinstance(expr, sp.Pow):
            return self.power(expr, shape, target)
        if isinstance(expr, sp.Function):
            return self.call(expr, shape, target)
        return self.plain(expr)

    def chain(self, ufunc: str, terms: list[sp.Expr], shape: Shape, target: str | None,
              start: str | None = None) -> str:
        """ufunc over the terms (after `start`, a value already in hand), in one buffer: the
        first compound term of the full shape is computed straight into it and goes first
        (add and multiply commute), so that no later step overwrites it before it is read.
        With `start` (a division: start / d1 / d2 ...) no term goes into the buffer."""
        out = self.buffer(shape, target)
        values = [] if start is None else [start]
        into = start is None
        for term in terms:
            fits = into and self.shape(term) == shape and term not in self.operands
            value = self.value(term, out if fits else None)
            if value == out:
                values.insert(0, value)
            else:
                values.append(value)
            into = into and not fits
        current = values[0]
        for value in values[1:]:
            self.lines.append(f"{ufunc}({current}, {value}, out={out})")
            current = out
        if current != out:   # a single value: put it where it is expected
            self.lines.append(f"copyto({out}, {current})")
        return out

    def product(self, expr: sp.Mul, shape: Shape, target: str | None) -> str:
        if self.fixed is not None:
            # the coefficient and the factors computed once per data set (-(1 - y)/n) as one
            # value, computed there too
            factors = list(sp.Mul.make_args(expr))
            fixed = [f for f in factors if f.is_Number
                     or (f.is_Symbol and f in self.fixed.symbols)]
            if len(fixed) > 1 and any(self.shape(f) is not None for f in fixed):
                value = sp.Mul(*fixed)
                symbol = self.fixed.hoist(value)
                self.operands[symbol] = (symbol.name, self.shape(value))
                expr = sp.Mul(symbol, *(f for f in factors if f not in fixed), evaluate=False)
        scaled = self.scaled_call(expr, shape, target)
        if scaled is not None:
            return scaled
        coefficient, factors_ = expr.as_coeff_mul()
        factors = list(factors_)
        numerator = [f for f in factors if not _is_reciprocal(f)]
        denominator = [1 / f for f in factors if _is_reciprocal(f)]
        sampled_numerator = [f for f in numerator if self.shape(f) is not None]
        out = self.buffer(shape, target)
        if coefficient != 1 and not denominator and len(numerator) == 1 \
                and numerator[0] in self.operands:   # -x, 2*x: one call
            function = "negative" if coefficient == -1 else "multiply"
            scale = "" if coefficient == -1 else f", {self.plain(coefficient)}"
            self.lines.append(f"{function}({self.value(numerator[0])}{scale}, out={out})")
            return out
        if sampled_numerator:
            self.chain(_MULTIPLY, numerator, shape, out)
            if denominator:
                self.chain(_DIVIDE, denominator, shape, out, start=out)
        else:   # c / d: the numerator has no sample axis, so the denominator has
            top = self.plain(sp.Mul(*numerator)) if numerator else "1.0"
            self.chain(_DIVIDE, denominator, shape, out, start=top)
        if coefficient == -1:
            self.lines.append(f"negative({out}, out={out})")
        elif coefficient != 1:
            self.lines.append(f"multiply({out}, {self.plain(coefficient)}, out={out})")
        return out

    def scaled_call(self, expr: sp.Mul, shape: Shape, target: str | None) -> str | None:
        """c·f(±u) in one call where the helper takes the factor (`scale=`) and the sign
        (`negated=`): c·σ(-z) is c/(1 + e^z), four passes where it would take seven."""
        calls = [f for f in expr.args if isinstance(f, sp.Function)
                 and getattr(self.namespace.get(self.function_name(f)), "accepts_scale", False)]
        if len(calls) != 1:
            return None
        rest = expr / calls[0]
        if self.shape(rest) is not None and rest not in self.operands:
            return None
        return self.call(calls[0], shape, target, scale=self.value(rest))

    def power(self, expr: sp.Pow, shape: Shape, target: str | None) -> str:
        base, exponent = expr.args
        out = self.buffer(shape, target)
        value = self.value(base, out if self.shape(base) == shape and base not in self.operands
                           else None)
        if exponent == 2:
            self.lines.append(f"square({value}, out={out})")
        elif exponent == sp.Rational(1, 2):
            self.lines.append(f"sqrt({value}, out={out})")
        elif exponent == -1:
            self.lines.append(f"divide(1.0, {value}, out={out})")
        else:
            self.lines.append(f"power({value}, {self.value(exponent)}, out={out})")
        return out

    def call(self, expr: sp.Function, shape: Shape, target: str | None,
             scale: str | None = None) -> str:
        name = self.function_name(expr)
        function = self.namespace.get(name)
        if not accepts_out(function):
            return self.plain(expr)
        out = self.buffer(shape, target)
        args, options = list(expr.args), ""
        if getattr(function, "accepts_scale", False):
            if args[0].could_extract_minus_sign():
                args[0], options = -args[0], ", negated=True"
            if scale is not None and scale != "1":
                options += f", scale={scale}"
        arguments = [self.value(a, out if len(args) == 1 and self.shape(a) == shape
                                and a not in self.operands else None) for a in args]
        self.lines.append(f"{name}({', '.join(arguments)}, out={out}{options})")
        return out


def _is_reciprocal(factor: sp.Expr) -> bool:
    return isinstance(factor, sp.Pow) and factor.exp.is_number and bool(factor.exp < 0)


class Fixed:
    """The operands computed once per data set, and `hoist`, which puts a value made of them
    on a line of its own there and returns its name (a new operand, also fixed)."""

    def __init__(self, symbols: set[sp.Symbol], hoist: Callable[[sp.Expr], str]):
        self.symbols = set(symbols)
        self._hoist = hoist

    def hoist(self, expr: sp.Expr) -> sp.Symbol:
        symbol = sp.Symbol(self._hoist(expr), real=True)
        self.symbols.add(symbol)
        return symbol


def statements(template: sp.Expr, operands: Mapping[sp.Symbol, tuple[str, Shape | None]],
               slots: Slots, target: str, plain: Callable[[sp.Expr], str],
               function_name: Callable[[sp.Function], str], namespace: Mapping[str, Any],
               fixed: Fixed | None = None) -> tuple[list[str], str]:
    """(the lines computing `template` into `target` where it can, the code of its value).
    Buffers for subexpressions are given back when the lines are done."""
    writer = _Statements(operands, slots, plain, function_name, namespace, fixed)
    result = writer.value(template, target)
    for name in writer.temporaries:
        slots.give_back(name)
    return writer.lines, result
