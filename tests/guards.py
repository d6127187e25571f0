"""The hang guard of the tests that run hostile input: a block that would block fails the
test (with `Hang`) instead of stalling the suite."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` cannot swallow it."""


@contextlib.contextmanager
def alarm(seconds: float, message: str = "") -> Iterator[None]:
    """Raise Hang(message) in the block once `seconds` of wall-clock time have passed."""
    def ring(signum: int, frame: Any) -> None:
        raise Hang(message or f"no answer after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
