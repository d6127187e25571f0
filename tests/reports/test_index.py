"""index.md over many runs: it covers every report in its folder, rebuilt from the report.json
files there, and stays whole when several processes write it at once."""

from __future__ import annotations

import calendar
import multiprocessing
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gdcheck.reports import index as index_module
from gdcheck.reports import write_index, write_report
from gdcheck.results import CheckResult, SpecFailure, Verification

ROW = re.compile(r"^\| (?:\[(?P<name>[^\]]*)\]\((?P<link>[^)]*)\)|`(?P<path>[^`]*)`) \| "
                 r"(?P<verdict>PASSED|FAILED|ERROR) \| (?P<failed>[^|]*) \| (?P<time>[^|]*) \| "
                 r"(?P<verified>[^|]*) \|$")


def verified(name: str, passed: bool = True, path: str | None = None,
             seconds: float = 0.25) -> Verification:
    """A Verification of `specs/<name>.yaml` with a gradient and a descent check."""
    checks = {"gradient": CheckResult("gradient", True, "5 examples"),
              "descent": CheckResult("descent", passed, "5 examples" if passed else "rose")}
    spec: Any = SimpleNamespace(name=name, path=Path(path or f"specs/{name}.yaml"),
                                description="")   # what reports read of a Spec
    return Verification(spec=spec, seed=0, checks=checks, parameter_names=["w"],
                        objective_formula="w**2", gradient_formulas={"w": "2*w"},
                        nondifferentiable=[], timings={"compile": 0.5, "gradient": seconds})


def reported(verification: Verification, report_dir: Path) -> Verification:
    """The Verification as verify() returns it: its report written, and it knowing where."""
    return replace(verification, report_dir=write_report(verification, report_dir))


