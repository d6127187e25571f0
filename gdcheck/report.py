"""Verification → report.json, report.md, plots; a run → index.md and JUnit XML.

How it works: each spec gets a folder `<report_dir>/<spec name>/`. report.json
is `Verification.to_json()` with NaN/inf replaced (NaN → null, ±inf → "inf",
"-inf") so it stays strict JSON. report.md is built from small section
functions, each returning lines; every string from a spec is escaped before it
reaches markdown. Plots come from the convergence check's `curves`, are drawn on
a bare `matplotlib.figure.Figure` (Agg, no pyplot state) into bytes, and every
file is written with `atomic_write`, so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator

from .checks import CheckResult
from .errors import printable

if TYPE_CHECKING:
    from .verify import Verification

MAX_LEGEND_RUNS = 10   # more runs than this and a legend hides the curves
MAX_PLOTTED_POINTS = 400  # per run; longer runs are thinned evenly for the plot
MAX_SHOWN_VALUES = 6   # longer vectors are cut in markdown tables
PLOTS = {"loss": "loss.png", "grad_norm": "grad_norm.png"}
RUN_COLUMNS = {"initial": "initial", "final": "final", "steps": "steps",   # label -> run key
               "initial loss": "initial_loss", "final loss": "final_loss",
               "grad norm": "grad_norm", "converged": "converged",
               "diverged at": "diverged_at", "rate": "rate", "problem": "problem"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~]|<(?=[A-Za-z/!?]))")   # < only as a tag start
_BLOCK_START = re.compile(r"^(\d*)([-+=.)#>])")   # would start a list, heading, quote or rule
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class SpecFailure:
    """A spec that could not be loaded or compiled: its path and the error message."""

    path: str
    message: str


# ----------------------------------------------------------------- files


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = tempfile.NamedTemporaryFile(delete=False, dir=path.parent,
                                            prefix=f".{path.name}.", suffix=".tmp")
    try:
        with temporary:
            temporary.write(payload)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.chmod(temporary.name, 0o644)   # NamedTemporaryFile makes 0600; reports are shared
        os.replace(temporary.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary.name)
        raise


def write_report(verification: Verification, report_dir: Path) -> Path:
    """Write report.json, report.md and (with a convergence check) the plots; return the folder."""
    folder = _spec_folder(Path(report_dir), verification.spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    plots = _write_plots(verification, folder)
    atomic_write(folder / "report.md", _markdown(verification, plots))
    # report.json last: where it is new, the rest of the report is too
    document = json_safe(verification.to_json())
    atomic_write(folder / "report.json",
                 json.dumps(document, indent=2, allow_nan=False, default=str) + "\n")
    return folder


def _spec_folder(report_dir: Path, name: str) -> Path:
    if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
        raise ValueError(f"spec name {name!r} cannot name a report folder")
    return report_dir / name


def json_safe(value: Any) -> Any:
    """JSON-ready copy: NaN → None, ±inf → "inf"/"-inf", numpy values → Python ones."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()   # Python scalars and nested lists
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


# ----------------------------------------------------------------- plots


def _write_plots(verification: Verification, folder: Path) -> list[str]:
    """Render the convergence curves; remove plots a previous run left. Returns file names."""
    convergence = verification.checks.get("convergence")
    curves = convergence.curves if convergence is not None else {}
    written = []
    for key, filename in PLOTS.items():
        if curves.get(key):
            atomic_write(folder / filename, _plot(verification.spec.name, key, curves[key]))
            written.append(filename)
        else:
            (folder / filename).unlink(missing_ok=True)
    return written


def _plot(name: str, key: str, curves: Sequence[np.ndarray]) -> bytes:
    series = [np.asarray(curve, dtype=float).ravel() for curve in curves]
    ylabel = "gradient norm" if key == "grad_norm" else "loss"
    if key == "loss":
        series, ylabel = _shift_to_positive(series)
    # a fixed layout: matplotlib's constrained layout cost more than the whole verification
    figure = Figure(figsize=(7, 4.5))
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
    axes = figure.add_subplot()
    drawn = 0
    for run, values in enumerate(series, start=1):
        shown = np.isfinite(values) & (values > 0)   # log scale: NaN gaps break the line
        if shown.any():
            steps = _plotted_steps(len(values))
            axes.plot(steps, np.where(shown, values, np.nan)[steps], label=f"run {run}",
                      linewidth=1)
            drawn += 1
    if drawn:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(LogFormatter())  # plain 1e-08: mathtext is slow
    else:
        axes.text(0.5, 0.5, "no finite values to plot", ha="center", transform=axes.transAxes)
    title = f"{name}: {ylabel}".replace("$", r"\$")   # no mathtext from spec names
    axes.set(xlabel="step", ylabel=ylabel, title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if drawn and len(series) <= MAX_LEGEND_RUNS:
        axes.legend()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _plotted_steps(count: int) -> np.ndarray:
    """At most MAX_PLOTTED_POINTS steps, always the first and last: a long run drawn point by
    point looks the same and takes seconds."""
    if count <= MAX_PLOTTED_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_PLOTTED_POINTS).astype(int))


