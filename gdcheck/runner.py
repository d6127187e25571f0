"""Verify many specs, each in a child process under resource limits.

How it works: every spec runs in a forked child with a CPU-time limit and an
address-space limit (RLIMIT_CPU, RLIMIT_AS) and is killed past a wall-clock
limit, so a hostile or runaway spec cannot hang the gate or exhaust memory,
and the run's memory stays flat however many specs it has. The parent never
reads a spec: a child loads its own (under its limits), sends its name and
waits; the parent answers in the order of the paths, so the first spec with a
name owns it whatever `jobs` is (names are report folders). The child then
verifies, writes the report itself (atomically) and sends back, over a pipe,
each check as it finishes and then the Verification or the error: any
exception in a child is its spec's error. Up to `jobs` children run at once;
events are handed out in the order of the specs, as in a serial run.

Children die with the parent (PR_SET_PDEATHSIG) and, stopped, at once and in
silence (SIGTERM's default action, held back while a report is stored). The
parent polls `stop_requests` (the signals the command line recorded) between
steps: at the first it stops its children and hands out the specs that had
finished; at a second it stops waiting for them. `run_limited` runs one piece
of work in such a child (`gdcheck derive`). Spec discovery is gdcheck/spec/discovery.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from . import defaults
from .errors import GdcheckError, excerpt
from .options import size_text
from .reports.files import write_failure
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
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
GRACE = 5.0          # seconds a stopped child may take to finish storing a report
PR_SET_PDEATHSIG = 1

StopRequests = Callable[[], int]   # how many times the run was asked to stop so far


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


@dataclass(frozen=True)
class _Named:
    """Child to parent: the spec loaded under this name; the child waits for a go-ahead."""

    name: str


@dataclass(frozen=True)
class _Value:
    """Child to parent: what `run_limited`'s work returned."""

    value: Any


def run_specs(paths: Sequence[Path], options: RunOptions, stop_requests: StopRequests = lambda: 0
              ) -> Generator[tuple[Path, Event], None, None]:
    """Verify every spec; yield (path, event) spec by spec, in order, each spec's events
    ending in `Finished`, while up to `options.jobs` specs run at once. Once
    `stop_requests()` is above 0, the children are stopped and only the specs that had
    finished are handed out (still in order); every child is gone when this ends."""
    run = _Run(list(paths), options, stop_requests)
    try:
        yield from run.events()
    finally:
        run.stop()


class _Run:
    def __init__(self, paths: list[Path], options: RunOptions, stop_requests: StopRequests):
        self.paths, self.options, self.stop_requests = paths, options, stop_requests
        self.pending = deque(paths)
        self.running: dict[Path, _Child] = {}
        self.queued: dict[Path, deque[Event]] = {path: deque() for path in paths}
        self.finished: set[Path] = set()
        self.names: dict[Path, str] = {}
        self.owners: dict[str, Path] = {}
        self.arbitrated = 0   # paths[:arbitrated] have had their name settled (or have none)

    def events(self) -> Iterator[tuple[Path, Event]]:
        for position, path in enumerate(self.paths):
            while True:
                while self.queued[path]:
                    yield path, self.queued[path].popleft()
                if path in self.finished:
                    break
                if self.stop_requests():
                    yield from self._finished_after(position)
                    return
                self._start_children()
                self._collect()

    def _finished_after(self, position: int) -> Iterator[tuple[Path, Event]]:
        """On a stop request: stop the children, then hand out every spec that had finished."""
        for child in list(self.running.values()):
            for message in child.sent():
                self._take(child.path, message)
        self.stop()
        for path in self.paths[position:]:
            if path in self.finished:
                yield from ((path, event) for event in self.queued[path])

    def _start_children(self) -> None:
        while self.pending and len(self.running) < max(1, self.options.jobs):
            if self.stop_requests():
                return
            path = self.pending.popleft()
            self.running[path] = _Child.start(path, partial(_verification, path, self.options),
                                              self.options.timeout, self.options.memory)

    def _collect(self) -> None:
        """Wait for any child to report (or to pass its time limit), and take what it said."""
        ready = wait([child.connection for child in self.running.values()], timeout=0.1)
        if self.stop_requests():
            return   # a child the same signal ended has no error; `_finished_after` reads on
        for path, child in list(self.running.items()):
            message = child.receive() if child.connection in ready else child.check_time()
            if message is not None:
                self._take(path, message)
        self._arbitrate()

    def _take(self, path: Path, message: Any) -> None:
        if isinstance(message, _Named):
            self.names[path] = message.name
            self.running[path].waiting_since = time.monotonic()
            return
        self.queued[path].append(message)
        if isinstance(message, Finished):
            self.finished.add(path)
            self.running.pop(path).stop()

    def _arbitrate(self) -> None:
        """Settle names in the order of the paths: the first spec with a name owns it."""
        while self.arbitrated < len(self.paths):
            path = self.paths[self.arbitrated]
            if path in self.names:
                owner = self.owners.setdefault(self.names[path], path)
                if path in self.running and owner == path:
                    self.running[path].go_ahead()
                elif path in self.running:
                    message = (f"{path}: name: '{self.names[path]}' is also the name of "
                               f"{owner}; names must differ (they name report folders)")
                    self._take(path, Finished(SpecFailure(str(path), message)))
            elif path not in self.finished:
                return   # still loading (or not started): later names wait for it
            self.arbitrated += 1

    def stop(self) -> None:
        _stop(list(self.running.values()), hurry=lambda: self.stop_requests() > 1)
        self.running.clear()


