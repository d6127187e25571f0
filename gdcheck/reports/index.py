"""Over a run of many specs: `index.md`, the CI job summary, and the --format json document.

How index.md stays whole: it covers every report in its folder, not only the run that
writes it. Each write rebuilds it from the run's outcomes and the `<name>/report.json`
files already there (a folder deleted by hand drops out), one row per spec file: this
run's row, else the newest report of that file. The rebuild holds an exclusive lock on
the folder itself (no lock file is left behind), so of runs finishing at once the last
to write sees every report the others wrote before their own index.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..results import Outcome, RunTotals, SpecFailure, Verification
from .files import atomic_write, json_safe
from .markdown import code, escape, failure_lines, fenced, table

if sys.platform != "win32":
    import fcntl

COLUMNS = ["spec", "verdict", "failed checks", "time"]


@dataclass(frozen=True)
class Row:
    """One spec's row: the spec file it is for, its verdict and its cells (`COLUMNS`)."""

    path: str                    # the spec file, as the run that verified it named it
    verdict: str                 # PASSED, FAILED or ERROR
    cells: list[str]
    verified: float | None = None   # when (seconds since the epoch), if known


def write_index(entries: Iterable[Outcome], report_dir: Path) -> Path:
    """Write `<report_dir>/index.md`: a totals line and one row per spec with a report in
    the folder (this run's outcomes, and the reports earlier runs left); return its path."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    entries = list(entries)
    with _locked(report_dir):
        rows = _folder_rows(entries, report_dir)
        cells = [[*row.cells, _when(row.verified)] for row in rows]
        lines = ["# gdcheck report", "", _totals(rows), "",
                 *table([*COLUMNS, "verified"], cells)]
        atomic_write(report_dir / "index.md", "\n".join(lines) + "\n")
    return report_dir / "index.md"


def write_summary(entries: Iterable[Outcome], path: Path) -> Path:
    """Write a Markdown summary for a CI job page (e.g. `$GITHUB_STEP_SUMMARY`): the totals,
    one row per spec, and each failure with its replay command. Appends if the file exists,
    as CI job summaries are shared by the steps of a job."""
    entries = list(entries)
    rows = [_entry_row(entry, None) for entry in entries]
    lines = ["## gdcheck", "", _totals(rows), "", *table(COLUMNS, [row.cells for row in rows])]
    for entry in entries:
        if isinstance(entry, SpecFailure) or entry.passed:
            continue
        for name, check in entry.checks.items():
            if not check.passed:
                lines += ["", f"**{escape(entry.spec.name)}: {escape(name)}**", "",
                          *fenced(failure_lines(check))]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = path.read_bytes() if path.exists() else b""   # as it is, whatever its encoding
    atomic_write(path, previous + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _totals(rows: list[Row]) -> str:
    verdicts = [row.verdict for row in rows]
    return str(RunTotals(len(rows), verdicts.count("PASSED"), verdicts.count("FAILED"),
                         verdicts.count("ERROR")))


def _entry_row(entry: Outcome, report_dir: Path | None) -> Row:
    if isinstance(entry, SpecFailure):
        return Row(entry.path, "ERROR",
                   [code(entry.path, in_table=True), "ERROR", escape(entry.message), "—"])
    name = escape(entry.spec.name)
    verified = None
    # no link without a report to link to, or (report_dir None) nowhere to link from
    if entry.report_dir is not None and report_dir is not None:
        target = Path(os.path.relpath(entry.report_dir / "report.md", report_dir)).as_posix()
        name = f"[{name}]({quote(target)})"
        verified = _modified(entry.report_dir / "report.json")
    failed = [check for check, result in entry.checks.items() if not result.passed]
    verdict = "PASSED" if entry.passed else "FAILED"
    return Row(str(entry.spec.path), verdict,
               [name, verdict, escape(", ".join(failed)) or "—",
                f"{sum(entry.timings.values()):.2f} s"], verified)


def _folder_rows(entries: list[Outcome], report_dir: Path) -> list[Row]:
    """This run's rows, and for every other spec file the row of its newest report."""
    now = time.time()
    current = [replace(row, verified=row.verified or now)
               for row in (_entry_row(entry, report_dir) for entry in entries)]
    ours = {_absolute(entry.report_dir) for entry in entries
            if isinstance(entry, Verification) and entry.report_dir is not None}
    newest: dict[str, Row] = {}
    for folder in sorted(report_dir.iterdir()):
        row = None if _absolute(folder) in ours else _stored_row(folder)
        if row is None:
            continue
        key = _absolute(row.path)
        if key not in newest or (row.verified or 0) > (newest[key].verified or 0):
            newest[key] = row
    for row in current:   # a spec verified again (or failing now) replaces its earlier row
        newest.pop(_absolute(row.path), None)
    return sorted([*current, *newest.values()], key=lambda row: row.path)


def _stored_row(folder: Path) -> Row | None:
    """The row of the report an earlier run left in `folder`; None if there is none (or
    what is there is not a report gdcheck wrote)."""
    if folder.name.startswith(".") or not folder.is_dir():
        return None
    document = _json(folder / "report.json")
    checks = document.get("checks")
    name, path = document.get("spec"), document.get("path")
    if not (isinstance(name, str) and isinstance(path, str) and isinstance(checks, dict)
            and all(isinstance(check, dict) for check in checks.values())):
        return None
    failed = [check for check, result in checks.items() if result.get("passed") is not True]
    verdict = "FAILED" if failed or document.get("passed") is not True else "PASSED"
    timings = _json(folder / "timings.json").get("timings")
    seconds = (f"{sum(timings.values()):.2f} s" if isinstance(timings, dict) and all(
        isinstance(value, int | float) for value in timings.values()) else "—")
    link = f"[{escape(name)}]({quote(folder.name)}/report.md)"
    return Row(path, verdict, [link, verdict, escape(", ".join(failed)) or "—", seconds],
               _modified(folder / "report.json"))


def _json(path: Path) -> dict[str, Any]:
    """A JSON file's object; {} if it is missing, unreadable or not an object."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _absolute(path: str | Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _when(verified: float | None) -> str:
    if verified is None:
        return "—"
    return datetime.fromtimestamp(verified, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on the folder itself) while inside."""
    if sys.platform == "win32":   # no flock; the index is still written atomically
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):   # a file system without locks: write unlocked
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)   # releases the lock


def run_document(entries: Sequence[Outcome], status: int) -> dict[str, Any]:
    """The --format json document: every spec's report.json, and the specs that failed to load."""
    return {"passed": status == 0, "exit_status": status,
            "specs": [json_safe(e.to_json()) for e in entries if isinstance(e, Verification)],
            "errors": [{"path": e.path, "message": e.message} for e in entries
                       if isinstance(e, SpecFailure)]}
