"""The `gdcheck` command: a thin adapter over the library.

Exit status: 0 all checks passed, 1 a check failed, 2 bad spec or usage.
Errors go to stderr as `Error: <file>:<line>: <field>: <message>`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

import numpy as np
import sympy as sp

from .errors import GdcheckError, Location, SpecError, UsageError
from .spec import Spec, load
from .symbolic import SymbolicObjective, derive


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see 'gdcheck {self.prog.split()[-1]} --help')"
                         if " " in self.prog else f"{message} (see 'gdcheck --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gdcheck", description="Exact gradients from a YAML spec, verified.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    derive_command = commands.add_parser("derive", help="print the exact gradient formulas")
    derive_command.add_argument("spec", help="a spec file")
    derive_command.add_argument("--hessian", action="store_true", help="print the Hessian too")
    derive_command.add_argument("--latex", action="store_true", help="print LaTeX")
    derive_command.set_defaults(run=_derive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        arguments = _parser().parse_args(argv)
        return int(arguments.run(arguments, sys.stdout))
    except GdcheckError as error:
        print(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130


def _derive(arguments: argparse.Namespace, out: TextIO) -> int:
    spec = load(arguments.spec)
    symbolic = _guarded(spec, derive)
    show = sp.latex if arguments.latex else sp.sstr
    label = _latex_label if arguments.latex else _text_label
    for line in describe(spec, symbolic, show, label, hessian=arguments.hessian):
        print(line, file=out)
    return 0


def _guarded(spec: Spec, step: Callable[[Spec], SymbolicObjective]) -> SymbolicObjective:
    """Run a SymPy step; an expression too large for SymPy is the spec's fault, said plainly."""
    try:
        return step(spec)
    except (RecursionError, MemoryError):
        raise SpecError(Location(str(spec.path), None, "spec"),
                        "the expressions are too large to derive") from None


def _text_label(name: str) -> str:
    return f"dL/d{name}"


def _latex_label(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {sp.latex(sp.Symbol(name))}}}"


def describe(spec: Spec, symbolic: SymbolicObjective, show: Callable[[sp.Expr], str],
             label: Callable[[str], str], *, hessian: bool = False) -> list[str]:
    """The lines `gdcheck derive` prints: objective, model, every dL/dθᵢ (and the Hessian)."""
    lines = [f"spec: {spec.name} ({spec.path})",
             f"parameters: {', '.join(symbolic.parameter_names)}"]
    if spec.constants:
        lines.append("constants: " + ", ".join(f"{k} = {v:g}" for k, v in spec.constants.items()))
    if symbolic.model is not None:
        lines.append(f"model: y_pred = {_show_value(symbolic.model, show)}")
        lines.append(f"loss (per sample, as written): {spec.loss.text.strip()}")  # type: ignore
    lines.append(f"objective: L = {show(symbolic.objective_expression)}")
    lines.append("gradient:")
    for name, expression in zip(symbolic.parameter_names, symbolic.gradient_expressions,
                                strict=True):
        lines.append(f"  {label(name)} = {show(expression)}")
    if hessian:
        lines.append("hessian (upper triangle):")
        names = symbolic.parameter_names
        for i, row in enumerate(symbolic.sample_hessian):
            for j in range(i, len(names)):
                entry = symbolic.readable(row[j], symbolic.penalty_hessian[i][j])
                lines.append(f"  d2L/d{names[i]}d{names[j]} = {show(entry)}")
    for warning in symbolic.warnings:
        lines.append(f"warning: {warning}")
    return lines


def _show_value(value: object, show: Callable[[sp.Expr], str]) -> str:
    array = np.asarray(value, dtype=object)
    if array.shape == ():
        return show(array[()])
    return "[" + ", ".join(_show_value(item, show) for item in array) + "]"


if __name__ == "__main__":
    sys.exit(main())
