"""What the command line prints while a run goes: the spec, a line per check, warnings,
the replay command and the report folder; a live progress line on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..errors import printable
from ..results import CheckFinished, CheckResult, Event, Finished, Outcome, Progress, Verification


def say(*parts: object, file: TextIO | None = None, flush: bool = False) -> None:
    """print one line, with text from specs and file names made inert: printable() of the
    whole line, so no part can end it, colour it or start it with a CI command."""
    print(printable(" ".join(str(part) for part in parts)), file=file or sys.stdout,
          flush=flush)


class RunDisplay:
    """Prints a run as it goes, one spec after another."""

    def __init__(self, out: TextIO):
        self.out = out
        self.progress = ProgressLine(sys.stderr)  # the spec being shown is always the live one
        self.started: set[Path] = set()

    def show(self, path: Path, event: Event) -> Outcome | None:
        """Show one event; the spec's outcome when the event ends it."""
        if path not in self.started:
            self.started.add(path)
            say(f"{path}", file=self.out, flush=True)
        if isinstance(event, Progress):
            self.progress.show(event.what, event.done, event.total)
        elif isinstance(event, CheckFinished):
            self.progress.clear()
            show_check(event.result, self.out)
        elif isinstance(event, Finished):
            self.progress.clear()
            if isinstance(event.outcome, Verification):
                self._close(event.outcome)
            else:
                say(f"Error: {event.outcome.message}", file=sys.stderr, flush=True)
            return event.outcome
        return None

    def _close(self, verification: Verification) -> None:
        for warning in verification.warnings:
            say(f"  warning: {warning}", file=self.out)
        for check in verification.checks.values():
            if check.counterexample is not None:
                say(f"  replay: {check.counterexample.replay}", file=self.out)
                break
        say(f"  report: {verification.report_dir}", file=self.out, flush=True)


def show_check(check: CheckResult, out: TextIO) -> None:
    verdict = "PASS" if check.passed else "FAIL"
    say(f"  {verdict} {check.name:<12} {check.summary} ({check.seconds:.1f}s)", file=out,
        flush=True)


class ProgressLine:
    """A one-line progress indicator on a terminal; silent when output is a file or pipe."""

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.active = stream is not None and stream.isatty()
        self.shown = False

    def show(self, what: str, done: int, total: int) -> None:
        if self.active and self.stream is not None:
            self.stream.write(f"\r  ... {printable(what)}: step {done:,} of {total:,}")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown and self.stream is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False
