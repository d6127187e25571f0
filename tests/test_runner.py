"""runner.py as a CI gate meets it: limits per spec, one bad spec being one error, names
settled in path order, file-system faults, load, and --jobs (signals: test_signals.py).

Most tests run `python -m gdcheck verify` in a subprocess with `cwd=tmp_path`, as a
user or a CI job would; the CPU-limit and killed-child cases drive `run_specs`
in-process, because only a parent that stops reading lets a child reach its CPU
limit before its wall-clock one, and the faults are planted in-process (the forked
children inherit them). The specs are tiny bare objectives, except the ones built
to break a limit: each of those says how it does.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gdcheck import runner
from gdcheck.cli import main
from gdcheck.reports.files import atomic_write
from gdcheck.results import CheckFinished, Event, Progress, Verification
from gdcheck.runner import RunOptions, run_specs

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
HANG_GUARD = 120.0   # seconds any one gdcheck subprocess may take before the test fails
MiB = 1024 * 1024

# A run of one spec that needs far more than the limits below allow, each in its own way.
NEVER_CONVERGES = """\
gdcheck: 1
name: {name}
parameters:
  w: {{shape: [3], init: uniform(1, 2)}}
objective: sum(w**2)
optimizer: {{method: gd, learning_rate: 1.0e-9, steps: 100000000}}
checks: {{gradient: {gradient}, descent: false, convergence: {{runs: 2}}}}
"""
# 10,000 runs of 2,000 parameters: each (runs, P) array of the descent is 160 MB, and the
# descent holds several (initialisations, iterates, gradients, finals).
MEMORY_HOG = """\
gdcheck: 1
name: {name}
parameters:
  w: {{shape: [2000], init: normal(0, 1)}}
objective: sum(w**2)
optimizer: {{method: gd, learning_rate: 0.1, steps: 100}}
checks: {{gradient: false, descent: false, convergence: {{runs: 10000}}}}
"""
# Converges, slowly: ln(|grad| / 1e-6) / (2 * 1e-4) ≈ 80,000 gd steps, about 4 s.
SLOW_BUT_PASSES = """\
gdcheck: 1
name: {name}
parameters:
  w: {{shape: [3], init: uniform(1, 2)}}
objective: sum(w**2)
optimizer: {{method: gd, learning_rate: 1.0e-4, steps: 200000, tolerance: 1.0e-6}}
checks: {{gradient: false, descent: false, convergence: {{runs: 2}}}}
"""
# 1,000 convergence runs of ~900 steps: drawing their curves takes seconds, so the child
# is still writing loss.png and grad_norm.png well after report.json is on disk.
MANY_CURVES = """\
gdcheck: 1
name: {name}
parameters:
  a: {{init: uniform(-1, 1)}}
  b: {{init: uniform(-1, 1)}}
objective: (a - 0.7)**2 + (b + 1)**2
optimizer: {{method: gd, learning_rate: 0.01, steps: 2000, tolerance: 1.0e-6}}
checks: {{gradient: false, descent: false, convergence: {{runs: 1000}}}}
"""


def slow_to_parse(name: str) -> str:
    """A spec of almost 1 MiB that PyYAML takes many seconds to parse (a flow list of 330,000
    numbers; a constant that is a list is refused only once it is parsed)."""
    numbers = ", ".join(["1"] * 330_000)
    return quadratic(name) + f"description: x\nconstants: {{c: [{numbers}]}}\n"


def quadratic(name: str, centre: float = 0.7, *, convergence: bool = True,
              examples: int = 3) -> str:
    """A tiny bare-objective spec that passes; with `convergence`, its report has plots."""
    runs = "{runs: 2}" if convergence else "false"
    return (f"gdcheck: 1\nname: {name}\n"
            "parameters:\n  a: {init: uniform(-1, 1)}\n  b: {init: uniform(-1, 1)}\n"
            f"objective: (a - {centre})**2 + (b + 1)**2\n"
            "optimizer: {method: gd, learning_rate: 0.3, steps: 60, tolerance: 1.0e-9}\n"
            f"checks: {{gradient: {{examples: {examples}}}, descent: {{examples: {examples}}}, "
            f"convergence: {runs}}}\n")


def write_specs(folder: Path, specs: dict[str, str]) -> list[Path]:
    """Write `{file stem: text}` as folder/<stem>.yaml; return the paths, sorted as the CLI does."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in specs.items():
        (folder / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return sorted(folder / f"{stem}.yaml" for stem in specs)


def gdcheck(*arguments: str, cwd: Path, timeout: float = HANG_GUARD
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gdcheck", *arguments], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def start_gdcheck(*arguments: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gdcheck", *arguments], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def index_rows(report_dir: Path) -> dict[str, str]:
    """index.md's rows as {report folder or spec path: verdict}."""
    rows = {}
    for line in (report_dir / "index.md").read_text(encoding="utf-8").splitlines():
        linked = re.match(r"\| \[.*?\]\(([^)]+)/report\.md\) \| (PASSED|FAILED) \|", line)
        failed = re.match(r"\| `([^`]+)` \| (ERROR) \|", line)
        if linked or failed:
            key, verdict = (linked or failed).groups()  # type: ignore[union-attr]
            rows[key] = verdict
    return rows


def totals(report_dir: Path) -> str:
    lines = (report_dir / "index.md").read_text(encoding="utf-8").splitlines()
    return next(line for line in lines if re.match(r"\d+ specs?: ", line))


def assert_complete_report(folder: Path) -> dict[str, Any]:
    """report.json parses and names the folder; report.md exists and every image it shows
    is a whole PNG. Returns report.json."""
    document = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert document["spec"] == folder.name
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"# {folder.name}"), markdown[:200]
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        with Image.open(folder / image) as png:
            assert png.format == "PNG"
            png.verify()   # reads the whole file: a truncated PNG raises
    return document


