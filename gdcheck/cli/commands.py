"""The `gdcheck` command: a thin adapter over the library.

Exit status: 0 all checks passed, 1 a check failed, 2 bad spec or usage; 128 + the signal
(130, 143) when interrupted. Errors go to stderr as `Error: <file>:<line>: <field>: <message>`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .. import defaults
from ..checks.against import import_function
from ..compiled import compile_spec
from ..compiled.export import export_source
from ..errors import GdcheckError, Location, SpecError, UsageError, excerpt, printable
from ..reports import run_document, write_index, write_junit, write_summary
from ..reports.files import atomic_write, writable_file, writable_folder, write_failure
from ..results import Finished, Outcome, RunTotals, SpecFailure
from ..runner import RunOptions, run_limited, run_specs
from ..spec import Spec, load
from ..spec.discovery import spec_paths
from ..spec.root import set_root
from ..spec.schema import schema_text
from ..symbolic.display import derivation
from ..symbolic.notation import derivation_lines
from ..symbolic.objective import SymbolicObjective
from . import Interrupts
from .display import RunDisplay, say
from .parser import parser


def run(argv: Sequence[str] | None, interrupts: Interrupts) -> int:
    """Run the command line with `interrupts` recording SIGINT and SIGTERM; the exit status."""
    try:
        arguments = parser().parse_args(argv)
        _choose_root(arguments.root)
        status = (_interrupted(interrupts) if interrupts.count()
                  else COMMANDS[arguments.command](arguments, sys.stdout, interrupts))
        sys.stdout.flush()   # a closed pipe shows here, not as the interpreter exits
        return status
    except GdcheckError as error:
        say(f"Error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except KeyboardInterrupt:   # outside the main thread, where signals are not recorded
        say("Error: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:   # `gdcheck derive spec.yaml | head -1`
        _discard_stdout()
        return 128 + signal.SIGPIPE
    finally:
        set_root(None)   # a choice of this command only (tests call main in-process)


def _choose_root(folder: str | None) -> None:
    if folder is not None and not Path(folder).is_dir():
        raise UsageError(f"--root {excerpt(folder)}: no such folder")
    set_root(folder)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    stdout = sys.__stdout__
    if stdout is not None and sys.stdout is stdout:   # not a test's capture
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _interrupted(interrupts: Interrupts) -> int:
    say(f"Error: interrupted by {interrupts.name}", file=sys.stderr)
    return interrupts.status


def verify_command(arguments: argparse.Namespace, out: TextIO, interrupts: Interrupts) -> int:
    started = time.perf_counter()
    discovery = spec_paths(arguments.paths)
    paths = discovery.paths
    against = None if arguments.against is None else import_function(arguments.against)
    _check_writable(arguments)
    document = out
    if arguments.format == "json":
        out = sys.stderr  # stdout carries the JSON document alone
    options = RunOptions(arguments.report_dir, arguments.seed, arguments.examples, against,
                         arguments.against or "", arguments.timeout, arguments.memory,
                         arguments.jobs)
    results: dict[Path, Outcome] = {}
    display = RunDisplay(out)
    for path, message in discovery.problems.items():   # a dangling link, a FIFO, ...: errors
        outcome = display.show(path, Finished(SpecFailure(str(path), message)))
        if outcome is not None:
            results[path] = outcome
    paths = [*discovery.problems, *paths]
    with contextlib.closing(run_specs(discovery.paths, options, interrupts.count)) as events:
        for path, event in events:
            outcome = display.show(path, event)
            if outcome is not None:
                results[path] = outcome
    entries = [results[path] for path in paths if path in results]
    status = _finish(entries, arguments, out, time.perf_counter() - started)
    if interrupts.count():
        say(f"Error: interrupted by {interrupts.name} after {len(entries)} of {len(paths)} "
            "specs; their reports are complete; run again to verify the rest", file=sys.stderr)
        status = interrupts.status
    if arguments.format == "json":
        json.dump(run_document(entries, status), document, indent=2, allow_nan=False)
        document.write("\n")
    return status


def _check_writable(arguments: argparse.Namespace) -> None:
    """Refuse, before any spec is verified, a report folder, JUnit file or summary that
    cannot be written (a read-only disk, a file where a folder should be, ...)."""
    targets = [("--report-dir", arguments.report_dir, writable_folder),
               ("--junit", arguments.junit, writable_file),
               ("--summary", arguments.summary, writable_file)]
    for option, target, probe in targets:
        if not target:
            continue
        try:
            probe(Path(target))
        except OSError as error:
            where = "" if error.filename in (None, target, str(Path(target))) else (
                f" ({error.filename})")
            raise UsageError(f"{option} {target}: cannot write there{where}: "
                             f"{write_failure(error)}") from None


def _finish(entries: list[Outcome], arguments: argparse.Namespace, out: TextIO,
            seconds: float) -> int:
    """Write the run's index (and JUnit and summary), print the totals; the exit status
    (2 if one of those files could not be written)."""
    totals = RunTotals.of(entries)
    writers = [(write_index, arguments.report_dir), (write_junit, arguments.junit),
               (write_summary, arguments.summary)]
    written = [_written(writer, entries, Path(target)) for writer, target in writers if target]
    say(f"{totals} ({seconds:.1f}s); index: {written[0] or 'not written'}", file=out)
    return totals.exit_status if all(written) else 2


def _written(writer: Callable[[list[Outcome], Path], Path], entries: list[Outcome],
             target: Path) -> Path | None:
    try:
        return writer(entries, target)
    except OSError as error:
        say(f"Error: cannot write {error.filename or target}: {write_failure(error)}",
            file=sys.stderr)
        return None


def derive_command(arguments: argparse.Namespace, out: TextIO, interrupts: Interrupts) -> int:
    """Derive in a child process, under the time and memory limits of `verify`."""
    outcome = run_limited(Path(arguments.spec), lambda: _derivation(arguments),
                          arguments.timeout, arguments.memory, interrupts.count)
    if interrupts.count():
        return _interrupted(interrupts)
    if isinstance(outcome, SpecFailure):
        say(f"Error: {outcome.message}", file=sys.stderr)
        return 2
    for line in outcome:
        say(line, file=out)
    return 0


def _derivation(arguments: argparse.Namespace) -> list[str]:
    """In the child: the lines `gdcheck derive` prints."""
    spec = load(arguments.spec)
    problem = compile_spec(spec)   # loads the data too: a bad data file is an error here
    if arguments.scalar or arguments.inline:
        if problem.size > defaults.MAX_SCALAR_DISPLAY:
            raise UsageError(f"--scalar writes every entry's formula out, and {spec.path} has "
                             f"{problem.size:,} parameters (at most "
                             f"{defaults.MAX_SCALAR_DISPLAY:,}); the matrix formulas, without "
                             "--scalar, say the same at any size")
        symbolic = _guarded(spec, lambda spec: problem.symbolic)
        return list(derivation(spec, symbolic, latex=arguments.latex,
                               hessian=arguments.hessian, shared=not arguments.inline))
    return list(derivation_lines(problem.objective, latex=arguments.latex,
                                 hessian=arguments.hessian))


def _guarded(spec: Spec, step: Callable[[Spec], SymbolicObjective]) -> SymbolicObjective:
    """Run a SymPy step; an expression too large for SymPy is the spec's fault, said plainly."""
    try:
        return step(spec)
    except (RecursionError, MemoryError):
        raise SpecError(Location(str(spec.path), None, "spec"),
                        "the expressions are too large to derive") from None


