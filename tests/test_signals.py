"""Processes and signals of `gdcheck verify` and `gdcheck derive`, as a CI job meets them.

Each test runs `python -m gdcheck` in a subprocess with its output going to files, and
waits for the line that says the parent has reached the state the test needs (a spec's
report line, its check line) before it signals: never a bare sleep, so a loaded machine
makes a test slower, not wrong. Children are found through /proc (their parent's pid).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_runner import (
    ENV,
    HANG_GUARD,
    MANY_CURVES,
    NEVER_CONVERGES,
    SLOW_BUT_PASSES,
    assert_nothing_partial,
    gdcheck,
    index_rows,
    quadratic,
    slow_to_parse,
    summary_line,
    write_specs,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@dataclass
class Gdcheck:
    """A `python -m gdcheck` process whose stdout and stderr go to files in its folder."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        """Poll until `text` is on stdout; fail (with the output) if it never comes."""
        deadline = time.monotonic() + timeout
        while text not in self.out.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"{text!r} never appeared (exit {self.process.returncode})\n"
                            f"{self.out.read_text()}\n{self.err.read_text()}")
            time.sleep(0.02)

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def finish(self) -> tuple[int, str, str]:
        """Its exit status, stdout and stderr, once it ends."""
        status = self.process.wait(timeout=HANG_GUARD)
        return status, self.out.read_text(), self.err.read_text()


@contextmanager
def started(*arguments: str, cwd: Path) -> Iterator[Gdcheck]:
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "gdcheck", *arguments], cwd=cwd,
                                   env=ENV, stdout=stdout, stderr=stderr)
    try:
        yield Gdcheck(process, out, err)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def state(pid: int) -> str | None:
    """A process's state letter (R, S, Z ...) from /proc, or None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[0]


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in "ZX":
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if state(pid) not in (None, "Z", "X")}


def assert_no_traceback(err: str) -> None:
    assert "Traceback" not in err and "SystemExit" not in err, err[-3000:]


# ----------------------------------------------------------------- children die with the parent


def test_children_die_with_a_killed_parent(tmp_path):
    write_specs(tmp_path / "specs", {
        f"endless-{i}": NEVER_CONVERGES.format(name=f"endless-{i}", gradient="false")
        for i in range(3)})
    with started("verify", "specs", "--jobs", "2", cwd=tmp_path) as run:
        deadline = time.monotonic() + 60
        while len(children := children_of(run.process.pid)) < 2:
            assert run.process.poll() is None and time.monotonic() < deadline, run.finish()
            time.sleep(0.05)
        run.process.kill()   # SIGKILL: the parent runs no cleanup at all
        run.process.wait()
    # each child would otherwise run its 10^8 steps for the 600 s of the default timeout;
    # PR_SET_PDEATHSIG kills them when the parent dies: 2 s is the promise, with room
    deadline = time.monotonic() + 2
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = alive(children)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"children {sorted(survivors)} outlived their parent"


# ----------------------------------------------------------------- SIGINT and SIGTERM


