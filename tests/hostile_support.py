"""The machinery of tests/test_hostile_table.py: a workspace per case, the kinds of file a
case lays out, the ways a case runs gdcheck, and the properties every case keeps whatever
its expected outcome.

A case runs in a fresh project folder (`Workspace.root`, the working folder and the
project root) next to a folder of secrets (`Workspace.outside`) whose files carry a
unique marker and an old access time: the marker must never be shown, and a changed
access time means gdcheck read a file outside the root. gdcheck runs in-process
(`main(argv)` with file descriptors 1 and 2 captured, so the report children forked
by the runner are captured too), in a subprocess under an address-space limit (where
a wrong answer could take the machine's memory), through a shell pipe, or under
signals. A SIGALRM guard turns a hang into a failed case instead of a blocked run.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import multiprocessing
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from guards import Hang, alarm

from gdcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "specs"
ENV = {key: value for key, value in os.environ.items() if key != "GITHUB_ACTIONS"}
ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
PYTHON = sys.executable
MiB = 1024 * 1024
GiB = 1024 * MiB
GUARD_MARGIN = 1.5        # seconds past a case's time bound before the alarm calls it a hang
OWN_MEMORY_GROWTH = 768 * MiB   # this process's peak RSS may grow by at most this in a case
CHILD_PEAK = 2.5 * GiB          # nor may any process it waited for reach more than this

AS_ROOT = os.geteuid() == 0
FORGED = "\n::error title=x::forged"   # a GitHub annotation, if a line starts with it
BIG = 10**399                          # a 400-digit integer
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # raw controls but newline and tab
_LINES = re.compile(r"\r\n|\r|\n")                     # how a CI log splits lines


# ----------------------------------------------------------------- specs


FAST_CHECKS: dict[str, Any] = {"gradient": {"examples": 3}, "descent": {"examples": 3},
                               "convergence": False}
QUAD: dict[str, Any] = {
    "gdcheck": 1,
    "name": "good",
    "parameters": {"a": {"init": "uniform(-1, 1)"}, "b": {"init": "uniform(-1, 1)"}},
    "objective": "(a - 0.7)**2 + (b + 1)**2",
    "optimizer": {"method": "gd", "learning_rate": 0.3, "steps": 60, "tolerance": 1.0e-9},
    "checks": FAST_CHECKS,
}
DELETE = object()


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=float("inf"),
                          default_flow_style=None)


def changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with each change applied: `a__b` is the field `a.b`; DELETE removes."""
    document = copy.deepcopy(base)
    for key, value in changes.items():
        path = key.split("__")
        parent = document
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return document


def quad(name: str = "good", **changes: Any) -> str:
    """A tiny bare objective that verifies in a fraction of a second."""
    return dump(changed(QUAD, {"name": name, **changes}))


def bundled(stem: str, name: str = "bad", **changes: Any) -> str:
    """specs/<stem>.yaml with fast checks, renamed, and changed."""
    document = yaml.safe_load((BUNDLED / f"{stem}.yaml").read_text(encoding="utf-8"))
    return dump(changed(document, {"name": name, "checks": FAST_CHECKS, **changes}))


def ridge(name: str = "bad", **changes: Any) -> str:
    """The bundled ridge spec (csv data in data/ridge.csv, see Workspace.bundled_data)."""
    return bundled("ridge", name, **changes)


def ridge_csv(header: str | None = None, cell: str | None = None) -> str:
    """The bundled ridge data, its header or first cell replaced."""
    lines = (BUNDLED / "data" / "ridge.csv").read_text(encoding="utf-8").splitlines()
    if header is not None:
        lines[0] = header
    if cell is not None:
        lines[1] = ",".join([cell, *lines[1].split(",")[1:]])
    return "\n".join(lines) + "\n"


SLOW = """\
gdcheck: 1
name: {name}
parameters:
  w: {{shape: [3], init: uniform(1, 2)}}
objective: sum(w**2)
optimizer: {{method: gd, learning_rate: 1.0e-9, steps: 100000000}}
checks: {{gradient: false, descent: false, convergence: {{runs: 2}}}}
"""


# ----------------------------------------------------------------- the workspace


