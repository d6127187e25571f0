"""Tests for gdcheck/spec.py (and the strict YAML of yamlsource.py it reads with).

Specs are assembled from top-level sections (`objective(...)`, `supervised(...)`),
so each case changes one thing. Invalid specs are one table of (spec, field,
message fragment); a few focused tests pin exact line numbers and defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from gdcheck.errors import SpecError
from gdcheck.spec import (
    Checks,
    ConvergenceCheck,
    CsvData,
    DescentCheck,
    GenerateData,
    InlineData,
    NpzData,
    Spec,
    ToleranceCheck,
    load,
    parse,
)
from gdcheck.spec.distributions import DEFAULT_INIT, Distribution

FILE = Path("s.yaml")

OBJECTIVE = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "parameters": "parameters:\n  a: {init: uniform(-1.2, 1.2)}\n  w: {shape: [2]}",
    "objective": "objective: (1 - a)**2 + sum(w**2)",
    "optimizer": "optimizer: {method: gd, learning_rate: 0.01, steps: 100}",
}

SUPERVISED = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "constants": "constants: {lam: 0.01}",
    "parameters": "parameters:\n  w: {shape: [2]}\n  b: {}",
    "inputs": "inputs: {x: {shape: [2]}}",
    "target": "target: {y: {}}",
    "model": "model: sigmoid(dot(w, x) + b)",
    "loss": "loss: -(y*log(y_pred) + (1 - y)*log(1 - y_pred))",
    "penalty": "penalty: lam * sum(w**2)",
    "data": "data: {inline: {x: [[0.5, 1.0], [1.0, -1.0]], y: [1, 0]}}",
    "optimizer": "optimizer: {method: gd, learning_rate: 0.5, steps: 100}",
}


def assemble(base: Mapping[str, str], sections: Mapping[str, str | None]) -> str:
    """The base spec with sections replaced, added, or (None) removed."""
    merged = {**base, **sections}
    return "\n".join(text for text in merged.values() if text is not None) + "\n"


def objective(**sections: str | None) -> str:
    return assemble(OBJECTIVE, sections)


def supervised(**sections: str | None) -> str:
    return assemble(SUPERVISED, sections)


def optimizer(fields: str) -> str:
    return f"optimizer: {{{fields}}}"


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse(text, FILE)
    return caught.value


# ----------------------------------------------------------------- invalid specs


def case(id: str, text: str, field: str, fragment: str) -> object:
    return pytest.param(text, field, fragment, id=id)


GD = "method: gd, learning_rate: 0.1, steps: 10"

INVALID = [
    # format version and name
    case("version-2", objective(gdcheck="gdcheck: 2"), "gdcheck", "got 2, expected 1"),
    case("version-true", objective(gdcheck="gdcheck: true"), "gdcheck", "the boolean true"),
    case("version-missing", objective(gdcheck=None), "gdcheck", "missing (required)"),
    case("name-uppercase", objective(name="name: Unit"), "name", "[a-z0-9_-]"),
    case("name-missing", objective(name=None), "name", "missing (required)"),
    case("description-number", objective(description="description: 5"), "description",
         "got 5, expected text"),
    # numbers and booleans
    case("steps-true", objective(optimizer=optimizer("method: gd, learning_rate: 0.1, "
                                                     "steps: true")),
         "optimizer.steps", "got the boolean true, expected an integer"),
    case("steps-yes", objective(optimizer=optimizer("method: gd, learning_rate: 0.1, "
                                                    "steps: yes")),
         "optimizer.steps", "the boolean true"),
    case("steps-fraction", objective(optimizer=optimizer("method: gd, learning_rate: 0.1, "
                                                         "steps: 2.5")),
         "optimizer.steps", "expected an integer >= 1"),
    case("steps-quoted", objective(optimizer=optimizer("method: gd, learning_rate: 0.1, "
                                                       "steps: '10'")),
         "optimizer.steps", "got '10'"),
    case("learning-rate-off", objective(optimizer=optimizer("method: gd, learning_rate: off, "
                                                            "steps: 10")),
         "optimizer.learning_rate", "the boolean false"),
    case("learning-rate-zero", objective(optimizer=optimizer("method: gd, learning_rate: 0, "
                                                             "steps: 10")),
         "optimizer.learning_rate", "expected a number > 0"),
    case("learning-rate-quoted", objective(optimizer=optimizer("method: gd, steps: 10, "
                                                               "learning_rate: '1e-3'")),
         "optimizer.learning_rate", "got '1e-3'"),
    case("learning-rate-inf", objective(optimizer=optimizer("method: gd, steps: 10, "
                                                            "learning_rate: .inf")),
         "optimizer.learning_rate", "expected a number > 0"),
    case("tolerance-negative", objective(optimizer=optimizer(f"{GD}, tolerance: -1.0e-8")),
         "optimizer.tolerance", "expected a number >= 0"),
    # optimizer method and extras
    case("method-unknown", objective(optimizer=optimizer("method: sgd, learning_rate: 0.1, "
                                                         "steps: 10")),
         "optimizer.method", "expected one of: gd, momentum, nesterov, adam"),
    case("method-misspelt", objective(optimizer=optimizer("method: adm, learning_rate: 0.1, "
                                                          "steps: 10")),
         "optimizer.method", "did you mean 'adam'"),
    case("method-missing", objective(optimizer=optimizer("learning_rate: 0.1, steps: 10")),
         "optimizer.method", "missing (required)"),
    case("optimizer-missing", objective(optimizer=None), "optimizer", "missing (required)"),
    case("momentum-with-gd", objective(optimizer=optimizer(f"{GD}, momentum: 0.9")),
         "optimizer.momentum", "applies to method momentum or nesterov, not 'gd'"),
    case("momentum-with-adam", objective(optimizer=optimizer(
        "method: adam, learning_rate: 0.1, steps: 10, momentum: 0.9")),
        "optimizer.momentum", "not 'adam'"),
    case("beta1-with-momentum", objective(optimizer=optimizer(
        "method: momentum, learning_rate: 0.1, steps: 10, beta1: 0.9")),
        "optimizer.beta1", "applies to method adam, not 'momentum'"),
    case("beta2-with-gd", objective(optimizer=optimizer(f"{GD}, beta2: 0.99")),
         "optimizer.beta2", "applies to method adam"),
    case("epsilon-with-nesterov", objective(optimizer=optimizer(
        "method: nesterov, learning_rate: 0.1, steps: 10, epsilon: 1.0e-8")),
        "optimizer.epsilon", "applies to method adam"),
    # schedules and the proximal method
    case("schedule-unknown", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, schedule: cosin}")),
        "optimizer.learning_rate.schedule", "(did you mean 'cosine'?)"),
    case("schedule-without-initial", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {schedule: inverse}")),
        "optimizer.learning_rate.initial", "missing (required)"),
    case("schedule-initial-zero", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0, schedule: inverse}")),
        "optimizer.learning_rate.initial", "expected a number > 0"),
    case("schedule-every-with-cosine", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, schedule: cosine, every: 2}")),
        "optimizer.learning_rate.every", "applies to schedule step, not 'cosine'"),
    case("schedule-factor-above-one", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, schedule: step, factor: 2}")),
        "optimizer.learning_rate.factor", "<= 1"),
    case("schedule-every-zero", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, schedule: step, every: 0}")),
        "optimizer.learning_rate.every", "expected an integer >= 1"),
    case("schedule-final-above-initial", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, schedule: cosine, final: 1}")),
        "optimizer.learning_rate.final", "at most the initial rate 0.1"),
    case("schedule-misspelt-key", objective(optimizer=optimizer(
        "method: gd, steps: 10, learning_rate: {initial: 0.1, shedule: step}")),
        "optimizer.learning_rate.shedule", "(did you mean 'schedule'?)"),
    case("accelerated-with-gd", objective(optimizer=optimizer(f"{GD}, accelerated: true")),
         "optimizer.accelerated", "applies to method proximal_gradient, not 'gd'"),
    case("accelerated-not-boolean", objective(optimizer=optimizer(
        "method: proximal_gradient, learning_rate: 0.1, steps: 10, accelerated: 1")),
        "optimizer.accelerated", "expected true or false"),
    case("criterion-unknown", objective(checks="checks: {convergence: {criterion: loss}}"),
         "checks.convergence.criterion", "expected one of: auto, gradient, objective"),
    case("loss-tol-negative", objective(checks="checks: {convergence: {loss_tol: -1}}"),
         "checks.convergence.loss_tol", "expected a number >= 0"),
    case("momentum-above-one", objective(optimizer=optimizer(
        "method: momentum, learning_rate: 0.1, steps: 10, momentum: 1.5")),
        "optimizer.momentum", "<= 1"),
    # misspelt keys at every level
    case("top-misspelt", objective(objective=None, objectve="objectve: a**2"), "objectve",
         "unknown key 'objectve' (did you mean 'objective'?)"),
    case("optimizer-misspelt", objective(optimizer=optimizer(
        "method: gd, lerning_rate: 0.1, steps: 10")),
        "optimizer.lerning_rate", "unknown key 'lerning_rate' in optimizer (did you mean "
        "'learning_rate'?)"),
    case("checks-misspelt", objective(checks="checks: {convexity: true}"), "checks.convexity",
         "did you mean 'convex'"),
    case("checks-gradient-misspelt", objective(checks="checks: {gradient: {exmaples: 5}}"),
         "checks.gradient.exmaples",
         "unknown key 'exmaples' in checks.gradient (did you mean 'examples'?)"),
    case("checks-descent-foreign", objective(checks="checks: {descent: {rtol: 1}}"),
         "checks.descent.rtol", "expected one of: examples"),
    case("parameter-misspelt", objective(parameters="parameters: {w: {shpe: [2]}}"),
         "parameters.w.shpe", "unknown key 'shpe' in parameters.w (did you mean 'shape'?)"),
    case("input-with-init", supervised(inputs="inputs: {x: {shape: [2], init: zeros}}"),
         "inputs.x.init", "unknown key 'init' in inputs.x"),
    case("expect-misspelt", objective(expect="expect: {valu: 0}"), "expect.valu",
         "did you mean 'value'"),
    case("data-misspelt", supervised(data="data: {inlin: {x: [[1, 2]], y: [1]}}"),
         "data.inlin", "did you mean 'inline'"),
    case("generate-misspelt", supervised(
        data="data: {generate: {n: 5, inputs: {x: zeros}, sed: 1}}"),
        "data.generate.sed", "did you mean 'seed'"),
    # checks
    case("convex-number", objective(checks="checks: {convex: 1}"), "checks.convex",
         "got 1, expected true or false"),
    case("gradient-rtol-negative", objective(checks="checks: {gradient: {rtol: -1}}"),
         "checks.gradient.rtol", "expected a number >= 0"),
    case("gradient-examples-zero", objective(checks="checks: {gradient: {examples: 0}}"),
         "checks.gradient.examples", "expected an integer >= 1"),
    case("convergence-runs-zero", objective(checks="checks: {convergence: {runs: 0}}"),
         "checks.convergence.runs", ">= 1"),
    case("hessian-text", objective(checks="checks: {hessian: please}"), "checks.hessian",
         "got 'please', expected a mapping"),
    # parameters, shapes and distributions
    case("shape-seven-dims",
         objective(parameters="parameters: {w: {shape: [1, 2, 1, 2, 1, 2, 1]}}"),
         "parameters.w.shape", "got a list of 7 dimensions; a shape has at most 6 dimensions"),
    case("shape-negative", objective(parameters="parameters: {w: {shape: [-1]}}"),
         "parameters.w.shape[0]", "expected an integer >= 0"),
    case("shape-number", objective(parameters="parameters: {w: {shape: 2}}"),
         "parameters.w.shape", "got 2, expected a list"),
    case("shape-fraction", objective(parameters="parameters: {w: {shape: [1.5]}}"),
         "parameters.w.shape[0]", "expected an integer"),
    case("init-negative-std", objective(parameters="parameters: {w: {init: normal(0, -1)}}"),
         "parameters.w.init", "std must be >= 0"),
    case("init-unknown", objective(parameters="parameters: {w: {init: gaussian(0, 1)}}"),
         "parameters.w.init", "unknown distribution 'gaussian'"),
    case("init-reversed", objective(parameters="parameters: {w: {init: uniform(1, -1)}}"),
         "parameters.w.init", "low must be <= high"),
    case("parameters-empty", objective(parameters="parameters: {}"), "parameters",
         "expected a mapping of name"),
    case("parameters-missing", objective(parameters=None), "parameters", "missing (required)"),
    case("parameter-list", objective(parameters="parameters: {w: [2]}"), "parameters.w",
         "expected a mapping such as {shape: [2]}"),
    # names
    case("name-keyword", objective(parameters="parameters: {lambda: {}}"),
         "parameters.lambda", "Python keyword"),
    case("name-reserved-function", objective(parameters="parameters: {softmax: {}}"),
         "parameters.softmax", "reserved"),
    case("name-reserved-constant", supervised(constants="constants: {pi: 3}"), "constants.pi",
         "reserved"),
    case("name-y-pred", supervised(target="target: {y_pred: {}}"), "target.y_pred", "reserved"),
    case("name-underscore", objective(parameters="parameters: {_w: {}}"), "parameters._w",
         "not an ASCII identifier"),
    case("declared-twice", supervised(constants="constants: {w: 1}"), "parameters.w",
         "'w' is declared twice (first at line 3, as constants.w)"),
    case("input-and-target-same", supervised(target="target: {x: {}}"), "target.x",
         "declared twice"),
    case("constant-text", supervised(constants="constants: {lam: small}"), "constants.lam",
         "got 'small', expected a number"),
    # objective or supervised
    case("objective-and-model", objective(model="model: a"), "model", "never both"),
    case("objective-and-inputs", objective(inputs="inputs: {x: {}}"), "inputs", "never both"),
    case("supervised-missing-data", supervised(data=None), "data",
         "missing: a spec needs 'objective'"),
    case("supervised-missing-loss", supervised(loss=None), "loss", "missing"),
    case("reduction-with-objective", objective(reduction="reduction: sum"), "reduction",
         "applies only to model + loss specs"),
    case("reduction-unknown", supervised(reduction="reduction: median"), "reduction",
         "expected one of: mean, sum"),
    case("two-targets", supervised(target="target: {y: {}, z: {}}"), "target",
         "declares 2 entries; expected exactly one target"),
    case("no-target", supervised(target="target: {}"), "target", "declares 0 entries"),
    case("model-boolean", supervised(model="model: true"), "model", "expected an expression"),
    case("loss-empty", supervised(loss="loss: ''"), "loss", "expected an expression"),
    # data sources: exactly one
    case("data-none", supervised(data="data: {}"), "data",
         "got 0 data sources (none), expected exactly one of: generate, csv, npz, inline"),
    case("data-two", supervised(data="data: {inline: {y: [1]}, csv: d.csv}"), "data",
         "got 2 data sources (csv, inline)"),
    case("data-three", supervised(data="data: {npz: d.npz, csv: d.csv, inline: {y: [1]}}"),
         "data", "got 3 data sources"),
    case("columns-without-csv", supervised(data="data: {npz: d.npz, columns: {x: [a, b]}}"),
         "data.columns", "'columns' goes with 'csv' only"),
    case("csv-without-columns", supervised(data="data: {csv: d.csv}"), "data.columns",
         "missing (required)"),
    case("generate-without-n", supervised(data="data: {generate: {inputs: {x: zeros}}}"),
         "data.generate.n", "missing (required)"),
    case("generate-labels", supervised(
        data="data: {generate: {n: 5, inputs: {x: zeros}, labels: poisson}}"),
        "data.generate.labels", "expected one of: bernoulli, categorical"),
    case("generate-input-distribution", supervised(
        data="data: {generate: {n: 5, inputs: {x: cauchy(0, 1)}}}"),
        "data.generate.inputs.x", "unknown distribution 'cauchy'"),
    # expect
    case("expect-wrong-shape", objective(expect="expect: {minimum: {w: [1, 2, 3]}}"),
         "expect.minimum.w", "got shape [3], but parameter 'w' has shape [2]"),
    case("expect-scalar-for-vector", objective(expect="expect: {minimum: {w: 1}}"),
         "expect.minimum.w", "got shape [], but parameter 'w' has shape [2]"),
    case("expect-vector-for-scalar", objective(expect="expect: {minimum: {a: [1]}}"),
         "expect.minimum.a", "got shape [1], but parameter 'a' has shape []"),
    case("expect-unknown-parameter", objective(expect="expect: {minimum: {z: 1}}"),
         "expect.minimum.z", "unknown key 'z' in expect.minimum"),
    case("expect-near-parameter", objective(expect="expect: {minimum: {ww: [1, 2]}}"),
         "expect.minimum.ww", "did you mean 'w'"),
    case("expect-text-value", objective(expect="expect: {minimum: {a: one}}"),
         "expect.minimum.a", "got 'one', expected a number"),
    case("expect-tol-zero", objective(expect="expect: {value: 0, tol: 0}"), "expect.tol",
         "expected a number > 0"),
    # YAML
    case("duplicate-on", objective(parameters="parameters:\n  on: {}\n  'on': {}"),
         "parameters.on", "duplicate key 'on'"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), INVALID)
def test_invalid_spec_names_file_line_and_field(text: str, field: str, fragment: str) -> None:
    error = refused(text)
    assert error.location.file == "s.yaml"
    assert error.location.field == field
    assert isinstance(error.location.line, int) and error.location.line >= 1
    assert str(error).startswith(f"s.yaml:{error.location.line}: {field}: ")
    assert fragment in error.message


# ----------------------------------------------------------------- exact lines


BLOCK = """\
gdcheck: 1
name: lines
constants:
  lam: 0.01
