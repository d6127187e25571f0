"""The command line, in-process: derive output and limits, and the bundled specs'
verification."""

from __future__ import annotations

import re
import time
from pathlib import Path

from test_runner import slow_to_parse

from gdcheck.cli import main

SPECS = Path(__file__).resolve().parents[2] / "specs"


def test_derive_prints_the_logistic_gradient_readably(capsys):
    assert main(["derive", str(SPECS / "logistic.yaml"), "--scalar"]) == 0
    out = capsys.readouterr().out
    assert "u0 = b + w[0]*x[0] + w[1]*x[1]" in out and "u1 = sigmoid(u0)" in out
    # dL/db of the mean cross-entropy is mean(p - y), here (1 - y)p - y(1 - p) with
    # 1 - p = sigmoid(-u0) kept exact: no 1/p left
    assert "u2 = -u1*(-1 + y) - y*sigmoid(-u0)" in out
    assert "dL/db = mean_i(u2)" in out
    assert "dL/dw[0] = 2*lam*w[0] + mean_i(u2*x[0])" in out
    gradient = out[out.index("gradient:"):]
    assert "/u" not in gradient and "1/" not in gradient


def test_derive_prints_matrix_formulas_a_person_can_check(capsys):
    """The tanh network's gradient in matrix notation, checked by hand: with
    t1 = tanh(x W1ᵀ + b1) (one row per sample) and t2 = t1 w2 + b2 − y the residual,
    dL/dw2 = (2/n) t2ᵀ t1 + 2 lam w2 and dL/dW1 = ((2/n) t2 w2ᵀ ⊙ (1 − t1²))ᵀ x + 2 lam W1."""
    assert main(["derive", str(SPECS / "tanh_network.yaml")]) == 0
    out = capsys.readouterr().out
    assert "parameters: W1 [4, 2], b1 [4], w2 [4], b2 []" in out
    assert "t1 = tanh((x @ W1.T) + b1)" in out
    assert "t2 = ((t1 @ w2) + b2) - y" in out
    assert "t3 = 2*(1/n)*t2" in out
    assert "t4 = (w2*t3)*(1 - t1**2)" in out
    assert "dL/dW1 = (2*lam*W1) + (t4.T @ x)" in out
    assert "dL/dw2 = (2*lam*w2) + (t3 @ t1)" in out
    assert "dL/db2 = sum_i(t3)" in out
    assert "w2[0]" not in out   # nothing entry by entry


def test_derive_inline_hessian_and_latex(capsys):
    assert main(["derive", str(SPECS / "rosenbrock.yaml"), "--hessian", "--scalar"]) == 0
    out = capsys.readouterr().out
    # hand-derived: d2/da2 (1-a)^2 + 100(b-a^2)^2 = 2 - 400b + 1200a^2
    assert "d2L/dada = 2 - 400*b + 1200*a**2" in out
    assert "d2L/dbdb = 200" in out
    assert main(["derive", str(SPECS / "logistic.yaml"), "--inline", "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\sigma\left(" in out and "where:" not in out


def test_every_bundled_spec_verifies(tmp_path, capsys):
    status = main(["verify", str(SPECS), "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    specs = sorted(SPECS.glob("*.yaml"))
    assert len(specs) >= 8
    assert f"{len(specs)} specs: {len(specs)} passed, 0 failed, 0 errors" in out
    assert (tmp_path / "index.md").exists()


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["verify"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["verify", "--help"]) == 0
    assert "Error: " in capsys.readouterr().err


def test_failing_examples_fail_on_the_check_they_plant(tmp_path, capsys):
    examples = SPECS.parent / "examples" / "failing"
    status = main(["verify", str(examples), "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1
    expected = {"learning_rate_too_large": ["FAIL descent", "FAIL convergence"],
                "not_convex": ["FAIL convex"], "wrong_minimum": ["FAIL convergence"]}
    # each spec's block starts with its path on a line of its own
    sections = re.split(r"^\S*examples/failing/", out, flags=re.M)[1:]
    assert len(sections) == len(expected)
    for section in sections:
        name = section.split(".yaml")[0]
        for line in expected[name]:
            assert line in section, section
        assert "PASS gradient" in section


def test_derive_scalar_refuses_a_large_model_and_says_what_to_use(tmp_path, capsys):
    spec = tmp_path / "wide.yaml"
    spec.write_text("gdcheck: 1\nname: wide\nparameters: {w: {shape: [40, 30]}}\n"
                    "objective: sum(w**2)\noptimizer: {method: gd, learning_rate: 0.1, "
                    "steps: 10}\n")
    assert main(["derive", str(spec), "--scalar"]) == 2
    assert "1,200 parameters (at most 1,000)" in capsys.readouterr().err
    assert main(["derive", str(spec)]) == 0
    assert "dL/dw = 2*w" in capsys.readouterr().out


def test_derive_stops_at_its_time_limit(tmp_path, capsys):
    spec = tmp_path / "slow.yaml"
    spec.write_text(slow_to_parse("slow"), encoding="utf-8")
    start = time.perf_counter()
    assert main(["derive", str(spec), "--timeout", "2"]) == 2
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert err == f"Error: {spec}: spec: exceeded the time limit of 2 s (--timeout)\n"
    assert 2.0 <= elapsed < 10.0   # the parse alone takes several times as long


def test_derive_runs_under_the_memory_limit(capsys):
    # 64 MiB is less than this process (numpy, SymPy, pytest) already maps: the child the
    # derivation runs in fails at its first new allocation, and says why
    spec = SPECS / "logistic.yaml"
    assert main(["derive", str(spec), "--memory", "64M"]) == 2
    assert capsys.readouterr().err == (f"Error: {spec}: spec: exceeded the memory limit of "
                                       "64 MiB (--memory)\n")