class Workspace:
    """A project folder (root and working folder) beside a folder of secrets."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path / "project"
        self.outside = tmp_path / "outside"
        self.root.mkdir()
        self.outside.mkdir()
        (self.root / "pyproject.toml").write_text('[project]\nname = "hostile"\n')
        self.marker = f"leak{uuid.uuid4().hex[:16]}"   # lowercase: a valid spec name too
        self.canary = self.root / "CANARY"
        self.secrets: dict[Path, float] = {}
        self.cleanups: list[Callable[[], None]] = []

    def path(self, relative: str | Path) -> Path:
        return self.root / relative

    def write(self, relative: str | Path, content: str | bytes) -> Path:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    def link(self, relative: str | Path, target: str | Path) -> Path:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        return path

    def fifo(self, relative: str | Path) -> Path:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        return path

    def folder(self, relative: str | Path) -> Path:
        path = self.path(relative)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def good(self, folder: str = "specs") -> Path:
        return self.write(f"{folder}/good.yaml", quad("good"))

    def bundled_data(self) -> None:
        self.write("specs/data/ridge.csv", (BUNDLED / "data" / "ridge.csv").read_bytes())

    def secret(self, relative: str, content: str | Callable[[str], bytes]) -> Path:
        """A file outside the root holding the marker (MARKER in `content` is replaced)."""
        path = self.outside / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = (content(self.marker) if callable(content)
                else content.replace("MARKER", self.marker).encode("utf-8"))
        assert self.marker.encode() in data
        path.write_bytes(data)
        now = time.time()
        os.utime(path, (now - 3 * 86400, now))   # any read now moves the access time
        self.secrets[path] = os.stat(path).st_atime
        return path

    def secrets_read(self) -> list[str]:
        return [path.name for path, atime in self.secrets.items()
                if os.stat(path).st_atime != atime]

    def deep_chain(self, relative: str, depth: int, bottom: str) -> None:
        """relative/d/d/.../d (depth folders) with bottom.yaml at the end; removed afterwards
        (shutil.rmtree and pytest's cleanup recurse, and would stop at this depth)."""
        top = self.folder(relative)
        levels = [top / "/".join(["d"] * level) for level in range(1, depth + 1)]
        for level in levels:
            os.mkdir(level)
        (levels[-1] / "bottom.yaml").write_text(bottom)

        def remove() -> None:
            (levels[-1] / "bottom.yaml").unlink(missing_ok=True)
            for level in reversed(levels):
                with contextlib.suppress(OSError):
                    os.rmdir(level)

        self.cleanups.append(remove)

    def outputs(self) -> Iterator[Path]:
        """Every regular file under the root (no symlink followed, no huge input read)."""
        pending = [self.root]
        while pending:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False) and (
                            entry.stat(follow_symlinks=False).st_size <= 16 * MiB):
                        yield Path(entry.path)

    def clean_up(self) -> None:
        for cleanup in self.cleanups:
            cleanup()


# ----------------------------------------------------------------- running gdcheck


@dataclass
class Run:
    status: int | None          # None: no answer before the guard (a hang)
    stdout: str
    stderr: str
    seconds: float
    own_growth: int = 0         # bytes this process's peak RSS grew by
    child_peak: int = 0         # a new peak RSS of a waited-for child, in bytes (0: none)
    extra: dict[str, Any] = field(default_factory=dict)


Act = Callable[[Workspace, float], Run]   # (workspace, seconds before it is a hang) → Run




@dataclass
class _Captured:
    stdout: str = ""
    stderr: str = ""


@contextlib.contextmanager
def captured() -> Iterator[_Captured]:
    """fd 1 and 2 into files (forked children write there too); sys.stdout strict UTF-8 and
    sys.stderr backslashreplace, as Python sets them up on a UTF-8 terminal or pipe."""
    result = _Captured()
    files = {1: tempfile.TemporaryFile(), 2: tempfile.TemporaryFile()}
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = {fd: os.dup(fd) for fd in files}
    for fd, file in files.items():
        os.dup2(file.fileno(), fd)
    sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    try:
        yield result
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = streams
        for fd, file in files.items():
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
            file.seek(0)
            text = file.read().decode("utf-8", "backslashreplace")
            file.close()
            setattr(result, "stdout" if fd == 1 else "stderr", text)


def _peaks() -> tuple[int, int]:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)


