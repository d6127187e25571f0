"""Over a run of many specs: `index.md`, the CI job summary, and the --format json document."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..results import Outcome, RunTotals, SpecFailure, Verification
from .files import atomic_write, json_safe
from .markdown import code, escape, failure_lines, fenced, table


def write_index(entries: Iterable[Outcome], report_dir: Path) -> Path:
    """Write `<report_dir>/index.md`: a totals line and one row per spec; return its path."""
    report_dir = Path(report_dir)
    lines = ["# gdcheck report", "", *_overview(list(entries), report_dir)]
    report_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(report_dir / "index.md", "\n".join(lines) + "\n")
    return report_dir / "index.md"


def write_summary(entries: Iterable[Outcome], path: Path) -> Path:
    """Write a Markdown summary for a CI job page (e.g. `$GITHUB_STEP_SUMMARY`): the totals,
    one row per spec, and each failure with its replay command. Appends if the file exists,
    as CI job summaries are shared by the steps of a job."""
    entries = list(entries)
    lines = ["## gdcheck", "", *_overview(entries, None)]
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


def _overview(entries: list[Outcome], report_dir: Path | None) -> list[str]:
    totals = str(RunTotals.of(entries))
    rows = [_index_row(entry, report_dir) for entry in entries]
    return [totals, "", *table(["spec", "verdict", "failed checks", "time"], rows)]


def _index_row(entry: Outcome, report_dir: Path | None) -> list[str]:
    if isinstance(entry, SpecFailure):
        return [code(entry.path, in_table=True), "ERROR", escape(entry.message), "—"]
    name = escape(entry.spec.name)
    # no link without a report to link to, or (report_dir None) nowhere to link from
    if entry.report_dir is not None and report_dir is not None:
        target = Path(os.path.relpath(entry.report_dir / "report.md", report_dir)).as_posix()
        name = f"[{name}]({quote(target)})"
    failed = [check for check, result in entry.checks.items() if not result.passed]
    return [name, "PASSED" if entry.passed else "FAILED",
            escape(", ".join(failed)) or "—", f"{sum(entry.timings.values()):.2f} s"]


def run_document(entries: Sequence[Outcome], status: int) -> dict[str, Any]:
    """The --format json document: every spec's report.json, and the specs that failed to load."""
    return {"passed": status == 0, "exit_status": status,
            "specs": [json_safe(e.to_json()) for e in entries if isinstance(e, Verification)],
            "errors": [{"path": e.path, "message": e.message} for e in entries
                       if isinstance(e, SpecFailure)]}
