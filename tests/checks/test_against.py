"""Your gradient code against the exact one: `gdcheck.compare` and `gdcheck verify --against`.

The user module is hand-written numpy (an independent oracle of the logistic
gradient); its planted bugs are the ones people make.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gdcheck
from gdcheck.cli import main

LOGISTIC = Path(__file__).resolve().parents[2] / "specs" / "logistic.yaml"

USER_MODULE = textwrap.dedent("""
    import numpy as np

    LAM = 0.01


    def _parts(w, b, x, y):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        return p, (p - y) / len(y)


    def correct(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": x.T @ r + 2 * LAM * w, "b": r.sum()}


    def sign_flip(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": x.T @ r + 2 * LAM * w, "b": -r.sum()}


    def factor_two(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": 2 * (x.T @ r) + 2 * LAM * w, "b": r.sum()}


    def forgets_penalty(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": x.T @ r, "b": r.sum()}


    def wrong_when_negative(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": x.T @ r + 2 * LAM * np.abs(w), "b": r.sum()}


    def crashes(w, b, x, y):
        raise RuntimeError("shapes do not align")


    def wrong_shape(w, b, x, y):
        p, r = _parts(w, b, x, y)
        return {"w": np.append(x.T @ r, 0.0), "b": r.sum()}
""")


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "usermodel.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import importlib

    import usermodel
    return importlib.reload(usermodel)


def test_a_correct_gradient_passes(user_module):
    result = gdcheck.compare(LOGISTIC, user_module.correct)
    assert result.passed, result.summary
    assert result.details["max_rel_error"] < 1e-12


@pytest.mark.parametrize(("bug", "component"), [
    ("sign_flip", "b"), ("factor_two", "w["), ("forgets_penalty", "w["),
    ("wrong_when_negative", "w["),
])
def test_planted_bugs_are_found_with_the_component_and_point(user_module, bug, component):
    result = gdcheck.compare(LOGISTIC, getattr(user_module, bug))
    assert not result.passed
    assert f"gradient of {component}" in result.summary
    assert "yours" in result.summary and "exact" in result.summary
    point = result.counterexample.point
    assert set(point) == {"w", "b"}
    problem = gdcheck.compile(LOGISTIC)
    theta = problem.pack(point)
    theirs = getattr(user_module, bug)(**problem.unpack(theta), **problem.data)
    ours = user_module.correct(**problem.unpack(theta), **problem.data)
    # the shrunk point really is one where the planted bug shows
    assert not np.allclose(np.append(theirs["w"], theirs["b"]), np.append(ours["w"], ours["b"]),
                           rtol=1e-6, atol=1e-9)
    if bug == "wrong_when_negative":
        assert min(point["w"]) < 0


@pytest.mark.parametrize(("bug", "fragment"), [
    ("crashes", "raised RuntimeError: shapes do not align"),
    ("wrong_shape", "has shape [3], expected [2]"),
])
def test_a_failing_user_function_is_a_failed_check_not_a_crash(user_module, bug, fragment):
    result = gdcheck.compare(LOGISTIC, getattr(user_module, bug))
    assert not result.passed and fragment in result.summary


def test_cli_against_exit_codes_and_replay(user_module, tmp_path, capsys):
    reports = str(tmp_path / "reports")
    assert main(["verify", str(LOGISTIC), "--against", "usermodel:correct",
                 "--report-dir", reports]) == 0
    assert "PASS against" in capsys.readouterr().out
    assert main(["verify", str(LOGISTIC), "--against", "usermodel:factor_two",
                 "--report-dir", reports]) == 1
    out = capsys.readouterr().out
    assert "FAIL against" in out and "--against usermodel:factor_two" in out
    for reference in ("usermodel", "nomodule:f", "usermodel:absent"):
        assert main(["verify", str(LOGISTIC), "--against", reference]) == 2
        assert "Error: --against" in capsys.readouterr().err


def test_format_json_puts_one_document_on_stdout(user_module, tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("gdcheck: 1\nname: broken\n")
    status = main(["verify", str(LOGISTIC), str(broken), "--format", "json",
                   "--against", "usermodel:sign_flip", "--report-dir", str(tmp_path / "r")])
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert status == 2 and document["exit_status"] == 2 and not document["passed"]
    (spec,) = document["specs"]
    assert spec["spec"] == "logistic-regression" and not spec["checks"]["against"]["passed"]
    assert spec["checks"]["gradient"]["passed"]
    assert document["errors"][0]["path"].endswith("broken.yaml")
    assert "FAIL against" in captured.err  # the human lines moved to stderr


def test_summary_appends_markdown_for_a_ci_job_page(user_module, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    main(["verify", str(LOGISTIC), "--against", "usermodel:forgets_penalty",
          "--summary", str(summary), "--report-dir", str(tmp_path / "r")])
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "| logistic-regression | FAILED | against |" in text
    assert "replay: gdcheck verify" in text


def test_compare_replays_with_the_module_or_says_the_call(user_module):
    """A counterexample's replay runs the same check again: `--against module:function` for
    an importable function, the `gdcheck.compare` call itself for one that is not."""
    result = gdcheck.compare(LOGISTIC, user_module.factor_two)
    assert not result.passed
    assert result.counterexample.replay.endswith(" --against usermodel:factor_two")

    def local(**arrays):   # defined here: no module:function can import it
        return user_module.factor_two(**arrays)

    replay = gdcheck.compare(LOGISTIC, local).counterexample.replay
    assert replay.startswith("gdcheck.compare(") and "<your gradient function>" in replay
