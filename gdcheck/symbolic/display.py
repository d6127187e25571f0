"""The formulas for people: plain text, LaTeX, shared subexpressions named, and the
lines `gdcheck derive` prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import sympy as sp

from ..spec import Spec
from .notation import fresh_name, taken_names
from .objective import SymbolicObjective


def formula(expression: sp.Expr) -> str:
    """An expression as text, its terms in the order they were built (sorting them costs
    numeric evaluation that grows exponentially with nesting)."""
    return sp.sstr(expression, order="none")


def latex_formula(expression: sp.Expr) -> str:
    return sp.latex(expression, order="none")


def shared_subexpressions(expressions: list[sp.Expr], declared: Iterable[str] = ()
                           ) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Name the subexpressions worth naming (u0 = tanh(...)), for people to read.

    Common subexpressions that hold a function or a few operations keep a name, the next
    `u` one that no `declared` name (nor symbol of the expressions) takes; trivial ones
    (`1 - y`, `2*lam`) are put back inline.
    """
    taken = taken_names([*declared, *(symbol.name for expression in expressions
                                      for symbol in expression.free_symbols)])
    found, reduced = sp.cse(expressions, symbols=sp.numbered_symbols("_shared", real=True))
    inline: dict[sp.Symbol, sp.Expr] = {}
    kept: list[tuple[sp.Symbol, sp.Expr]] = []
    for symbol, expression in found:
        expression = expression.xreplace(inline)
        if expression.atoms(sp.Function) or sp.count_ops(expression) >= 4:
            name = fresh_name("u", len(kept), taken)
            taken.add(name)
            kept.append((sp.Symbol(name, real=True), expression))
            inline[symbol] = kept[-1][0]
        else:
            inline[symbol] = expression
    return kept, [expression.xreplace(inline) for expression in reduced]


def text_label(name: str) -> str:
    return f"dL/d{name}"


def latex_label(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {sp.latex(sp.Symbol(name))}}}"


def describe(spec: Spec, symbolic: SymbolicObjective, show: Callable[[sp.Expr], str],
             label: Callable[[str], str], *, hessian: bool = False,
             shared: bool = True) -> list[str]:
    """The lines `gdcheck derive` prints: objective, model, every dL/dθᵢ (and the Hessian).

    With `shared`, subexpressions used more than once are named u0, u1, ... first.
    """
    names = symbolic.parameter_names
    titled = [("objective: L", symbolic.objective_expression)]
    titled += [(f"  {label(name)}", g) for name, g in zip(names, symbolic.gradient_expressions,
                                                         strict=True)]
    if hessian:
        titled += [(f"  d2L/d{names[i]}d{names[j]}",
                    symbolic.readable(row[j], symbolic.penalty_hessian[i][j]))
                   for i, row in enumerate(symbolic.sample_hessian) for j in range(i, len(names))]
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    expressions = [expression for _, expression in titled]
    if shared:
        declared = [v.name for v in (*spec.parameters, *spec.inputs,
                                     *([spec.target] if spec.target else []))]
        definitions, expressions = shared_subexpressions(expressions,
                                                         [*declared, *spec.constants])
    lines = [f"spec: {spec.name} ({spec.path})", f"parameters: {', '.join(names)}"]
    if spec.constants:
        lines.append("constants: " + ", ".join(f"{k} = {v:g}" for k, v in spec.constants.items()))
    if symbolic.model is not None:
        lines.append(f"model: y_pred = {_show_value(symbolic.model, show)}")
        lines.append(f"loss (per sample, as written): {spec.loss.text.strip()}")  # type: ignore
    if definitions:
        lines.append("where:")
        lines += [f"  {show(symbol)} = {show(expression)}" for symbol, expression in definitions]
    for i, ((title, _), expression) in enumerate(zip(titled, expressions, strict=True)):
        if i == 1:
            lines.append("gradient:")
        if i == len(names) + 1:
            lines.append("hessian (upper triangle):")
        lines.append(f"{title} = {show(expression)}")
    lines += [f"warning: {warning}" for warning in symbolic.warnings]
    return lines


def _show_value(value: object, show: Callable[[sp.Expr], str]) -> str:
    array = np.asarray(value, dtype=object)
    if array.shape == ():
        return show(array[()])
    return "[" + ", ".join(_show_value(item, show) for item in array) + "]"




def derivation(spec: Spec, symbolic: SymbolicObjective, *, latex: bool = False,
               hessian: bool = False, shared: bool = True) -> list[str]:
    """`gdcheck derive`'s lines, as plain text or (with `latex`) LaTeX."""
    show = latex_formula if latex else formula
    label = latex_label if latex else text_label
    return describe(spec, symbolic, show, label, hessian=hessian, shared=shared)