def assert_nothing_partial(report_dir: Path) -> None:
    """No temporary file anywhere, and every spec folder holds a complete report."""
    leftovers = [p for p in report_dir.rglob("*") if p.name.startswith(".") or
                 p.suffix == ".tmp"]
    assert not leftovers, leftovers
    for folder in (p for p in report_dir.iterdir() if p.is_dir()):
        assert_complete_report(folder)


def summary_line(stdout: str) -> re.Match[str]:
    found = re.search(r"^(\d+) specs?: (\d+) passed, (\d+) failed, (\d+) errors? "
                      r"\((\d+\.\d)s\); index: ", stdout, flags=re.M)
    assert found, stdout
    return found


# ----------------------------------------------------------------- limits


def test_a_spec_past_the_wall_clock_limit_is_stopped_and_the_others_still_verify(tmp_path):
    write_specs(tmp_path / "specs", {
        "a-first": quadratic("first", convergence=False),
        "b-endless": NEVER_CONVERGES.format(name="endless", gradient="false"),
        "c-last": quadratic("last", convergence=False)})
    result = gdcheck("verify", "specs", "--timeout", "2", "--jobs", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert ("Error: specs/b-endless.yaml: spec: exceeded the time limit of 2 s (--timeout)"
            in result.stderr)
    summary = summary_line(result.stdout)
    assert summary.groups()[:4] == ("3", "2", "0", "1")
    # 2 s for the endless spec, a fraction of that for each other one: stopped at the limit,
    # not after a grace period, and certainly not at the end of its 10^8 steps
    assert 2.0 <= float(summary[5]) < 7.0, result.stdout
    reports = tmp_path / "reports"
    assert index_rows(reports) == {"first": "PASSED", "specs/b-endless.yaml": "ERROR",
                                   "last": "PASSED"}
    assert not (reports / "endless").exists()
    assert_nothing_partial(reports)


def test_a_spec_past_the_memory_limit_fails_fast_and_the_others_still_verify(tmp_path):
    write_specs(tmp_path / "specs", {
        "a-first": quadratic("first"),
        "b-hog": MEMORY_HOG.format(name="hog"),
        "c-last": quadratic("last")})
    result = gdcheck("verify", "specs", "--memory", "400M", "--jobs", "2", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert ("Error: specs/b-hog.yaml: spec: exceeded the memory limit of 400 MiB (--memory)"
            in result.stderr)
    summary = summary_line(result.stdout)
    assert summary.groups()[:4] == ("3", "2", "0", "1")
    assert float(summary[5]) < 30.0   # refused at its first huge allocation, not swapped
    reports = tmp_path / "reports"
    assert index_rows(reports) == {"first": "PASSED", "specs/b-hog.yaml": "ERROR",
                                   "last": "PASSED"}
    for name in ("first", "last"):
        assert assert_complete_report(reports / name)["passed"] is True
    assert_nothing_partial(reports)


def test_a_spec_slow_to_parse_is_parsed_under_the_time_limit(tmp_path):
    write_specs(tmp_path / "specs", {"a-slow": slow_to_parse("slow"),
                                     "b-last": quadratic("last", convergence=False)})
    result = gdcheck("verify", "specs", "--timeout", "3", "--jobs", "1", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert ("Error: specs/a-slow.yaml: spec: exceeded the time limit of 3 s (--timeout)"
            in result.stderr)
    summary = summary_line(result.stdout)
    assert summary.groups()[:4] == ("2", "1", "0", "1")
    # stopped at the limit: parsing it whole takes several times as long
    assert 3.0 <= float(summary[5]) < 12.0, result.stdout


@contextmanager
def core_limit(size: int) -> Iterator[None]:
    """Set the soft RLIMIT_CORE that forked children inherit, for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    wanted = size if hard == resource.RLIM_INFINITY else min(size, hard)
    resource.setrlimit(resource.RLIMIT_CORE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def run_with_busy_child(folder: Path, meanwhile: Callable[[], None]
                        ) -> tuple[list[Path], dict[Path, list[Event]]]:
    """run_specs over a quick spec, an endless one and a quick one (timeout 2 s, so a CPU
    limit of 3 s). At the endless spec's first event (its gradient check) the parent stops
    reading and calls `meanwhile` — a parent stuck like this is what the CPU limit is for."""
    paths = write_specs(folder / "specs", {
        "a-first": quadratic("first", convergence=False),
        "b-busy": NEVER_CONVERGES.format(name="busy", gradient="{examples: 2}"),
        "c-last": quadratic("last", convergence=False)})
    options = RunOptions(report_dir=folder / "reports", timeout=2.0, jobs=1)
    events: dict[Path, list[Event]] = {}
    for path, event in run_specs(paths, options):
        events.setdefault(path, []).append(event)
        if path == paths[1] and len(events[path]) == 1:
            meanwhile()
    return paths, events


def wait_for_children_to_end(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)


def kind(event: Event) -> str:
    """An event as the words a person would use: check, progress, done or failed."""
    if isinstance(event, CheckFinished):
        return "check"
    if isinstance(event, Progress):
        return "progress"
    return "done" if isinstance(event.outcome, Verification) else "failed"


def assert_only_the_busy_spec_failed(folder: Path, paths: list[Path],
                                     events: dict[Path, list[Event]], cause: str) -> None:
    endings = {path: events[path][-1] for path in paths}
    assert [kind(endings[path]) for path in paths] == ["done", "failed", "done"]
    assert endings[paths[1]].outcome.message == f"{paths[1]}: spec: verification {cause}"
    assert [kind(event) for event in events[paths[1]]] == ["check", "failed"]
    for path, name in ((paths[0], "first"), (paths[2], "last")):
        assert endings[path].outcome.passed
        assert_complete_report(folder / "reports" / name)
    assert not (folder / "reports" / "busy").exists()


def test_the_cpu_limit_ends_a_busy_child_the_parent_is_not_watching(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with core_limit(0):
        paths, events = run_with_busy_child(tmp_path, wait_for_children_to_end)
    assert_only_the_busy_spec_failed(tmp_path, paths, events,
                                     "exceeded the CPU time limit (--timeout)")


def test_a_child_killed_from_outside_is_reported_and_the_run_goes_on(tmp_path):
    def oom_killer() -> None:
        children = multiprocessing.active_children()
        assert len(children) == 1
        os.kill(children[0].pid, signal.SIGKILL)   # what the kernel's OOM killer does

    paths, events = run_with_busy_child(tmp_path, oom_killer)
    assert_only_the_busy_spec_failed(tmp_path, paths, events,
                                     "was killed (out of memory? see --memory)")


def _cores_land_in_the_working_folder() -> bool:
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return False
    return bool(pattern) and not pattern.startswith("|") and "/" not in pattern


@pytest.mark.skipif(not _cores_land_in_the_working_folder() or
                    resource.getrlimit(resource.RLIMIT_CORE)[1] == 0,
                    reason="this system writes no core files into the working folder")
def test_a_spec_that_hits_the_cpu_limit_leaves_no_core_dump(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with core_limit(resource.RLIM_INFINITY):   # as on a CI runner with `ulimit -c unlimited`
        paths, events = run_with_busy_child(tmp_path, wait_for_children_to_end)
    cores = [p for p in tmp_path.rglob("core*") if p.is_file()]
    for core in cores:
        core.unlink()   # the child's whole memory: not to be kept with pytest's tmp folders
    assert events[paths[1]][-1].outcome.message.endswith("exceeded the CPU time limit (--timeout)")
    assert not cores, [p.name for p in cores]


# ----------------------------------------------------------------- one bad spec is one error


def broken_load(path: Any) -> Any:
    if Path(path).stem == "a-broken":   # as int() does past 4,300 digits, say
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
    return REAL_LOAD(path)


def broken_verify(spec: Any, *arguments: Any, **keywords: Any) -> Verification:
    if spec.name == "broken":
        return 1 / 0   # type: ignore[return-value]
    return REAL_VERIFY(spec, *arguments, **keywords)


REAL_LOAD, REAL_VERIFY = runner.load, runner.verify


@pytest.mark.parametrize(("step", "planted", "error"), [
    ("load", broken_load, "ValueError: Exceeds the limit (4300 digits) for integer string "
                          "conversion"),
    ("verify", broken_verify, "ZeroDivisionError: division by zero")])
def test_an_unexpected_exception_in_a_child_is_that_specs_error_alone(
        tmp_path, monkeypatch, capsys, step, planted, error):
    monkeypatch.setattr(runner, step, planted)   # the forked children inherit it
    paths = write_specs(tmp_path / "specs", {"a-broken": quadratic("broken"),
                                             "b-good": quadratic("good")})
    reports, junit, summary = tmp_path / "reports", tmp_path / "junit.xml", tmp_path / "s.md"
    status = main(["verify", str(tmp_path / "specs"), "--report-dir", str(reports),
                   "--junit", str(junit), "--summary", str(summary), "--jobs", "2"])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert (f"Error: {paths[0]}: spec: internal error: {error} (please report it, with the "
            "spec)") in err
    assert "Traceback" not in err
    assert summary_line(out).groups()[:4] == ("2", "1", "0", "1")
    assert index_rows(reports) == {str(paths[0]): "ERROR", "good": "PASSED"}
    assert_complete_report(reports / "good")
    assert not (reports / "broken").exists()
    errors = ET.parse(junit).getroot().findall("testcase/error")
    assert [f"internal error: {error}" in e.get("message", "") for e in errors] == [True]
    assert "1 passed, 0 failed, 1 error" in summary.read_text(encoding="utf-8")


# A spec that is valid and takes a second or more to load (20,000 constants): with --jobs 2,
# the specs after it have loaded long before it and must wait for its name to be settled.
def slow_to_load(name: str) -> str:
    constants = "".join(f"  c{i}: {i}\n" for i in range(20_000))
    return quadratic(name, convergence=False).replace("parameters:", f"constants:\n{constants}"
                                                      "parameters:")


def test_names_are_settled_in_path_order_whatever_the_jobs(tmp_path, monkeypatch, capsys):
    paths = [path.relative_to(tmp_path) for path in write_specs(tmp_path / "specs", {
        "a-owner": slow_to_load("same"), "b-copy": quadratic("same", convergence=False),
        "c-invalid": quadratic("other").replace("objective:", "objectiv:"),
        "d-other": quadratic("other", convergence=False),
        "e-copy": quadratic("same", 0.1, convergence=False)})]
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for jobs in ("1", "2"):
        status = main(["verify", "specs", "--jobs", jobs, "--report-dir", f"reports-{jobs}"])
        out, err = capsys.readouterr()
        assert status == 2, err
        outputs[jobs] = (_stable_output(out, f"reports-{jobs}"), err)
        assert index_rows(tmp_path / f"reports-{jobs}") == {
            "same": "PASSED", str(paths[1]): "ERROR", str(paths[2]): "ERROR",
            "other": "PASSED", str(paths[4]): "ERROR"}
    assert outputs["1"] == outputs["2"]
    err = outputs["1"][1]
    for copy in (paths[1], paths[4]):
        assert (f"Error: {copy}: name: 'same' is also the name of {paths[0]}; names must "
                "differ (they name report folders)") in err
    # a spec that fails to load names nothing: the next spec called "other" owns the name
    assert "is also the name of specs/c-invalid.yaml" not in err
    document = json.loads((tmp_path / "reports-2" / "same" / "report.json").read_text())
    assert document["path"] == str(paths[0])


# ----------------------------------------------------------------- file-system faults


def full_disk_under(folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every fsync of a file under a `folder` folder fail as a full disk does (ENOSPC,
    naming no file), in this process and the children it forks."""
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if f"/{folder}/" in os.readlink(f"/proc/self/fd/{descriptor}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_a_full_disk_while_a_report_is_written_is_that_specs_error(tmp_path, monkeypatch,
                                                                   capsys):
    paths = write_specs(tmp_path / "specs", {"a-full": quadratic("full"),
                                             "b-good": quadratic("good")})
    reports = tmp_path / "reports"
    full_disk_under("full", monkeypatch)
    status = main(["verify", str(tmp_path / "specs"), "--report-dir", str(reports),
                   "--jobs", "1"])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert (f"Error: {paths[0]}: report: cannot write {reports}/full/loss.png: no space left "
            "on device") in err
    assert "Traceback" not in err
    assert index_rows(reports) == {str(paths[0]): "ERROR", "good": "PASSED"}
    assert not (reports / "full").exists()   # no half report, no temporary file
    assert_nothing_partial(reports)


def test_atomic_write_names_its_file_when_the_disk_is_full(tmp_path, monkeypatch):
    full_disk_under(tmp_path.name, monkeypatch)
    target = tmp_path / "report.json"
    with pytest.raises(OSError) as raised:
        atomic_write(target, "{}")
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(target))
    assert list(tmp_path.iterdir()) == []


def read_only_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """No new file anywhere, as on a file system mounted read-only (root ignores modes)."""
    def mkstemp(*arguments: Any, **keywords: Any) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), keywords.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize(("arguments", "expected"), [
    (["--report-dir", "a-file"], "--report-dir a-file: cannot write there: it is a file, "
                                 "not a folder"),
    (["--report-dir", "a-file/reports"], "--report-dir a-file/reports: cannot write there: "
                                         "part of the path is a file, not a folder"),
    (["--junit", "a-folder"], "--junit a-folder: cannot write there: it is a folder, not a "
                              "file"),
    (["--summary", "a-file/summary.md"], "--summary a-file/summary.md: cannot write there "
                                         "(a-file): it is a file, not a folder"),
    (["--report-dir", "read-only"], "--report-dir read-only: cannot write there: read-only "
                                    "file system"),
], ids=["report-dir-is-a-file", "report-dir-under-a-file", "junit-is-a-folder",
        "summary-under-a-file", "report-dir-read-only"])
def test_an_unwritable_output_is_a_usage_error_before_any_spec_runs(
        tmp_path, monkeypatch, capsys, arguments, expected):
    write_specs(tmp_path / "specs", {"a": quadratic("quad-a")})
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder").mkdir()
    monkeypatch.chdir(tmp_path)
    if "read-only" in arguments:
        read_only_probe(monkeypatch)
    assert main(["verify", "specs", *arguments]) == 2
    out, err = capsys.readouterr()
    assert err == f"Error: {expected}\n"
    assert out == ""   # no spec verified, no index written
    assert not [*tmp_path.rglob("report.json"), *tmp_path.rglob("index.md")]
    assert (tmp_path / "a-file").read_text() == "not a folder"
    assert list((tmp_path / "a-folder").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_report_folder_is_a_usage_error(tmp_path, monkeypatch, capsys):
    write_specs(tmp_path / "specs", {"a": quadratic("quad-a")})
    (tmp_path / "locked").mkdir(mode=0o555)
    monkeypatch.chdir(tmp_path)
    assert main(["verify", "specs", "--report-dir", "locked"]) == 2
    assert capsys.readouterr().err == ("Error: --report-dir locked: cannot write there: "
                                       "permission denied\n")


# ----------------------------------------------------------------- two runs at once


def test_two_runs_into_the_same_report_folder_both_succeed(tmp_path):
    names = [f"quad-{i}" for i in range(4)]
    write_specs(tmp_path / "specs", {name: quadratic(name, 0.1 * i)
                                     for i, name in enumerate(names)})
    runs = [start_gdcheck("verify", "specs", "--jobs", "1", cwd=tmp_path) for _ in range(2)]
    results = [(run, *run.communicate(timeout=HANG_GUARD)) for run in runs]
    for run, out, err in results:
        assert run.returncode == 0, out + err
        assert summary_line(out).groups()[:4] == ("4", "4", "0", "0")
    reports = tmp_path / "reports"
    assert index_rows(reports) == {name: "PASSED" for name in names}
    assert_nothing_partial(reports)
    assert sorted(p.name for p in reports.iterdir()) == ["index.md", *names]


# ----------------------------------------------------------------- load


PEAK_RSS = """\
import resource, sys
from gdcheck.cli import main
status = main(sys.argv[1:])
print(f"status={status} maxrss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""


def parent_peak_rss(tmp_path: Path, specs: str, report_dir: str) -> tuple[int, str]:
    """Run `gdcheck verify` in-process in a fresh interpreter; its exit status is checked
    here, and its own peak RSS (children excluded) returned in bytes, with its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, "verify", specs, "--jobs", "2",
         "--report-dir", report_dir], cwd=tmp_path, env=ENV, capture_output=True, text=True,
        timeout=300)
    found = re.search(r"^status=(\d+) maxrss_kib=(\d+)$", result.stdout, flags=re.M)
    assert found and found[1] == "0", result.stdout[-3000:] + result.stderr[-3000:]
    return int(found[2]) * 1024, result.stdout