def _shift_to_positive(series: list[np.ndarray]) -> tuple[list[np.ndarray], str]:
    """Losses for a log axis: as they are if all positive, else loss − min + tiny, where
    tiny is the float resolution at the minimum (a smaller gap is rounding)."""
    finite = np.concatenate([values[np.isfinite(values)] for values in series] or [[]])
    if finite.size == 0 or finite.min() > 0:
        return series, "loss"
    lowest = finite.min()
    tiny = np.finfo(float).eps * max(1.0, abs(float(lowest)))
    with np.errstate(over="ignore", invalid="ignore"):
        return [values - lowest + tiny for values in series], "loss − min(loss)"


# ----------------------------------------------------------------- report.md


def _markdown(verification: Verification, plots: list[str]) -> str:
    sections = (_header, _checks_table, _counterexamples, _formulas, _convergence,
                _warnings, _nondifferentiable, _timings)
    lines: list[str] = []
    for section in sections:
        lines.extend(section(verification, plots))
    return "\n".join(lines).rstrip() + "\n"


def _header(verification: Verification, plots: list[str]) -> list[str]:
    verdict = "PASSED" if verification.passed else "FAILED"
    lines = [f"# {_escape(verification.spec.name)}: {verdict}", ""]
    description = (verification.spec.description or "").strip()
    if description:
        lines += [_escape(line) for line in description.splitlines()] + [""]
    return lines + [f"Spec {_code(str(verification.spec.path))}, seed {verification.seed}.", ""]


def _checks_table(verification: Verification, plots: list[str]) -> list[str]:
    rows = [[_escape(name), "passed" if check.passed else "**FAILED**", _escape(check.summary)]
            for name, check in verification.checks.items()]
    if not rows:
        return ["## Checks", "", "No checks ran.", ""]
    return ["## Checks", "", *_table(["check", "verdict", "summary"], rows), ""]


def _counterexamples(verification: Verification, plots: list[str]) -> list[str]:
    lines: list[str] = []
    for name, check in verification.checks.items():
        example = check.counterexample
        if check.passed or example is None:
            continue
        lines += [f"### {_escape(name)}", "", f"- point: {_code(_point(example.point))}",
                  f"- detail: {_escape(example.detail)}", "", "Replay:", "",
                  *_fenced(example.replay, "sh"), ""]
    return ["## Counterexamples", "", *lines] if lines else []


def _formulas(verification: Verification, plots: list[str]) -> list[str]:
    gradient = [f"dL/d{name} = {formula}" for name, formula
                in zip(verification.parameter_names, verification.gradient_formulas, strict=True)]
    return ["## Objective", "", *_fenced(f"L = {verification.objective_formula}"), "",
            "## Gradient", "", *_fenced("\n".join(gradient)), ""]


def _convergence(verification: Verification, plots: list[str]) -> list[str]:
    check = verification.checks.get("convergence")
    if check is None:
        return ["## Convergence", "", "No convergence check ran, so there are no plots.", ""]
    rows = [[str(i), *(_number(run.get(key)) for key in RUN_COLUMNS.values())]
            for i, run in enumerate(check.details.get("runs", []), start=1)]
    table = _table(["run", *RUN_COLUMNS], rows) if rows else ["No runs."]
    lines = ["## Convergence", "", *table, ""]
    images = [f"![{filename.removesuffix('.png')}]({filename})" for filename in plots]
    return lines + (images + [""] if images else ["No curves were recorded to plot.", ""])


def _warnings(verification: Verification, plots: list[str]) -> list[str]:
    warnings = list(verification.warnings) + [
        f"{name}: {warning}" for name, check in verification.checks.items()
        for warning in check.warnings]
    return ["## Warnings", "", *(f"- {_escape(w)}" for w in warnings), ""] if warnings else []


def _nondifferentiable(verification: Verification, plots: list[str]) -> list[str]:
    points = verification.nondifferentiable
    if not points:
        return []
    return ["## Non-differentiable points", "", *(f"- {_code(p)}" for p in points), ""]


def _timings(verification: Verification, plots: list[str]) -> list[str]:
    rows = [[_escape(step), f"{seconds:.3f}"] for step, seconds in verification.timings.items()]
    if not rows:
        return []
    rows.append(["**total**", f"{sum(verification.timings.values()):.3f}"])
    return ["## Timings", "", *_table(["step", "seconds"], rows), ""]


# ----------------------------------------------------------------- markdown helpers


