"""The `gdcheck` command line: arguments (parser.py), commands (commands.py), and what a
run prints (display.py). It parses, calls the library and displays; nothing more.

SIGINT and SIGTERM are recorded (`Interrupts`) from the moment `main` starts, before the
heavy modules load, and never raised: a command stops at a step of its choosing, stops
its child processes, writes what it has and exits 130 or 143, never with a traceback.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """While installed (in the main thread), SIGINT and SIGTERM are appended to `received`
    instead of raising, so none lands mid-write, mid-fork or in a cleanup; the code that
    polls `count` decides when to stop. For the program (`exiting=True`) the signals are
    ignored after the block, as the process ends: Python's exit would otherwise give them
    their default action back, and a late Ctrl-C would end it with status -2."""

    def __init__(self, *, exiting: bool = False):
        self.received: list[int] = []
        self.exiting = exiting
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.signal(number, self._record)
                             for number in STOP_SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, signal.SIG_IGN if self.exiting else handler)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def count(self) -> int:
        """How many stop requests have come so far."""
        return len(self.received)

    @property
    def status(self) -> int:
        """The exit status for the first request: 128 + its signal number (130, 143)."""
        return 128 + self.received[0]

    @property
    def name(self) -> str:
        return signal.Signals(self.received[0]).name


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. Without `argv` it is the program:
    SIGINT and SIGTERM are then ignored from its return to the end of the process."""
    with Interrupts(exiting=argv is None) as interrupts:
        from .commands import run  # the heavy imports, with the handlers already in place

        return run(argv, interrupts)


__all__ = ["Interrupts", "main"]
