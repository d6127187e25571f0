"""The pytest plugin under pytest-xdist: `pytest -n 2 specs/` gives every item the verdict it
has without xdist, verifies each spec once (all its items on one worker), and leaves whole
reports.

The xdist runs are subprocesses (their workers are anyway); a conftest records, in each
worker, every spec it verifies. Plugin autoloading is off, as in test_pytest_plugin.py, so
both plugins are loaded with `-p`.
"""

import json
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pytest
from test_pytest_plugin import BROKEN, FAILING, PASSING

from gdcheck import pytest_plugin

pytest.importorskip("xdist")

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "gdcheck.pytest_plugin", "-p", "no:cacheprovider", "--gdcheck-examples", "3")
XDIST = ("-p", "xdist", "-n", "2")

# in each xdist worker (not in this process, which runs the run without xdist in-process)
RECORDING_CONFTEST = """\
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    from gdcheck import pytest_plugin

    verify = pytest_plugin.verify

    def recording_verify(spec, *args, **kwargs):
        with open(os.path.join(os.path.dirname(__file__), "verified.txt"), "a") as record:
            record.write(os.environ["PYTEST_XDIST_WORKER"] + " " + spec.name + "\\n")
        return verify(spec, *args, **kwargs)

    pytest_plugin.verify = recording_verify
"""


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makefile(".yaml", good=PASSING, bad=FAILING, broken=BROKEN)
    pytester.makeconftest(RECORDING_CONFTEST)
    return pytester


def outcomes(junit: Path) -> list[tuple[str, str, str, str]]:
    """(spec, check, outcome, message) of every testcase of a JUnit XML file, sorted."""
    found = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        problem = case.find("failure")
        outcome = "passed" if problem is None else "failed"
        found.append((case.get("classname", ""), case.get("name", ""), outcome,
                      "" if problem is None else problem.get("message", "")))
    return sorted(found)


def verified(pytester: pytest.Pytester) -> list[tuple[str, str]]:
    """(worker, spec name) of every verification the workers ran."""
    record = pytester.path / "verified.txt"
    lines = record.read_text().splitlines() if record.exists() else []
    return [(worker, name) for worker, name in (line.split(" ", 1) for line in lines)]


def reports(folder: Path) -> dict[str, bytes]:
    """Every report file under `folder` but timings.json (the one that varies by run)."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*")
            if path.is_file() and path.name != "timings.json"}


def test_under_xdist_each_item_has_its_verdict_without_xdist(pytester: pytest.Pytester):
    serial = pytester.runpytest(*PLUGIN, "--junitxml=serial.xml",
                                "--gdcheck-report-dir", "serial")
    serial.assert_outcomes(passed=4, failed=3)
    parallel = pytester.runpytest_subprocess(*PLUGIN, *XDIST, "--junitxml=parallel.xml",
                                             "--gdcheck-report-dir", "parallel")
    parallel.assert_outcomes(passed=4, failed=3)
    expected = outcomes(pytester.path / "serial.xml")
    assert [row[:3] for row in expected if row[2] == "failed"] == [
        ("bad.yaml", "convergence", "failed"), ("bad.yaml", "descent", "failed"),
        ("broken.yaml", "load", "failed")]
    assert outcomes(pytester.path / "parallel.xml") == expected   # messages and replays too
    # each spec verified once, by one worker, and the specs spread over both workers
    assert sorted(Counter(name for _, name in verified(pytester)).items()) == [
        ("bad", 1), ("good", 1)]
    assert {worker for worker, _ in verified(pytester)} == {"gw0", "gw1"}
    # the reports the workers wrote are those of the run without xdist, byte for byte
    written = reports(pytester.path / "parallel")
    assert sorted(written) == sorted(reports(pytester.path / "serial"))
    assert written == reports(pytester.path / "serial")
    for name in ("bad", "good"):
        assert json.loads(written[f"{name}/report.json"])["spec"] == name


def test_a_spec_verified_by_every_worker_gets_the_same_verdicts_and_whole_reports(
        pytester: pytest.Pytester):
    """`--dist each` runs every item on both workers: each verifies each spec on its own and
    both write its report into the same folder at about the same time."""
    result = pytester.runpytest_subprocess(*PLUGIN, *XDIST, "--dist", "each",
                                           "--junitxml=each.xml", "--gdcheck-report-dir", "out")
    result.assert_outcomes(passed=8, failed=6)
    assert sorted(verified(pytester)) == sorted((worker, name) for worker in ("gw0", "gw1")
                                                for name in ("bad", "good"))
    cases = Counter(outcomes(pytester.path / "each.xml"))
    assert len(cases) == 7 and set(cases.values()) == {2}   # both workers agree on each
    folder = pytester.path / "out"
    assert sorted(path.name for path in folder.iterdir()) == ["bad", "good"]
    leftovers = [path for path in folder.rglob("*") if path.name.startswith(".")]
    assert leftovers == []
    for name in ("bad", "good"):
        assert json.loads((folder / name / "report.json").read_text())["spec"] == name
        assert (folder / name / "report.md").read_text().startswith(f"# {name}: ")


@pytest.mark.parametrize("dist", ["load", "loadgroup"])
def test_the_scheduler_keeps_a_specs_items_together_and_spreads_the_rest(
        pytester: pytest.Pytester, dist: str):
    from xdist.remote import Producer

    config = pytester.parseconfig("-p", "xdist", "--tx", "2*popen", "--dist", dist)
    split = pytest_plugin.pytest_xdist_make_scheduler(config, Producer("test"))._split_scope
    assert split("specs/a.yaml::gradient") == split("specs/a.yaml::descent") == "specs/a.yaml"
    assert split("specs/b.yml::load") == "specs/b.yml"
    assert split("tests/test_a.py::test_one") == "tests/test_a.py::test_one"
    assert split("tests/test_a.py::test_two[specs/a.yaml]") == (
        "tests/test_a.py::test_two[specs/a.yaml]")
    if dist == "loadgroup":   # xdist_group marks still group their tests
        assert split("tests/test_a.py::test_three@database") == "database"


@pytest.mark.parametrize("dist", ["each", "loadscope", "loadfile", "worksteal"])
def test_a_distribution_the_user_chose_is_left_to_xdist(pytester: pytest.Pytester, dist: str):
    config = pytester.parseconfig("-p", "xdist", "--tx", "2*popen", "--dist", dist)
    assert pytest_plugin.pytest_xdist_make_scheduler(config, None) is None
