"""The `gdcheck` command: a thin adapter over the library.

Exit status: 0 all checks passed, 1 a check failed, 2 bad spec or usage.
Errors go to stderr as `Error: <file>:<line>: <field>: <message>`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np
import sympy as sp

from .checks import CheckResult
from .compiled import compile_spec
from .errors import GdcheckError, Location, SpecError, UsageError, printable
from .report import SpecFailure, json_safe, write_index, write_junit, write_summary
from .runner import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Event,
    RunOptions,
    default_jobs,
    parse_size,
    run_specs,
)
from .spec import Spec, load
from .symbolic import SymbolicObjective, formula, latex_formula, shared_subexpressions
from .verify import Verification


def _say(*parts: object, file: TextIO | None = None, flush: bool = False) -> None:
    """print, with text from specs and file names made inert (no ANSI escapes, NUL, ...)."""
    print(*(printable(part) for part in parts), file=file or sys.stdout, flush=flush)


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
    derive_command.add_argument("--inline", action="store_true",
                                help="write shared subexpressions out instead of naming them")
    derive_command.set_defaults(run=_derive)
    verify_command = commands.add_parser("verify", help="run every check of the specs")
    verify_command.add_argument("paths", nargs="+", metavar="PATH",
                                help="spec files, or folders searched for *.yaml / *.yml")
    verify_command.add_argument("--report-dir", default="reports", metavar="DIR",
                                help="where reports go (default: reports/)")
    verify_command.add_argument("--seed", type=_natural, default=0, metavar="N",
                                help="seed for Hypothesis and sampling (default 0)")
    verify_command.add_argument("--examples", type=_positive, metavar="N",
                                help="examples for every property check")
    verify_command.add_argument("--junit", metavar="FILE", help="write JUnit XML for CI")
    verify_command.add_argument("--against", metavar="MODULE:FUNCTION",
                                help="also check your own gradient function against the exact "
                                     "one: FUNCTION(**parameters, **data) -> {name: gradient}")
    verify_command.add_argument("--format", choices=("text", "json"), default="text",
                                help="json: one JSON document on stdout (lines go to stderr)")
    verify_command.add_argument("--summary", metavar="FILE",
                                help="append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    verify_command.add_argument("--jobs", type=_positive, default=default_jobs(), metavar="N",
                                help="specs verified at once, each in its own process "
                                     f"(default {default_jobs()}: the cores, at most 4)")
    verify_command.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                                metavar="SECONDS", help="wall-clock (and CPU) time per spec "
                                f"(default {DEFAULT_TIMEOUT:g}; 0: no limit)")
    verify_command.add_argument("--memory", type=_memory, default=DEFAULT_MEMORY, metavar="SIZE",
                                help="address space per spec, e.g. 4G or 512M (default 4G; "
                                     "0: no limit)")
    verify_command.set_defaults(run=_verify)
    return parser


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number >= 0")
    return int(text)


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"got {text!r}, expected seconds >= 0 (0: no limit)")
    return value or None


def _memory(text: str) -> int | None:
    if text.strip() == "0":
        return None
    try:
        return parse_size(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a size such as 4G or 512M "
                                         "(0: no limit)") from None


def _positive(text: str) -> int:
    value = _natural(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number >= 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        arguments = _parser().parse_args(argv)
        return int(arguments.run(arguments, sys.stdout))
    except GdcheckError as error:
        _say(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        _say("Error: interrupted", file=sys.stderr)
        return 130


def _verify(arguments: argparse.Namespace, out: TextIO) -> int:
    started = time.perf_counter()
    paths = spec_paths(arguments.paths)
    against = None if arguments.against is None else import_function(arguments.against)
    document = out
    if arguments.format == "json":
        out = sys.stderr  # stdout carries the JSON document alone
    options = RunOptions(arguments.report_dir, arguments.seed, arguments.examples, against,
                         arguments.against or "", arguments.timeout, arguments.memory,
                         arguments.jobs)
    results: dict[Path, Verification | SpecFailure] = duplicate_names(paths)
    interrupted = None
    with _interrupts_raised() as received:
        try:
            display = _Display(out)
            for path, event in run_specs([p for p in paths if p not in results], options):
                ending = display.show(path, event)
                if ending is not None:
                    results[path] = ending
        except _Interrupted:
            interrupted = received[-1]
    entries = [results[path] for path in paths if path in results]
    status = _finish(entries, arguments, out, time.perf_counter() - started)
    if interrupted is not None:
        _say(f"Error: interrupted by {signal.Signals(interrupted).name} after {len(entries)} of "
              f"{len(paths)} specs; their reports are complete; run again to verify the rest",
              file=sys.stderr)
        status = 128 + interrupted
    if arguments.format == "json":
        json.dump(run_document(entries, status), document, indent=2, allow_nan=False)
        document.write("\n")
    return status


def _finish(entries: list[Verification | SpecFailure], arguments: argparse.Namespace,
            out: TextIO, seconds: float) -> int:
    """Write the run's index (and JUnit and summary), print the totals; the exit status."""
    index = write_index(entries, Path(arguments.report_dir))
    if arguments.junit:
        write_junit(entries, Path(arguments.junit))
    if arguments.summary:
        write_summary(entries, Path(arguments.summary))
    passed = sum(isinstance(e, Verification) and e.passed for e in entries)
    errors = sum(isinstance(e, SpecFailure) for e in entries)
    failed = len(entries) - passed - errors
    _say(f"{len(entries)} spec{'s' if len(entries) != 1 else ''}: {passed} passed, {failed} "
          f"failed, {errors} error{'s' if errors != 1 else ''} ({seconds:.1f}s); index: {index}",
          file=out)
    return 2 if errors else 1 if failed else 0


