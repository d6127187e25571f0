"""Hostile values in a spec's fields: each is refused where it is read, with a located message
that states the allowed range and quotes at most an excerpt; never a traceback downstream.

Tests for gdcheck/spec/fields.py, reader.py and distributions.py. Each hostile spec is
written to tmp_path and run through `gdcheck derive` in-process (as tests/test_hostile.py
does); every bound has a case just inside it that still works. Names are here too: lone
surrogates in keys and text, and Python's soft keywords, which are names like any other.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from gdcheck import defaults
from gdcheck.cli import main
from gdcheck.errors import EXCERPT, Location, SpecError
from gdcheck.spec import parse
from gdcheck.spec.distributions import parse_distribution
from gdcheck.spec.fields import FLOAT_MAX, INTEGER_MAX, number

BIG = int("9" * 400)              # a 400-digit integer, as YAML reads it
HUGE_TEXT = "9" * 5000            # more digits than Python converts: YAML leaves it text
LONG_DIGITS = re.compile(rf"\d{{{EXCERPT + 2},}}")   # a quote longer than an excerpt

SUPERVISED: dict[str, Any] = {
    "gdcheck": 1,
    "name": "values",
    "constants": {"lam": 0.01},
    "parameters": {"w": {"shape": [2], "init": "normal(0, 0.5)"},
                   "b": {"init": "uniform(-1, 1)"}},
    "inputs": {"x": {"shape": [2]}},
    "target": {"y": {}},
    "model": "sigmoid(dot(w, x) + b)",
    "loss": "-(y*log(y_pred) + (1 - y)*log(1 - y_pred))",
    "penalty": "lam * sum(w**2)",
    "data": {"generate": {"n": 20, "seed": 7, "inputs": {"x": "normal(0, 1)"},
                          "truth": {"w": [1.5, -2.0], "b": 0.5}, "labels": "bernoulli"}},
    "optimizer": {"method": "momentum", "learning_rate": 0.5, "steps": 100},
    "checks": {"gradient": {"examples": 5}, "convergence": {"runs": 2}},
    "expect": {"minimum": {"w": [1, 1], "b": 0}, "value": 0},
}


def spec(**changes: Any) -> str:
    """The base spec as YAML with `a__b` (for `a.b`) set to each value."""
    document = copy.deepcopy(SUPERVISED)
    for key, value in changes.items():
        *path, last = key.split("__")
        parent = document
        for part in path:
            parent = parent[part]
        parent[last] = value
    return yaml.safe_dump(document, sort_keys=False, width=float("inf"))


def derive(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    status = main(["derive", str(path)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def refused(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], field: str,
            *fragments: str) -> str:
    """derive exits 2 with `Error: spec.yaml:<line>: <field>: ...`, no traceback, no long quote."""
    status, output = derive(tmp_path, text, capsys)
    assert status == 2, output
    assert "Traceback" not in output, output
    assert re.match(rf"Error: \S*spec\.yaml:\d+: {re.escape(field)}: ", output), output
    assert not LONG_DIGITS.search(output), f"quotes more than an excerpt: {output[:300]}"
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in {output}"
    output.encode("utf-8")   # nothing a terminal cannot print (a lone surrogate)
    return output


def works(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    status, output = derive(tmp_path, text, capsys)
    assert status == 0, output
    return output


# ----------------------------------------------------------------- numbers bounded when read

INTEGER_RANGE = "an integer >= {low} and <= {high}"

HUGE_NUMBERS = [
    ("optimizer__steps", "optimizer.steps", INTEGER_RANGE.format(low=1, high="100,000,000")),
    ("checks__gradient__examples", "checks.gradient.examples",
     INTEGER_RANGE.format(low=1, high="100,000")),
    ("checks__convergence__runs", "checks.convergence.runs",
     INTEGER_RANGE.format(low=1, high="10,000")),
    ("data__generate__n", "data.generate.n", INTEGER_RANGE.format(low=1, high="10,000,000")),
    ("data__generate__seed", "data.generate.seed",
     INTEGER_RANGE.format(low=0, high=f"{INTEGER_MAX:,}")),
    ("constants__lam", "constants.lam", "a number between -1.798e+308 and 1.798e+308"),
    ("optimizer__learning_rate", "optimizer.learning_rate", "a number > 0 and <= 1.798e+308"),
    ("optimizer__tolerance", "optimizer.tolerance", "a number >= 0 and <= 1.798e+308"),
    ("optimizer__momentum", "optimizer.momentum", "a number >= 0 and <= 1"),
    ("checks__gradient__rtol", "checks.gradient.rtol", "a number >= 0 and <= 1.798e+308"),
    ("checks__gradient__atol", "checks.gradient.atol", "a number >= 0 and <= 1.798e+308"),
    ("checks__convergence__grad_tol", "checks.convergence.grad_tol", "a number >= 0"),
    ("expect__value", "expect.value", "a number between"),
    ("expect__tol", "expect.tol", "a number > 0"),
]


@pytest.mark.parametrize(("key", "field", "expected"), HUGE_NUMBERS,
                         ids=[case[1] for case in HUGE_NUMBERS])
def test_a_400_digit_number_is_refused_with_its_range(key, field, expected, tmp_path, capsys):
    refused(tmp_path, spec(**{key: BIG}), capsys, field, "got 9999", "…", expected)


@pytest.mark.parametrize(("key", "field", "expected"), HUGE_NUMBERS[:6],
                         ids=[case[1] for case in HUGE_NUMBERS[:6]])
def test_more_digits_than_python_converts_are_refused_too(key, field, expected, tmp_path,
                                                          capsys):
    text = spec(**{key: 12345}).replace(": 12345", f": {HUGE_TEXT}")
    refused(tmp_path, text, capsys, field, "got '9999", expected)


@pytest.mark.parametrize("written", ["1e400", "-1e400", ".inf", "-.inf", ".nan"])
def test_a_float_that_overflows_is_refused(written, tmp_path, capsys):
    text = spec(optimizer__learning_rate=12345).replace(": 12345", f": {written}")
    refused(tmp_path, text, capsys, "optimizer.learning_rate", "a number > 0 and <= 1.798e+308")
    text = spec(constants__lam=12345).replace(": 12345", f": {written}")
    refused(tmp_path, text, capsys, "constants.lam", "a number between")


@pytest.mark.parametrize(("key", "field"), [
    ("parameters__w__shape", "parameters.w.shape[0]"),
    ("inputs__x__shape", "inputs.x.shape[0]"),
])
def test_a_400_digit_dimension_is_refused(key, field, tmp_path, capsys):
    refused(tmp_path, spec(**{key: [BIG]}), capsys, field,
            INTEGER_RANGE.format(low=0, high="100,000,000"))


def test_a_400_digit_expected_minimum_and_truth_are_refused(tmp_path, capsys):
    refused(tmp_path, spec(expect__minimum__w=[BIG, 1]), capsys, "expect.minimum.w[0]",
            "a number between")
    refused(tmp_path, spec(data__generate__truth__w=[1, BIG]), capsys,
            "data.generate.truth.w[1]", "a number between")


def test_an_integral_float_past_the_bound_is_quoted_as_written(tmp_path, capsys):
    output = refused(tmp_path, spec(optimizer__steps=1e300), capsys, "optimizer.steps",
                     "got 1e+300")
    assert "1000000000000" not in output


def test_numbers_just_inside_every_bound_still_work(tmp_path, capsys):
    inside = spec(optimizer__steps=defaults.MAX_STEPS,
                  checks__gradient__examples=defaults.MAX_EXAMPLES,
                  checks__gradient__rtol=FLOAT_MAX, checks__gradient__atol=FLOAT_MAX,
                  checks__convergence__runs=defaults.MAX_RUNS,
                  checks__convergence__grad_tol=FLOAT_MAX,
                  data__generate__seed=INTEGER_MAX,
                  constants__lam=-FLOAT_MAX,
                  optimizer__learning_rate=FLOAT_MAX, optimizer__tolerance=FLOAT_MAX,
                  optimizer__momentum=1, expect__value=FLOAT_MAX, expect__tol=FLOAT_MAX,
                  expect__minimum__b=-FLOAT_MAX)
    output = works(tmp_path, inside, capsys)
    assert "dL/dw" in output
    loaded = parse(inside, tmp_path / "spec.yaml")
    assert loaded.optimizer.steps == defaults.MAX_STEPS
    assert loaded.data.seed == INTEGER_MAX   # type: ignore[union-attr]
    assert loaded.optimizer.learning_rate == FLOAT_MAX
    assert loaded.constants["lam"] == -FLOAT_MAX


def test_sizes_just_inside_their_bounds_are_read(tmp_path):
    # the largest n and shape are read, not built: parse() allocates nothing
    text = spec(data__generate__n=defaults.MAX_SAMPLES,
                inputs__x__shape=[defaults.MAX_SCALARS])
    loaded = parse(text, tmp_path / "spec.yaml")
    assert loaded.data.n == defaults.MAX_SAMPLES   # type: ignore[union-attr]
    assert loaded.inputs[0].shape == (defaults.MAX_SCALARS,)
    with pytest.raises(SpecError, match="<= 100,000,000"):
        parse(spec(inputs__x__shape=[defaults.MAX_SCALARS + 1]), tmp_path / "spec.yaml")
    with pytest.raises(SpecError, match="<= 10,000,000"):
        parse(spec(data__generate__n=defaults.MAX_SAMPLES + 1), tmp_path / "spec.yaml")
    with pytest.raises(SpecError, match="data.generate.seed: got 9223372036854775808"):
        parse(spec(data__generate__seed=INTEGER_MAX + 1), tmp_path / "spec.yaml")


WHERE = Location("s.yaml", 3, "field")


@pytest.mark.parametrize(("check", "value", "accepted"), [
    (number(), FLOAT_MAX, True), (number(), -FLOAT_MAX, True),
    (number(), int(FLOAT_MAX), True), (number(), int(FLOAT_MAX) + 2**971, False),
    (number(), 10**400, False), (number(), float("inf"), False), (number(), float("nan"), False),
    (number(0, integer=True), INTEGER_MAX, True), (number(0, integer=True), INTEGER_MAX + 1, False),
    (number(0, integer=True), -1, False), (number(0, integer=True), 2.0, True),
    (number(0, integer=True), 2.5, False), (number(0, integer=True), 1e300, False),
    (number(0, above=True), 0, False), (number(0, above=True), 5e-324, True),
    (number(1, integer=True, high=10), 10, True), (number(1, integer=True, high=10), 11, False),
    (number(), True, False), (number(), "1", False), (number(), None, False),
])
def test_number_bounds(check, value, accepted):
    if accepted:
        assert check(value, WHERE) == value
    else:
        with pytest.raises(SpecError, match="expected (a number|an integer)") as caught:
            check(value, WHERE)
        assert len(caught.value.message) < 200


# ----------------------------------------------------------------- distributions

@pytest.mark.parametrize(("init", "fragment"), [
    ("normal(0, 1e400)", "finite numbers"),
    ("normal(1e400, 1)", "finite numbers"),
    ("uniform(-1e400, 0)", "finite numbers"),
    ("uniform(0, 1" + "0" * 400 + ")", "at most 200"),
    ("normal(0, 1e308)", "mean ± 4 std overflows"),
    ("normal(1.7e308, 1e307)", "mean ± 4 std overflows"),
    ("uniform(-1e308, 1e308)", "high − low overflows"),
])
def test_a_distribution_out_of_float_range_is_refused(init, fragment, tmp_path, capsys):
    refused(tmp_path, spec(parameters__w__init=init), capsys, "parameters.w.init", fragment)
    refused(tmp_path, spec(data__generate__inputs__x=init), capsys, "data.generate.inputs.x",
            fragment)


def test_a_large_finite_integer_argument_still_works(tmp_path, capsys):
    works(tmp_path, spec(parameters__b__init="constant(" + "9" * 190 + ")"), capsys)


def test_distributions_just_inside_float_range_still_sample():
    rng = np.random.default_rng(0)
    normal = parse_distribution("normal(0, 4e307)", WHERE)
    assert all(np.isfinite(normal.bounds()))
    assert np.all(np.isfinite(normal.sample(rng, (3,))))
    uniform = parse_distribution("uniform(-8e307, 8e307)", WHERE)
    assert np.all(np.isfinite(uniform.sample(rng, (3,))))
    for text in ("normal(0, 5e307)", "uniform(-9e307, 9e307)"):
        with pytest.raises(SpecError, match="overflows"):
            parse_distribution(text, WHERE)


def test_a_long_distribution_is_quoted_as_an_excerpt():
    with pytest.raises(SpecError) as caught:
        parse_distribution("normal(" + "1" * 150 + ".0e400, 1)", WHERE)
    assert "…" in caught.value.message and not LONG_DIGITS.search(caught.value.message)


# ----------------------------------------------------------------- lone surrogates

def with_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


BASE = spec()
SURROGATES = [
    ("description", BASE + 'description: "\\ud800 logistic"\n', "description"),
    ("top-key", BASE + '"\\ud800": 1\n', "\\ud800"),
    ("nested-key", with_line(BASE, "  method: momentum\n",
                             '  method: momentum\n  "lr\\udfff": 1\n'), "optimizer.lr\\udfff"),
    ("parameter-name", with_line(BASE, "parameters:\n", 'parameters:\n  "a\\ud800": {}\n'),
     "parameters.a\\ud800"),
    ("constant-name", with_line(BASE, "constants:\n", 'constants:\n  "k\\ud800": 1\n'),
     "constants.k\\ud800"),
    ("expect-key", with_line(BASE, "  minimum:\n", '  minimum:\n    "w\\udc00": 1\n'),
     "expect.minimum.w\\udc00"),
    ("truth-key", with_line(BASE, "    truth:\n", '    truth:\n      "b\\ud83d": 1\n'),
     "data.generate.truth.b\\ud83d"),
]


@pytest.mark.parametrize(("text", "field"), [case[1:] for case in SURROGATES],
                         ids=[case[0] for case in SURROGATES])
def test_a_lone_surrogate_is_refused_where_it_is_read(text, field, tmp_path, capsys):
    refused(tmp_path, text, capsys, field, "lone surrogate \\ud")


def test_a_surrogate_in_a_csv_column_or_path_is_refused(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("x1,x2,y\n0,1,1\n1,0,0\n")
    csv = spec(data={"csv": "d.csv", "columns": {"x": ["x1", "x2"], "y": "y"}})
    works(tmp_path, csv, capsys)
    refused(tmp_path, with_line(csv, "y: y", 'y: "y\\ud800"'), capsys, "data.columns.y",
            "lone surrogate \\ud800")
    refused(tmp_path, with_line(csv, "csv: d.csv", 'csv: "d\\ud800.csv"'), capsys, "data.csv",
            "lone surrogate \\ud800")


def test_text_that_is_not_a_surrogate_still_works(tmp_path, capsys):
    works(tmp_path, BASE + 'description: "θ ← θ − η∇L, \\U0001F600 \\u00e9"\n', capsys)


# ----------------------------------------------------------------- soft keywords are names

def test_soft_keywords_are_names_like_any_other(tmp_path, capsys):
    """`match`, `case` and `type` parse as names in an expression and nothing later reads a
    spec's names as code: accepted on every Python (3.12 made `type` a soft keyword)."""
    text = yaml.safe_dump({
        "gdcheck": 1, "name": "soft",
        "constants": {"case": 0.5},
        "parameters": {"match": {"shape": [2]}, "type": {}},
        "inputs": {"x": {"shape": [2]}}, "target": {"y": {}},
        "model": "dot(match, x) + case*type", "loss": "(y_pred - y)**2",
        "data": {"inline": {"x": [[0.5, 1.0], [1.0, -1.0]], "y": [1, 0]}},
        "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10}}, sort_keys=False)
    output = works(tmp_path, text, capsys)
    assert "dL/dmatch = " in output and "dL/dtype = " in output


@pytest.mark.parametrize(("name", "fragment"), [
    ("_", "ASCII identifier"), ("lambda", "Python keyword"), ("None", "Python keyword"),
    ("sum", "reserved"),
])
def test_keywords_and_reserved_names_are_refused(name, fragment, tmp_path, capsys):
    text = with_line(BASE, "parameters:\n", f"parameters:\n  {name}: {{}}\n")
    refused(tmp_path, text, capsys, f"parameters.{name}", fragment)


def test_a_long_name_is_quoted_as_an_excerpt(tmp_path):
    text = with_line(BASE, "parameters:\n", f"parameters:\n  {'q' * 1000}-: {{}}\n")
    with pytest.raises(SpecError, match="is not an ASCII identifier") as caught:
        parse(text, tmp_path / "spec.yaml")
    assert "q" * (EXCERPT + 1) not in caught.value.message