def run_limited(path: Path, work: Callable[[], Any], timeout: float | None,
                memory: int | None, stop_requests: StopRequests = lambda: 0) -> Any:
    """`work()` (about the spec at `path`) in a child under the time and memory limits:
    what it returned, or the SpecFailure that says why not, or None on a stop request."""
    child = _Child.start(path, lambda connection: _Value(work()), timeout, memory,
                         task="derivation")
    try:
        while True:
            ready = wait([child.connection], timeout=0.1)
            if stop_requests():
                return None
            message = child.receive() if ready else child.check_time()
            if isinstance(message, _Value):
                return message.value
            if isinstance(message, Finished):
                return message.outcome
    finally:
        _stop([child], hurry=lambda: stop_requests() > 1)


@dataclass
class _Child:
    path: Path
    process: Any
    connection: Connection
    started: float
    timeout: float | None
    memory: int | None
    task: str
    waiting_since: float | None = None   # sent its name; its clock stops until the answer

    @classmethod
    def start(cls, path: Path, job: Callable[[Connection], Any], timeout: float | None,
              memory: int | None, task: str = "verification") -> _Child:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(target=_child_main, daemon=True, args=(
            os.getpid(), path, job, theirs, timeout, memory))
        # blocked across the fork: a signal now is the parent's to handle when the child
        # exists, and reaches a child only once it has its own dispositions
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            theirs.close()
        return cls(path, process, ours, time.monotonic(), timeout, memory, task)

    def receive(self) -> Any:
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join(timeout=1)
            return Finished(_crash(self.path, self.process.exitcode, self.task))
        except Exception as error:   # a message that does not unpickle: the spec's error
            return Finished(_failure(self.path, error, self.memory))

    def sent(self) -> Iterator[Any]:
        """What the child has sent and the parent not yet read, without waiting."""
        with contextlib.suppress(EOFError, OSError):
            while self.connection.poll(0):
                yield self.connection.recv()

    def go_ahead(self) -> None:
        if self.waiting_since is not None:
            self.started += time.monotonic() - self.waiting_since
            self.waiting_since = None
        with contextlib.suppress(OSError):   # gone meanwhile: its EOF says so next
            self.connection.send(True)

    def check_time(self) -> Event | None:
        now = time.monotonic() if self.waiting_since is None else self.waiting_since
        if self.timeout is None or now - self.started <= self.timeout:
            return None
        return Finished(SpecFailure(str(self.path), f"{self.path}: spec: exceeded the time "
                                    f"limit of {self.timeout:g} s (--timeout)"))

    def stop(self) -> None:
        _stop([self])


def _stop(children: list[_Child], hurry: Callable[[], bool] = lambda: False) -> None:
    """SIGTERM every child (each exits at once, or once its report is stored), wait up to
    GRACE seconds for them (none, once `hurry()`), then SIGKILL the rest."""
    for child in children:
        child.process.terminate()
    deadline = time.monotonic() + GRACE
    for child in children:
        while child.process.is_alive() and time.monotonic() < deadline and not hurry():
            child.process.join(timeout=0.05)
        if child.process.is_alive():
            child.process.kill()
        child.process.join()
        child.connection.close()


