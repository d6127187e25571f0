"""Verify many specs, each in a child process under resource limits.

How it works: every spec runs in a forked child with a CPU-time limit and an
address-space limit (RLIMIT_CPU, RLIMIT_AS) and is killed past a wall-clock
limit, so a hostile or runaway spec cannot hang the gate or exhaust memory,
and the run's memory stays flat however many specs it has. A child writes its
spec's report itself (atomically) and sends back, over a pipe, each check as
it finishes and then the Verification or the error. Up to `jobs` children run
at once; events are handed out in the order of the specs, so the output and
the reports are those of a serial run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from .checks import CheckResult
from .errors import GdcheckError, Location, SpecError
from .report import SpecFailure, write_report
from .spec import load
from .verify import Verification, verify

DEFAULT_TIMEOUT = 600.0          # seconds of wall-clock time per spec
DEFAULT_MEMORY = 4 * 1024**3     # bytes of address space per spec
ENDINGS = ("done", "failed")


@dataclass(frozen=True)
class RunOptions:
    report_dir: str | Path | None = "reports"
    seed: int = 0
    examples: int | None = None
    against: Callable[..., Any] | None = None
    against_label: str = ""
    timeout: float | None = DEFAULT_TIMEOUT
    memory: int | None = DEFAULT_MEMORY
    jobs: int = 1


@dataclass(frozen=True)
class Event:
    """What a child reports: `check` (a CheckResult), `progress` ((what, done, total)),
    `done` (a Verification) or `failed` (a SpecFailure)."""

    kind: str
    payload: Any


def run_specs(paths: Sequence[Path], options: RunOptions) -> Iterator[tuple[Path, Event]]:
    """Verify every spec; yield (path, event) spec by spec, in order, each ending in
    a `done` or `failed` event, while up to `options.jobs` specs run at once."""
    pending = deque(paths)
    running: dict[Path, _Child] = {}
    events: dict[Path, deque[Event]] = {path: deque() for path in paths}
    finished: set[Path] = set()
    context = multiprocessing.get_context("fork")
    try:
        for path in paths:
            while True:
                while events[path]:
                    yield path, events[path].popleft()
                if path in finished:
                    break
                while pending and len(running) < max(1, options.jobs):
                    spec = pending.popleft()
                    running[spec] = _Child.start(context, spec, options)
                for child_path, event in _next_events(running, options):
                    events[child_path].append(event)
                    if event.kind in ENDINGS:
                        finished.add(child_path)
    finally:
        for child in running.values():
            child.stop()


def _next_events(running: dict[Path, _Child], options: RunOptions
                 ) -> Iterator[tuple[Path, Event]]:
    """Wait for any child to report (or to pass its time limit), and collect what it said."""
    ready = wait([child.connection for child in running.values()], timeout=0.2)
    for path, child in list(running.items()):
        event = child.receive() if child.connection in ready else child.check_time(options)
        if event is None:
            continue
        yield path, event
        if event.kind in ENDINGS:
            child.stop()
            del running[path]


@dataclass
class _Child:
    path: Path
    process: Any
    connection: Connection
    started: float

    @classmethod
    def start(cls, context: Any, path: Path, options: RunOptions) -> _Child:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(path, options, sender), daemon=True)
        process.start()
        sender.close()
        return cls(path, process, receiver, time.monotonic())

    def receive(self) -> Event:
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join(timeout=1)
            return Event("failed", _crash(self.path, self.process.exitcode))

    def check_time(self, options: RunOptions) -> Event | None:
        if options.timeout is None or time.monotonic() - self.started <= options.timeout:
            return None
        return Event("failed", SpecFailure(str(self.path), f"{self.path}: spec: exceeded the "
                                           f"time limit of {options.timeout:g} s (--timeout)"))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()   # SIGTERM: the child exits through its cleanups
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


def _crash(path: Path, exitcode: int | None) -> SpecFailure:
    if exitcode is not None and exitcode < 0:
        cause = {signal.SIGXCPU: "exceeded the CPU time limit (--timeout)",
                 signal.SIGKILL: "was killed (out of memory? see --memory)"}.get(
            signal.Signals(-exitcode), f"ended by signal {signal.Signals(-exitcode).name}")
    else:
        cause = f"ended unexpectedly (exit status {exitcode})"
    return SpecFailure(str(path), f"{path}: spec: verification {cause}")


def _child_main(path: Path, options: RunOptions, connection: Connection) -> None:
    """In the child: limits, then verify, sending events; never raises to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; a terminal's ^C
    signal.signal(signal.SIGTERM, _exit_cleanly)  # reaches the whole process group
    _limit(options)

    def send(kind: str, payload: Any) -> None:
        connection.send(Event(kind, payload))

    try:
        spec = load(path)
        verification = verify(spec, None, options.seed, examples=options.examples,
                              against=options.against, against_label=options.against_label,
                              progress=lambda *step: send("progress", step),
                              on_check=lambda check: send("check", _light(check)))
        if options.report_dir is not None:
            # a report is several files: a stop request waits until all of them are written
            with _deferred(signal.SIGTERM):
                verification.report_dir = write_report(verification, Path(options.report_dir))
        send("done", _without_curves(verification))
    except MemoryError:
        send("failed", SpecFailure(str(path), f"{path}: spec: exceeded the memory limit of "
                                   f"{_size(options.memory)} (--memory)"))
    except (RecursionError, SpecError, GdcheckError) as error:
        if isinstance(error, RecursionError):
            error = SpecError(Location(str(path), None, "spec"), "the expressions are too "
                              "deeply nested to derive")
        send("failed", SpecFailure(str(path), str(error)))
    finally:
        connection.close()


@contextlib.contextmanager
def _deferred(signum: int) -> Iterator[None]:
    """Hold `signum` back while the block runs; it is delivered when the block ends."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _limit(options: RunOptions) -> None:
    # no core files: a child stopped at the CPU limit would dump its memory into the folder
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if options.timeout is not None:
        seconds = int(options.timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    if options.memory is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = options.memory if hard == resource.RLIM_INFINITY else min(options.memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _light(check: CheckResult) -> CheckResult:
    return replace(check, curves={})  # the plots are drawn in the child; the parent needs none


def _without_curves(verification: Verification) -> Verification:
    verification.checks = {name: _light(check) for name, check in verification.checks.items()}
    return verification


def _size(memory: int | None) -> str:
    if memory is None:
        return "unlimited"
    return f"{memory / 1024**3:g} GiB" if memory >= 1024**3 else f"{memory / 1024**2:g} MiB"


def parse_size(text: str) -> int:
    """'4G', '512M', '2048' (MiB) → bytes; for --memory."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = units.get(text[-1:], None)
    number = text[:-1] if factor else text
    value = float(number) * (factor or 1024**2)
    if not value > 0:
        raise ValueError(text)
    return int(value)


def default_jobs() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0))))
