"""Tests for gdcheck/spec/schema.py and the JSON Schema it ships (gdcheck/spec/schema.json).

The schema and the loader must agree: every spec the repository shows validates (read by
standard YAML, as editors read it), every structurally bad spec of the table is refused by
both, and the schema's enumerations, bounds and defaults are the loader's own.
"""

from __future__ import annotations

import json
import keyword
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

import gdcheck
from gdcheck import defaults
from gdcheck.errors import Location, SpecError
from gdcheck.spec import CHECK_KEYS, OPTIMIZER_METHODS, ConvergenceCheck, ToleranceCheck
from gdcheck.spec.distributions import parse_distribution
from gdcheck.spec.fields import name_checker
from gdcheck.spec.reader import TOP_KEYS
from gdcheck.spec.schema import SCHEMA_PATH, schema, schema_text
from gdcheck.spec.vocabulary import RESERVED_NAMES

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
HERE = Location("test.yaml", 1, "field")


def problems(document: Any) -> list[str]:
    """The schema's complaints about a document, each with where it is."""
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in validator.iter_errors(document)]


def split_calls(document: Any, path: str = "") -> Iterator[str]:
    """Values standard YAML cut at a comma: `{init: uniform(-1, 1)}` unquoted reads as
    {init: 'uniform(-1', '1)': null}, which gdcheck rejoins and other tools do not."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from split_calls(value, f"{path}.{key}" if path else str(key))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from split_calls(value, f"{path}[{i}]")
    elif isinstance(document, str) and document.count("(") > document.count(")"):
        yield f"{path} = {document!r}"


def assert_valid(text: str, where: str) -> None:
    document = yaml.safe_load(text)
    split = list(split_calls(document))
    assert not split, (f"{where}: standard YAML splits an unquoted call in a flow mapping at "
                       f"its comma ({'; '.join(split)}); quote it, as in "
                       "{init: 'uniform(-1, 1)'}, or write it in block style")
    found = problems(document)
    assert not found, f"{where}: the schema refuses it:\n" + "\n".join(found)


# ----------------------------------------------------------------- every shown spec validates


def bundled_specs() -> list[Path]:
    return sorted(ROOT.glob("specs/*.yaml")) + sorted(ROOT.glob("examples/**/*.yaml"))


def documented_specs() -> list[Any]:
    """The ```yaml blocks of the README and the reference that are whole specs."""
    cases = []
    for document in ("README.md", "docs/spec.md"):
        text = (ROOT / document).read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            block = match.group(1)
            parsed = yaml.safe_load(block)
            if isinstance(parsed, dict) and "gdcheck" in parsed:
                line = text.count("\n", 0, match.start()) + 2
                cases.append(pytest.param(block, f"{document}:{line}",
                                          id=f"{document}:{line}"))
    return cases


def test_the_repository_has_specs_to_validate():
    assert len(bundled_specs()) >= 8 and len(documented_specs()) >= 4


@pytest.mark.parametrize("path", bundled_specs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_bundled_spec_validates(path):
    assert_valid(path.read_text(), str(path.relative_to(ROOT)))


@pytest.mark.parametrize(("block", "where"), documented_specs())
def test_every_spec_of_the_docs_validates(block, where):
    assert_valid(block, where)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    document = schema()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


# ----------------------------------------------------------------- bad specs: both refuse

# A spec is assembled from top-level sections; each case replaces, adds or (None) removes
# some. Distributions are quoted, so standard YAML reads the sections as gdcheck does.
OBJECTIVE = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "parameters": "parameters:\n  a: {init: 'uniform(-1.2, 1.2)'}\n  w: {shape: [2]}",
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

GENERATE = ("data:\n  generate:\n    n: 20\n    inputs: {x: 'normal(0, 1)'}\n"
            "    truth: {w: [1.0, -1.0], b: 0.0}\n")


def assemble(base: Mapping[str, str], sections: Mapping[str, str | None]) -> str:
    """The base spec with sections replaced, added, or (None) removed."""
    merged = {**base, **sections}
    return "\n".join(text for text in merged.values() if text is not None) + "\n"


def bad(base: Mapping[str, str], sections: Mapping[str, str | None], fragment: str,
        case: str) -> Any:
    return pytest.param(base, sections, fragment, id=case)


BAD_SPECS = [
    bad(OBJECTIVE, {"lerning_rate": "lerning_rate: 0.1"}, "unknown key 'lerning_rate'",
        "unknown top-level key"),
    bad(OBJECTIVE, {"name": None}, "name: missing", "missing name"),
    bad(OBJECTIVE, {"gdcheck": None}, "gdcheck: missing", "missing gdcheck"),
    bad(OBJECTIVE, {"parameters": None}, "parameters: missing", "missing parameters"),
    bad(OBJECTIVE, {"optimizer": None}, "optimizer: missing", "missing optimizer"),
    bad(OBJECTIVE, {"objective": None}, "missing: a spec needs 'objective'",
        "neither objective nor model"),
    bad(SUPERVISED, {"data": None}, "data: missing", "supervised without data"),
    bad(SUPERVISED, {"objective": "objective: sum(w**2)"}, "never both",
        "both objective and model"),
    bad(OBJECTIVE, {"reduction": "reduction: mean"}, "applies only to model + loss",
        "reduction with an objective"),
    bad(OBJECTIVE, {"gdcheck": "gdcheck: 2"}, "expected 1", "format version 2"),
    bad(OBJECTIVE, {"name": "name: My Spec"}, "[a-z0-9_-]", "name with capitals"),
    bad(OBJECTIVE, {"description": "description: 3"}, "expected text",
        "description a number"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: many}"},
        "optimizer.steps", "steps not a number"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: true}"},
        "optimizer.steps", "steps a boolean"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: sgd, learning_rate: 0.1, steps: 10}"},
        "expected one of", "method not in the enum"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: 0}"},
        "optimizer.steps", "steps 0"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: 2.5}"},
        "optimizer.steps", "steps not an integer"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: -1, steps: 10}"},
        "optimizer.learning_rate", "learning_rate -1"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0, steps: 10}"},
        "optimizer.learning_rate", "learning_rate 0"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, steps: 10}"},
        "optimizer.learning_rate: missing", "learning_rate missing"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: momentum, momentum: 1.5, "
                                 "learning_rate: 0.1, steps: 10}"},
        "optimizer.momentum", "momentum above 1"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, momentum: 0.9, learning_rate: 0.1, "
                                 "steps: 10}"},
        "'momentum' applies to method", "momentum with gd"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: momentum, beta1: 0.9, "
                                 "learning_rate: 0.1, steps: 10}"},
        "'beta1' applies to method", "beta1 with momentum"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: adam, epsilon: 0, learning_rate: 0.1, "
                                 "steps: 10}"},
        "optimizer.epsilon", "epsilon 0"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: 10, "
                                 "tolerance: -1.0e-3}"},
        "optimizer.tolerance", "negative tolerance"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, accelerated: true, "
                                 "learning_rate: 0.1, steps: 10}"},
        "'accelerated' applies to method", "accelerated with gd"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: {initial: 0.1, "
                                 "schedule: exponential}, steps: 10}"},
        "expected one of", "schedule not in the enum"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: {schedule: inverse}, "
                                 "steps: 10}"},
        "initial: missing", "schedule without initial"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: {initial: 0.1, "
                                 "schedule: cosine, every: 10}, steps: 10}"},
        "'every' applies to schedule step", "every with cosine"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: {initial: 0.1, "
                                 "schedule: step, factor: 1.5}, steps: 10}"},
        "factor", "factor above 1"),
    bad(OBJECTIVE, {"optimizer": "optimizer: {method: gd, learning_rate: {initial: 0.1, "
                                 "rate: 2}, steps: 10}"},
        "unknown key 'rate'", "unknown key in a schedule"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {shape: [2, 2, 2, 2, 2, 2, 2]}"},
        "at most 6 dimensions", "shape with 7 dimensions"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {shape: [-1]}"},
        "parameters.w.shape", "negative dimension"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {shape: 2}"},
        "expected a list", "shape not a list"),
    bad(OBJECTIVE, {"parameters": "parameters: {}"}, "parameters", "no parameters"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {shape: [2], int: zeros}"},
        "unknown key 'int'", "unknown key in a parameter"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  2w: {}"}, "not an ASCII identifier",
        "name not an identifier"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  exp: {}"}, "is reserved",
        "name of a function"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  lambda: {}"}, "Python keyword",
        "name a keyword"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {init: 'gauss(0, 1)'}"},
        "unknown distribution", "unknown distribution"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {init: 'normal(0)'}"},
        "takes 2 argument", "distribution missing an argument"),
    bad(OBJECTIVE, {"parameters": "parameters:\n  w: {init: 'normal(0, -1)'}"},
        "std must be >= 0", "negative std"),
    bad(OBJECTIVE, {"constants": "constants: {lam: fast}"}, "constants.lam",
        "constant not a number"),
    bad(OBJECTIVE, {"constants": "constants: {k: []}"}, "constants.k: got an empty list",
        "array constant empty"),
    bad(OBJECTIVE, {"constants": "constants: {k: [[1], []]}"}, "constants.k[1]: got an empty",
        "array constant with an empty row"),
    bad(OBJECTIVE, {"constants": "constants: {k: [1, fast]}"}, "constants.k[1]",
        "array constant entry not a number"),
    bad(OBJECTIVE, {"constants": "constants: {k: [1, true]}"}, "constants.k[1]",
        "array constant entry a boolean"),
    bad(OBJECTIVE, {"constants": "constants: {k: [[[[[[[1]]]]]]]}"}, "at most 6 dimensions",
        "array constant of 7 dimensions"),
    bad(OBJECTIVE, {"constants": "constants: {k: {a: 1}}"}, "constants.k",
        "constant a mapping"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: int}}"},
        "inputs.x.range: missing", "int input without range"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], range: 3}}"},
        "'range' goes with 'dtype: int' only", "range without dtype int"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: float, range: 3}}"},
        "'range' goes with 'dtype: int' only", "range with dtype float"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: long, range: 3}}"},
        "expected one of: float, int", "dtype not in the enum"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: int, range: 0}}"},
        "inputs.x.range", "range 0"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: int, range: 1000000001}}"},
        "inputs.x.range", "range past the limit"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], dtype: int, range: 2.5}}"},
        "inputs.x.range", "range not an integer"),
    bad(SUPERVISED, {"parameters": "parameters:\n  w: {shape: [2], dtype: int, range: 3}\n"
                                   "  b: {}"},
        "only inputs can hold integer ids", "int parameter"),
    bad(SUPERVISED, {"target": "target: {y: {dtype: int, range: 2}}"},
        "only inputs can hold integer ids", "int target"),
    bad(OBJECTIVE, {"objective": "objective: '   '"}, "expected an expression",
        "blank expression"),
    bad(SUPERVISED, {"target": "target: {y: {}, z: {}}"}, "exactly one target",
        "two targets"),
    bad(SUPERVISED, {"inputs": "inputs: {x: {shape: [2], init: zeros}}"},
        "unknown key 'init'", "init on an input"),
    bad(SUPERVISED, {"reduction": "reduction: median"}, "expected one of",
        "reduction not in the enum"),
    bad(SUPERVISED, {"data": "data: {inline: {x: [[1, 2]], y: [1]}, npz: d.npz}"},
        "exactly one of", "two data sources"),
    bad(SUPERVISED, {"data": "data: {}"}, "exactly one of", "no data source"),
    bad(SUPERVISED, {"data": "data: {csv: d.csv}"}, "data.columns: missing",
        "csv without columns"),
    bad(SUPERVISED, {"data": "data: {npz: d.npz, columns: {x: [a, b], y: c}}"},
        "'columns' goes with 'csv' only", "columns with npz"),
    bad(SUPERVISED, {"data": "data: {npz: /etc/data.npz}"}, "inside the project root",
        "absolute data path"),
    bad(SUPERVISED, {"data": GENERATE + "    labels: poisson"}, "expected one of",
        "labels not in the enum"),
    bad(SUPERVISED, {"data": GENERATE.replace("n: 20", "n: 0")}, "data.generate.n",
        "generate n 0"),
    bad(SUPERVISED, {"data": GENERATE.replace("n: 20", "n: 20\n    size: 3")},
        "unknown key 'size'", "unknown key in generate"),
    bad(OBJECTIVE, {"checks": "checks: {gradients: true}"},
        "unknown key 'gradients' in checks", "unknown check key"),
    bad(OBJECTIVE, {"checks": "checks: {gradient: {examples: 0}}"},
        "checks.gradient.examples", "examples 0"),
    bad(OBJECTIVE, {"checks": f"checks: {{descent: {{examples: {defaults.MAX_EXAMPLES + 1}}}}}"},
        "checks.descent.examples", "examples past the limit"),
    bad(OBJECTIVE, {"checks": "checks: {gradient: {rtol: -1}}"}, "checks.gradient.rtol",
        "negative rtol"),
    bad(OBJECTIVE, {"checks": "checks: {convex: maybe}"}, "expected true or false",
        "convex not a boolean"),
    bad(OBJECTIVE, {"checks": "checks: {convergence: {runs: 0}}"},
        "checks.convergence.runs", "runs 0"),
    bad(OBJECTIVE, {"checks": "checks: {convergence: {criterion: loss}}"},
        "expected one of", "criterion not in the enum"),
    bad(OBJECTIVE, {"checks": "checks: {convergence: {loss_tol: -1}}"},
        "checks.convergence.loss_tol", "negative loss_tol"),
    bad(OBJECTIVE, {"checks": "checks: {descent: {rtol: 0.1}}"}, "unknown key 'rtol'",
        "a setting the check does not take"),
    bad(OBJECTIVE, {"checks": "checks: [gradient]"}, "expected a mapping",
        "checks a list"),
    bad(OBJECTIVE, {"expect": "expect: {tol: 0}"}, "expect.tol", "expect tol 0"),
    bad(OBJECTIVE, {"expect": "expect: {value: 0, within: 1}"}, "unknown key 'within'",
        "unknown key in expect"),
    bad(OBJECTIVE, {"expect": "expect: {minimum: {a: one}}"}, "expect.minimum.a",
        "expected minimum not a number"),
]


# The forms of shapes, constants and inputs beyond scalars, vectors and matrices: both accept.
GOOD_SPECS = [
    pytest.param(OBJECTIVE, {"parameters": "parameters:\n  T: {shape: [2, 1, 2, 1, 2, 1]}",
                             "objective": "objective: sum(T**2)"}, id="shape of 6 dimensions"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {x: {shape: [2]}, X: {shape: [2, 3, 4]}}",
                              "target": "target: {y: {shape: [1, 1, 1]}}"},
                 id="input and target of 3 dimensions"),
    pytest.param(OBJECTIVE, {"constants": "constants: {lam: 0.5, Sigma: [[2, 0.5], [0.5, 1]], "
                                          "k: [1, -2, 1], T: [[[[[[1.0e-3]]]]]]}"},
                 id="array constants"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {x: {shape: [2]}, token: {shape: [20], "
                                        "dtype: int, range: 1000}, z: {dtype: float}, "
                                        "one: {dtype: int, range: 1000000000}}"},
                 id="integer inputs"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {x: {shape: [2]}, token: {dtype: int, "
                                        "range: 5}}",
                              "data": GENERATE}, id="generate leaving an id input out"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {token: {dtype: int, range: 5}}",
                              "data": GENERATE.replace("    inputs: {x: 'normal(0, 1)'}\n", "")},
                 id="generate without inputs"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {x: {shape: [2, 2, 2]}}",
                              "data": "data: {inline: {x: [[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]], "
                                      "y: [1]}}"}, id="inline data of 3 dimensions"),
    pytest.param(SUPERVISED, {"inputs": "inputs: {x: {shape: [2, 2]}}",
                              "data": "data: {csv: d.csv, columns: {x: [a, b, c, d], y: y}}"},
                 id="csv columns of a matrix"),
]


@pytest.mark.parametrize(("base", "sections"), GOOD_SPECS)
def test_the_new_forms_are_accepted_by_the_loader_and_the_schema(base, sections, tmp_path):
    text = assemble(base, sections)
    gdcheck.load(write(text, tmp_path))
    assert_valid(text, "a new form")


def write(text: str, folder: Path) -> Path:
    path = folder / "spec.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("base", [OBJECTIVE, SUPERVISED], ids=["objective", "supervised"])
def test_the_base_specs_are_valid_for_both(base, tmp_path):
    text = assemble(base, {})
    gdcheck.load(write(text, tmp_path))
    assert_valid(text, "base spec")


@pytest.mark.parametrize(("base", "sections", "fragment"), BAD_SPECS)
def test_a_structurally_bad_spec_is_refused_by_the_loader_and_the_schema(base, sections,
                                                                        fragment, tmp_path):
    text = assemble(base, sections)
    with pytest.raises(SpecError, match=re.escape(fragment)):
        gdcheck.load(write(text, tmp_path))
    assert problems(yaml.safe_load(text)), "the loader refuses it but the schema accepts it"


def test_the_table_of_bad_specs_is_large_and_each_row_distinct():
    assert len(BAD_SPECS) >= 15
    texts = [assemble(row.values[0], row.values[1]) for row in BAD_SPECS]
    assert len(set(texts)) == len(texts)


# What a spec's data must hold is checked when it is compiled; the schema sees it at once.
COMPILE_REFUSED = [
    pytest.param({"data": GENERATE + "    noise: normal(0, 0.1)\n    labels: bernoulli"},
                 "'noise' cannot go with 'labels", id="noise with labels"),
    pytest.param({"data": GENERATE.replace("    truth: {w: [1.0, -1.0], b: 0.0}\n", "")},
                 "missing parameter 'w'", id="generate without truth"),
]


@pytest.mark.parametrize(("sections", "fragment"), COMPILE_REFUSED)
def test_data_the_compiler_refuses_the_schema_refuses_at_once(sections, fragment, tmp_path):
    text = assemble(SUPERVISED, sections)
    spec = gdcheck.load(write(text, tmp_path))
    with pytest.raises(SpecError, match=re.escape(fragment)):
        gdcheck.compile(spec)
    assert problems(yaml.safe_load(text))


# ----------------------------------------------------------------- the same rules as the loader


def accepted_by_loader(check: Any, value: str) -> bool:
    try:
        check(value, HERE)
    except SpecError:
        return False
    return True


def accepted_by_schema(definition: str, value: str) -> bool:
    document = {"$defs": schema()["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(document).is_valid(value)


@pytest.mark.parametrize("text", [
    "normal(0, 1)", "normal(-2.5, 0.5)", "normal( 0 ,1 )", "normal(1e-3, 2.0e+1)",
    "normal(.5, 1.)", "uniform(-1, 1)", "uniform(0, 0)", "constant(3)", "constant(-0.25)",
    "zeros", "zeros()", " zeros ",
    "normal(0, -1)", "normal(0)", "normal(0, 1, 2)", "normal(0, 1", "gauss(0, 1)",
    "uniform(-1", "normal(0, 1) + 1", "normal(a, 1)", "normal(0, --1)", "constant(1j)",
    "zeros(1)", "Normal(0, 1)", "", "normal(0, True)",
])
def test_a_distribution_is_accepted_by_the_schema_exactly_when_by_the_loader(text):
    assert accepted_by_schema("distribution", text) == accepted_by_loader(
        parse_distribution, text)


@pytest.mark.parametrize("name", [
    "w", "W1", "b_2", "theta", "match", "case", "type", "Lambda",
    "_w", "2w", "w-1", "w.x", "é", "", "lambda", "None", "True", "exp", "sum", "pi", "e",
    "y_pred", "log_softmax",
])
def test_a_name_is_accepted_by_the_schema_exactly_when_by_the_loader(name):
    assert accepted_by_schema("name", name) == accepted_by_loader(
        name_checker("parameter"), name)


def test_the_reserved_names_are_the_languages_and_pythons():
    reserved = schema()["$defs"]["name"]["not"]["enum"]
    assert set(reserved) == set(RESERVED_NAMES) | set(keyword.kwlist)


def test_the_enumerations_are_the_loaders():
    document = schema()
    optimizer = document["properties"]["optimizer"]["properties"]
    assert optimizer["method"]["enum"] == list(OPTIMIZER_METHODS)
    schedule = document["$defs"]["learning_rate_schedule"]["properties"]["schedule"]
    assert schedule["enum"] == list(defaults.SCHEDULES)
    assert list(document["properties"]) == list(TOP_KEYS)
    assert list(document["properties"]["checks"]["properties"]) == list(CHECK_KEYS)
    convergence = document["properties"]["checks"]["properties"]["convergence"]
    assert list(convergence["properties"]) == [f.name for f in fields(ConvergenceCheck)]
    tolerance = document["$defs"]["tolerance_check"]["properties"]
    assert list(tolerance) == [f.name for f in fields(ToleranceCheck)]


def test_the_defaults_and_bounds_are_the_loaders():
    document = schema()
    top, defs = document["properties"], document["$defs"]
    optimizer = top["optimizer"]["properties"]
    assert optimizer["steps"]["maximum"] == defaults.MAX_STEPS
    assert optimizer["tolerance"]["default"] == defaults.TOLERANCE
    assert (optimizer["momentum"]["default"], optimizer["beta1"]["default"],
            optimizer["beta2"]["default"], optimizer["epsilon"]["default"]) == (
        defaults.MOMENTUM, defaults.BETA1, defaults.BETA2, defaults.EPSILON)
    convergence = top["checks"]["properties"]["convergence"]["properties"]
    for setting in fields(ConvergenceCheck):
        assert convergence[setting.name]["default"] == setting.default, setting.name
    assert convergence["runs"]["maximum"] == defaults.MAX_RUNS
    tolerance = defs["tolerance_check"]["properties"]
    assert (tolerance["rtol"]["default"], tolerance["atol"]["default"]) == (defaults.RTOL,
                                                                             defaults.ATOL)
    assert defs["check_examples"]["default"] == defaults.EXAMPLES
    assert defs["check_examples"]["maximum"] == defaults.MAX_EXAMPLES
    assert top["data"]["properties"]["generate"]["properties"]["n"]["maximum"] == \
        defaults.MAX_SAMPLES
    assert top["name"]["maxLength"] == defaults.MAX_SPEC_NAME
    assert defs["shape"]["maxItems"] == defaults.MAX_SHAPE_RANK
    assert defs["expression"]["anyOf"][0]["maxLength"] == defaults.MAX_EXPRESSION_LENGTH
    assert defs["parameter"]["properties"]["init"]["default"] == defaults.INIT
    assert top["reduction"]["default"] == defaults.REDUCTION
    assert top["expect"]["properties"]["tol"]["default"] == defaults.EXPECT_TOL


# where the schema declares what a key is; conditions (if, oneOf, not) only restrict keys
_DECLARING = ("properties", "$defs", "additionalProperties", "items", "anyOf")


def described_properties(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every property the schema declares, with its path."""
    if not isinstance(node, dict):
        return
    for name, value in node.get("properties", {}).items():
        yield f"{path}.{name}", value
    for key in _DECLARING:
        inner = node.get(key)
        children = (inner.items() if isinstance(inner, dict) and key in ("properties", "$defs")
                    else enumerate(inner) if isinstance(inner, list) else [(key, inner)])
        for name, value in children:
            yield from described_properties(value, f"{path}/{name}")


def test_every_property_has_a_description_for_hover_text():
    document = schema()
    assert document["title"] and document["description"]
    for path, value in described_properties(document):
        if value is False:   # a key forbidden in one branch, described where it is allowed
            continue
        target = value
        if "$ref" in value and "description" not in value:
            target = document["$defs"][value["$ref"].rsplit("/", 1)[1]]
        assert target.get("description"), f"{path} has no description"


# ----------------------------------------------------------------- schema.py


def test_the_schema_is_shipped_as_package_data_and_read_from_it():
    assert SCHEMA_PATH.name == "schema.json" and SCHEMA_PATH.is_file()
    assert schema_text() == SCHEMA_PATH.read_text(encoding="utf-8")
    assert schema() == json.loads(schema_text())
    assert schema_text().endswith("}\n")


def test_reading_the_schema_imports_no_sympy():
    code = ("import sys, gdcheck.spec.schema as s; s.schema(); "
            "sys.exit('sympy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
