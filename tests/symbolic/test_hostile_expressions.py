"""Hostile expressions: each is a clear located error or a well-defined result, never a
traceback, and none builds something of a large parameter's size entry by entry.

Tests for gdcheck/symbolic: powers whose base is not positive (0**w), erf without scipy,
the entry-by-entry limits (constants, `derive --scalar`, its Hessian), large parameters on
the tensor path, and the names `gdcheck derive` gives intermediates, which never take a
spec's. Specs are written to tmp_path and run through `gdcheck derive` in-process.
"""

from __future__ import annotations

import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp
import yaml

import gdcheck
from gdcheck.cli import main
from gdcheck.errors import EXCERPT, ExpressionError, LimitError, Location
from gdcheck.spec import Text, load
from gdcheck.symbolic.build import _check_finite
from gdcheck.symbolic.elementwise import _erf
from gdcheck.symbolic.expand import TooLarge, expand
from gdcheck.symbolic.expressions import MAX_ENTRIES
from gdcheck.symbolic.functions import NUMPY_NAMESPACE
from gdcheck.symbolic.objective import derive
from gdcheck.symbolic.tensor import Graph, symbols

QUICK = 5.0   # seconds: a guard against per-entry work of a parameter's size, not a benchmark
LONG_DIGITS = re.compile(rf"\d{{{EXCERPT + 2},}}")

OBJECTIVE: dict[str, Any] = {
    "gdcheck": 1,
    "name": "hostile-expressions",
    "constants": {"zero": 0.0, "half": 0.5, "minus": -2.0},
    "parameters": {"a": {"init": "uniform(-1, 1)"}, "v": {"shape": [2]}},
    "objective": "a**2 + sum(v**2)",
    "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10},
}


def objective(text: str, **changes: Any) -> str:
    return yaml.safe_dump({**OBJECTIVE, "objective": text, **changes}, sort_keys=False,
                          width=float("inf"))


def supervised(model: str, loss: str, **changes: Any) -> str:
    document = {
        "gdcheck": 1, "name": "hostile-expressions",
        "parameters": {"w": {"shape": [2]}, "b": {}},
        "inputs": {"x": {"shape": [2]}}, "target": {"y": {}},
        "model": model, "loss": loss,
        "data": {"inline": {"x": [[0.5, 1.0], [1.0, -1.0], [0.0, 2.0]], "y": [1, 0, 1]}},
        "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10},
    }
    return yaml.safe_dump({**document, **changes}, sort_keys=False, width=float("inf"))


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str],
        *flags: str) -> tuple[int, str, float]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    status = main(["derive", *flags, str(path)])
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    return status, captured.out + captured.err, elapsed


def refused(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], field: str,
            *fragments: str, flags: tuple[str, ...] = ()) -> str:
    status, output, elapsed = run(tmp_path, text, capsys, *flags)
    assert status == 2, output
    assert "Traceback" not in output, output
    assert re.match(rf"Error: \S*spec\.yaml:\d+: {re.escape(field)}: ", output), output
    # the snippet of the text (" in '...' (column 5)") is cut at 60 characters of its own
    assert not LONG_DIGITS.search(re.sub(r" in '.*' \(column \d+\)", "", output)), output[:300]
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in {output}"
    assert elapsed < QUICK, f"took {elapsed:.1f} s"
    return output