def _escape(text: object) -> str:
    """Text from a spec as inert markdown on one line (safe in a table cell)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(printable(text).split()))
    return _BLOCK_START.sub(r"\1\\\2", escaped)


def _code(text: str, in_table: bool = False) -> str:
    """An inline code span that survives backticks in `text` (and `|` in a table cell)."""
    text = " ".join(printable(text).split())
    if in_table:
        text = text.replace("|", "\\|")   # GFM splits cells first, even inside code
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _fenced(text: str, language: str = "") -> list[str]:
    text = printable(text)
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return [f"{fence}{language}", *text.splitlines(), fence]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"
    return [row(header), row(["---"] * len(header)), *(row(cells) for cells in rows)]


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        items = [_number(item, digits) for item in value[:MAX_SHOWN_VALUES]]
        more = f", … ({len(value)} values)" if len(value) > MAX_SHOWN_VALUES else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(value, int | float):
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    return _escape(value)


def _point(point: dict[str, Any]) -> str:
    return ", ".join(f"{name}={_number(value, 6)}" for name, value in point.items())


# ----------------------------------------------------------------- index.md and JUnit


def write_index(entries: Iterable[Verification | SpecFailure], report_dir: Path) -> Path:
    """Write `<report_dir>/index.md`: a totals line and one row per spec; return its path."""
    report_dir = Path(report_dir)
    lines = ["# gdcheck report", "", *_overview(list(entries), report_dir)]
    report_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(report_dir / "index.md", "\n".join(lines) + "\n")
    return report_dir / "index.md"


def write_summary(entries: Iterable[Verification | SpecFailure], path: Path) -> Path:
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
                lines += ["", f"**{_escape(entry.spec.name)}: {name}**", "",
                          *_fenced(_failure_text(check))]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    atomic_write(path, previous + "\n".join(lines) + "\n")
    return path


def _overview(entries: list[Verification | SpecFailure], report_dir: Path | None) -> list[str]:
    errors = sum(isinstance(entry, SpecFailure) for entry in entries)
    passed = sum(not isinstance(entry, SpecFailure) and entry.passed for entry in entries)
    totals = (f"{len(entries)} specs: {passed} passed, "
              f"{len(entries) - passed - errors} failed, {errors} errors")
    rows = [_index_row(entry, report_dir) for entry in entries]
    return [totals, "", *_table(["spec", "verdict", "failed checks", "time"], rows)]


def _index_row(entry: Verification | SpecFailure, report_dir: Path | None) -> list[str]:
    if isinstance(entry, SpecFailure):
        return [_code(entry.path, in_table=True), "ERROR", _escape(entry.message), "—"]
    name = _escape(entry.spec.name)
    # no link without a report to link to, or (report_dir None) nowhere to link from
    if entry.report_dir is not None and report_dir is not None:
        target = Path(os.path.relpath(entry.report_dir / "report.md", report_dir)).as_posix()
        name = f"[{name}]({quote(target)})"
    failed = [check for check, result in entry.checks.items() if not result.passed]
    return [name, "PASSED" if entry.passed else "FAILED",
            _escape(", ".join(failed)) or "—", f"{sum(entry.timings.values()):.2f} s"]


def write_junit(entries: Iterable[Verification | SpecFailure], path: Path) -> Path:
    """Write JUnit XML: one testcase per check, one `load` testcase per SpecFailure."""
    path = Path(path)
    cases = [case for entry in entries for case in _testcases(entry)]
    suite = ET.Element("testsuite", {
        "name": "gdcheck", "tests": str(len(cases)),
        "failures": str(sum(case.find("failure") is not None for case in cases)),
        "errors": str(sum(case.find("error") is not None for case in cases)),
        "time": f"{sum(float(case.get('time', 0)) for case in cases):.3f}"})
    suite.extend(cases)
    ET.indent(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, ET.tostring(suite, encoding="utf-8", xml_declaration=True))
    return path


def _testcases(entry: Verification | SpecFailure) -> list[ET.Element]:
    if isinstance(entry, SpecFailure):
        case = _testcase(Path(entry.path).stem, "load", 0.0)
        error = ET.SubElement(case, "error", message=_xml(entry.message))
        error.text = _xml(entry.message if entry.path in entry.message
                          else f"{entry.path}: {entry.message}")
        return [case]
    cases = []
    for name, check in entry.checks.items():
        case = _testcase(entry.spec.name, name, check.seconds)
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=_xml(check.summary))
            failure.text = _xml(_failure_text(check))
        cases.append(case)
    return cases


def _testcase(spec_name: str, check: str, seconds: float) -> ET.Element:
    return ET.Element("testcase", classname=_xml(f"gdcheck.{spec_name}"), name=_xml(check),
                      time=f"{seconds:.3f}")


def _failure_text(check: CheckResult) -> str:
    lines = [check.summary]
    if check.counterexample is not None:
        example = check.counterexample
        detail = "" if example.detail == check.summary else f": {example.detail}"
        lines += [f"counterexample at {_point(example.point)}{detail}",
                  f"replay: {example.replay}"]
    return "\n".join(lines + [f"warning: {warning}" for warning in check.warnings])


def _xml(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (ElementTree would write them and break the file)."""
    return _XML_INVALID.sub("", text)
