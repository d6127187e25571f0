"""Verify many specs, each in a child process under resource limits.

How it works: every spec runs in a forked child with a CPU-time limit and an
address-space limit (RLIMIT_CPU, RLIMIT_AS) and is killed past a wall-clock
limit, so a hostile or runaway spec cannot hang the gate or exhaust memory,
and the run's memory stays flat however many specs it has. A child writes its
spec's report itself (atomically) and sends back, over a pipe, each check as
it finishes and then the Verification or the error. Up to `jobs` children run
at once; events are handed out in the order of the specs, so the output and
the reports are those of a serial run. Spec discovery (`spec_paths`) and the
refusal of two specs with one name (`duplicate_names`) live here too.
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

from . import defaults
from .errors import GdcheckError, Location, SpecError, UsageError
from .options import size_text
from .results import (
    CheckFinished,
    CheckResult,
    Event,
    Finished,
    Progress,
    SpecFailure,
    Verification,
)
from .spec import load
from .verify import verify, written

DEFAULT_TIMEOUT = defaults.TIMEOUT
DEFAULT_MEMORY = defaults.MEMORY


@dataclass(frozen=True)
class RunOptions:
    report_dir: str | Path | None = defaults.REPORT_DIR
    seed: int = defaults.SEED
    examples: int | None = None
    against: Callable[..., Any] | None = None
    against_label: str = ""
    timeout: float | None = DEFAULT_TIMEOUT
    memory: int | None = DEFAULT_MEMORY
    jobs: int = 1


def run_specs(paths: Sequence[Path], options: RunOptions) -> Iterator[tuple[Path, Event]]:
    """Verify every spec; yield (path, event) spec by spec, in order, each spec's events
    ending in `Finished`, while up to `options.jobs` specs run at once."""
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
                    if isinstance(event, Finished):
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
        if isinstance(event, Finished):
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
            return Finished(_crash(self.path, self.process.exitcode))

    def check_time(self, options: RunOptions) -> Event | None:
        if options.timeout is None or time.monotonic() - self.started <= options.timeout:
            return None
        return Finished(SpecFailure(str(self.path), f"{self.path}: spec: exceeded the time "
                                    f"limit of {options.timeout:g} s (--timeout)"))

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

    send = connection.send
    try:
        spec = load(path)
        verification = verify(spec, None, options.seed, examples=options.examples,
                              against=options.against, against_label=options.against_label,
                              progress=lambda *step: send(Progress(*step)),
                              on_check=lambda check: send(CheckFinished(_light(check))))
        # a report is several files: a stop request waits until all of them are written
        verification = written(verification, options.report_dir,
                               storing=lambda: _deferred(signal.SIGTERM))
        send(Finished(_without_curves(verification)))
    except MemoryError:
        send(Finished(SpecFailure(str(path), f"{path}: spec: exceeded the memory limit of "
                                  f"{size_text(options.memory)} (--memory)")))
    except (RecursionError, SpecError, GdcheckError) as error:
        if isinstance(error, RecursionError):
            error = SpecError(Location(str(path), None, "spec"), "the expressions are too "
                              "deeply nested to derive")
        send(Finished(SpecFailure(str(path), str(error))))
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
    return replace(verification, checks={name: _light(check)
                                         for name, check in verification.checks.items()})


def default_jobs() -> int:
    """The cores this process may use, at most defaults.MAX_JOBS."""
    return max(1, min(defaults.MAX_JOBS, len(os.sched_getaffinity(0))))


# ----------------------------------------------------------------- which specs a run verifies


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


def duplicate_names(paths: Sequence[Path]) -> dict[Path, SpecFailure]:
    """Specs whose name another spec of the run already has (names are report folders),
    each as the SpecFailure that says so."""
    seen: dict[str, Path] = {}
    duplicates: dict[Path, SpecFailure] = {}
    for path in paths:
        try:
            name = load(path).name
        except SpecError:
            continue  # its own run reports the error
        if name in seen:
            duplicates[path] = SpecFailure(str(path), f"{path}: name: '{name}' is also the name "
                                           f"of {seen[name]}; names must differ (they name "
                                           "report folders)")
        seen.setdefault(name, path)
    return duplicates
