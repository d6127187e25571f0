"""The `gdcheck` command: a thin adapter over the library.

Exit status: 0 all checks passed, 1 a check failed, 2 bad spec or usage.
Errors go to stderr as `Error: <file>:<line>: <field>: <message>`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import defaults
from ..checks.against import import_function
from ..compiled import compile_spec
from ..errors import GdcheckError, Location, SpecError, UsageError
from ..reports import run_document, write_index, write_junit, write_summary
from ..results import Outcome, RunTotals
from ..runner import RunOptions, duplicate_names, run_specs, spec_paths
from ..spec import Spec, load
from ..symbolic.display import derivation
from ..symbolic.notation import derivation_lines
from ..symbolic.objective import SymbolicObjective
from .display import RunDisplay, say
from .parser import parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        arguments = parser().parse_args(argv)
        return int(COMMANDS[arguments.command](arguments, sys.stdout))
    except GdcheckError as error:
        say(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        say("Error: interrupted", file=sys.stderr)
        return 130


def verify_command(arguments: argparse.Namespace, out: TextIO) -> int:
    started = time.perf_counter()
    paths = spec_paths(arguments.paths)
    against = None if arguments.against is None else import_function(arguments.against)
    document = out
    if arguments.format == "json":
        out = sys.stderr  # stdout carries the JSON document alone
    options = RunOptions(arguments.report_dir, arguments.seed, arguments.examples, against,
                         arguments.against or "", arguments.timeout, arguments.memory,
                         arguments.jobs)
    duplicates = duplicate_names(paths)
    for failure in duplicates.values():
        say(f"Error: {failure.message}", file=sys.stderr)
    results: dict[Path, Outcome] = dict(duplicates)
    interrupted = None
    with _interrupts_raised() as received:
        try:
            display = RunDisplay(out)
            for path, event in run_specs([p for p in paths if p not in results], options):
                outcome = display.show(path, event)
                if outcome is not None:
                    results[path] = outcome
        except _Interrupted:
            interrupted = received[-1]
    entries = [results[path] for path in paths if path in results]
    status = _finish(entries, arguments, out, time.perf_counter() - started)
    if interrupted is not None:
        say(f"Error: interrupted by {signal.Signals(interrupted).name} after {len(entries)} of "
            f"{len(paths)} specs; their reports are complete; run again to verify the rest",
            file=sys.stderr)
        status = 128 + interrupted
    if arguments.format == "json":
        json.dump(run_document(entries, status), document, indent=2, allow_nan=False)
        document.write("\n")
    return status


def _finish(entries: list[Outcome], arguments: argparse.Namespace, out: TextIO,
            seconds: float) -> int:
    """Write the run's index (and JUnit and summary), print the totals; the exit status."""
    index = write_index(entries, Path(arguments.report_dir))
    if arguments.junit:
        write_junit(entries, Path(arguments.junit))
    if arguments.summary:
        write_summary(entries, Path(arguments.summary))
    totals = RunTotals.of(entries)
    say(f"{totals} ({seconds:.1f}s); index: {index}", file=out)
    return totals.exit_status


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


def derive_command(arguments: argparse.Namespace, out: TextIO) -> int:
    spec = load(arguments.spec)
    problem = compile_spec(spec)   # loads the data too: a bad data file is an error here
    if arguments.scalar or arguments.inline:
        if problem.size > defaults.MAX_SCALAR_DISPLAY:
            raise UsageError(f"--scalar writes every entry's formula out, and {spec.path} has "
                             f"{problem.size:,} parameters (at most "
                             f"{defaults.MAX_SCALAR_DISPLAY:,}); the matrix formulas, without "
                             "--scalar, say the same at any size")
        symbolic = _guarded(spec, lambda spec: problem.symbolic)
        lines = derivation(spec, symbolic, latex=arguments.latex, hessian=arguments.hessian,
                           shared=not arguments.inline)
    else:
        lines = derivation_lines(problem.objective, latex=arguments.latex,
                                 hessian=arguments.hessian)
    for line in lines:
        say(line, file=out)
    return 0


def _guarded(spec: Spec, step: Callable[[Spec], SymbolicObjective]) -> SymbolicObjective:
    """Run a SymPy step; an expression too large for SymPy is the spec's fault, said plainly."""
    try:
        return step(spec)
    except (RecursionError, MemoryError):
        raise SpecError(Location(str(spec.path), None, "spec"),
                        "the expressions are too large to derive") from None


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "verify": verify_command,
    "derive": derive_command,
}