def run_in_process(argv: Sequence[str], cwd: Path, guard: float) -> Run:
    """`main(argv)` in `cwd`; an escaping exception is shown as Python would show it."""
    own, children = _peaks()
    search_path, previous = list(sys.path), os.getcwd()
    os.chdir(cwd)
    start = time.perf_counter()
    try:
        with captured() as output:
            try:
                with alarm(guard):
                    status: int | None = main(list(argv))
            except Hang:
                status = None
            except Exception:
                traceback.print_exc()
                status = 1
            seconds = time.perf_counter() - start
    finally:
        os.chdir(previous)
        sys.path[:] = search_path
    own_after, children_after = _peaks()
    return Run(status, output.stdout, output.stderr, seconds, own_after - own,
               children_after if children_after > children else 0)


def _limited(memory: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return limit


def run_subprocess(command: Sequence[str], cwd: Path, guard: float, *,
                   memory: int | None = None) -> Run:
    """Run `command` in its own session (stopped as a group past the guard)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               start_new_session=True,
                               preexec_fn=None if memory is None else _limited(memory))
    try:
        out, err = process.communicate(timeout=guard)
        status: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)   # the session this call started
        out, err = process.communicate()
        status = None
    seconds = time.perf_counter() - start
    return Run(status, out.decode("utf-8", "backslashreplace"),
               err.decode("utf-8", "backslashreplace"), seconds)


def stop_stray_children() -> None:
    """Children the product forked from this process and left behind."""
    for child in multiprocessing.active_children():
        child.kill()
        child.join(2)


# ----------------------------------------------------------------- processes by id


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()   # state, ppid, ...


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.append(int(entry))
    return found


def gdcheck_process(argv: Sequence[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([PYTHON, "-m", "gdcheck", *argv], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes],
               seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def finish(process: subprocess.Popen[bytes], started: float, seconds: float,
           **extra: Any) -> Run:
    """Collect a process's output; past `seconds` stop its session and call it a hang."""
    try:
        out, err = process.communicate(timeout=seconds)
        status: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        status = None
    return Run(status, out.decode("utf-8", "backslashreplace"),
               err.decode("utf-8", "backslashreplace"), time.perf_counter() - started,
               extra=extra)


# ----------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Expect:
    """A case's expected outcome, beyond the properties every case keeps."""

    statuses: tuple[int, ...] | None      # None: any exit status
    names: tuple[str, ...] = ()           # each in stderr when the status is 2 ("a|b": either)
    seconds: float = 3.0                  # wall-clock bound
    files: tuple[str, ...] = ()           # exist afterwards, relative to the root
    absent: tuple[str, ...] = ()          # do not
    then: Callable[[Workspace, Run], list[str]] | None = None   # more problems, if any
    text: str = ""

    def __str__(self) -> str:
        return self.text


def problems_of(expect: Expect, workspace: Workspace, run: Run) -> list[str]:
    """Every property a case must keep, as one line per violation (empty: all kept)."""
    if run.status is None:
        return [f"no answer after {run.seconds:.1f} s (a hang)"]
    problems = []
    both = run.stdout + run.stderr
    if "Traceback" in both:
        problems.append(f"a traceback: {_exception_line(both)[:160]}")
    if "internal error" in both:   # a crash caught in a child is still a crash
        problems.append("an internal error: " + both[both.index("internal error"):][:160])
    if expect.statuses is not None and run.status not in expect.statuses:
        problems.append(f"exit {run.status}, expected {' or '.join(map(str, expect.statuses))}")
    if run.status == 2:
        problems += [f"stderr does not name {name!r}" for name in expect.names
                     if not any(option.lower() in run.stderr.lower()
                                for option in name.split("|"))]
    if run.seconds > expect.seconds:
        problems.append(f"took {run.seconds:.1f} s, more than {expect.seconds:g} s")
    control = _CONTROL.search(both)
    if control:
        problems.append(f"raw control character {control.group()!r} on stdout/stderr")
    forged = _forged_lines(workspace, run)
    if forged:
        problems.append(f"a line starts with '::' (a CI annotation) in {forged[0]}")
    leaked = _leaks(workspace, run)
    if leaked:
        problems.append(f"the secret marker appears in {', '.join(leaked[:3])}")
    if workspace.secrets_read():
        problems.append(f"read outside the root: {', '.join(workspace.secrets_read())}")
    if workspace.canary.exists():
        problems.append("code from the spec ran: CANARY was created")
    if run.own_growth > OWN_MEMORY_GROWTH:
        problems.append(f"this process's peak memory grew by {run.own_growth / MiB:.0f} MiB")
    if run.child_peak > CHILD_PEAK:
        problems.append(f"a child process peaked at {run.child_peak / MiB:.0f} MiB")
    problems += [f"{name} was not written" for name in expect.files
                 if not os.path.lexists(workspace.path(name))]
    problems += [f"{name} exists" for name in expect.absent
                 if os.path.lexists(workspace.path(name))]
    if expect.then is not None:
        problems += expect.then(workspace, run)
    return problems


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b")


def _exception_line(text: str) -> str:
    """The line that names the exception of a traceback (else the last line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    named = [line for line in lines if _EXCEPTION.match(line)]
    return (named or lines or [""])[-1]


def _forged_lines(workspace: Workspace, run: Run) -> list[str]:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for path in workspace.outputs():
        if path.suffix == ".md":
            texts[str(path.relative_to(workspace.root))] = path.read_text("utf-8", "replace")
    return [where for where, text in texts.items()
            if any(line.startswith("::") for line in _LINES.split(text))]


def _leaks(workspace: Workspace, run: Run) -> list[str]:
    marker = workspace.marker
    found = [name for name, text in (("stdout", run.stdout), ("stderr", run.stderr))
             if marker in text]
    return found + [str(path.relative_to(workspace.root)) for path in workspace.outputs()
                    if marker.encode() in path.read_bytes()]


def shown(run: Run) -> str:
    def tail(text: str) -> str:
        return text[-1500:] if len(text) > 1500 else text
    return f"exit {run.status} after {run.seconds:.1f} s\n--- stdout\n{tail(run.stdout)}" \
           f"\n--- stderr\n{tail(run.stderr)}"


# ----------------------------------------------------------------- reading the outputs


def index_rows(workspace: Workspace, report_dir: str = "reports") -> list[str]:
    index = workspace.path(report_dir) / "index.md"
    return [line for line in index.read_text("utf-8", "replace").splitlines()
            if line.startswith("| ") and not line.startswith("| spec")]


def whole_reports(workspace: Workspace, report_dir: str = "reports") -> list[str]:
    """Problems with the reports index.md links to: each needs a parsing report.json and a
    report.md; no temporary file may be left anywhere."""
    reports = workspace.path(report_dir)
    if not (reports / "index.md").exists():
        return [f"{report_dir}/index.md was not written"]
    problems = []
    text = (reports / "index.md").read_text("utf-8", "replace")
    for target in re.findall(r"\]\(([^)]+)/report\.md\)", text):
        folder = reports / target
        try:
            json.loads((folder / "report.json").read_text(encoding="utf-8"))
            (folder / "report.md").read_text(encoding="utf-8")
        except (OSError, ValueError) as error:
            problems.append(f"index.md links to a report that is not whole: {target} ({error})")
    leftovers = [p.name for p in reports.rglob("*") if p.suffix == ".tmp" or
                 p.name.startswith(".")]
    if leftovers:
        problems.append(f"temporary files left in {report_dir}: {leftovers[:3]}")
    return problems


def junit_problems(workspace: Workspace, name: str = "junit.xml") -> list[str]:
    try:
        ET.parse(workspace.path(name))
    except (OSError, ET.ParseError) as error:
        return [f"{name} is not valid XML: {error}"]
    return []


# ----------------------------------------------------------------- what a case's files are


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Secret:
    """A symlink to a file outside the root holding the marker (MARKER in `content`)."""
    content: str | Callable[[str], bytes]
    name: str = "secret"
    relative: bool = False


@dataclass(frozen=True)
class SecretFolder:
    """A symlink to a folder outside the root, its files holding the marker."""
    files: dict[str, str]


@dataclass(frozen=True)
class Fifo:
    pass


@dataclass(frozen=True)
class Folder:
    read_only: bool = False


@dataclass(frozen=True)
class Sparse:
    size: int
    head: bytes = b""


@dataclass(frozen=True)
class DeepChain:
    depth: int
    bottom: str


@dataclass(frozen=True)
class Canary:
    """Spec text whose payloads would create the CANARY file (its absolute path put in)."""
    text: str


@dataclass(frozen=True)
class Unreadable:
    content: str


def _secret(w: Workspace, path: str, item: Secret) -> None:
    target = w.secret(f"{item.name}-{Path(path).name}", item.content)
    w.link(path, os.path.relpath(target, w.path(path).parent) if item.relative else target)


def _secret_folder(w: Workspace, path: str, item: SecretFolder) -> None:
    for name, content in item.files.items():
        w.secret(f"tree/{name}", content)
    w.link(path, w.outside / "tree")


def _read_only(w: Workspace, path: str, item: Folder) -> None:
    folder = w.folder(path)
    if item.read_only:
        if AS_ROOT:
            pytest.skip("running as root: chmod cannot make a folder read-only")
        folder.chmod(0o500)
        w.cleanups.append(lambda: folder.chmod(0o755))


def _sparse(w: Workspace, path: str, item: Sparse) -> None:
    with open(w.write(path, item.head), "r+b") as file:
        file.truncate(item.size)


def _unreadable(w: Workspace, path: str, item: Unreadable) -> None:
    if AS_ROOT:
        pytest.skip("running as root: chmod 000 does not stop root reading")
    w.write(path, item.content).chmod(0)


PLACE: dict[type, Callable[[Workspace, str, Any], Any]] = {
    str: lambda w, path, item: w.write(path, item),
    bytes: lambda w, path, item: w.write(path, item),
    Link: lambda w, path, item: w.link(path, item.target),
    Secret: _secret,
    SecretFolder: _secret_folder,
    Fifo: lambda w, path, item: w.fifo(path),
    Folder: _read_only,
    Sparse: _sparse,
    DeepChain: lambda w, path, item: w.deep_chain(path, item.depth, item.bottom),
    Unreadable: _unreadable,
    Canary: lambda w, path, item: w.write(path, item.text.replace("CANARY", str(w.canary))),
}


# ----------------------------------------------------------------- how a case runs gdcheck


def _outputs(report_dir: str | None, junit: str | None, summary: str | None,
             timeout: str | None, memory: str | None) -> list[str]:
    options = (("--report-dir", report_dir), ("--junit", junit), ("--summary", summary),
               ("--timeout", timeout), ("--memory", memory))
    return [part for option, value in options if value is not None for part in (option, value)]


def verify(*arguments: str, report_dir: str | None = "reports", junit: str | None = "junit.xml",
           summary: str | None = "summary.md", timeout: str | None = "5",
           memory: str | None = "2G") -> Act:
    """`gdcheck verify` in-process, with every CI output ({root}: the project folder)."""
    def act(w: Workspace, guard: float) -> Run:
        argv = ["verify", *(a.replace("{root}", str(w.root)) for a in arguments),
                *_outputs(report_dir, junit, summary, timeout, memory)]
        return run_in_process(argv, w.root, guard)
    return act


def derive(*arguments: str) -> Act:
    return lambda w, guard: run_in_process(["derive", *arguments], w.root, guard)


def isolated(*argv: str, memory: int = GiB) -> Act:
    """`python -m gdcheck` under an address-space limit: where a wrong answer reads forever."""
    return lambda w, guard: run_subprocess([PYTHON, "-m", "gdcheck", *argv], w.root, guard,
                                           memory=memory)


def shell(command: str) -> Act:
    """A bash command line; GDCHECK is `python -m gdcheck`."""
    line = command.replace("GDCHECK", f"{shlex.quote(PYTHON)} -m gdcheck")
    return lambda w, guard: run_subprocess(["bash", "-c", line], w.root, guard)


def twice(spec: str) -> Act:
    """Verify `spec` twice with one seed; extra['differing']: report files whose bytes differ."""
    def act(w: Workspace, guard: float) -> Run:
        runs = [run_in_process(["verify", spec, "--seed", "3", "--report-dir", folder,
                                "--timeout", "10", "--jobs", "1"], w.root, guard)
                for folder in ("reports-1", "reports-2")]
        first, second = (_only_report(w.path(folder)) for folder in ("reports-1", "reports-2"))
        differing = [name for name in ("report.json", "report.md")
                     if not (first / name).is_file() or not (second / name).is_file()
                     or (first / name).read_bytes() != (second / name).read_bytes()]
        return Run(runs[1].status, runs[0].stdout + runs[1].stdout,
                   runs[0].stderr + runs[1].stderr, max(r.seconds for r in runs),
                   max(r.own_growth for r in runs), max(r.child_peak for r in runs),
                   extra={"differing": differing, "statuses": [r.status for r in runs]})
    return act


def _only_report(report_dir: Path) -> Path:
    """The one spec folder a run wrote into `report_dir` (the folder itself if none)."""
    folders = [p for p in report_dir.iterdir() if p.is_dir()] if report_dir.is_dir() else []
    return folders[0] if len(folders) == 1 else report_dir


def each_parameter_name(*names: str) -> Act:
    """`derive` of one spec per name, the name its only parameter; extra['statuses']."""
    def act(w: Workspace, guard: float) -> Run:
        runs = {}
        for name in names:
            w.write(f"specs/{name}.yaml", quad(
                name, parameters={name: {"init": "uniform(-1, 1)"}},
                objective=f"({name} - 0.5)**2"))
            runs[name] = run_in_process(["derive", f"specs/{name}.yaml"], w.root, guard)
        statuses = {name: run.status for name, run in runs.items()}
        status = None if None in statuses.values() else max(statuses.values())  # type: ignore
        return Run(status, "".join(r.stdout for r in runs.values()),
                   "".join(r.stderr for r in runs.values()),
                   max(r.seconds for r in runs.values()), extra={"statuses": statuses})
    return act


def full_disk(code: int = errno.ENOSPC, *, only: str | None = None,
              at: str = "replace") -> Act:
    """verify with os.replace (or os.fsync) failing as a full disk does: in this process and
    in the runner's forked children, for every file or only a file whose name ends `only`."""
    inner = verify("specs")

    def act(w: Workspace, guard: float) -> Run:
        real = getattr(os, at)

        def failing(*args: Any, **kwargs: Any) -> Any:
            if only is None or str(args[1]).endswith(only):
                raise OSError(code, os.strerror(code))
            return real(*args, **kwargs)

        with mock.patch.object(os, at, failing):
            return inner(w, guard)
    return act


def on_tmpfs(mount_options: str) -> Act:
    """verify with --report-dir on a real tmpfs (unshare -rm), e.g. 16 KiB or read-only."""
    script = ('mount -t tmpfs -o "$1" gdcheck-test "$2" && cd "$3" && '
              'exec "$4" -m gdcheck verify specs --report-dir "$2/reports" --timeout 5')

    def act(w: Workspace, guard: float) -> Run:
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True) \
            if shutil.which("unshare") else None
        if probe is None or probe.returncode != 0:
            pytest.skip("no unprivileged mount namespace (unshare -rm) for a real tmpfs")
        disk = w.folder("disk")
        return run_subprocess(["unshare", "-rm", "sh", "-c", script, "sh", mount_options,
                               str(disk), str(w.root), PYTHON], w.root, guard)
    return act