def works(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    status, output, elapsed = run(tmp_path, text, capsys, *flags)
    assert status == 0, output
    assert elapsed < QUICK, f"took {elapsed:.1f} s"
    return output


# ----------------------------------------------------------------- c**w needs c > 0

BASE = "a power whose exponent varies needs a base > 0"


@pytest.mark.parametrize(("text", "got"), [
    ("0**a", "got 0"),
    ("0.0**a + sum(v**2)", "got 0"),
    ("(1 - 1)**a", "got 0"),
    ("exp(-1000)**a", "got 0"),          # underflows to 0
    ("(-2)**a", "got -2"),
    ("sum(0**v)", "got 0"),
    ("sum([1, 0]**v)", "got 0"),
    ("zero**a", "got 0"),                # a named constant, kept by name
    ("minus**(a*v[0])", "got -2"),
    ("0**(a**2 + 1)", "got 0"),          # 0 everywhere, yet 0·log 0 has no value
])
def test_a_power_whose_base_is_not_positive_is_refused(text, got, tmp_path, capsys):
    for flags in ((), ("--scalar",), ("--hessian",)):
        refused(tmp_path, objective(text), capsys, "objective", BASE, got, "log(c)",
                flags=flags)


def test_a_power_of_a_non_positive_base_in_a_model_or_penalty_is_refused(tmp_path, capsys):
    refused(tmp_path, supervised("0**dot(w, x) + b", "(y_pred - y)**2"), capsys, "model", BASE)
    refused(tmp_path, supervised("dot(w, x) + b", "(y_pred - y)**2", penalty="sum(0**w)"),
            capsys, "penalty", BASE)
    refused(tmp_path, supervised("dot(w, x) + b", "(0**y_pred - y)**2"), capsys, "loss", BASE)


@pytest.mark.parametrize(("text", "value"), [
    ("2**a", lambda a: 2**a),
    ("half**a", lambda a: 0.5**a),
    ("e**a", lambda a: math.e**a),
    ("0**2 + a", lambda a: a),           # a constant power: nothing varies
    ("(-2)**2 * a", lambda a: 4 * a),
    ("a**0", lambda a: 1.0),
    ("1**a", lambda a: 1.0),
])
def test_powers_just_inside_are_well_defined(text, value, tmp_path, capsys):
    works(tmp_path, objective(text), capsys)
    problem = gdcheck.compile(tmp_path / "spec.yaml")
    theta = np.array([0.7, 0.0, 0.0])
    assert problem.loss(theta) == pytest.approx(value(0.7))
    assert np.all(np.isfinite(problem.gradient(theta)))


def test_a_non_positive_base_with_a_data_exponent_is_allowed(tmp_path, capsys):
    """(-1)**y flips a sign by the label: no derivative is taken in y, so it is well defined."""
    text = supervised("dot(w, x) + b", "softplus((-1)**y * y_pred)")
    works(tmp_path, text, capsys)
    problem = gdcheck.compile(tmp_path / "spec.yaml")
    theta = np.array([0.3, -0.2, 0.1])
    x = np.array([[0.5, 1.0], [1.0, -1.0], [0.0, 2.0]])
    y = np.array([1, 0, 1])
    scores = np.where(y == 1, -1.0, 1.0) * (x @ theta[:2] + theta[2])
    assert problem.loss(theta) == pytest.approx(np.mean(np.log1p(np.exp(scores))))


def test_a_map_whose_derivative_is_undefined_is_refused_by_the_last_check():
    """Whatever reaches the graph with an undefined partial (0**w built directly) is refused
    before any gradient is built from it."""
    graph = Graph()
    w = graph.parameter("w", ())
    (x0,) = symbols(1)
    node = graph.raw_map(sp.Integer(0) ** x0, (w,))
    source = Text("0**w", Location("s.yaml", 4, "objective"))
    with pytest.raises(ExpressionError, match=r"not differentiable: the derivative of 0\*\*w is"):
        _check_finite(source, node)
    data = graph.data("y", ())
    _check_finite(source, graph.raw_map(sp.Integer(0) ** x0, (data,)))   # no derivative taken


# ----------------------------------------------------------------- erf without scipy

ERF_SPEC = supervised("erf(dot(w, x) + b)", "(y_pred - y)**2 + erf(b)")


def erf_oracle(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and its gradient by hand: d erf(u)/du = 2/√π · e^(−u²)."""
    x = np.array([[0.5, 1.0], [1.0, -1.0], [0.0, 2.0]])
    y = np.array([1.0, 0.0, 1.0])
    u = x @ theta[:2] + theta[2]
    p = np.array([math.erf(value) for value in u])
    slope = 2 / math.sqrt(math.pi) * np.exp(-u**2)
    residual = 2 * (p - y) * slope / len(y)
    gradient = np.concatenate([residual @ x, [residual.sum()
                                             + 2 / math.sqrt(math.pi) * math.exp(-theta[2]**2)]])
    return float(np.mean((p - y)**2) + math.erf(theta[2])), gradient


@pytest.mark.parametrize("scipy", ["installed", "missing"])
def test_erf_of_a_parameter_works_with_and_without_scipy(scipy, tmp_path, capsys, monkeypatch):
    if scipy == "missing":
        monkeypatch.setitem(sys.modules, "scipy.special", None)   # `import` raises ImportError
    works(tmp_path, ERF_SPEC, capsys)
    problem = gdcheck.compile(tmp_path / "spec.yaml")
    thetas = np.array([[0.3, -0.2, 0.1], [1.5, 0.5, -0.7], [0.0, 0.0, 0.0]])
    for theta in thetas:
        loss, gradient = erf_oracle(theta)
        assert problem.loss(theta) == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(problem.gradient(theta), gradient, rtol=1e-12, atol=1e-15)
    batched = problem.gradient(thetas)   # K points at once
    np.testing.assert_allclose(batched, [erf_oracle(t)[1] for t in thetas], rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("scipy", ["installed", "missing"])
def test_the_erf_helper_takes_out_scalars_and_any_shape(scipy, monkeypatch):
    if scipy == "missing":
        monkeypatch.setitem(sys.modules, "scipy.special", None)
    assert NUMPY_NAMESPACE["erf"] is _erf and _erf.accepts_out   # type: ignore[attr-defined]
    values = np.array([[-3.0, -0.5, 0.0], [0.25, 1.0, 6.0]])
    expected = np.vectorize(math.erf)(values)
    np.testing.assert_allclose(_erf(values), expected, rtol=1e-15)
    out = np.empty_like(values)
    assert _erf(values, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    assert float(_erf(0.5)) == pytest.approx(math.erf(0.5), rel=1e-15)
    assert np.ndim(_erf(np.float64(0.5))) == 0
    assert _erf(np.zeros((0, 3))).shape == (0, 3)


# ----------------------------------------------------------------- large parameters

LARGE = 20_000


def large(text: str, shape: list[int] | None = None) -> str:
    return objective(text, parameters={"w": {"shape": shape or [LARGE]}})


def test_a_large_parameter_derives_quickly_on_the_tensor_path(tmp_path, capsys):
    output = works(tmp_path, large("sum(w**2)"), capsys)
    assert "dL/dw = 2*w" in output
    output = works(tmp_path, large("sum(w**2) + norm(w)"), capsys, "--hessian")
    assert "(H v)_w" in output and len(output) < 2000   # the size of the graph, not of w


def test_verify_of_a_large_parameter_is_quick(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(objective("sum(w**2)", parameters={"w": {"shape": [LARGE]}},
                              checks={"gradient": {"examples": 3}, "descent": {"examples": 3},
                                      "convergence": {"runs": 1}}))
    start = time.perf_counter()
    verification = gdcheck.verify(path, report_dir=tmp_path / "reports")
    assert time.perf_counter() - start < 4 * QUICK
    assert verification.checks["gradient"].passed
    assert verification.gradient_formulas == {"w": "2*w"}


def test_the_entry_by_entry_view_refuses_a_large_parameter_at_once(tmp_path, capsys):
    status, output, _ = run(tmp_path, large("sum(w**2)"), capsys, "--scalar")
    assert status == 2 and "at most 1,000" in output, output   # the command line's own bound
    spec = load(tmp_path / "spec.yaml")
    start = time.perf_counter()
    with pytest.raises(LimitError, match="parameters.w: .* 20,000; at most 10,000"):
        derive(spec)
    with pytest.raises(LimitError):
        gdcheck.compile(spec).gradient_expressions   # noqa: B018
    assert time.perf_counter() - start < QUICK


def test_the_entry_by_entry_view_just_inside_its_bound_works(tmp_path):
    (tmp_path / "spec.yaml").write_text(large("sum(w**2)", [MAX_ENTRIES]))
    symbolic = derive(load(tmp_path / "spec.yaml"))
    assert len(symbolic.parameter_symbols) == MAX_ENTRIES


def test_a_large_constant_is_refused_not_built_entry_by_entry(tmp_path, capsys):
    ones = ", ".join(["1"] * 1500)
    text = objective(f"a + sum(transpose([[{ones}]]) * [{ones}])")   # 2,250,000 entries
    refused(tmp_path, text, capsys, "objective", "2,250,000 terms", "at most 10,000")
    text = objective(f"a + sum(transpose([[{ones}]]) @ [[{ones}]])")
    refused(tmp_path, text, capsys, "objective", "2,250,000 terms")


def test_a_constant_just_inside_the_entry_bound_works(tmp_path, capsys):
    ones = ", ".join(["1"] * 100)
    output = works(tmp_path, objective(f"a + sum(transpose([[{ones}]]) * [{ones}])"), capsys)
    assert "10000" in output


def test_the_scalar_hessian_is_bounded_by_its_entries(tmp_path, capsys):
    # 1,000 parameters (the most --scalar writes out): 500,500 Hessian entries are refused
    text = large("sum(w)**2", [1000])
    refused(tmp_path, text, capsys, "objective", "500,500 entries", "at most 10,000",
            flags=("--scalar", "--hessian"))
    inside = large("sum(w**2)", [140])   # 9,870 entries
    output = works(tmp_path, inside, capsys, "--scalar", "--hessian")
    assert "d2L/dw[0]dw[0] = 2" in output and "d2L/dw[0]dw[139] = 0" in output


def test_expanding_a_node_too_large_to_write_out_raises_before_building_it():
    graph = Graph()
    u = graph.parameter("u", (200, 1))
    v = graph.parameter("v", (1, 200))
    x0, x1 = symbols(2)
    outer = graph.map(x0 * x1, (u, v))   # 200 × 200 entries
    leaves = {id(u): np.array([[sp.Symbol(f"u{i}")] for i in range(200)], dtype=object),
              id(v): np.array([[sp.Symbol(f"v{i}") for i in range(200)]], dtype=object)}
    start = time.perf_counter()
    with pytest.raises(TooLarge, match="40,000 terms"):
        expand([graph.sum(outer)], leaves)
    assert time.perf_counter() - start < 1.0
    small = graph.map(x0 * x1, (u, graph.parameter("s", ())))
    (value,) = expand([small], {**leaves, id(small.args[1]): np.array(sp.Symbol("s"))})
    assert value.shape == (200, 1)


# ----------------------------------------------------------------- numbers in messages

def test_a_huge_index_is_quoted_as_an_excerpt(tmp_path, capsys):
    refused(tmp_path, objective("a + v[" + "1" * 300 + "]"), capsys, "objective",
            "is out of range")
    refused(tmp_path, objective("a + " + "q" * 3000), capsys, "objective", "unknown name")


# ----------------------------------------------------------------- intermediate names

def intermediates(output: str) -> list[str]:
    return re.findall(r"^  (\w+) = ", output.split("where:\n", 1)[1], re.M) \
        if "where:" in output else []


def test_intermediate_names_never_take_a_declared_name(tmp_path, capsys):
    text = yaml.safe_dump({
        "gdcheck": 1, "name": "names",
        "constants": {"t3": 2.0},
        "parameters": {"t1": {"shape": [2]}, "t_2": {}},
        "inputs": {"t4": {"shape": [2]}}, "target": {"n": {}},
        "model": "tanh(dot(t1, t4) + t_2) * t3", "loss": "(y_pred - n)**2 + tanh(y_pred)",
        "data": {"inline": {"t4": [[0.5, 1.0], [1.0, -1.0]], "n": [1, 0]}},
        "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10}}, sort_keys=False)
    output = works(tmp_path, text, capsys)
    names = intermediates(output)
    assert names and not {"t1", "t2", "t3", "t4", "n"} & set(names), output
    assert names == sorted(names, key=lambda name: int(name[1:]))   # numbered in order
    assert "mean_i" in output and "(1/N)" in output and "(1/n)" not in output, output
    assert "data: t4 [N × 2], n [N]" in output


def test_scalar_view_names_never_take_a_declared_name(tmp_path, capsys):
    text = yaml.safe_dump({
        "gdcheck": 1, "name": "names",
        "parameters": {"u0": {}, "u_1": {}, "w": {"shape": [2]}},
        "objective": "tanh(u0 + u_1 + sum(w))**2 + tanh(u0 + u_1 + sum(w))",
        "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10}}, sort_keys=False)
    output = works(tmp_path, text, capsys, "--scalar")
    names = intermediates(output)
    assert names and not {"u0", "u1", "u_1"} & set(names), output
    latex = works(tmp_path, text, capsys, "--scalar", "--latex")
    assert latex.count("u_{0} =") == 0 and latex.count("u_{1} =") == 0, latex


def test_a_name_like_a_placeholder_is_written_as_itself(tmp_path, capsys):
    text = objective("tanh(zqaqz + zqbqz) * zqaqz",
                     parameters={"zqaqz": {}, "zqbqz": {}})
    output = works(tmp_path, text, capsys)
    assert "tanh(zqaqz + zqbqz)" in output, output
