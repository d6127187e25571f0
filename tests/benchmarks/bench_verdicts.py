"""Every row of the verdict table (tests/test_verdict_table.py) under every scheme, on demand.

    python tests/benchmarks/bench_verdicts.py [--schemes central richardson ...] [--cases NAME ...]

Runs check_gradient on each row with each scheme (complex only on rows whose f carries
complex input) and prints Markdown to stdout: per scheme, how many verdicts were right (pass
on a correct gradient, fail on a planted bug), false passes (pass on a planted bug), false
fails (fail on a correct gradient) and inconclusive, and how many the table accepts; then
per row the verdict and the evaluations of f under each scheme. A verdict the table does
not accept is marked ✗. The exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the table

from test_verdict_table import CASES, Case  # noqa: E402

from gdcheck import check_gradient  # noqa: E402

SCHEMES = ["central", "richardson", "complex", "directional"]


@dataclass(frozen=True)
class Outcome:
    """One row under one scheme: the verdict ("error" if check_gradient raised)."""

    verdict: str
    evaluations: int | None
    seconds: float
    detail: str

    def accepted(self, case: Case) -> bool:
        return self.verdict in case.acceptable


def run(case: Case, scheme: str) -> Outcome:
    start = time.perf_counter()
    try:
        check = check_gradient(case.f, case.grad, case.x, scheme=scheme)
    except Exception as error:  # a crash is a result here, not the end of the run
        return Outcome("error", None, time.perf_counter() - start,
                       f"{type(error).__name__}: {error}")
    return Outcome(check.verdict, check.evaluations, time.perf_counter() - start,
                   check.reason or "")


def tally(cases: list[Case], outcomes: dict[str, Outcome]) -> dict[str, int]:
    counts = dict.fromkeys(["right", "false pass", "false fail", "inconclusive", "error",
                            "accepted"], 0)
    for case in cases:
        outcome = outcomes[case.name]
        correct = case.bug is None
        if outcome.verdict in ("inconclusive", "error"):
            counts[outcome.verdict] += 1
        elif (outcome.verdict == "pass") == correct:
            counts["right"] += 1
        else:
            counts["false fail" if correct else "false pass"] += 1
        counts["accepted"] += outcome.accepted(case)
    return counts


def summary_table(cases: list[Case], results: dict[str, dict[str, Outcome]]) -> list[str]:
    lines = ["| scheme | rows | right | false pass | false fail | inconclusive | error "
             "| table accepts | seconds |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scheme, outcomes in results.items():
        ran = [case for case in cases if case.name in outcomes]
        counts = tally(ran, outcomes)
        seconds = sum(outcome.seconds for outcome in outcomes.values())
        lines.append(f"| {scheme} | {len(ran)} | {counts['right']} | {counts['false pass']} | "
                     f"{counts['false fail']} | {counts['inconclusive']} | {counts['error']} | "
                     f"{counts['accepted']}/{len(ran)} | {seconds:.1f} |")
    return lines


def case_table(cases: list[Case], results: dict[str, dict[str, Outcome]]) -> list[str]:
    schemes = list(results)
    lines = ["| case | gradient | expected | " + " | ".join(schemes) + " |",
             "|---|---|---|" + "---|" * len(schemes)]
    for case in cases:
        cells = []
        for scheme in schemes:
            outcome = results[scheme].get(case.name)
            if outcome is None:
                cells.append("—")
                continue
            mark = "" if outcome.accepted(case) else " ✗"
            calls = "" if outcome.evaluations is None else f" ({outcome.evaluations})"
            cells.append(f"{outcome.verdict}{calls}{mark}")
        expected = " or ".join(case.acceptable)
        lines.append(f"| {case.name} | {case.bug or 'correct'} | {expected} | "
                     + " | ".join(cells) + " |")
    return lines


def problems(cases: list[Case], results: dict[str, dict[str, Outcome]]) -> list[str]:
    """The verdicts the table does not accept, with check_gradient's reason or error."""
    lines = []
    for scheme, outcomes in results.items():
        for case in cases:
            outcome = outcomes.get(case.name)
            if outcome is not None and not outcome.accepted(case):
                detail = f": {outcome.detail}" if outcome.detail else ""
                lines.append(f"- {scheme} / {case.name}: {outcome.verdict}, expected "
                             f"{' or '.join(case.acceptable)}{detail}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemes", nargs="+", choices=SCHEMES, default=SCHEMES)
    parser.add_argument("--cases", nargs="+", metavar="NAME",
                        help="only these rows (names from the table)")
    options = parser.parse_args(argv)
    names = {case.name for case in CASES}
    unknown = sorted(set(options.cases or ()) - names)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    cases = [case for case in CASES if not options.cases or case.name in options.cases]
    results: dict[str, dict[str, Outcome]] = {}
    for scheme in options.schemes:
        results[scheme] = {}
        for case in cases:
            if scheme == "complex" and not case.complex_ok:
                continue
            print(f"{scheme:12s} {case.name}", file=sys.stderr, flush=True)
            results[scheme][case.name] = run(case, scheme)
    wrong = problems(cases, results)
    report = ["# Verdicts of check_gradient on the verdict table", "",
              *summary_table(cases, results), "",
              "Right: pass on a correct gradient or fail on a planted bug. Table accepts: the "
              "verdict is the row's expected one or one of its allowed ones (an inconclusive "
              "verdict can be accepted, never right). Per row: verdict (evaluations of f); "
              "✗ marks a verdict the table does not accept; — a scheme the row's f does not "
              "support (complex input).", "",
              *case_table(cases, results), ""]
    if wrong:
        report += ["## Verdicts the table does not accept", "", *wrong, ""]
    print("\n".join(report))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