def test_200_specs_are_all_reported_and_the_parent_memory_stays_flat(tmp_path):
    specs = {f"quad-{i:03d}": quadratic(f"quad-{i:03d}", round(i / 200, 3),
                                        convergence=i % 40 == 0, examples=2)
             for i in range(200)}
    write_specs(tmp_path / "many", specs)
    write_specs(tmp_path / "few", dict(list(specs.items())[:20]))

    few_peak, _ = parent_peak_rss(tmp_path, "few", "reports-few")
    many_peak, out = parent_peak_rss(tmp_path, "many", "reports")

    reports = tmp_path / "reports"
    assert summary_line(out).groups()[:4] == ("200", "200", "0", "0")
    assert totals(reports) == "200 specs: 200 passed, 0 failed, 0 errors"
    assert index_rows(reports) == {name: "PASSED" for name in specs}
    assert len(list(reports.glob("*/report.json"))) == 200
    for name in ("quad-000", "quad-040", "quad-199"):   # quad-040 has plots
        assert assert_complete_report(reports / name)["passed"] is True
    # the children do the work; the parent keeps a light result per spec. A parent that
    # verified in-process, or kept the curves, would grow with the number of specs.
    assert many_peak < few_peak + 20 * MiB, (few_peak / MiB, many_peak / MiB)


