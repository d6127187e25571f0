"""The pytest plugin: spec files as collectors, one item per check, failures as the CLI says them.

Each test runs pytest in-process on specs written to a temporary folder. Plugin
autoloading is off there, so the plugin is loaded with `-p gdcheck.pytest_plugin`
whether or not its entry point is installed (loading it both ways would register
the module twice). What the plugin imports only when a spec runs (`gdcheck.verify`,
and with it NumPy) is imported here first: pytester forgets the modules an in-process
run imported, and NumPy cannot be imported a second time in one process.
"""

import importlib.metadata
import xml.etree.ElementTree as ElementTree

import pytest

import gdcheck.verify  # noqa: F401  (see below)
from gdcheck import pytest_plugin

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "gdcheck.pytest_plugin", "-p", "no:cacheprovider")

BOWL = """\
gdcheck: 1
name: {name}
parameters:
  a: {{init: uniform(-1, 1)}}
  b: {{init: uniform(-1, 1)}}
objective: (a - 1)**2 + 5*(b + 2)**2
optimizer: {{method: gd, learning_rate: {rate}, steps: 200, tolerance: 1.0e-8}}
checks:
  gradient: {{examples: 5}}
  descent: {{examples: 5}}
  convergence: {{runs: 2}}
"""
PASSING = BOWL.format(name="good", rate=0.05)
FAILING = BOWL.format(name="bad", rate=0.25)   # past 2/L = 2/10: steps overshoot
WITH_HESSIAN = PASSING.replace("name: good", "name: curved") + "  hessian: {examples: 5}\n"
BROKEN = PASSING.replace("learning_rate: 0.05", "learning_rate: fast")
CI_CONFIG = "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def test_a_passing_spec_gives_one_passed_item_per_enabled_check(pytester):
    pytester.makefile(".yaml", good=PASSING, curved=WITH_HESSIAN)
    result = pytester.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["good.yaml::gradient PASSED*", "good.yaml::descent PASSED*",
                                 "good.yaml::convergence PASSED*"])
    # the order `gdcheck verify` runs them in: the Hessian check comes before descent
    result.stdout.fnmatch_lines(["curved.yaml::gradient PASSED*", "curved.yaml::hessian PASSED*",
                                 "curved.yaml::descent PASSED*", "curved.yaml::convergence*"])


def test_a_failing_check_reads_like_the_cli_with_a_replay_and_no_traceback(pytester):
    pytester.makefile(".yaml", bad=FAILING)
    result = pytester.runpytest(*PLUGIN, "--gdcheck-seed", "3")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*FAIL descent one gd step (learning_rate 0.25)*raised*",
                                 "replay: gdcheck verify bad.yaml --seed 3",
                                 "*FAIL convergence run 1 of 2*"])
    assert "Traceback" not in result.stdout.str()
    assert "runtest" not in result.stdout.str()


def test_a_bad_spec_is_one_failed_load_item_naming_the_file_line_and_field(pytester):
    pytester.makefile(".yaml", broken=BROKEN)
    result = pytester.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["broken.yaml::load FAILED*",
                                 "Error: broken.yaml:7: optimizer.learning_rate: got 'fast'*"])
    assert "Traceback" not in result.stdout.str()


def test_other_yaml_files_are_not_collected(pytester):
    pytester.makefile(".yml", ci=CI_CONFIG)
    pytester.makefile(".yaml", good=PASSING, **{"mkdocs": "site_name: x\nnav: []\n"})
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["good.yaml::gradient", "good.yaml::descent",
                                 "good.yaml::convergence", "3 tests collected*"])
    assert "ci.yml" not in result.stdout.str()


def test_keyword_selects_checks_by_name(pytester):
    pytester.makefile(".yaml", good=PASSING, bad=FAILING)
    result = pytester.runpytest(*PLUGIN, "-v", "-k", "gradient")
    result.assert_outcomes(passed=2, deselected=4)
    result.stdout.fnmatch_lines(["bad.yaml::gradient PASSED*", "good.yaml::gradient PASSED*"])


def test_exitfirst_stops_after_the_first_failed_check(pytester):
    pytester.makefile(".yaml", bad=FAILING, good=PASSING)
    result = pytester.runpytest(*PLUGIN, "-x")
    result.assert_outcomes(passed=1, failed=1)     # bad::gradient, bad::descent, then stop
    assert "FAIL convergence" not in result.stdout.str()


def test_junitxml_has_one_testcase_per_check_with_its_numbers(pytester):
    pytester.makefile(".yaml", bad=FAILING)
    result = pytester.runpytest(*PLUGIN, "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    cases = ElementTree.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    by_name = {case.get("name"): case for case in cases}
    assert list(by_name) == ["gradient", "descent", "convergence"]
    assert by_name["gradient"].find("failure") is None
    assert "FAIL descent" in by_name["descent"].find("failure").get("message")
    properties = {p.get("name"): p.get("value") for p in by_name["gradient"].iter("property")}
    assert properties["examples"] == "5"
    assert float(properties["max_rel_error"]) < 1e-6


def test_each_spec_is_verified_once_for_all_its_items(pytester, monkeypatch):
    calls = []

    def counting_verify(spec, *args, **kwargs):
        calls.append(spec.name)
        return verify(spec, *args, **kwargs)

    verify = pytest_plugin.verify
    monkeypatch.setattr(pytest_plugin, "verify", counting_verify)
    pytester.makefile(".yaml", good=PASSING, bad=FAILING)
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=4, failed=2)
    assert sorted(calls) == ["bad", "good"]


def test_options_reach_verify_and_reports_are_written_only_when_asked(pytester):
    pytester.makefile(".yaml", good=PASSING)
    pytester.runpytest(*PLUGIN, "--gdcheck-examples", "3").assert_outcomes(passed=3)
    assert not (pytester.path / "reports").exists()
    result = pytester.runpytest(*PLUGIN, "--gdcheck-report-dir", "out", "--gdcheck-seed", "2")
    result.assert_outcomes(passed=3)
    assert '"seed": 2' in (pytester.path / "out" / "good" / "report.json").read_text()


def test_without_the_plugin_specs_are_not_collected(pytester):
    pytester.makefile(".yaml", good=PASSING)
    assert pytester.runpytest("--collect-only", "-q").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    blocked = pytester.runpytest(*PLUGIN, "-p", "no:gdcheck.pytest_plugin", "--collect-only")
    assert blocked.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_no_gdcheck_turns_off_the_installed_plugin(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    pytester.makefile(".yaml", good=PASSING)
    blocked = pytester.runpytest("-p", "no:gdcheck", "--collect-only", "-q")
    assert blocked.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    if "gdcheck" in {entry.name for entry in importlib.metadata.entry_points(group="pytest11")}:
        pytester.runpytest("--collect-only", "-q").stdout.fnmatch_lines(["3 tests collected*"])