def interrupted_run_specs(folder: Path) -> None:
    write_specs(folder / "specs", {
        "a": quadratic("quad-a"), "b": quadratic("quad-b"),
        "c": SLOW_BUT_PASSES.format(name="slow"), "d": quadratic("quad-d")})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_keeps_finished_reports_and_a_rerun_completes(tmp_path, signum):
    interrupted_run_specs(tmp_path)
    reports = tmp_path / "reports"
    with started("verify", "specs", "--jobs", "1", cwd=tmp_path) as run:
        run.wait_for("report: reports/quad-b")   # the parent has quad-b; the slow spec runs
        run.signal(signum)
        status, out, err = run.finish()

    assert status == 128 + signum, err
    name = signal.Signals(signum).name
    assert (f"Error: interrupted by {name} after 2 of 4 specs; their reports are complete; "
            "run again to verify the rest") in err
    assert_no_traceback(err)
    assert summary_line(out).groups()[:4] == ("2", "2", "0", "0")
    assert index_rows(reports) == {"quad-a": "PASSED", "quad-b": "PASSED"}
    assert sorted(p.name for p in reports.iterdir()) == ["index.md", "quad-a", "quad-b"]
    for folder in ("quad-a", "quad-b"):
        assert sorted(p.name for p in (reports / folder).iterdir()) == [
            "grad_norm.png", "learning_rate.png", "loss.png", "report.json", "report.md",
            "timings.json"]
    assert_nothing_partial(reports)

    rerun = gdcheck("verify", "specs", "--jobs", "2", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert summary_line(rerun.stdout).groups()[:4] == ("4", "4", "0", "0")
    assert index_rows(reports) == {name: "PASSED" for name in
                                   ("quad-a", "quad-b", "slow", "quad-d")}
    assert_nothing_partial(reports)


@pytest.mark.parametrize("pause", [0.0, 0.3], ids=["at-once", "while-exiting"])
def test_a_second_sigint_also_ends_with_130_and_the_index(tmp_path, pause):
    interrupted_run_specs(tmp_path)
    reports = tmp_path / "reports"
    with started("verify", "specs", "--jobs", "2", cwd=tmp_path) as run:
        run.wait_for("report: reports/quad-b")
        run.signal(signal.SIGINT)
        time.sleep(pause)   # the second one lands in the cleanup, or as the process exits
        run.signal(signal.SIGINT)
        status, out, err = run.finish()

    assert status == 130, err
    assert_no_traceback(err)
    rows = index_rows(reports)
    # quad-d runs beside the slow spec: it may have finished before the signal, or not
    assert {"quad-a", "quad-b"} <= set(rows) <= {"quad-a", "quad-b", "quad-d"}, rows
    assert f"after {len(rows)} of 4 specs" in err
    assert "slow" not in rows
    assert_nothing_partial(reports)


@pytest.mark.parametrize("pause", [0.0, 0.1, 0.25])
def test_a_sigterm_while_children_start_is_never_lost(tmp_path, pause):
    """Forty quick specs, two at a time: the signal lands while children are forked."""
    write_specs(tmp_path / "specs", {f"q{i:02d}": quadratic(f"q{i:02d}", convergence=False,
                                                            examples=1) for i in range(40)})
    with started("verify", "specs", "--jobs", "2", cwd=tmp_path) as run:
        run.wait_for("report: reports/q00")
        time.sleep(pause)
        run.signal(signal.SIGTERM)
        status, out, err = run.finish()
    assert status == 143, out[-2000:] + err[-2000:]
    assert "Error: interrupted by SIGTERM after " in err
    assert_no_traceback(err)
    assert_nothing_partial(tmp_path / "reports")


def test_an_interrupt_while_a_report_is_written_leaves_no_half_report(tmp_path):
    write_specs(tmp_path / "specs", {"a": quadratic("quad-a", convergence=False),
                                     "b": MANY_CURVES.format(name="curves")})
    reports = tmp_path / "reports"
    with started("verify", "specs", "--jobs", "1", cwd=tmp_path) as run:
        # the parent has shown quad-a, and the second spec's convergence check is done: its
        # child is drawing the 1000 runs' curves (seconds) and then stores its report
        run.wait_for("PASS convergence")
        run.signal(signal.SIGINT)
        status, out, err = run.finish()
    assert status == 130, err
    assert_no_traceback(err)
    assert index_rows(reports) == {"quad-a": "PASSED"}
    # the interrupted spec's folder is complete, or not there at all
    assert_nothing_partial(reports)


# ----------------------------------------------------------------- derive


def test_an_interrupted_derive_ends_with_143_and_leaves_no_child(tmp_path):
    (tmp_path / "slow.yaml").write_text(slow_to_parse("slow"), encoding="utf-8")
    with started("derive", "slow.yaml", cwd=tmp_path) as run:
        deadline = time.monotonic() + 60
        while not (children := children_of(run.process.pid)):
            assert run.process.poll() is None and time.monotonic() < deadline, run.finish()
            time.sleep(0.05)
        run.signal(signal.SIGTERM)
        status, out, err = run.finish()
    assert status == 143, err
    assert "Error: interrupted by SIGTERM" in err
    assert_no_traceback(err)
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(children)


def test_derive_into_a_closed_pipe_ends_quietly(tmp_path):
    spec = Path(__file__).resolve().parent.parent / "specs" / "tanh_network.yaml"
    process = subprocess.Popen([sys.executable, "-m", "gdcheck", "derive", str(spec),
                                "--hessian"], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()   # as `| head -0` would: every line written meets a closed pipe
    err = process.stderr.read().decode()
    status = process.wait(timeout=HANG_GUARD)
    assert status in (0, 128 + signal.SIGPIPE, -signal.SIGPIPE), err
    assert err == "", err