def export_command(arguments: argparse.Namespace, out: TextIO, interrupts: Interrupts) -> int:
    """Write the module in a child process, under the time and memory limits of `verify`."""
    spec = Path(arguments.spec)
    output = _output_file(arguments.output, spec)
    source = run_limited(spec, lambda: export_source(spec, arguments.to), arguments.timeout,
                         arguments.memory, interrupts.count)
    if interrupts.count():
        return _interrupted(interrupts)
    if isinstance(source, SpecFailure):
        say(f"Error: {source.message}", file=sys.stderr)
        return 2
    return _emit(source, output, out, f"the {arguments.to} module of {spec}")


def schema_command(arguments: argparse.Namespace, out: TextIO, interrupts: Interrupts) -> int:
    return _emit(schema_text(), _output_file(arguments.output), out, "the spec JSON Schema")


def _output_file(option: str | None, spec: Path | None = None) -> Path | None:
    """The file -o names, refused before any work if it cannot be written or is a spec."""
    if option is None:
        return None
    path = Path(option)
    if path.suffix.lower() in (".yaml", ".yml") or (
            spec is not None and path.exists() and spec.exists() and path.samefile(spec)):
        raise UsageError(f"-o {printable(option)}: that would write over a spec; name a Python "
                         f"file instead (e.g. -o {path.with_suffix('.py').name})")
    try:
        writable_file(path)
    except OSError as error:
        where = "" if error.filename in (None, option, str(path)) else f" ({error.filename})"
        raise UsageError(f"-o {printable(option)}: cannot write there{where}: "
                         f"{write_failure(error)}") from None
    return path


def _emit(text: str, output: Path | None, out: TextIO, what: str) -> int:
    """`text` on stdout, or into `output` (saying so); 2 if the file could not be written."""
    if output is None:
        out.write(text)
        return 0
    try:
        atomic_write(output, text)
    except OSError as error:
        say(f"Error: cannot write {error.filename or output}: {write_failure(error)}",
            file=sys.stderr)
        return 2
    say(f"wrote {what} to {output}", file=out)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, Interrupts], int]] = {
    "verify": verify_command,
    "derive": derive_command,
    "export": export_command,
    "schema": schema_command,
}
