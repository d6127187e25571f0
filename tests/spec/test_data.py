"""Tests for gdcheck/data.py: every source, reproducibility, label sampling, errors."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcheck.compiled import compile_spec
from gdcheck.errors import DataError, Location, UsageError
from gdcheck.spec import Spec, Text, load
from gdcheck.spec.data import OUTPUT_FORMS, load_data, outer_call

OPTIMIZER = "optimizer: {method: gd, learning_rate: 0.1, steps: 10}\n"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# Each head: the spec above `data:`, and a numpy model for `generate`.
HEADS: dict[str, tuple[str, Any]] = {
    "binary": (
        """
        parameters: {w: {shape: [2]}, b: {}}
        inputs: {x: {shape: [2]}}
        target: {y: {}}
        model: dot(w, x) + b
        """,
        lambda p, x: x["x"] @ p["w"] + p["b"],
    ),
    "logistic": (
        """
        parameters: {w: {shape: [2]}, b: {}}
        inputs: {x: {shape: [2]}}
        target: {y: {}}
        model: sigmoid(dot(w, x) + b)
        """,
        lambda p, x: _sigmoid(x["x"] @ p["w"] + p["b"]),
    ),
    "root": (
        """
        parameters: {w: {shape: [2]}, b: {}}
        inputs: {x: {shape: [2]}}
        target: {y: {}}
        model: sqrt(dot(w, x) + b)
        """,
        lambda p, x: np.sqrt(x["x"] @ p["w"] + p["b"]),
    ),
    "multi": (
        """
        parameters: {W: {shape: [2, 2]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [2]}}
        model: x @ W
        """,
        lambda p, x: x["x"] @ p["W"],
    ),
    "softmax": (
        """
        parameters: {W: {shape: [2, 3]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [3]}}
        model: softmax(x @ W)
        """,
        lambda p, x: _softmax(x["x"] @ p["W"]),
    ),
    "log_sigmoid": (
        """
        parameters: {w: {shape: [2]}, b: {}}
        inputs: {x: {shape: [2]}}
        target: {y: {}}
        model: log(sigmoid(dot(w, x) + b))
        """,
        lambda p, x: np.log(_sigmoid(x["x"] @ p["w"] + p["b"])),
    ),
    "scores": (
        """
        parameters: {W: {shape: [2, 3]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [3]}}
        model: x @ W
        """,
        lambda p, x: x["x"] @ p["W"],
    ),
    "log_softmax": (
        """
        parameters: {W: {shape: [2, 3]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [3]}}
        model: log_softmax(x @ W)
        """,
        lambda p, x: np.log(_softmax(x["x"] @ p["W"])),
    ),
    "sigmoids": (
        """
        parameters: {W: {shape: [2, 2]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [2]}}
        model: sigmoid(x @ W)
        """,
        lambda p, x: _sigmoid(x["x"] @ p["W"]),
    ),
    "matrix": (
        """
        parameters: {w: {shape: [2]}}
        inputs: {M: {shape: [2, 2]}}
        target: {y: {}}
        model: sum(M @ w)
        """,
        lambda p, x: (x["M"] @ p["w"]).sum(axis=-1),
    ),
}


def make_spec(tmp_path: Path, head: str, data: str, files: dict[str, Any] | None = None) -> Spec:
    """Write the data files and a spec with `data:` set to the YAML snippet, and load it."""
    for name, content in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, dict):
            np.savez(path, **content)
        else:
            np.save(path, content)
    text = (
        "gdcheck: 1\nname: t\n"
        + textwrap.dedent(HEADS[head][0]).lstrip()
        + "loss: (y - y_pred)**2\n"
        + OPTIMIZER
        + "data:\n"
        + textwrap.indent(textwrap.dedent(data).strip(), "  ")
        + "\n"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def load_arrays(tmp_path: Path, head: str, data: str, files: dict[str, Any] | None = None
                ) -> dict[str, np.ndarray]:
    return load_data(make_spec(tmp_path, head, data, files), HEADS[head][1])


# ----------------------------------------------------------------- generate


def test_generate_regression_with_noise_matches_the_seeded_draws(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "binary", """
        generate:
          n: 5
          seed: 3
          inputs: {x: "normal(0, 1)"}
          truth: {w: [1.5, -2.0], b: 0.5}
          noise: "normal(0, 0.1)"
    """)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, size=(5, 2))
    y = x @ np.array([1.5, -2.0]) + 0.5 + rng.normal(0, 0.1, size=5)
    assert set(arrays) == {"x", "y"}
    assert arrays["x"].dtype == np.float64 and arrays["y"].dtype == np.float64
    np.testing.assert_array_equal(arrays["x"], x)
    np.testing.assert_allclose(arrays["y"], y, rtol=0, atol=1e-12)


def test_generate_without_noise_or_labels_is_the_model_output(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "binary", """
        generate: {n: 3, inputs: {x: constant(2)}, truth: {w: [1, 3], b: -1}}
    """)
    np.testing.assert_array_equal(arrays["x"], np.full((3, 2), 2.0))
    np.testing.assert_array_equal(arrays["y"], [7.0, 7.0, 7.0])


def test_generate_matrix_input_and_matrix_truth(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "matrix", """
        generate: {n: 4, seed: 1, inputs: {M: "uniform(-1, 1)"}, truth: {w: [1, 2]}}
    """)
    assert arrays["M"].shape == (4, 2, 2)
    np.testing.assert_allclose(arrays["y"], (arrays["M"] @ [1.0, 2.0]).sum(axis=-1))
    flat = load_arrays(tmp_path, "multi", """
        generate: {n: 2, inputs: {x: constant(1)}, truth: {W: [1, 2, 3, 4]}}
    """)  # a flat list is reshaped to the declared [2, 2], row-major
    np.testing.assert_array_equal(flat["y"], [[4.0, 6.0], [4.0, 6.0]])


def test_generate_is_reproducible_and_seed_dependent(tmp_path: Path) -> None:
    data = """
        generate:
          n: 50
          seed: {seed}
          inputs: {{x: "normal(0, 1)"}}
          truth: {{w: [1, -1], b: 0}}
          labels: bernoulli
    """
    first = load_arrays(tmp_path, "logistic", data.format(seed=11))
    again = load_arrays(tmp_path, "logistic", data.format(seed=11))
    other = load_arrays(tmp_path, "logistic", data.format(seed=12))
    for name in ("x", "y"):
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["x"], other["x"])


def test_bernoulli_labels_follow_the_model_probabilities(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "logistic", """
        generate:
          n: 20000
          seed: 5
          inputs: {x: "normal(0, 1)"}
          truth: {w: [2.0, -1.0], b: 0.3}
          labels: bernoulli
    """)
    probability = _sigmoid(arrays["x"] @ [2.0, -1.0] + 0.3)
    labels = arrays["y"]
    assert set(np.unique(labels)) == {0.0, 1.0}
    assert abs(labels.mean() - probability.mean()) < 0.015  # std of the mean ~0.0035
    assert labels[probability > 0.9].mean() > 0.9
    assert labels[probability < 0.1].mean() < 0.1


def test_bernoulli_labels_are_the_seeded_uniform_draws(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "logistic", """
        generate: {n: 6, seed: 2, inputs: {x: "normal(0, 1)"}, truth: {w: [1, 1], b: 0},
                   labels: bernoulli}
    """)
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, size=(6, 2))
    expected = (rng.uniform(size=6) < _sigmoid(x.sum(axis=1))).astype(float)
    np.testing.assert_array_equal(arrays["y"], expected)


def test_categorical_labels_are_one_hot_with_the_model_frequencies(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "softmax", """
        generate:
          n: 20000
          seed: 9
          inputs: {x: "normal(0, 1)"}
          truth: {W: [[2, 0, -2], [0, 1, 0]]}
          labels: categorical
    """)
    probability = _softmax(arrays["x"] @ np.array([[2.0, 0, -2], [0, 1, 0]]))
    labels = arrays["y"]
    assert labels.shape == (20000, 3)
    assert set(np.unique(labels)) == {0.0, 1.0}
    np.testing.assert_array_equal(labels.sum(axis=1), 1.0)
    np.testing.assert_allclose(labels.mean(axis=0), probability.mean(axis=0), atol=0.015)
    confident = probability[:, 0] > 0.9
    assert labels[confident, 0].mean() > 0.9


@pytest.mark.parametrize("row, expected", [([0.0, 1.0], 1), ([1.0, 0.0], 0)])
def test_categorical_never_picks_a_class_of_probability_zero(
        tmp_path: Path, row: list[float], expected: int) -> None:
    spec = make_spec(tmp_path, "multi", """
        generate: {n: 500, inputs: {x: "normal(0, 1)"}, truth: {W: [[0, 0], [0, 0]]},
                   labels: categorical}
    """)
    arrays = load_data(spec, lambda p, x: np.tile(row, (len(x["x"]), 1)))
    np.testing.assert_array_equal(arrays["y"], np.tile(np.eye(2)[expected], (500, 1)))


# Each form of model output with its true label probabilities, worked out here with numpy:
# (head, truth, labels, inputs, probabilities of each class given x).
W3 = np.array([[2.0, 0.0, -2.0], [0.0, 1.0, 0.0]])
LABEL_FORMS = {
    "probability": ("logistic", "{w: [2.0, -1.0], b: 0.3}", "bernoulli", "normal(0, 1)",
                    lambda x: _sigmoid(x @ [2.0, -1.0] + 0.3)),
    "logit": ("binary", "{w: [2.0, -1.0], b: 0.3}", "bernoulli", "normal(0, 1)",
              lambda x: _sigmoid(x @ [2.0, -1.0] + 0.3)),
    "log-probability": ("log_sigmoid", "{w: [2.0, -1.0], b: 0.3}", "bernoulli", "normal(0, 1)",
                        lambda x: _sigmoid(x @ [2.0, -1.0] + 0.3)),
    # values in [0, 1] from a model that does not say: read as probabilities, not logits
    "in [0, 1]": ("binary", "{w: [1, 1], b: 0}", "bernoulli", "uniform(0, 0.5)",
                  lambda x: x.sum(axis=1)),
    "softmax": ("softmax", "{W: [[2, 0, -2], [0, 1, 0]]}", "categorical", "normal(0, 1)",
                lambda x: _softmax(x @ W3)),
    "scores": ("scores", "{W: [[2, 0, -2], [0, 1, 0]]}", "categorical", "normal(0, 1)",
               lambda x: _softmax(x @ W3)),
    "log_softmax": ("log_softmax", "{W: [[2, 0, -2], [0, 1, 0]]}", "categorical",
                    "normal(0, 1)", lambda x: _softmax(x @ W3)),
    # rows in [0, 1] that do not sum to 1: scores, whatever their range
    "scores in [0, 1]": ("multi", "{W: [[1, 0], [0, 0.5]]}", "categorical", "uniform(0, 1)",
                         lambda x: _softmax(x @ np.diag([1.0, 0.5]))),
}


def assert_frequencies_match(labels: np.ndarray, probability: np.ndarray) -> None:
    """In each fifth of the samples by a class's probability, the share of labels of that
    class is within 4.5 standard errors of the mean probability."""
    labels, probability = labels.reshape(len(labels), -1), probability.reshape(len(labels), -1)
    if probability.shape[1] == 1:   # bernoulli: class 1, and class 0 = 1 - p
        labels, probability = np.hstack([labels, 1 - labels]), np.hstack([probability,
                                                                          1 - probability])
    for k in range(probability.shape[1]):
        for rows in np.array_split(np.argsort(probability[:, k]), 5):
            p = probability[rows, k]
            error = np.sqrt((p * (1 - p)).sum()) / len(rows)
            assert abs(labels[rows, k].mean() - p.mean()) <= 4.5 * error + 1e-12, (k, p.mean())


@pytest.mark.parametrize("form", LABEL_FORMS)
def test_labels_follow_the_true_probabilities_of_each_output_form(tmp_path: Path,
                                                                   form: str) -> None:
    head, truth, labels, inputs, probability = LABEL_FORMS[form]
    arrays = load_arrays(tmp_path, head, f"""
        generate: {{n: 20000, seed: 4, inputs: {{x: "{inputs}"}}, truth: {truth},
                   labels: {labels}}}
    """)
    assert set(np.unique(arrays["y"])) == {0.0, 1.0}
    if labels == "categorical":
        np.testing.assert_array_equal(arrays["y"].sum(axis=1), 1.0)
    assert_frequencies_match(arrays["y"], probability(arrays["x"]))


STABLE_FORMS = {
    "logit": ("""
        parameters: {w: {shape: [2]}, b: {}}
        inputs: {x: {shape: [2]}}
        target: {y: {}}
        model: dot(w, x) + b
        loss: softplus(y_pred) - y*y_pred
        """, "{w: [2.0, -1.0], b: 0.3}", "bernoulli",
              lambda x: _sigmoid(x @ [2.0, -1.0] + 0.3)),
    "log_softmax": ("""
        parameters: {W: {shape: [3, 2]}, b: {shape: [3]}}
        inputs: {x: {shape: [2]}}
        target: {y: {shape: [3]}}
        model: log_softmax(W @ x + b)
        loss: -dot(y, y_pred)
        """, "{W: [[2, 0], [0, 1], [-2, 0]], b: [0, 0.5, 0]}", "categorical",
                    lambda x: _softmax(x @ W3 + [0, 0.5, 0])),
}


@pytest.mark.parametrize("form", STABLE_FORMS)
def test_a_compiled_spec_in_the_stable_form_generates_its_labels(tmp_path: Path,
                                                                 form: str) -> None:
    head, truth, labels, probability = STABLE_FORMS[form]
    path = tmp_path / "spec.yaml"
    path.write_text("gdcheck: 1\nname: t\n" + textwrap.dedent(head).lstrip() + OPTIMIZER
                    + f"data:\n  generate: {{n: 20000, seed: 6, inputs: {{x: 'normal(0, 1)'}},"
                    f" truth: {truth}, labels: {labels}}}\n", encoding="utf-8")
    arrays = compile_spec(load(path)).data
    assert_frequencies_match(arrays["y"], probability(arrays["x"]))


def test_the_frequency_check_tells_a_logit_from_a_probability() -> None:
    """The oracle has power: labels drawn with p = z instead of sigmoid(z) fail it."""
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 1, size=20000)
    assert_frequencies_match((rng.uniform(size=z.size) < _sigmoid(z)).astype(float), _sigmoid(z))
    with pytest.raises(AssertionError):
        assert_frequencies_match((rng.uniform(size=z.size) < z).astype(float), _sigmoid(z))


# sha256 of the labels these made before logits and log-probabilities were read
PROBABILITY_DIGESTS = {
    ("logistic", "{w: [2.0, -1.0], b: 0.3}", "bernoulli"):
        "e4a20c7d130473445d72887647e63638b7a43f4624aeb94dc97c1da364183a7d",
    ("softmax", "{W: [[2, 0, -2], [0, 1, 0]]}", "categorical"):
        "b0ca78285999804b1f08000b34b8aa040b2164881d59669099ec0409ce0f4a3b",
}


@pytest.mark.parametrize("head, truth, labels", PROBABILITY_DIGESTS)
def test_labels_from_probabilities_are_the_ones_made_before(tmp_path: Path, head: str,
                                                            truth: str, labels: str) -> None:
    arrays = load_arrays(tmp_path, head, f"""
        generate: {{n: 1000, seed: 7, inputs: {{x: "normal(0, 1)"}}, truth: {truth},
                   labels: {labels}}}
    """)
    digest = hashlib.sha256(arrays["y"].tobytes()).hexdigest()
    assert digest == PROBABILITY_DIGESTS[head, truth, labels]


@pytest.mark.parametrize("model, call, form", [
    ("sigmoid(dot(w, x) + b)", "sigmoid(...)", "probabilities"),
    ("(softmax(W @ x))", "softmax(...)", "probabilities"),
    ("log_softmax(W @ x + b)", "log_softmax(...)", "log-probabilities"),
    ("log(sigmoid(dot(w, x)))", "log(sigmoid(...))", "log-probabilities"),
    ("log(\n  softmax(W @ x))", "log(softmax(...))", "log-probabilities"),
    ("dot(w, x) + b", None, None),
    ("1 - sigmoid(z)", None, None),
    ("log(dot(w, x))", "log(dot(...))", None),
    ("tanh(z", None, None),   # not through the grammar: no say
])
def test_the_models_outermost_call_says_what_its_output_is(
        model: str, call: str | None, form: str | None) -> None:
    found = outer_call(Text(model, Location("spec.yaml", 9, "model")))
    assert found == call
    assert OUTPUT_FORMS.get(found or "") == form


def test_noise_has_the_declared_mean_and_spread(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "binary", """
        generate: {n: 20000, seed: 4, inputs: {x: "uniform(-1, 1)"}, truth: {w: [1, 2], b: 3},
                   noise: "normal(0, 0.5)"}
    """)
    residual = arrays["y"] - (arrays["x"] @ [1.0, 2.0] + 3.0)
    assert abs(residual.mean()) < 0.02
    assert abs(residual.std() - 0.5) < 0.02


def test_generate_names_the_first_non_finite_row(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "root", """
        generate: {n: 50, seed: 8, inputs: {x: "normal(0, 1)"}, truth: {w: [1, 0], b: 0}}
    """)
    first_bad = int(np.argmax(np.random.default_rng(8).normal(0, 1, size=(50, 2))[:, 0] < 0))
    with pytest.raises(DataError, match=f"non-finite value at sample row {first_bad}:"):
        load_data(spec, HEADS["root"][1])


def test_generate_rejects_a_model_output_of_the_wrong_shape(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "binary", """
        generate: {n: 4, inputs: {x: "normal(0, 1)"}, truth: {w: [1, 0], b: 0}}
    """)
    with pytest.raises(DataError, match=r"the model gives shape \(4, 2\); expected \(4,\)"):
        load_data(spec, lambda p, x: x["x"])


def test_generate_needs_the_model_function(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "binary", """
        generate: {n: 4, inputs: {x: "normal(0, 1)"}, truth: {w: [1, 0], b: 0}}
    """)
    with pytest.raises(UsageError, match="pass load_data"):
        load_data(spec)


def test_an_objective_spec_has_no_data(tmp_path: Path) -> None:
    path = tmp_path / "objective.yaml"
    path.write_text("gdcheck: 1\nname: o\nparameters: {a: {}}\nobjective: a**2\n" + OPTIMIZER)
    with pytest.raises(UsageError, match="needs a supervised spec"):
        load_data(load(path))


# ----------------------------------------------------------------- csv, npz, inline


def test_csv_reads_mapped_columns_in_the_listed_order(tmp_path: Path) -> None:
    text = "id, x2, x1 ,y,note\n1,0.5,1,0,first\n\n2, -1e-3 ,2.5,1,second\n\n"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text(text, encoding="utf-8-sig")  # with a BOM
    arrays = load_arrays(tmp_path, "binary", """
        csv: data/train.csv
        columns: {x: [x1, x2], y: [y]}
    """)
    np.testing.assert_array_equal(arrays["x"], [[1.0, 0.5], [2.5, -0.001]])
    np.testing.assert_array_equal(arrays["y"], [0.0, 1.0])
    assert arrays["x"].dtype == np.float64 and arrays["y"].shape == (2,)


def test_npz_reads_matrices_and_converts_integers(tmp_path: Path) -> None:
    matrices = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    files = {"d.npz": {"M": matrices, "y": np.array([1, 0, 1]), "extra": np.zeros(7)}}
    arrays = load_arrays(tmp_path, "matrix", "npz: d.npz", files)
    assert set(arrays) == {"M", "y"}
    assert arrays["M"].dtype == np.float64 and arrays["y"].dtype == np.float64
    np.testing.assert_array_equal(arrays["M"], matrices)
    np.testing.assert_array_equal(arrays["y"], [1.0, 0.0, 1.0])


def test_inline_vectors_scalars_and_matrices(tmp_path: Path) -> None:
    arrays = load_arrays(tmp_path, "binary", "inline: {x: [[1, 2], [3, 4.5]], y: [0, 1e-3]}")
    np.testing.assert_array_equal(arrays["x"], [[1.0, 2.0], [3.0, 4.5]])
    np.testing.assert_array_equal(arrays["y"], [0.0, 0.001])
    assert arrays["x"].dtype == np.float64
    matrix = load_arrays(tmp_path, "matrix", "inline: {M: [[[1, 2], [3, 4]]], y: [5]}")
    np.testing.assert_array_equal(matrix["M"], [[[1.0, 2.0], [3.0, 4.0]]])
    assert matrix["y"].shape == (1,)


# ----------------------------------------------------------------- errors

GEN = "generate: {n: 5, inputs: {x: 'normal(0, 1)'}, "
CSV_OK = "x1,x2,y\n1,2,0\n3,4,1\n"
XY = {"x": np.ones((3, 2)), "y": np.ones(3)}

ERRORS = [
    # generate
    ("binary", GEN.replace("x: 'normal", "z: 'normal") + "truth: {w: [1, 1], b: 0}}", {},
     "data.generate.inputs: missing input 'x'"),
    ("binary", "generate: {n: 5, inputs: {x: zeros, xx: zeros}, truth: {w: [1, 1], b: 0}}",
     {}, "unknown input 'xx' in data.generate.inputs (did you mean 'x'?)"),
    ("binary", "generate: {n: 5, inputs: {x: zeros, y: zeros}, truth: {w: [1, 1], b: 0}}",
     {}, "unknown input 'y'"),
    ("binary", GEN + "truth: {w: [1, 1]}}", {}, "missing parameter 'b'"),
    ("binary", GEN + "truth: {w: [1, 1], b: 0, c: 2}}", {},
     "data.generate.truth.c: unknown parameter 'c' in data.generate.truth"),
    ("binary", GEN + "truth: {w: [1, 1, 1], b: 0}}", {},
     "'w' has shape [3] but is declared with shape [2]"),
    ("binary", GEN + "truth: {w: 1, b: 0}}", {}, "'w' has shape [] but is declared with shape [2]"),
    ("binary", GEN + "truth: {w: [1, 1], b: [0]}}", {},
     "'b' has shape [1] but is declared with shape []"),
    ("multi", GEN + "truth: {W: [[1, 2], [3]]}}", {},
     "'W' is a ragged list; expected shape [2, 2]"),
    ("multi", GEN + "truth: {W: [[1, 0], [0, 1]]}, labels: bernoulli}", {},
     "labels: bernoulli needs a scalar target; 'y' has shape [2]"),
    ("binary", GEN + "truth: {w: [1, 1], b: 0}, labels: categorical}", {},
     "labels: categorical needs a vector target; 'y' has shape []"),
    ("sigmoids", "generate: {n: 5, inputs: {x: constant(0.7)}, truth: {W: [[1, 0], [0, 1]]}, "
     "labels: categorical}", {}, "summing to 1), as sigmoid(...) says; sample row 0 gives "
     "[0.668"),
    ("logistic", GEN + "truth: {w: [1, 1], b: 0}, labels: bernoulli, noise: 'normal(0, 1)'}", {},
     "data.generate.noise: 'noise' cannot go with 'labels: bernoulli'"),
    ("root", "generate: {n: 5, inputs: {x: constant(-1)}, truth: {w: [1, 1], b: 0}}", {},
     "non-finite value at sample row 0"),
    # csv
    ("binary", "{csv: nowhere.csv, columns: {x: [x1, x2], y: y}}", {},
     "cannot read csv file"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2]}}", {"d.csv": CSV_OK},
     "data.columns: missing input or target 'y'"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y, z: y}}", {"d.csv": CSV_OK},
     "unknown input or target 'z' in data.columns"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x3], y: y}}", {"d.csv": CSV_OK},
     "column 'x3' is not in the header of"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x22], y: y}}", {"d.csv": CSV_OK},
     "column 'x22' is not in the header of {tmp}/d.csv (did you mean 'x2'?); "
     "the header is: x1, x2, y"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": "x1,x2,y,x2\n1,2,3,4\n"},
     "column 'x2' appears twice in the header"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": "x1,x2,y\n1,2,0\n3,abc,1\n"},
     "d.csv: row 2 (line 3), column 'x2': got 'abc', expected a number"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}",
     {"d.csv": "x1,x2,y\n\n1,2,0\n3,4,nan\n"},
     "row 2 (line 4), column 'y': got 'nan', expected a finite number"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": "x1,x2,y\n-inf,2,0\n"},
     "row 1 (line 2), column 'x1': got '-inf', expected a finite number"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": "x1,x2,y\n"},
     "d.csv has a header but no data rows"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": ""},
     "d.csv is empty; expected a header row"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": "x1,x2,y\n1,2\n"},
     "row 1 (line 2) has 2 cells; the header has 3"),
    ("binary", "{csv: d.csv, columns: {x: x1, y: y}}", {"d.csv": CSV_OK},
     "data.columns.x: 'x' has shape [2], so it needs 2 column(s); got 1: x1"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: [x1, y]}}", {"d.csv": CSV_OK},
     "'y' has shape [], so it needs 1 column(s); got 2"),
    ("matrix", "{csv: d.csv, columns: {M: [x1, x2, y], y: y}}", {"d.csv": CSV_OK},
     "data.columns.M: 'M' has shape [2, 2], so it needs 4 column(s); got 3: x1, x2, y"),
    ("binary", "{csv: d.csv, columns: {x: [x1, x2], y: y}}", {"d.csv": b"x1,x2,y\n\xff,1,2\n"},
     "is not UTF-8 text"),
    # npz
    ("binary", "npz: nowhere.npz", {}, "cannot read npz file"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((3, 2)), "yy": np.ones(3)}},
     "has no array 'y' (did you mean 'yy'?); it has: x, yy"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((3, 3)), "y": np.ones(3)}},
     "array 'x' in {tmp}/d.npz has shape (3, 3); expected (3, 2)"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((3, 2)), "y": np.ones((3, 1))}},
     "array 'y' in {tmp}/d.npz has shape (3, 1); expected (3,)"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones(2), "y": np.ones(3)}},
     "has shape (2,); expected (2, 2)"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.float64(1), "y": np.ones(3)}},
     "has shape (); expected (n, 2)"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((3, 2)), "y": np.ones(2)}},
     "'y' has 2 rows but 'x' has 3"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((0, 2)), "y": np.ones(0)}},
     "array 'x' in {tmp}/d.npz has no rows"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.array([[1, 2], [3, np.nan]]), "y": np.ones(2)}},
     "array 'x' in {tmp}/d.npz has a non-finite value at row index 1: [ 3. nan]"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((2, 2)), "y": np.array([1.0, np.inf])}},
     "has a non-finite value at row index 1: inf"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.array([[1, {}]] * 2, dtype=object),
                                        "y": np.ones(2)}},
     "cannot load array 'x' from {tmp}/d.npz (object arrays and pickles are never loaded)"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.array([["1", "2"]]), "y": np.ones(1)}},
     "array 'x' in {tmp}/d.npz has dtype <U1; expected integers or floats"),
    ("binary", "npz: d.npz", {"d.npz": {"x": np.ones((1, 2)), "y": np.array([True])}},
     "array 'y' in {tmp}/d.npz has dtype bool"),
    ("binary", "npz: d.npz", {"d.npz": "x,y\n1,2\n"}, "is not an npz archive"),
    ("binary", "npz: d.npy", {"d.npy": np.ones((3, 2))}, "holds a single array, not an npz"),
    # inline
    ("binary", "inline: {x: [[1, 2], [3]], y: [0, 1]}", {},
     "data.inline.x[1]: 'x' row index 1: got a list of 1, expected 2 (declared shape [2])"),
    ("binary", "inline: {x: [[1, 2], [3, abc]], y: [0, 1]}", {},
     "'x' row index 1: got 'abc', expected a number"),
    ("binary", "inline: {x: [[1, 2], [3, '4']], y: [0, 1]}", {}, "got '4', expected a number"),
    ("binary", "inline: {x: [[1, 2], [3, 4]], y: [0, true]}", {},
     "'y' row index 1: got the boolean true, expected a number"),
    ("binary", "inline: {x: [[1, 2], [3, 4]], y: [null, 1]}", {},
     "'y' row index 0: got nothing, expected a number"),
    ("binary", "inline: {x: [[1, 2], {a: 1}], y: [0, 1]}", {},
     "'x' row index 1: got a mapping, expected a list of 2"),
    ("binary", "inline: {x: [[1, .nan], [3, 4]], y: [0, 1]}", {},
     "'x' row index 0: got nan, expected a finite number"),
    ("binary", "inline: {x: [[1, 2], [3, 4]], y: [0, -.inf]}", {},
     "'y' row index 1: got -inf, expected a finite number"),
    ("binary", "inline: {x: [[1, 2]], y: [1" + "0" * 400 + "]}", {},
     "'y' row index 0: got an integer too large for a float"),
    ("binary", "inline: {x: [], y: []}", {}, "data.inline.x: 'x' has no rows"),
    ("binary", "inline: {x: [1, 2], y: [0, 1]}", {},
     "'x' row index 0: got 1, expected a list of 2 (declared shape [2])"),
    ("binary", "inline: {x: [[1, 2], [3, 4]], y: [[0], [1]]}", {},
     "'y' row index 0: got a list, expected a number (declared shape [])"),
    ("matrix", "inline: {M: [[[1, 2], [3]]], y: [0]}", {},
     "'M' row index 0: got a list of 1, expected 2 (declared shape [2, 2])"),
    ("binary", "inline: {x: [[1, 2], [3, 4], [5, 6]], y: [0, 1]}", {},
     "data.inline.y: 'y' has 2 rows but 'x' has 3"),
    ("binary", "inline: {x: [[1, 2]]}", {}, "data.inline: missing input or target 'y'"),
    ("binary", "inline: {x: [[1, 2]], y: [1], x2: [1]}", {},
     "data.inline.x2: unknown input or target 'x2' in data.inline (did you mean 'x'?)"),
    ("binary", "inline: {x: [[1, 2]], y: 1}", {},
     "'y': got 1, expected a list with one entry per sample"),
]


@pytest.mark.parametrize("head, data, files, fragment", ERRORS)
def test_bad_data_is_a_data_error_naming_the_fault(
        tmp_path: Path, head: str, data: str, files: dict[str, Any], fragment: str) -> None:
    spec = make_spec(tmp_path, head, data, files)
    with pytest.raises(DataError) as caught:
        load_data(spec, HEADS[head][1])
    assert fragment.format(tmp=tmp_path) in str(caught.value)
