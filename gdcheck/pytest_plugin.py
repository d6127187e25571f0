"""The pytest plugin: `pytest specs/` runs every check of every spec as a test item.

Each spec file (a `*.yaml` / `*.yml` file with a top-level `gdcheck:` key; other
YAML files are left alone) is collected as one `SpecFile` with one item per
enabled check, in the order `gdcheck verify` runs them::

    $ pytest specs/ --gdcheck-seed 3 -k "gradient or descent"
    specs/logistic.yaml::gradient PASSED
    specs/logistic.yaml::descent FAILED
    ...
    FAIL descent one gd step (learning_rate 8) from w=[...], b=0.1 raised the objective ...
    replay: gdcheck verify specs/logistic.yaml --seed 3

The spec is verified once, when the first of its items runs; every item then
reports its own check. Under pytest-xdist (`pytest -n 2 specs/`) all the items of a
spec go to one worker, so each spec is still verified once. A spec that does not
load is one failed item, `<file>::load`, showing `Error: <file>:<line>: <field>:
<message>`. Reports are written only when `--gdcheck-report-dir DIR` is given, so
a test run leaves no files behind.
`-p no:gdcheck` turns the plugin off.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .defaults import MAX_SPEC_BYTES
from .errors import SpecError, printable
from .options import examples, natural
from .spec import Spec, load

if TYPE_CHECKING:  # loaded only when a spec runs: pytest starts as fast without gdcheck
    from .results import CheckResult, Verification


def verify(spec: Spec, *args: Any, **kwargs: Any) -> Verification:
    """`gdcheck.verify`, imported when the first spec runs rather than at every pytest start
    (it brings in SymPy, Hypothesis and matplotlib)."""
    from .verify import verify as run

    return run(spec, *args, **kwargs)


SPEC_KEY = re.compile(r"^[\"']?gdcheck[\"']?[ \t]*:", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gdcheck", "gdcheck spec files")
    group.addoption("--gdcheck-report-dir", metavar="DIR", default=None,
                    help="write each spec's report under DIR (default: write no reports)")
    group.addoption("--gdcheck-seed", metavar="N", type=natural, default=0,
                    help="seed for Hypothesis and sampling (default 0)")
    group.addoption("--gdcheck-examples", metavar="N", type=examples, default=None,
                    help="examples for every property check (default: each spec's own)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    if file_path.suffix in (".yaml", ".yml") and _is_spec(file_path):
        return SpecFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist, when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `pytest -n N` (xdist's `load`, or `loadgroup`), give all the checks of a spec to
    one worker, so that each spec is verified once; other tests are spread as before.
    `loadscope` and `loadfile` keep a spec's items together already; under `worksteal` or
    `each` a spec may be verified by several workers, to the same verdicts and reports."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    try:
        from xdist.scheduler import LoadGroupScheduling
    except ImportError:   # xdist before 2.5: its own scheduling
        return None

    class SpecScheduling(LoadGroupScheduling):
        """`loadgroup` (under `load` no test has a group: each is its own unit), and each
        spec file one unit."""

        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return file if file.endswith((".yaml", ".yml")) else super()._split_scope(nodeid)

    return SpecScheduling(config, log)


def _is_spec(path: Path) -> bool:
    """Whether a YAML file has a top-level `gdcheck:` key (CI configs and the like do not)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            return SPEC_KEY.search(file.read(MAX_SPEC_BYTES)) is not None
    except OSError:
        return False


class SpecFile(pytest.File):
    """One spec file: an item per enabled check, sharing one verification."""

    spec: Spec | None = None
    outcome: Verification | SpecError | None = None   # cached on the first item's run

    def collect(self) -> Iterator[CheckItem]:
        try:
            self.spec = load(Path(os.path.relpath(self.path)))  # paths as the user types them
        except SpecError as error:
            self.outcome = error
            yield CheckItem.from_parent(self, name="load")
            return
        for name in self.spec.checks.enabled():
            yield CheckItem.from_parent(self, name=name)

    def verification(self) -> Verification:
        """The spec's Verification, run once; raises the SpecError if it cannot run."""
        if self.outcome is None:
            assert self.spec is not None    # else collect() stored its SpecError
            option = self.config.getoption
            try:
                self.outcome = verify(self.spec, option("gdcheck_report_dir"),
                                      option("gdcheck_seed"), examples=option("gdcheck_examples"))
            except SpecError as error:    # bad data shows up only when compiling
                self.outcome = error
            else:
                for warning in self.outcome.warnings:
                    warnings.warn(printable(f"{self.outcome.name}: {warning}"), UserWarning,
                                  stacklevel=1)
        if isinstance(self.outcome, SpecError):
            raise self.outcome
        return self.outcome


class CheckFailed(Exception):
    """A check of a spec found a defect; carries its CheckResult."""

    def __init__(self, result: CheckResult):
        super().__init__(result.summary)
        self.result = result


class CheckItem(pytest.Item):
    """One check of a spec (`gradient`, `descent`, ...), or `load` for a spec that did not load."""

    parent: SpecFile

    def runtest(self) -> None:
        result = self.parent.verification().checks[self.name]
        self.user_properties += [(key, value) for key, value in result.details.items()
                                 if isinstance(value, int | float | str)]
        for warning in result.warnings:
            warnings.warn(printable(f"{self.name}: {warning}"), UserWarning, stacklevel=1)
        if not result.passed:
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        """The failure as `gdcheck verify` prints it, without a Python traceback."""
        if isinstance(excinfo.value, CheckFailed):
            result = excinfo.value.result
            lines = [f"FAIL {result.name} {result.summary}"]
            if result.counterexample is not None:
                lines.append(f"replay: {result.counterexample.replay}")
            return "\n".join(printable(line) for line in lines)
        if isinstance(excinfo.value, SpecError):
            return printable(f"Error: {excinfo.value}")
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"gdcheck {self.name}: {os.path.relpath(self.path)}"
