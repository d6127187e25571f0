"""report.md, and the Markdown helpers every Markdown output uses (the index, the CI
summary): each section is a small function returning lines, and every string from a spec
is escaped before it reaches Markdown."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import printable
from ..results import CheckResult, Verification

CONVERGENCE_PLOTS = ("loss.png", "grad_norm.png")   # the learning-rate map has its section
LEARNING_RATE_PLOT = "learning_rate.png"

MAX_SHOWN_VALUES = 6   # longer vectors are cut in markdown tables
RUN_COLUMNS = {"initial": "initial", "final": "final", "steps": "steps",   # label -> run key
               "initial loss": "initial_loss", "final loss": "final_loss",
               "grad norm": "grad_norm", "converged": "converged",
               "diverged at": "diverged_at", "rate": "rate", "problem": "problem"}
# what could start a link, image, HTML tag, entity, emphasis, code span, math or table cell
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]|~<>&$]")
_BLOCK_START = re.compile(r"^(\d*)([-+=.)#>])")   # would start a list, heading, quote or rule


def report_markdown(verification: Verification, plots: list[str]) -> str:
    sections = (_header, _checks_table, _counterexamples, _formulas, _convergence,
                _learning_rate, _warnings, _nondifferentiable)
    lines: list[str] = []
    for section in sections:
        lines.extend(section(verification, plots))
    return "\n".join(lines).rstrip() + "\n"


def _header(verification: Verification, plots: list[str]) -> list[str]:
    verdict = "PASSED" if verification.passed else "FAILED"
    lines = [f"# {escape(verification.spec.name)}: {verdict}", ""]
    description = (verification.spec.description or "").strip()
    if description:
        lines += [escape(line) for line in description.splitlines()] + [""]
    return lines + [f"Spec {code(str(verification.spec.path))}, seed {verification.seed}.", ""]


def _checks_table(verification: Verification, plots: list[str]) -> list[str]:
    rows = [[escape(name), "passed" if check.passed else "**FAILED**", escape(check.summary)]
            for name, check in verification.checks.items()]
    if not rows:
        return ["## Checks", "", "No checks ran.", ""]
    return ["## Checks", "", *table(["check", "verdict", "summary"], rows), ""]


def _counterexamples(verification: Verification, plots: list[str]) -> list[str]:
    lines: list[str] = []
    for name, check in verification.checks.items():
        example = check.counterexample
        if check.passed or example is None:
            continue
        lines += [f"### {escape(name)}", "", f"- point: {code(point_cell(example.point))}",
                  f"- detail: {escape(example.detail)}", "", "Replay:", "",
                  *fenced([example.replay], "sh"), ""]
    return ["## Counterexamples", "", *lines] if lines else []


def _formulas(verification: Verification, plots: list[str]) -> list[str]:
    gradient = [f"dL/d{name} = {formula}" for name, formula
                in verification.gradient_formulas.items()]
    where = ["where:", *(f"  {line}" for line in verification.definitions)] \
        if verification.definitions else []
    objective = [*where, f"L = {verification.objective_formula}"]
    return ["## Objective", "", *fenced(objective), "", "## Gradient", "", *fenced(gradient), ""]


def _convergence(verification: Verification, plots: list[str]) -> list[str]:
    check = verification.checks.get("convergence")
    if check is None:
        curves = "curves" if plots else "plots"   # the learning-rate map may have one
        return ["## Convergence", "", f"No convergence check ran, so there are no {curves}.", ""]
    rows = [[str(i), *(number_cell(run.get(key)) for key in RUN_COLUMNS.values())]
            for i, run in enumerate(check.details.get("runs", []), start=1)]
    runs = table(["run", *RUN_COLUMNS], rows) if rows else ["No runs."]
    lines = ["## Convergence", "", *runs, ""]
    images = [image(filename) for filename in plots if filename in CONVERGENCE_PLOTS]
    return lines + (images + [""] if images else ["No curves were recorded to plot.", ""])


def _learning_rate(verification: Verification, plots: list[str]) -> list[str]:
    rate_map = verification.learning_rate_map
    if rate_map is None:
        return []
    if "rates" not in rate_map:
        return ["## Learning rate", "", f"No learning-rate map: {escape(rate_map.get('skipped'))}.",
                ""]
    figure = [image(LEARNING_RATE_PLOT), ""] if LEARNING_RATE_PLOT in plots else []
    return ["## Learning rate", "", f"**{escape(rate_map['verdict'])}**", "",
            *_curvature_lines(rate_map), "",
            *table(["learning rate", "final loss", "outcome"], _rate_rows(rate_map)), "",
            *figure]


def _curvature_lines(rate_map: dict[str, Any]) -> list[str]:
    cut = rate_map.get("cut_at")
    spared = " but the spec's" if rate_map.get("cut_spared_spec_rate") else ""
    ran = (f"Every rate ran from one initial point for up to {rate_map['spec_steps']} steps, "
           "as the spec's optimizer does" +
           (f"; to bound the map's work (about that of the convergence runs) the rates{spared} "
            f"still running at step {cut} stopped there." if cut is not None else "."))
    if rate_map.get("bound") is None:
        return [ran, f"No stability bound: {escape(rate_map.get('bound_omitted'))}."]
    momentum = rate_map.get("momentum")
    method = "gradient descent" if momentum is None else f"heavy-ball momentum (μ = {momentum:g})"
    return [ran, f"L = {rate_map['L']:.4g} is the largest Hessian eigenvalue at "
            f"{escape(rate_map['L_at'])} (power iteration, {rate_map['L_iterations']} "
            f"Hessian-vector products); the stability bound of {method} is "
            f"{escape(rate_map['bound_name'])} = {rate_map['bound']:.4g}."]


def _rate_rows(rate_map: dict[str, Any]) -> list[list[str]]:
    rows = []
    for i, rate in enumerate(rate_map["rates"]):
        diverged, converged = rate_map["diverged_at"][i], rate_map["converged_at"][i]
        outcome = (f"diverged at step {diverged}" if diverged is not None
                   else f"converged at step {converged}" if converged is not None
                   else f"not converged after {rate_map['steps_taken'][i]} steps")
        spec = " (spec)" if rate == rate_map["spec_rate"] else ""
        rows.append([f"{rate:.3g}{spec}", number_cell(rate_map["final_loss"][i]), outcome])
    return rows


def image(filename: str) -> str:
    return f"![{filename.removesuffix('.png')}]({filename})"


def _warnings(verification: Verification, plots: list[str]) -> list[str]:
    warnings = list(verification.warnings) + [
        f"{name}: {warning}" for name, check in verification.checks.items()
        for warning in check.warnings]
    return ["## Warnings", "", *(f"- {escape(w)}" for w in warnings), ""] if warnings else []


def _nondifferentiable(verification: Verification, plots: list[str]) -> list[str]:
    points = verification.nondifferentiable
    if not points:
        return []
    return ["## Non-differentiable points", "", *(f"- {code(p)}" for p in points), ""]



def escape(text: object) -> str:
    """Text from a spec as inert Markdown on one line, safe in a table cell: printable(), and
    every character Markdown could act on backslash-escaped (see _MARKDOWN_SPECIAL), and what
    would open a heading, list or quote at the start."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\g<0>", " ".join(printable(text).split()))
    return _BLOCK_START.sub(r"\1\\\2", escaped)


