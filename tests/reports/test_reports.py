"""report.py on hand-built Verifications: report.json, report.md, plots, index.md, JUnit."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gdcheck.reports import atomic_write, write_index, write_junit, write_report
from gdcheck.reports import files as report_files
from gdcheck.reports import plots as report_plots
from gdcheck.results import CheckResult, Counterexample, SpecFailure, Verification

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPLAY = "gdcheck verify specs/broken.yaml --seed 3"

def _spec(name: str, description: str = "") -> SimpleNamespace:
    return SimpleNamespace(name=name, path=Path(f"specs/{name}.yaml"), description=description)


def _run(loss0: float, loss1: float, **extra: Any) -> dict[str, Any]:
    return {"initial": [1.0, 2.0], "final": [0.1, 0.2], "steps": 20, "initial_loss": loss0,
            "final_loss": loss1, "grad_norm": 1e-7, "converged": True, "diverged_at": None,
            "rate": 0.5, **extra}


def _property(name: str, passed: bool = True, **details: Any) -> CheckResult:
    return CheckResult(name, passed, f"{name}: 50 examples", {"examples": 50, **details},
                       seconds=0.25)


def _verification(name: str, checks: dict[str, CheckResult], **extra: Any) -> Verification:
    return Verification(
        spec=_spec(name, extra.pop("description", "Least squares on two weights.")),
        seed=0, checks=checks, parameter_names=["w[0]", "b"],
        objective_formula="(w[0] - 1)**2 + Abs(b)",
        gradient_formulas={"w[0]": "2*w[0] - 2", "b": "sign(b)"}, nondifferentiable=["b = 0"],
        warnings=["init of b may sit on a kink"], timings={"compile": 0.5, "gradient": 0.25},
        **extra)


def passing() -> Verification:
    steps = np.arange(21.0)
    curves = {"loss": [2.0 * 0.5**steps, 3.0 * 0.6**steps],
              "grad_norm": [0.5**steps, 0.6**steps]}
    convergence = CheckResult("convergence", True, "2 of 2 runs converged",
                              {"runs": [_run(2.0, 1e-6), _run(3.0, 1e-5)]}, curves=curves)
    return _verification("quadratic", {
        "gradient": _property("gradient", max_abs_error=1e-10, max_rel_error=1e-9),
        "descent": _property("descent"), "convergence": convergence})


def failing() -> Verification:
    counterexample = Counterexample({"w[0]": 0.0, "b": [1.5, float("nan")]},
                                    "exact 0.312, finite-difference 0.287", REPLAY)
    gradient = CheckResult("gradient", False, "gradient of w[0] | wrong", {"examples": 3},
                           counterexample, warnings=["stencil near a kink"], seconds=0.1)
    return _verification("broken", {"gradient": gradient, "descent": _property("descent")},
                         description="A *bad* | gradient\n- with `ticks`")


def diverging() -> Verification:
    losses = [np.array([-1.0, -3.0, np.nan, np.nan]), np.array([1.0, 1e10, np.inf, np.nan])]
    norms = [np.array([1.0, 0.0, np.nan, np.nan]), np.array([1.0, 1e5, np.inf, np.nan])]
    runs = [_run(-1.0, -3.0), _run(1.0, float("inf"), converged=False, diverged_at=2,
                                   rate=None, grad_norm=float("nan"))]
    convergence = CheckResult("convergence", False, "1 of 2 runs diverged", {"runs": runs},
                              curves={"loss": losses, "grad_norm": norms})
    return _verification("diverging", {"gradient": _property("gradient", max_abs_error=np.nan),
                                       "convergence": convergence})


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report folders of passing(), failing() and diverging(), written once (plots are slow)."""
    root = tmp_path_factory.mktemp("reports")
    return {make.__name__: write_report(make(), root) for make in (passing, failing, diverging)}


# ----------------------------------------------------------------- report.json


def test_report_json_has_design_keys(written: dict[str, Path]) -> None:
    folder = written["passing"]
    assert folder.name == "quadratic" and sorted(p.name for p in folder.iterdir()) == [
        "grad_norm.png", "loss.png", "report.json", "report.md", "timings.json"]
    document = json.loads((folder / "report.json").read_text())
    assert {"spec", "passed", "seed", "parameters", "checks"} <= document.keys()
    assert (document["spec"], document["passed"], document["seed"]) == ("quadratic", True, 0)
    assert document["parameters"] == ["w[0]", "b"]
    checks = document["checks"]
    assert checks["gradient"]["max_abs_error"] == 1e-10
    for name in ("gradient", "descent"):
        assert checks[name]["passed"] and checks[name]["examples"] == 50
        assert checks[name]["counterexample"] is None
    run = checks["convergence"]["runs"][0]
    assert {"initial", "final", "steps", "initial_loss", "final_loss", "grad_norm",
            "converged"} <= run.keys()
    assert document["learning_rate_map"] == {"skipped": "no learning-rate map was computed"}


def test_report_json_counterexample(written: dict[str, Path]) -> None:
    document = json.loads((written["failing"] / "report.json").read_text())
    assert document["passed"] is False
    counterexample = document["checks"]["gradient"]["counterexample"]
    assert counterexample == {"point": {"w[0]": 0.0, "b": [1.5, None]},
                              "detail": "exact 0.312, finite-difference 0.287", "replay": REPLAY}


def test_report_json_replaces_nan_and_inf(written: dict[str, Path]) -> None:
    text = (written["diverging"] / "report.json").read_text()
    assert not re.search(r"\bNaN\b|Infinity", text)
    document = json.loads(text)
    assert document["checks"]["gradient"]["max_abs_error"] is None
    run = document["checks"]["convergence"]["runs"][1]
    assert (run["final_loss"], run["grad_norm"], run["rate"]) == ("inf", None, None)