parameters:
  w: {shape: [2], init: normal(0, 0.5)}
  b: {init: uniform(-1, 1)}
inputs:
  x: {shape: [2]}
target:
  y: {}
model: sigmoid(dot(w, x) + b)
loss: -(y*log(y_pred) + (1 - y)*log(1 - y_pred))
penalty: lam * sum(w**2)
data:
  inline:
    x: [[0.5, 1.0], [1.0, -1.0]]
    y: [1, 0]
optimizer:
  method: gd
  learning_rate: 0.5
  steps: 100
checks:
  gradient: {examples: 10, rtol: 1.0e-6}
  convex: true
"""


def with_line(number: int, text: str) -> str:
    lines = BLOCK.splitlines()
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


def test_the_block_spec_is_valid() -> None:
    spec = parse(BLOCK, FILE)
    assert spec.kind == "supervised"
    assert [(p.name, p.location.line) for p in spec.parameters] == [("w", 6), ("b", 7)]
    assert spec.model is not None and spec.model.location.line == 12
    assert spec.loss is not None and spec.loss.location.line == 13
    assert spec.penalty is not None and spec.penalty.location.field == "penalty"
    assert spec.constant_locations["lam"].line == 4


@pytest.mark.parametrize(("line", "text", "field"), [
    (4, "  lam: big", "constants.lam"),
    (7, "  b: {init: uniform(1, -1)}", "parameters.b.init"),
    (9, "  x: {shape: [2], init: zeros}", "inputs.x.init"),
    (11, "  y: {shape: [2, 2, 2, 2, 2, 2, 2]}", "target.y.shape"),
    (20, "  method: sgd", "optimizer.method"),
    (21, "  learning_rate: fast", "optimizer.learning_rate"),
    (22, "  stepz: 100", "optimizer.stepz"),
    (24, "  gradient: {examples: 10, rtol: -1}", "checks.gradient.rtol"),
    (25, "  convex: maybe", "checks.convex"),
])
def test_errors_name_the_exact_line(line: int, text: str, field: str) -> None:
    error = refused(with_line(line, text))
    assert (error.location.line, error.location.field) == (line, field)
    assert str(error).startswith(f"s.yaml:{line}: {field}: ")


def test_duplicate_key_names_both_lines() -> None:
    text = BLOCK.replace("  steps: 100\n", "  steps: 100\n  steps: 5\n")
    error = refused(text)
    assert (error.location.line, error.location.field) == (23, "optimizer.steps")
    assert "first at line 22" in error.message


@pytest.mark.parametrize(("text", "line", "field"), [
    pytest.param(BLOCK.replace("optimizer:\n", "optimiser:\n"), 19, "optimiser",
                 id="unknown-top-key"),
    pytest.param(BLOCK.replace("  w: {shape: [2], init: normal(0, 0.5)}\n",
                               "  exp:\n    shape: [2]\n"), 6, "parameters.exp",
                 id="reserved-parameter-name"),
])
def test_a_key_with_a_block_value_is_reported_on_its_own_line(text: str, line: int,
                                                              field: str) -> None:
    error = refused(text)
    assert (error.location.line, error.location.field) == (line, field)


def test_load_names_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(with_line(21, "  learning_rate: fast"))
    with pytest.raises(SpecError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:21: optimizer.learning_rate: got 'fast'")


# ----------------------------------------------------------------- defaults


def test_defaults_of_every_optional_field() -> None:
    spec = parse(supervised(constants=None, penalty=None), FILE)
    assert spec.reduction == "mean"
    assert spec.description == ""
    assert spec.constants == {} and spec.penalty is None
    assert spec.optimizer.tolerance == 0.0
    assert spec.checks == Checks(gradient=ToleranceCheck(50, 1e-6, 0.0),
                                 descent=DescentCheck(50),
                                 convergence=ConvergenceCheck(8, 1e-6),
                                 hessian=None, convex=None)
    assert spec.expect is None
    for parameter in spec.parameters:
        assert parameter.init == DEFAULT_INIT == Distribution("normal", (0.0, 1.0))
    assert [p.shape for p in spec.parameters] == [(2,), ()]
    assert spec.target is not None and spec.target.shape == ()


def test_expect_defaults() -> None:
    expect = parse(objective(expect="expect: {value: 0}"), FILE).expect
    assert expect is not None
    assert (expect.minimum, expect.value, expect.tol) == (None, 0.0, 1e-6)


def test_expect_minimum_is_read_as_plain_numbers() -> None:
    expect = parse(objective(expect="expect: {minimum: {a: 1, w: [1, -2.5]}, tol: 1.0e-3}"),
                   FILE).expect
    assert expect is not None
    assert expect.minimum == {"a": 1.0, "w": [1.0, -2.5]}
    assert expect.tol == 0.001


def test_ragged_expect_minimum_is_reported_as_ragged() -> None:
    text = objective(parameters="parameters: {W: {shape: [2, 2]}}", objective="objective: sum(W)",
                     expect="expect: {minimum: {W: [[1, 2], [3]]}}")
    error = refused(text)
    assert error.location.field == "expect.minimum.W"
    assert "got shape []" not in error.message


# ----------------------------------------------------------------- numbers and booleans


@pytest.mark.parametrize("written", ["0.001", "1e-3", "1.0e-3", "1E-3", "+1e-3", "10e-4",
                                     ".001", "1.e-3"])
def test_numbers_written_any_way_mean_the_same(written: str) -> None:
    spec = parse(objective(optimizer=optimizer(f"method: gd, learning_rate: {written}, "
                                               "steps: 10")), FILE)
    assert spec.optimizer.learning_rate == 0.001


@pytest.mark.parametrize(("written", "steps"), [("100", 100), ("1e3", 1000), ("1_000", 1000),
                                                ("2.0", 2)])
def test_integer_fields_accept_integral_numbers(written: str, steps: int) -> None:
    spec = parse(objective(optimizer=optimizer(f"method: gd, learning_rate: 0.1, "
                                               f"steps: {written}")), FILE)
    assert spec.optimizer.steps == steps and type(spec.optimizer.steps) is int


# ----------------------------------------------------------------- flow style


@pytest.mark.parametrize(("entry", "shape", "init"), [
    ("a: {init: uniform(-1.2, 1.2)}", (), Distribution("uniform", (-1.2, 1.2))),
    ("w: {shape: [2], init: normal(0, 0.5)}", (2,), Distribution("normal", (0.0, 0.5))),
    ("w: {init: normal(0, 0.5), shape: [2]}", (2,), Distribution("normal", (0.0, 0.5))),
    ("w: {init: uniform(-1,1), shape: [3]}", (3,), Distribution("uniform", (-1.0, 1.0))),
    ("W: {shape: [2, 3], init: constant(0.25)}", (2, 3), Distribution("constant", (0.25,))),
    ("z: {init: zeros}", (), Distribution("zeros")),
    ("w:\n    shape: [2]\n    init: normal(0, 0.5)", (2,), Distribution("normal", (0.0, 0.5))),
    ("w: {}", (), DEFAULT_INIT),
    ("w:", (), DEFAULT_INIT),
])
def test_parameter_entries_in_flow_and_block_style(entry: str, shape: tuple[int, ...],
                                                   init: Distribution) -> None:
    name = entry.split(":")[0]
    spec = parse(objective(parameters=f"parameters:\n  {entry}", objective=f"objective: "
                           f"sum({name}**2)"), FILE)
    (parameter,) = spec.parameters
    assert (parameter.name, parameter.shape, parameter.init) == (name, shape, init)


def test_distributions_in_flow_style_data() -> None:
    spec = parse(supervised(
        inputs="inputs: {x: {shape: [2]}, z: {}}",
        data="data: {generate: {n: 10, seed: 3, inputs: {x: uniform(-1, 1), z: normal(0, 2)}, "
             "truth: {w: [1.5, -2], b: 0.5}, noise: normal(0, 0.1)}}"), FILE)
    data = spec.data
    assert isinstance(data, GenerateData)
    assert data.inputs == {"x": Distribution("uniform", (-1.0, 1.0)),
                           "z": Distribution("normal", (0.0, 2.0))}
    assert data.noise == Distribution("normal", (0.0, 0.1))
    assert data.truth == {"w": [1.5, -2.0], "b": 0.5}
    assert (data.n, data.seed, data.labels) == (10, 3, None)


# ----------------------------------------------------------------- YAML keys


@pytest.mark.parametrize("name", ["on", "off", "yes", "no", "y", "n", "true", "null"])
def test_yaml_1_1_words_as_keys_are_their_text(name: str) -> None:
    spec = parse(objective(parameters=f"parameters:\n  {name}: {{shape: [2]}}",
                           objective=f"objective: sum({name}**2)"), FILE)
    assert [p.name for p in spec.parameters] == [name]
    assert spec.objective is not None and spec.objective.text == f"sum({name}**2)"


# ----------------------------------------------------------------- checks


@pytest.mark.parametrize(("written", "expected"), [
    ("checks: {gradient: false}",
     Checks(gradient=None)),
    ("checks: {descent: false, convergence: false}",
     Checks(descent=None, convergence=None)),
    ("checks: {hessian: true}",
     Checks(hessian=ToleranceCheck(50, 1e-6, 0.0))),
    ("checks: {hessian: {atol: 1.0e-4}}",
     Checks(hessian=ToleranceCheck(50, 1e-6, 1e-4))),
    ("checks: {hessian: false}",
     Checks(hessian=None)),
    ("checks: {gradient: {examples: 7}}",
     Checks(gradient=ToleranceCheck(7, 1e-6, 0.0))),
    ("checks: {gradient: true, convex: false}",
     Checks(convex=False)),
    ("checks: {convergence: {runs: 3, grad_tol: 1e-4}, convex: true}",
     Checks(convergence=ConvergenceCheck(3, 1e-4), convex=True)),
    ("checks:\n  gradient:\n  descent: {examples: 9}",
     Checks(descent=DescentCheck(9))),
    ("checks: {}",
     Checks()),
])
def test_checks(written: str, expected: Checks) -> None:
    assert parse(objective(checks=written), FILE).checks == expected


# ----------------------------------------------------------------- optimizer


@pytest.mark.parametrize(("fields", "expected"), [
    ("method: momentum, momentum: 0.5", {"method": "momentum", "momentum": 0.5}),
    ("method: nesterov, momentum: 0.8", {"method": "nesterov", "momentum": 0.8}),
    ("method: nesterov", {"method": "nesterov", "momentum": 0.9}),
    ("method: adam, beta1: 0.8, beta2: 0.99, epsilon: 1.0e-6",
     {"method": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}),
    ("method: adam", {"method": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
    ("method: gd, tolerance: 1.0e-8", {"method": "gd", "tolerance": 1e-8}),
])
def test_optimizer_extras_go_with_their_method(fields: str, expected: dict[str, object]
                                               ) -> None:
    spec = parse(objective(optimizer=optimizer(f"{fields}, learning_rate: 0.1, steps: 10")),
                 FILE)
    assert {key: getattr(spec.optimizer, key) for key in expected} == expected
    assert (spec.optimizer.learning_rate, spec.optimizer.steps) == (0.1, 10)


# ----------------------------------------------------------------- the whole spec


def test_objective_spec() -> None:
    spec = parse(objective(description="description: A bowl."), FILE)
    assert isinstance(spec, Spec)
    assert spec.kind == "objective"
    assert spec.name == "unit" and spec.description == "A bowl."
    assert [p.name for p in spec.parameters] == ["a", "w"]
    assert spec.parameter_size == 3
    assert spec.objective is not None and spec.objective.text == "(1 - a)**2 + sum(w**2)"
    assert spec.objective.location.line == 6
    assert (spec.model, spec.loss, spec.data, spec.target, spec.inputs) == (
        None, None, None, None, ())


def test_supervised_spec() -> None:
    spec = parse(supervised(reduction="reduction: sum"), FILE)
    assert spec.kind == "supervised"
    assert spec.reduction == "sum"
    assert spec.constants == {"lam": 0.01}
    assert [v.name for v in spec.inputs] == ["x"]
    assert spec.target is not None and spec.target.name == "y"
    assert isinstance(spec.data, InlineData)
    assert spec.data.values == {"x": [[0.5, 1.0], [1.0, -1.0]], "y": [1, 0]}


def test_a_number_is_a_valid_expression() -> None:
    spec = parse(objective(objective="objective: 3"), FILE)
    assert spec.objective is not None and spec.objective.text == "3"


def test_data_paths_are_relative_to_the_spec(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    csv = parse(supervised(data="data: {csv: d.csv, columns: {x: [x1, x2], y: 3}}"),
                folder / "s.yaml").data
    assert isinstance(csv, CsvData)
    assert csv.path == folder / "d.csv"
    assert csv.columns == {"x": ("x1", "x2"), "y": "3"}
    npz = parse(supervised(data="data: {npz: sub/d.npz}"), folder / "s.yaml").data
    assert isinstance(npz, NpzData) and npz.path == folder / "sub" / "d.npz"


def test_specs_in_the_repository_load() -> None:
    for path in sorted(Path(__file__).resolve().parents[2].glob("specs/*.yaml")):
        assert load(path).name