def interrupted(*signums: int, group: bool = False) -> Act:
    """`python -m gdcheck verify` of a quick spec and a slow one, signalled once the quick
    one's report is written; `seconds` counts from the first signal."""
    def act(w: Workspace, guard: float) -> Run:
        w.write("specs/a.yaml", quad("quick"))
        w.write("specs/b.yaml", SLOW.format(name="slow"))
        process = gdcheck_process(["verify", "specs", "--jobs", "1", "--timeout", "60"], w.root)
        started = time.perf_counter()
        if not wait_until(w.path("reports/quick/report.json").exists, process, 30.0):
            return finish(process, started, 0.1)
        time.sleep(0.5)   # the quick spec's result reaches the parent
        signalled = time.perf_counter()
        for signum in signums:
            if group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            time.sleep(0.2)
        return finish(process, signalled, guard)
    return act


def killed_parent(w: Workspace, guard: float) -> Run:
    """SIGKILL the parent while two children verify slow specs; extra['survivors']: the
    children alive 2 s later (then stopped here, by id)."""
    w.write("specs/a.yaml", SLOW.format(name="slow-a"))
    w.write("specs/b.yaml", SLOW.format(name="slow-b"))
    process = gdcheck_process(["verify", "specs", "--jobs", "2", "--timeout", "60"], w.root)
    started = time.perf_counter()
    if not wait_until(lambda: len(children_of(process.pid)) >= 2, process, 30.0):
        return finish(process, started, 0.1)
    time.sleep(0.5)
    children = children_of(process.pid)
    process.kill()
    process.wait()
    time.sleep(2.0)
    survivors = [pid for pid in children if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    return finish(process, started, guard, survivors=survivors, children=children)