# ----------------------------------------------------------------- report.md and plots


def test_markdown_passing(written: dict[str, Path]) -> None:
    markdown = (written["passing"] / "report.md").read_text()
    assert markdown.startswith("# quadratic: PASSED\n")
    assert "L = (w[0] - 1)**2 + Abs(b)" in markdown
    assert "dL/dw[0] = 2*w[0] - 2" in markdown and "dL/db = sign(b)" in markdown
    assert "![loss](loss.png)" in markdown and "![grad_norm](grad_norm.png)" in markdown
    assert "learning_rate.png" not in markdown and "## Learning rate" not in markdown
    assert "| run | initial | final | steps |" in markdown
    assert "| 1 | [1, 2] | [0.1, 0.2] | 20 | 2 | 1e-06 | 1e-07 | yes | — | 0.5 | — |" in markdown
    assert "- init of b may sit on a kink" in markdown
    assert "- `b = 0`" in markdown
    assert "Timings" not in markdown   # they vary run to run: timings.json has them


def test_markdown_failing_shows_counterexample(written: dict[str, Path]) -> None:
    folder = written["failing"]
    markdown = (folder / "report.md").read_text()
    assert markdown.startswith("# broken: FAILED\n")
    assert f"```sh\n{REPLAY}\n```" in markdown
    assert "exact 0.312, finite-difference 0.287" in markdown
    assert "`w[0]=0, b=[1.5, nan]`" in markdown
    assert "gradient: stencil near a kink" in markdown
    assert "no plots" in markdown
    assert not (folder / "loss.png").exists() and not (folder / "grad_norm.png").exists()


def test_markdown_escapes_spec_text(written: dict[str, Path]) -> None:
    markdown = (written["failing"] / "report.md").read_text()
    assert "A \\*bad\\* \\| gradient" in markdown and "\\- with \\`ticks\\`" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| gradient |"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 4    # three cells, the summary's | escaped


@pytest.mark.parametrize("which", ["passing", "diverging"])
def test_plots_are_png(written: dict[str, Path], which: str) -> None:
    folder = written[which]
    for name in ("loss.png", "grad_norm.png"):
        assert (folder / name).read_bytes().startswith(PNG_SIGNATURE)


def test_stale_plots_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "loss.png").write_bytes(PNG_SIGNATURE)
    write_report(failing(), tmp_path)
    assert not (folder / "loss.png").exists()


def test_losses_are_drawn_as_suboptimality_for_the_log_axis() -> None:
    series = [np.array([-1.0, -3.0, np.nan]), np.array([2.0, np.inf])]
    gaps = report_plots.suboptimality(series, report_plots.best_loss(series))
    assert gaps[0][0] == pytest.approx(2.0) and 0 < gaps[0][1] < 1e-12   # the best: the floor
    assert np.isnan(gaps[0][2]) and gaps[1][1] == np.inf
    assert gaps[1][0] == pytest.approx(5.0)


def test_name_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    verification = passing()
    verification.spec.name = "../outside"
    with pytest.raises(ValueError, match="report folder"):
        write_report(verification, tmp_path)


# ----------------------------------------------------------------- index.md and JUnit


def _entries(tmp_path: Path) -> list[Any]:
    verified = [passing(), failing()]
    return [*(replace(entry, report_dir=tmp_path / entry.spec.name)  # as verify() sets it
              for entry in verified), SpecFailure("specs/bad|name.yaml", "line 3: oops")]


def test_index_lists_every_spec(tmp_path: Path) -> None:
    index = write_index(_entries(tmp_path), tmp_path)
    assert index == tmp_path / "index.md"
    text = index.read_text()
    assert "3 specs: 1 passed, 1 failed, 1 error\n" in text   # one wording, as the CLI says it
    assert "| [quadratic](quadratic/report.md) | PASSED | — | 0.75 s |" in text
    assert "| [broken](broken/report.md) | FAILED | gradient | 0.75 s |" in text
    assert "| `specs/bad\\|name.yaml` | ERROR | line 3: oops | — |" in text


def test_junit_has_one_testcase_per_check(tmp_path: Path) -> None:
    path = write_junit(_entries(tmp_path), tmp_path / "ci" / "junit.xml")
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("name") == "gdcheck"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "1", "1")
    assert float(suite.get("time")) == pytest.approx(0.85, abs=1e-3)
    names = [(case.get("classname"), case.get("name")) for case in suite.iter("testcase")]
    assert names == [("gdcheck.quadratic", "gradient"), ("gdcheck.quadratic", "descent"),
                     ("gdcheck.quadratic", "convergence"), ("gdcheck.broken", "gradient"),
                     ("gdcheck.broken", "descent"), ("gdcheck.bad|name", "load")]
    failure = suite.find("testcase[@classname='gdcheck.broken'][@name='gradient']/failure")
    assert failure.get("message") == "gradient of w[0] | wrong"
    assert REPLAY in failure.text and "w[0]=0, b=[1.5, nan]" in failure.text
    assert suite.find("testcase[@name='load']/error").get("message") == "line 3: oops"


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    path = write_junit([SpecFailure("x.yaml", "bad \x1b[31mcolour\x00 <&>")], tmp_path / "j.xml")
    error = ET.parse(path).getroot().find("testcase/error")
    assert error.get("message") == "bad [31mcolour <&>"


# ----------------------------------------------------------------- atomic_write


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["report.md"]


def test_interrupted_atomic_write_keeps_previous_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    atomic_write(target, "previous")

    def interrupted(source: str, destination: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "half")
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["report.json"]