def rows(report_dir: Path) -> dict[str, dict[str, str]]:
    """index.md's rows by spec name (a report's row) or spec path (an error's row)."""
    found = {}
    for line in (report_dir / "index.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found[match["name"] or match["path"]] = match.groupdict()
    return found


def totals(report_dir: Path) -> str:
    return (report_dir / "index.md").read_text(encoding="utf-8").splitlines()[2]


def test_a_later_run_keeps_the_rows_of_the_reports_already_there(tmp_path: Path) -> None:
    write_index([reported(verified("a", passed=False, seconds=1.5), tmp_path)], tmp_path)
    write_index([reported(verified("b"), tmp_path)], tmp_path)
    found = rows(tmp_path)
    assert list(found) == ["a", "b"]
    assert found["a"]["link"] == "a/report.md"
    # a's row comes from its report.json and timings.json: 0.5 s compile + 1.5 s gradient
    assert (found["a"]["verdict"], found["a"]["failed"], found["a"]["time"]) == (
        "FAILED", "descent", "2.00 s")
    assert (found["b"]["verdict"], found["b"]["failed"], found["b"]["time"]) == (
        "PASSED", "—", "0.75 s")
    assert totals(tmp_path) == "2 specs: 1 passed, 1 failed, 0 errors"


def test_each_row_says_when_its_spec_was_verified(tmp_path: Path) -> None:
    earlier = calendar.timegm((2024, 1, 2, 3, 4, 5))
    write_report(verified("a"), tmp_path)
    os.utime(tmp_path / "a" / "report.json", (earlier, earlier))
    before = time.time()
    write_index([reported(verified("b"), tmp_path)], tmp_path)
    found = rows(tmp_path)
    assert found["a"]["verified"] == "2024-01-02 03:04:05 UTC"
    stamp = calendar.timegm(time.strptime(found["b"]["verified"], "%Y-%m-%d %H:%M:%S UTC"))
    assert before - 1 <= stamp <= time.time()


def test_a_spec_verified_again_replaces_its_row(tmp_path: Path) -> None:
    write_index([reported(verified("a"), tmp_path)], tmp_path)
    write_index([reported(verified("a", passed=False), tmp_path)], tmp_path)
    assert [(name, row["verdict"]) for name, row in rows(tmp_path).items()] == [("a", "FAILED")]
    assert totals(tmp_path) == "1 spec: 0 passed, 1 failed, 0 errors"   # not "1 specs"


def test_a_spec_renamed_since_keeps_only_its_new_row(tmp_path: Path) -> None:
    write_index([reported(verified("old", path="specs/a.yaml"), tmp_path)], tmp_path)
    write_index([reported(verified("new", path="specs/a.yaml"), tmp_path)], tmp_path)
    assert list(rows(tmp_path)) == ["new"]   # one row per spec file
    assert (tmp_path / "old" / "report.json").exists()   # its folder is left alone


def test_a_report_folder_deleted_by_hand_drops_out(tmp_path: Path) -> None:
    write_index([reported(verified("a"), tmp_path), reported(verified("b"), tmp_path)],
                tmp_path)
    for file in (tmp_path / "a").iterdir():
        file.unlink()
    (tmp_path / "a").rmdir()
    write_index([reported(verified("c"), tmp_path)], tmp_path)
    assert list(rows(tmp_path)) == ["b", "c"]
    assert totals(tmp_path) == "2 specs: 2 passed, 0 failed, 0 errors"


def test_errors_of_this_run_show_and_replace_that_specs_earlier_row(tmp_path: Path) -> None:
    write_index([reported(verified("a"), tmp_path), reported(verified("b"), tmp_path)],
                tmp_path)
    failure = SpecFailure("specs/a.yaml", "specs/a.yaml: spec: exceeded the time limit")
    write_index([failure, SpecFailure("specs/x|y.yaml", "line 3: oops")], tmp_path)
    found = rows(tmp_path)
    assert list(found) == ["specs/a.yaml", "b", "specs/x\\|y.yaml"]
    assert found["specs/a.yaml"]["verdict"] == "ERROR"
    assert found["specs/a.yaml"]["failed"] == "specs/a.yaml: spec: exceeded the time limit"
    assert totals(tmp_path) == "3 specs: 1 passed, 0 failed, 2 errors"
    # an error leaves no report: the next run's index has no row for it
    write_index([reported(verified("c"), tmp_path)], tmp_path)
    assert list(rows(tmp_path)) == ["a", "b", "c"]   # a's report from before the error


def test_what_is_not_a_report_is_left_out(tmp_path: Path) -> None:
    write_report(verified("a"), tmp_path)
    for folder, content in {"notes": None, "broken": b"{not json", "list": b"[1, 2]",
                            "other": b'{"spec": "other"}', ".hidden": None}.items():
        (tmp_path / folder).mkdir()
        if content is not None:
            (tmp_path / folder / "report.json").write_bytes(content)
    (tmp_path / ".hidden" / "report.json").write_text(
        (tmp_path / "a" / "report.json").read_text().replace('"a"', '"hidden"'))
    (tmp_path / "stray.json").write_text("{}")
    write_index([], tmp_path)
    assert list(rows(tmp_path)) == ["a"]
    assert totals(tmp_path) == "1 spec: 1 passed, 0 failed, 0 errors"


def test_an_empty_folder_gets_an_index_of_no_specs(tmp_path: Path) -> None:
    write_index([], tmp_path / "reports")
    assert totals(tmp_path / "reports") == "0 specs: 0 passed, 0 failed, 0 errors"
    assert rows(tmp_path / "reports") == {}
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["index.md"]


# Several processes each write their report and then the index, as runs finishing together
# do. Process i writes its report at i·STAGGER and takes SLOW − 2i·STAGGER between reading
# the folder and writing index.md, so without the lock process 0 reads the folder first,
# sees only its own report, writes index.md last and drops the others' rows.
PROCESSES, STAGGER, SLOW = 5, 0.05, 0.5


def _one_run(number: int, report_dir: Path) -> None:
    real = index_module.atomic_write

    def slow(path: Path, data: str | bytes) -> None:
        time.sleep(SLOW - 2 * number * STAGGER)
        real(path, data)

    index_module.atomic_write = slow   # type: ignore[assignment]  # a forked child's own
    time.sleep(number * STAGGER)
    write_index([reported(verified(f"spec{number}"), report_dir)], report_dir)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_runs_writing_the_index_at_once_lose_no_row(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    runs = [context.Process(target=_one_run, args=(number, tmp_path))
            for number in range(PROCESSES)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert [run.exitcode for run in runs] == [0] * PROCESSES
    assert list(rows(tmp_path)) == [f"spec{number}" for number in range(PROCESSES)]
    assert totals(tmp_path) == f"{PROCESSES} specs: {PROCESSES} passed, 0 failed, 0 errors"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []   # no lock file, no temporary file