# ----------------------------------------------------------------- --jobs


def _stable_output(out: str, report_dir: str) -> str:
    out = out.replace(f"{report_dir}/", "REPORTS/")
    return re.sub(r"\(\d+\.\d+s\)", "(…s)", out)


def test_parallel_jobs_give_the_reports_of_a_serial_run(tmp_path, monkeypatch, capsys):
    shutil.copytree(SPECS, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for jobs, folder in (("1", "serial"), ("2", "parallel")):
        # few examples: the reports are compared, not the checks' strength (test_cli has it)
        assert main(["verify", "specs", "--jobs", jobs, "--report-dir", folder,
                     "--examples", "5"]) == 0
        outputs[folder] = _stable_output(capsys.readouterr().out, folder)
    assert outputs["serial"] == outputs["parallel"]   # same lines, in the same order

    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    files = sorted(p.relative_to(serial) for p in serial.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(parallel) for p in parallel.rglob("*") if p.is_file())
    assert len(list(serial.glob("*/report.json"))) == len(list(SPECS.glob("*.yaml")))
    for relative in files:
        one, other = serial / relative, parallel / relative
        if relative.suffix == ".json":
            documents = [json.loads(p.read_text(encoding="utf-8")) for p in (one, other)]
            if relative.name == "timings.json":   # the one file that varies run to run
                assert all(isinstance(d["timings"], dict) for d in documents)
            else:
                assert one.read_bytes() == other.read_bytes(), relative
        elif relative.name == "report.md":
            assert one.read_bytes() == other.read_bytes(), relative
        elif relative.suffix == ".png":
            assert one.read_bytes() == other.read_bytes(), relative
    assert index_rows(serial) == index_rows(parallel)
    assert set(index_rows(serial).values()) == {"PASSED"}
    assert totals(serial) == totals(parallel)