def duplicate_names(paths: Sequence[Path]) -> dict[Path, Verification | SpecFailure]:
    """Specs whose name another spec of the run already has (names are report folders)."""
    seen: dict[str, Path] = {}
    duplicates: dict[Path, Verification | SpecFailure] = {}
    for path in paths:
        try:
            name = load(path).name
        except SpecError:
            continue  # its own run reports the error
        if name in seen:
            message = (f"{path}: name: '{name}' is also the name of {seen[name]}; names must "
                       "differ (they name report folders)")
            _say(f"Error: {message}", file=sys.stderr)
            duplicates[path] = SpecFailure(str(path), message)
        seen.setdefault(name, path)
    return duplicates


class _Interrupted(Exception):
    pass


@contextlib.contextmanager
def _interrupts_raised() -> Iterator[list[int]]:
    """SIGINT and SIGTERM raise _Interrupted (recording which), so a run can finish its index."""
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        raise _Interrupted

    previous = {number: signal.signal(number, handler)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def run_document(entries: Sequence[Verification | SpecFailure], status: int) -> dict[str, Any]:
    """The --format json document: every spec's report.json, and the specs that failed to load."""
    return {"passed": status == 0, "exit_status": status,
            "specs": [json_safe(e.to_json()) for e in entries if isinstance(e, Verification)],
            "errors": [{"path": e.path, "message": e.message} for e in entries
                       if isinstance(e, SpecFailure)]}


def import_function(reference: str) -> Callable[..., Any]:
    """`module:function` (module importable from the current folder) → the function."""
    module_name, _, name = reference.partition(":")
    if not module_name or not name:
        raise UsageError(f"--against {reference!r}: expected MODULE:FUNCTION, such as "
                         "'mymodel:gradient'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"--against {reference!r}: cannot import {module_name!r}: {error}"
                         ) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"--against {reference!r}: {module_name} has no function {name!r}")
    return function


def spec_paths(arguments: Sequence[str]) -> list[Path]:
    """The spec files named, folders expanded to their *.yaml and *.yml files, sorted."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")
                           and p.is_file())
            if not found:
                raise UsageError(f"no *.yaml or *.yml spec files in folder {argument}")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise UsageError(f"no such file or folder: {argument}")
    return paths


class _Display:
    """Prints a run as it goes: the spec, a line per check, warnings, replay, report."""

    def __init__(self, out: TextIO):
        self.out = out
        self.progress = _Progress(sys.stderr)  # the spec being shown is always the live one
        self.started: set[Path] = set()

    def show(self, path: Path, event: Event) -> Verification | SpecFailure | None:
        if path not in self.started:
            self.started.add(path)
            _say(f"{path}", file=self.out, flush=True)
        if event.kind == "progress":
            self.progress.show(*event.payload)
        elif event.kind == "check":
            _print_check(event.payload, self.progress, self.out)
        elif event.kind == "failed":
            self.progress.clear()
            _say(f"Error: {event.payload.message}", file=sys.stderr, flush=True)
            return event.payload
        elif event.kind == "done":
            self._close(event.payload)
            return event.payload
        return None

    def _close(self, verification: Verification) -> None:
        for warning in verification.warnings:
            _say(f"  warning: {warning}", file=self.out)
        for check in verification.checks.values():
            if check.counterexample is not None:
                _say(f"  replay: {check.counterexample.replay}", file=self.out)
                break
        _say(f"  report: {verification.report_dir}", file=self.out, flush=True)


def _print_check(check: CheckResult, progress: _Progress, out: TextIO) -> None:
    progress.clear()
    verdict = "PASS" if check.passed else "FAIL"
    _say(f"  {verdict} {check.name:<12} {check.summary} ({check.seconds:.1f}s)", file=out,
          flush=True)


class _Progress:
    """A one-line progress indicator on a terminal; silent when output is a file or pipe."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.active = stream is not None and stream.isatty()
        self.shown = False

    def show(self, what: str, done: int, total: int) -> None:
        if self.active and self.stream is not None:
            self.stream.write(f"\r  ... {what}: step {done:,} of {total:,}")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown and self.stream is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _derive(arguments: argparse.Namespace, out: TextIO) -> int:
    spec = load(arguments.spec)
    symbolic = _guarded(spec, lambda spec: compile_spec(spec).symbolic)  # loads data too
    show = latex_formula if arguments.latex else formula
    label = _latex_label if arguments.latex else _text_label
    for line in describe(spec, symbolic, show, label, hessian=arguments.hessian,
                         shared=not arguments.inline):
        _say(line, file=out)
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
        definitions, expressions = shared_subexpressions(expressions)
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


if __name__ == "__main__":
    sys.exit(main())