def _crash(path: Path, exitcode: int | None, task: str) -> SpecFailure:
    if exitcode is not None and exitcode < 0:
        cause = {signal.SIGXCPU: "exceeded the CPU time limit (--timeout)",
                 signal.SIGKILL: "was killed (out of memory? see --memory)"}.get(
            signal.Signals(-exitcode), f"ended by signal {signal.Signals(-exitcode).name}")
    else:
        cause = f"ended unexpectedly (exit status {exitcode})"
    return SpecFailure(str(path), f"{path}: spec: {task} {cause}")


# ----------------------------------------------------------------- in the child


def _child_main(parent: int, path: Path, job: Callable[[Connection], Any],
                connection: Connection, timeout: float | None, memory: int | None) -> None:
    """In the child: dispositions, limits, the job, its message sent; it never returns, and
    never prints (a stopped child dies of SIGTERM's default action, silently)."""
    with contextlib.suppress(BaseException):
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides; a terminal's ^C
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # reaches the whole process group
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        _limit(timeout, memory)
        try:
            message = job(connection)
        except BaseException as error:   # every failure is the spec's error
            message = Finished(_failure(path, error, memory))
        try:
            connection.send(message)
        except (EOFError, OSError):
            pass   # the parent has gone: no one to tell
        except BaseException as error:   # a result that does not pickle
            connection.send(Finished(_failure(path, error, memory)))
    os._exit(0)


def _verification(path: Path, options: RunOptions, connection: Connection) -> Finished:
    """Load the spec, have its name settled, verify it and write its report."""
    spec = load(path)
    connection.send(_Named(spec.name))
    connection.recv()   # the go-ahead; a spec whose name is taken is stopped instead
    send = connection.send
    verification = verify(spec, None, options.seed, examples=options.examples,
                          against=options.against, against_label=options.against_label,
                          progress=lambda *step: send(Progress(*step)),
                          on_check=lambda check: send(CheckFinished(_light(check))))
    try:
        # a report is several files: a stop request waits until all of them are written
        verification = written(verification, options.report_dir,
                               storing=lambda: _deferred(signal.SIGTERM))
    except OSError as error:
        return Finished(SpecFailure(str(path), f"{path}: report: cannot write "
                                    f"{error.filename or options.report_dir}: "
                                    f"{write_failure(error)}"))
    return Finished(_without_curves(verification))


def _failure(path: Path, error: BaseException, memory: int | None) -> SpecFailure:
    """What went wrong in a child, said as the spec's error (never a traceback)."""
    if isinstance(error, GdcheckError):
        message = str(error)
    elif isinstance(error, MemoryError):
        message = f"{path}: spec: exceeded the memory limit of {size_text(memory)} (--memory)"
    elif isinstance(error, RecursionError):
        message = f"{path}: spec: the expressions are too deeply nested to derive"
    else:
        message = (f"{path}: spec: internal error: {type(error).__name__}: "
                   f"{excerpt(error, 200)} (please report it, with the spec)")
    return SpecFailure(str(path), message)


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when the parent dies (Linux's PR_SET_PDEATHSIG);
    where it cannot, a thread watches the parent. Exit at once if it has already died."""
    try:
        armed = ctypes.CDLL(None, use_errno=True).prctl(
            PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if not armed:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(0)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


@contextlib.contextmanager
def _deferred(signum: int) -> Iterator[None]:
    """Hold `signum` back while the block runs; it is delivered when the block ends."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})


def _limit(timeout: float | None, memory: int | None) -> None:
    # no core files: a child stopped at the CPU limit would dump its memory into the folder
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if timeout is not None:
        seconds = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    if memory is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _light(check: CheckResult) -> CheckResult:
    return replace(check, curves={})  # the plots are drawn in the child; the parent needs none


def _without_curves(verification: Verification) -> Verification:
    return replace(verification, checks={name: _light(check)
                                         for name, check in verification.checks.items()})


def default_jobs() -> int:
    """The cores this process may use, at most defaults.MAX_JOBS."""
    return max(1, min(defaults.MAX_JOBS, len(os.sched_getaffinity(0))))