def code(text: str, in_table: bool = False) -> str:
    """An inline code span that survives backticks in `text` (and `|` in a table cell)."""
    text = " ".join(printable(text).split())
    if in_table:
        text = text.replace("|", "\\|")   # GFM splits cells first, even inside code
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def fenced(lines: Iterable[str], language: str = "") -> list[str]:
    """A fenced code block of `lines`, each made printable (so one line stays one line), the
    fence longer than any run of backticks in them."""
    shown = [printable(line) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *shown, fence]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"
    return [row(header), row(["---"] * len(header)), *(row(cells) for cells in rows)]


def number_cell(value: Any, digits: int = 4) -> str:
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        items = [number_cell(item, digits) for item in value[:MAX_SHOWN_VALUES]]
        more = f", … ({len(value)} values)" if len(value) > MAX_SHOWN_VALUES else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(value, int | float):
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    return escape(value)


def point_cell(point: dict[str, Any]) -> str:
    return ", ".join(f"{name}={number_cell(value, 6)}" for name, value in point.items())


def failure_lines(check: CheckResult) -> list[str]:
    """A failed check as lines (summary, counterexample, replay, warnings), not yet made safe:
    each output sanitises each line for itself (a newline inside one is user text)."""
    lines = [check.summary]
    if check.counterexample is not None:
        example = check.counterexample
        detail = "" if example.detail == check.summary else f": {example.detail}"
        lines += [f"counterexample at {point_cell(example.point)}{detail}",
                  f"replay: {example.replay}"]
    return lines + [f"warning: {warning}" for warning in check.warnings]
