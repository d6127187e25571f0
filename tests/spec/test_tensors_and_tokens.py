"""Tests for three forms of the spec format: shapes of any rank up to 6, array constants,
and inputs of integer ids (gdcheck/spec/declarations.py, the data loaders' shapes and
`datacheck.check_ids`).

Specs are assembled from sections, as in test_spec.py; invalid specs are tables of
(sections, field, message fragment). Loaded data are compared with arrays built by hand
with numpy (`reshape`, the seeded generator's own draws).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcheck import defaults
from gdcheck.errors import DataError, Location, SpecError
from gdcheck.spec import Variable, load, parse
from gdcheck.spec import declarations as declarations_module
from gdcheck.spec.data import load_data

FILE = Path("s.yaml")

BASE = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "constants": None,
    "parameters": "parameters:\n  w: {shape: [2]}",
    "inputs": "inputs:\n  x: {shape: [2]}",
    "target": "target: {y: {}}",
    "model": "model: dot(w, x)",
    "loss": "loss: (y_pred - y)**2",
    "data": "data: {inline: {x: [[1, 2]], y: [0]}}",
    "optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: 10}",
}


def spec(**sections: str | None) -> str:
    """The base spec with sections replaced, added, or (None) removed."""
    merged = {**BASE, **sections}
    return "\n".join(text for text in merged.values() if text is not None) + "\n"


def refused(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse(text, FILE)
    return caught.value


def write_spec(folder: Path, text: str, files: dict[str, Any] | None = None) -> Path:
    """The spec and its data files in `folder` (an npz from a dict of arrays)."""
    for name, content in (files or {}).items():
        if isinstance(content, dict):
            np.savez(folder / name, **content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    path = folder / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def loaded(folder: Path, text: str, files: dict[str, Any] | None = None,
           model: Any = None) -> dict[str, np.ndarray]:
    return load_data(load(write_spec(folder, text, files)), model)


def data_error(folder: Path, text: str, files: dict[str, Any] | None = None,
               model: Any = None) -> DataError:
    with pytest.raises(DataError) as caught:
        loaded(folder, text, files, model)
    return caught.value


# ----------------------------------------------------------------- shapes of any rank


def test_the_rank_limit_is_six() -> None:
    assert defaults.MAX_SHAPE_RANK == 6


SECTIONS = {
    "parameters": lambda shape: {"parameters": f"parameters:\n  w: {{shape: {shape}}}"},
    "inputs": lambda shape: {"inputs": f"inputs:\n  x: {{shape: {shape}}}"},
    "target": lambda shape: {"target": f"target:\n  y: {{shape: {shape}}}"},
}


@pytest.mark.parametrize("section", list(SECTIONS))
@pytest.mark.parametrize("rank", range(7))
def test_a_shape_may_have_any_rank_up_to_six(section: str, rank: int) -> None:
    shape = [2, 1, 3, 1, 2, 1][:rank]
    loaded_spec = parse(spec(**SECTIONS[section](shape)), FILE)
    variable = {"parameters": loaded_spec.parameters[0], "inputs": loaded_spec.inputs[0],
                "target": loaded_spec.target}[section]
    assert variable is not None and variable.shape == tuple(shape)
    assert variable.size == int(np.prod(shape))


@pytest.mark.parametrize(("section", "field"), [
    ("parameters", "parameters.w.shape"), ("inputs", "inputs.x.shape"),
    ("target", "target.y.shape"),
])
def test_a_seventh_dimension_is_refused_naming_the_field(section: str, field: str) -> None:
    error = refused(spec(**SECTIONS[section]([1, 2, 1, 2, 1, 2, 1])))
    assert error.location.field == field
    assert "got a list of 7 dimensions" in error.message
    assert "at most 6 dimensions" in error.message


def test_the_entry_limit_holds_at_every_rank() -> None:
    error = refused(spec(parameters="parameters:\n  w: {shape: [100, 100, 100, 100, 100, 100]}"))
    assert error.location.field == "parameters.w.shape"
    assert "1,000,000,000,000 entries; at most 100,000,000" in error.message


RANK3 = spec(parameters="parameters:\n  T: {shape: [2, 3, 4]}",
             inputs="inputs:\n  X: {shape: [2, 3, 4]}", model="model: sum(T * X)",
             data="data:\n{data}")


def rank3(data: str) -> str:
    return RANK3.replace("{data}", textwrap.indent(textwrap.dedent(data).strip(), "  "))


def product_model(parameters: dict[str, np.ndarray], inputs: dict[str, np.ndarray]
                  ) -> np.ndarray:
    return (parameters["T"] * inputs["X"]).sum(axis=(1, 2, 3))


def test_rank_three_inline_data_are_the_nested_lists_reshaped(tmp_path: Path) -> None:
    samples = np.arange(2 * 24, dtype=float).reshape(2, 2, 3, 4) / 4
    arrays = loaded(tmp_path, rank3(f"inline: {{X: {samples.tolist()}, y: [1, 2]}}"))
    flat = [value / 4 for value in range(48)]   # row-major, written out by hand
    np.testing.assert_array_equal(arrays["X"], np.reshape(flat, (2, 2, 3, 4)))
    assert arrays["X"].dtype == np.float64 and arrays["y"].shape == (2,)


def test_rank_three_npz_data_are_the_arrays_of_shape_n_by_shape(tmp_path: Path) -> None:
    stored = np.arange(3 * 24, dtype=np.int32).reshape(3, 2, 3, 4)
    arrays = loaded(tmp_path, rank3("npz: d.npz"),
                    {"d.npz": {"X": stored, "y": np.array([1.0, 2.0, 3.0])}})
    np.testing.assert_array_equal(arrays["X"], np.arange(72.0).reshape(3, 2, 3, 4))
    assert arrays["X"].dtype == np.float64


def test_rank_three_generated_data_are_the_seeded_draws_in_the_declared_shape(
        tmp_path: Path) -> None:
    truth = np.arange(24.0).reshape(2, 3, 4) / 10
    text = rank3(f"""
        generate:
          n: 5
          seed: 11
          inputs: {{X: 'normal(0, 2)'}}
          truth: {{T: {truth.tolist()}}}
    """)
    arrays = loaded(tmp_path, text, model=product_model)
    expected = np.random.default_rng(11).normal(0, 2, size=(5, 2, 3, 4))
    np.testing.assert_array_equal(arrays["X"], expected)
    np.testing.assert_allclose(arrays["y"], (expected * truth).sum(axis=(1, 2, 3)))


def test_rank_three_csv_columns_fill_the_shape_row_major(tmp_path: Path) -> None:
    names = [f"c{k}" for k in range(24)]
    header = ["y", *reversed(names)]   # the order in the file does not matter: names do
    rows = [[str(10.0 * i)] + [str(100 * i + k) for k in reversed(range(24))] for i in range(3)]
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    arrays = loaded(tmp_path, rank3(f"{{csv: d.csv, columns: {{X: [{', '.join(names)}], y: y}}}}"),
                    {"d.csv": text})
    expected = np.array([100 * i + np.arange(24) for i in range(3)], float).reshape(3, 2, 3, 4)
    np.testing.assert_array_equal(arrays["X"], expected)
    assert arrays["X"][2, 1, 2, 3] == 223.0   # X[1, 2, 3] is entry 1*12 + 2*4 + 3 = 23
    np.testing.assert_array_equal(arrays["y"], [0.0, 10.0, 20.0])


RANK3_ERRORS = [
    pytest.param("{csv: d.csv, columns: {X: [a, b, c], y: y}}", {"d.csv": "a,b,c,y\n1,2,3,4\n"},
                 "data.columns.X: 'X' has shape [2, 3, 4], so it needs 24 column(s); got 3",
                 id="csv-columns"),
    pytest.param("inline: {X: [[[[1, 2, 3], [1, 2, 3], [1, 2, 3]], [[1, 2, 3, 4], [1, 2, 3, 4], "
                 "[1, 2, 3, 4]]]], y: [0]}", {},
                 "data.inline.X[0]: 'X' row index 0: got a list of 3, expected 4 (declared "
                 "shape [2, 3, 4])", id="inline-inner-length"),
    pytest.param("npz: d.npz", {"d.npz": {"X": np.ones((3, 2, 3)), "y": np.ones(3)}},
                 "has shape (3, 2, 3); expected (3, 2, 3, 4)", id="npz-rank-2-for-3"),
    pytest.param("generate: {n: 2, inputs: {X: zeros}, truth: {T: [[1, 2], [3, 4]]}}", {},
                 "'T' has shape [2, 2] but is declared with shape [2, 3, 4]", id="truth-shape"),
]


@pytest.mark.parametrize(("data", "files", "fragment"), RANK3_ERRORS)
def test_rank_three_data_of_the_wrong_shape_is_refused(tmp_path: Path, data: str,
                                                       files: dict[str, Any],
                                                       fragment: str) -> None:
    error = data_error(tmp_path, rank3(data), files, product_model)
    assert fragment in str(error)


# ----------------------------------------------------------------- array constants


CONSTANTS = """constants:
  lam: 0.5
  Sigma: [[2, 0.5], [0.5, 1]]
  k: [1, -2, 1]
  scale: 3"""


def test_array_constants_are_read_only_float64_arrays_in_declaration_order() -> None:
    loaded_spec = parse(spec(constants=CONSTANTS), FILE)
    assert loaded_spec.constants == {"lam": 0.5, "scale": 3.0}   # the numbers only, as before
    assert list(loaded_spec.arrays) == ["Sigma", "k"]
    sigma, k = loaded_spec.arrays["Sigma"], loaded_spec.arrays["k"]
    np.testing.assert_array_equal(sigma, np.array([2, 0.5, 0.5, 1]).reshape(2, 2))
    np.testing.assert_array_equal(k, [1.0, -2.0, 1.0])
    assert sigma.dtype == np.float64 and k.dtype == np.float64
    assert not sigma.flags.writeable and not k.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        sigma[0, 0] = 5.0
    locations = loaded_spec.array_locations
    assert [(locations[n].line, locations[n].field) for n in ("Sigma", "k")] == [
        (5, "constants.Sigma"), (6, "constants.k")]
    assert list(loaded_spec.constant_locations) == ["lam", "scale"]


def test_a_spec_without_array_constants_has_none() -> None:
    loaded_spec = parse(spec(constants="constants: {lam: 0.5}"), FILE)
    assert loaded_spec.arrays == {} and loaded_spec.array_locations == {}
    assert parse(spec(), FILE).arrays == {}


@pytest.mark.parametrize(("value", "shape"), [
    ("[7]", (1,)), ("[[1, 2, 3]]", (1, 3)), ("[[[1], [2]], [[3], [4]]]", (2, 2, 1)),
    ("[[[[[[1, 2]]]]]]", (1, 1, 1, 1, 1, 2)), ("[1.0e-3, -0.0, 100000]", (3,)),
])
def test_an_array_constant_takes_the_shape_of_its_nesting(value: str, shape: tuple[int, ...]
                                                           ) -> None:
    array = parse(spec(constants=f"constants: {{A: {value}}}"), FILE).arrays["A"]
    assert array.shape == shape
    written = value.replace("[", "").replace("]", "").split(",")
    np.testing.assert_array_equal(array, np.reshape([float(v) for v in written], shape))


def test_an_array_constant_in_block_style() -> None:
    text = spec(constants="constants:\n  M:\n    - [1, 2]\n    - [3, 4]\n  c: 2")
    loaded_spec = parse(text, FILE)
    np.testing.assert_array_equal(loaded_spec.arrays["M"], [[1.0, 2.0], [3.0, 4.0]])
    assert loaded_spec.constants == {"c": 2.0}


ARRAY_ERRORS = [
    ("{S: [[2, 0.5], [0.5, 1, 3]]}", "constants.S", "is ragged: row 2 has 3 entries, row 1 has 2"),
    ("{S: [[1, 2], [3, 4], [5]]}", "constants.S", "row 3 has 1 entry, row 1 has 2"),
    ("{T: [[[1], [2]], [[1, 2], [3, 4]]]}", "constants.T",
     "row 2 has shape [2, 2], row 1 has shape [2, 1]"),
    ("{T: [[[1, 2]], [[3, 4], [5]]]}", "constants.T[1]", "row 2 has 1 entry, row 1 has 2"),
    ("{k: [1, [2]]}", "constants.k", "row 2 is a list of 1, row 1 is a number"),
    ("{k: [[1, 2], 3]}", "constants.k", "row 2 is a number, row 1 is a list of 2"),
    ("{k: [1, a]}", "constants.k[1]", "got 'a', expected a number"),
    ("{k: [1, '2']}", "constants.k[1]", "got '2', expected a number"),
    ("{k: [1, true]}", "constants.k[1]", "got the boolean true, expected a number"),
    ("{k: [1, null]}", "constants.k[1]", "got nothing, expected a number"),
    ("{k: [[1, {a: 1}]]}", "constants.k[0][1]", "got a mapping, expected a number"),
    ("{k: [1, .inf]}", "constants.k[1]", "got inf, expected a finite number"),
    ("{k: [[-.inf]]}", "constants.k[0][0]", "got -inf, expected a finite number"),
    ("{k: [.nan]}", "constants.k[0]", "got nan, expected a finite number"),
    ("{k: [1" + "0" * 400 + "]}", "constants.k[0]", "expected a number between"),
    ("{k: []}", "constants.k", "got an empty list, expected numbers"),
    ("{k: [[], []]}", "constants.k[0]", "got an empty list, expected numbers"),
    ("{k: [[[[[[[1]]]]]]]}", "constants.k[0][0][0][0][0][0]",
     "is nested more than 6 deep; an array constant has at most 6 dimensions"),
    ("{pi: [3, 1, 4]}", "constants.pi", "is reserved"),
    ("{sum: [1]}", "constants.sum", "is reserved"),
    ("{2k: [1]}", "constants.2k", "not an ASCII identifier"),
]


@pytest.mark.parametrize(("constants", "field", "fragment"), ARRAY_ERRORS)
def test_a_bad_array_constant_is_refused_naming_file_line_and_field(constants: str, field: str,
                                                                     fragment: str) -> None:
    error = refused(spec(constants=f"constants: {constants}"))
    assert (error.location.field, error.location.line) == (field, 3)
    assert fragment in error.message
    assert str(error).startswith(f"s.yaml:3: {field}: ")


@pytest.mark.parametrize(("sections", "field", "fragment"), [
    ({"constants": "constants: {w: [1, 2]}"}, "parameters.w",
     "'w' is declared twice (first at line 3, as constants.w)"),
    ({"constants": "constants: {x: [[1, 0], [0, 1]]}"}, "inputs.x",
     "'x' is declared twice (first at line 3, as constants.x)"),
    ({"constants": "constants: {k: [1, 2], k2: 3}", "target": "target: {k: {}}"}, "target.k",
     "'k' is declared twice (first at line 3, as constants.k)"),
    ({"constants": "constants: {lam: 1, lam2: [1], lam: [2]}"}, "constants.lam",
     "duplicate key 'lam'"),
])
def test_an_array_constant_is_declared_once_across_the_spec(sections: dict[str, str],
                                                            field: str, fragment: str) -> None:
    error = refused(spec(**sections))
    assert error.location.field == field and fragment in error.message


def test_a_ragged_row_is_named_on_its_own_line() -> None:
    error = refused(spec(constants="constants:\n  S:\n    - [1, 2]\n    - [3, 4]\n"
                                   "    - [5, 6, 7]"))
    assert (error.location.line, error.location.field) == (7, "constants.S")
    assert "row 3 has 3 entries, row 1 has 2" in error.message


def test_an_array_constant_past_the_entry_limit_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(declarations_module, "MAX_SCALARS", 5)
    error = refused(spec(constants="constants: {k: [[1, 2, 3], [4, 5, 6]]}"))
    assert error.location.field == "constants.k"
    assert "has 6 entries; at most 5 are allowed" in error.message
    assert parse(spec(constants="constants: {k: [1, 2, 3, 4, 5]}"), FILE).arrays["k"].size == 5


# ----------------------------------------------------------------- integer inputs


TOKENS = "inputs:\n  token: {shape: [20], dtype: int, range: 1000}\n  x: {}"


def test_an_input_of_integer_ids_has_its_dtype_and_range() -> None:
    loaded_spec = parse(spec(inputs=TOKENS), FILE)
    token, x = loaded_spec.inputs
    assert (token.name, token.shape, token.dtype, token.range) == ("token", (20,), "int", 1000)
    assert (x.dtype, x.range) == ("float", None)
    assert (loaded_spec.parameters[0].dtype, loaded_spec.parameters[0].range) == ("float", None)
    assert loaded_spec.target is not None and loaded_spec.target.dtype == "float"


@pytest.mark.parametrize(("entry", "shape", "dtype", "ids"), [
    ("token: {dtype: int, range: 5}", (), "int", 5),
    ("token: {dtype: int, range: 1}", (), "int", 1),
    (f"token: {{dtype: int, range: {10**9}}}", (), "int", 10**9),
    ("token: {shape: [2, 3], dtype: int, range: 7}", (2, 3), "int", 7),
    ("x: {dtype: float}", (), "float", None),
    ("x:\n    shape: [2]\n    dtype: float", (2,), "float", None),
])
def test_dtype_and_range_of_an_input(entry: str, shape: tuple[int, ...], dtype: str,
                                     ids: int | None) -> None:
    variable = parse(spec(inputs=f"inputs:\n  {entry}"), FILE).inputs[0]
    assert (variable.shape, variable.dtype, variable.range) == (shape, dtype, ids)


def test_a_variable_made_without_the_new_fields_is_a_float() -> None:
    variable = Variable("w", (2,), Location("s.yaml", 1, "parameters.w"))
    assert (variable.dtype, variable.range) == ("float", None)


INT_ERRORS = [
    ({"inputs": "inputs: {token: {dtype: int}}"}, "inputs.token.range",
     "missing (required with dtype: int)"),
    ({"inputs": "inputs: {x: {range: 10}}"}, "inputs.x.range",
     "'range' goes with 'dtype: int' only"),
    ({"inputs": "inputs: {x: {dtype: float, range: 10}}"}, "inputs.x.range",
     "'range' goes with 'dtype: int' only"),
    ({"inputs": "inputs: {token: {dtype: integer, range: 3}}"}, "inputs.token.dtype",
     "expected one of: float, int (did you mean 'int'?)"),
    ({"inputs": "inputs: {token: {dtype: int, range: 0}}"}, "inputs.token.range",
     "got 0, expected an integer >= 1 and <= 1,000,000,000"),
    ({"inputs": f"inputs: {{token: {{dtype: int, range: {10**9 + 1}}}}}"},
     "inputs.token.range", "expected an integer >= 1 and <= 1,000,000,000"),
    ({"inputs": "inputs: {token: {dtype: int, range: 2.5}}"}, "inputs.token.range",
     "got 2.5, expected an integer"),
    ({"inputs": "inputs: {token: {dtype: int, range: true}}"}, "inputs.token.range",
     "got the boolean true"),
    ({"inputs": "inputs: {token: {dtype: int, range: '10'}}"}, "inputs.token.range", "got '10'"),
    ({"parameters": "parameters: {w: {shape: [2], dtype: int, range: 3}}"}, "parameters.w.dtype",
     "only inputs can hold integer ids; a parameter is always a float"),
    ({"parameters": "parameters: {w: {shape: [2], range: 3}}"}, "parameters.w.range",
     "only inputs can hold integer ids"),
    ({"parameters": "parameters: {w: {shape: [2], dtype: float}}"}, "parameters.w.dtype",
     "only inputs can hold integer ids"),
    ({"target": "target: {y: {dtype: int, range: 2}}"}, "target.y.dtype",
     "only inputs can hold integer ids; a target is always a float"),
    ({"inputs": "inputs: {token: {dtype: int, rnage: 3}}"}, "inputs.token.rnage",
     "did you mean 'range'?"),
]


@pytest.mark.parametrize(("sections", "field", "fragment"), INT_ERRORS)
def test_a_bad_integer_input_is_refused_naming_the_field(sections: dict[str, str], field: str,
                                                         fragment: str) -> None:
    error = refused(spec(**sections))
    assert error.location.field == field and error.location.line is not None
    assert fragment in error.message


# Integer data: a spec with ids (`token`, 20 samples by default) and a float input.
IDS = spec(parameters="parameters:\n  E: {shape: [1000]}\n  w: {}",
           inputs="inputs:\n  token: {dtype: int, range: 1000}\n  x: {}",
           model="model: w * x", data="data:\n{data}")


def ids_spec(data: str, inputs: str | None = None) -> str:
    text = IDS if inputs is None else IDS.replace(
        "inputs:\n  token: {dtype: int, range: 1000}\n  x: {}", inputs)
    return text.replace("{data}", textwrap.indent(textwrap.dedent(data).strip(), "  "))


def id_model(parameters: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> np.ndarray:
    return parameters["E"][inputs["token"].astype(int)] + parameters["w"] * inputs["x"]


E_TRUTH = f"truth: {{E: {[0.5] * 1000}, w: 2}}"


def test_integer_ids_from_inline_data_are_float64_whole_numbers(tmp_path: Path) -> None:
    arrays = loaded(tmp_path, ids_spec("inline: {token: [0, 999, 17], x: [1, 2, 3], "
                                       "y: [0, 0, 0]}"))
    np.testing.assert_array_equal(arrays["token"], [0.0, 999.0, 17.0])
    assert arrays["token"].dtype == np.float64


@pytest.mark.parametrize(("token", "fragment"), [
    ("[0, 1003, 5]", "data.inline.token[1]: sample 1: token = 1003 is outside 0..999 "
                     "(range: 1000)"),
    ("[0, 1, -1]", "data.inline.token[2]: sample 2: token = -1 is outside 0..999"),
    ("[2.5, 1, 2]", "data.inline.token[0]: sample 0: token = 2.5 is not an integer id "
                    "(range: 1000)"),
    ("[1000, 1, 2]", "sample 0: token = 1000 is outside 0..999"),
    ("[3.0000001, 1, 2]", "token = 3.0000001 is not an integer id"),
])
def test_an_inline_id_out_of_range_or_fractional_is_refused_naming_the_sample(
        tmp_path: Path, token: str, fragment: str) -> None:
    error = data_error(tmp_path, ids_spec(f"inline: {{token: {token}, x: [1, 2, 3], "
                                          "y: [0, 0, 0]}"))
    assert fragment in str(error)


def test_a_vector_of_ids_names_the_entry(tmp_path: Path) -> None:
    inputs = "inputs:\n  token: {shape: [2, 3], dtype: int, range: 10}\n  x: {}"
    good = [[[1, 2, 3], [4, 5, 6]], [[0, 9, 9], [9, 9, 9]]]
    arrays = loaded(tmp_path, ids_spec(f"inline: {{token: {good}, x: [1, 2], y: [0, 0]}}",
                                       inputs))
    np.testing.assert_array_equal(arrays["token"], np.array(good, float))
    bad = [[[1, 2, 3], [4, 5, 6]], [[0, 9, 9], [9, 10, 9]]]
    error = data_error(tmp_path, ids_spec(f"inline: {{token: {bad}, x: [1, 2], y: [0, 0]}}",
                                          inputs))
    assert "sample 1: token[1, 1] = 10 is outside 0..9 (range: 10)" in str(error)


def npz_ids(token: np.ndarray) -> dict[str, Any]:
    return {"d.npz": {"token": token, "x": np.ones(len(token)), "y": np.zeros(len(token))}}


def test_npz_ids_of_an_integer_dtype_load_as_floats(tmp_path: Path) -> None:
    token = np.arange(20, dtype=np.int64) * 50
    arrays = loaded(tmp_path, ids_spec("npz: d.npz"), npz_ids(token))
    np.testing.assert_array_equal(arrays["token"], token.astype(float))
    assert arrays["token"].dtype == np.float64


@pytest.mark.parametrize(("value", "problem"), [
    (1003, "token = 1003 is outside 0..999 (range: 1000)"),
    (2.5, "token = 2.5 is not an integer id"),
])
def test_an_npz_id_is_refused_naming_the_array_and_the_sample(tmp_path: Path, value: float,
                                                              problem: str) -> None:
    token = np.arange(20, dtype=float)
    token[17] = value
    error = data_error(tmp_path, ids_spec("npz: d.npz"), npz_ids(token))
    assert f"array 'token' in {tmp_path / 'd.npz'}, sample 17: {problem}" in str(error)
    assert error.location.field == "data.npz"


def csv_ids(tokens: list[str], blank_before: int = 10) -> str:
    """20 rows of token, x, y; a blank line before row `blank_before` (blank rows are not
    counted as rows, so from there a row's line is its number + 2)."""
    lines = ["token,x,y"]
    for row, token in enumerate(tokens, start=1):
        if row == blank_before:
            lines.append("")
        lines.append(f"{token},{row},0")
    return "\n".join(lines) + "\n"


CSV_IDS = "{csv: d.csv, columns: {token: token, x: x, y: y}}"


def test_csv_ids_load_as_floats(tmp_path: Path) -> None:
    tokens = [str(7 * row) for row in range(20)]
    arrays = loaded(tmp_path, ids_spec(CSV_IDS), {"d.csv": csv_ids(tokens)})
    np.testing.assert_array_equal(arrays["token"], [7.0 * row for row in range(20)])


@pytest.mark.parametrize(("row", "cell", "message"), [
    (17, "1003", "row 17 (line 19), column 'token': token = 1003 is outside 0..999 "
                 "(range: 1000)"),
    (2, "2.5", "row 2 (line 3), column 'token': token = 2.5 is not an integer id"),
    (20, "-3", "row 20 (line 22), column 'token': token = -3 is outside 0..999"),
])
def test_a_csv_id_is_refused_naming_the_file_row_line_and_column(
        tmp_path: Path, row: int, cell: str, message: str) -> None:
    tokens = ["1"] * 20
    tokens[row - 1] = cell
    error = data_error(tmp_path, ids_spec(CSV_IDS), {"d.csv": csv_ids(tokens)})
    assert f"{tmp_path / 'd.csv'}: {message}" in str(error)
    assert error.location.field == "data.csv"


def test_csv_ids_of_a_vector_name_the_column_of_the_entry(tmp_path: Path) -> None:
    inputs = "inputs:\n  token: {shape: [2], dtype: int, range: 5}\n  x: {}"
    text = "a,b,x,y\n1,2,0,0\n3,5,0,0\n"
    error = data_error(tmp_path, ids_spec("{csv: d.csv, columns: {token: [a, b], x: x, y: y}}",
                                          inputs), {"d.csv": text})
    assert "row 2 (line 3), column 'b': token[1] = 5 is outside 0..4 (range: 5)" in str(error)


def generated(folder: Path, seed: int, inputs: str = "inputs: {x: 'normal(0, 1)'}",
              n: int = 50) -> dict[str, np.ndarray]:
    text = ids_spec(f"generate: {{n: {n}, seed: {seed}, {inputs}, {E_TRUTH}}}")
    return loaded(folder, text, model=id_model)


def test_generated_ids_are_uniform_within_range_and_the_seeds_draws(tmp_path: Path) -> None:
    arrays = generated(tmp_path, seed=3, n=2000)
    token = arrays["token"]
    assert token.dtype == np.float64 and token.shape == (2000,)
    assert np.all(token == np.floor(token)) and token.min() >= 0 and token.max() <= 999
    assert len(np.unique(token)) > 800   # uniform over 1000 ids, not a few of them
    # by hand: the inputs are drawn in declaration order, token first, from the seed
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(token, rng.integers(0, 1000, size=2000).astype(float))
    np.testing.assert_array_equal(arrays["x"], rng.normal(0, 1, size=2000))
    np.testing.assert_allclose(arrays["y"], 0.5 + 2 * arrays["x"])


def test_generated_ids_are_reproducible_and_seed_dependent(tmp_path: Path) -> None:
    first, again = generated(tmp_path, seed=8), generated(tmp_path, seed=8)
    other = generated(tmp_path, seed=9)
    np.testing.assert_array_equal(first["token"], again["token"])
    np.testing.assert_array_equal(first["x"], again["x"])
    assert not np.array_equal(first["token"], other["token"])


def test_ids_of_any_shape_and_range_one_are_generated(tmp_path: Path) -> None:
    inputs = ("inputs:\n  token: {shape: [2, 3], dtype: int, range: 7}\n"
              "  zero: {dtype: int, range: 1}\n  x: {}")
    text = ids_spec(f"generate: {{n: 40, seed: 1, inputs: {{x: zeros}}, {E_TRUTH}}}", inputs)
    arrays = loaded(tmp_path, text, model=lambda p, x: p["w"] * x["x"])
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(arrays["token"], rng.integers(0, 7, size=(40, 2, 3)))
    np.testing.assert_array_equal(arrays["zero"], np.zeros(40))


def test_a_spec_whose_inputs_are_all_ids_may_leave_generate_inputs_out(tmp_path: Path) -> None:
    inputs = "inputs:\n  token: {dtype: int, range: 1000}"
    text = ids_spec(f"generate: {{n: 30, seed: 2, {E_TRUTH}}}", inputs).replace(
        "model: w * x", "model: w")
    arrays = loaded(tmp_path, text, model=lambda p, x: p["E"][x["token"].astype(int)])
    np.testing.assert_array_equal(arrays["token"], np.random.default_rng(2).integers(
        0, 1000, size=30))
    np.testing.assert_array_equal(arrays["y"], np.full(30, 0.5))


def test_an_id_input_given_a_distribution_draws_from_it(tmp_path: Path) -> None:
    arrays = generated(tmp_path, seed=0, inputs="inputs: {token: constant(7), x: zeros}")
    np.testing.assert_array_equal(arrays["token"], np.full(50, 7.0))


def test_drawn_values_that_are_no_ids_are_refused_before_the_model_runs(tmp_path: Path) -> None:
    calls = []

    def model(parameters: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> np.ndarray:
        calls.append(inputs)
        return id_model(parameters, inputs)

    for distribution, problem in [("'normal(0, 1)'", "is not an integer id (range: 1000)"),
                                  ("constant(1000)", "token = 1000 is outside 0..999")]:
        text = ids_spec(f"generate: {{n: 5, inputs: {{token: {distribution}, x: zeros}}, "
                        f"{E_TRUTH}}}")
        error = data_error(tmp_path, text, model=model)
        assert error.location.field == "data.generate.inputs.token"
        assert "sample 0: token = " in error.message and problem in error.message
    assert calls == []


def test_a_float_input_still_needs_a_distribution(tmp_path: Path) -> None:
    error = data_error(tmp_path, ids_spec(f"generate: {{n: 5, inputs: {{}}, {E_TRUTH}}}"),
                       model=id_model)
    assert "data.generate.inputs: missing input 'x'" in str(error)


# ----------------------------------------------------------------- the command line


CLI_CASES = [
    pytest.param({"parameters": "parameters:\n  w: {shape: [1, 1, 1, 1, 1, 1, 2]}"},
                 "parameters.w.shape: got a list of 7 dimensions", id="rank-7"),
    pytest.param({"constants": "constants: {S: [[1, 2], [3]]}"},
                 "constants.S: is ragged: row 2 has 1 entry, row 1 has 2", id="ragged"),
    pytest.param({"inputs": "inputs: {x: {shape: [2], dtype: int}}"},
                 "inputs.x.range: missing (required with dtype: int)", id="int-no-range"),
    pytest.param({"target": "target: {y: {dtype: int, range: 2}}"},
                 "target.y.dtype: only inputs can hold integer ids", id="int-target"),
]


@pytest.mark.parametrize(("sections", "fragment"), CLI_CASES)
def test_the_command_line_refuses_them_with_status_2_and_no_traceback(
        tmp_path: Path, capsys, sections: dict[str, str], fragment: str) -> None:
    from gdcheck.cli import main  # only these tests need the whole package

    path = write_spec(tmp_path, spec(**sections))
    status = main(["derive", str(path)])
    output = capsys.readouterr()
    assert status == 2 and "Traceback" not in output.err
    assert f"Error: {path}:" in output.err and fragment in output.err
