"""Tests for gdcheck/symbolic.py: symbols, derivation, shape and placement errors, kinks.

Small specs are written to tmp_path and loaded. Derivatives are compared with
derivatives worked out by hand (written below as plain `math`), evaluated at
fixed points; SymPy is only asked for numbers, never to check itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gdcheck.errors import ExpressionError, Location
from gdcheck.spec import Variable, load
from gdcheck.symbolic.functions import Maximum
from gdcheck.symbolic.objective import SymbolicObjective, derive, symbols_for

OBJECTIVE = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "parameters": "parameters: {a: {}, b: {}}",
    "objective": "objective: (1 - a)**2 + 100*(b - a**2)**2",
    "optimizer": "optimizer: {method: gd, learning_rate: 0.001, steps: 10}",
}

SUPERVISED = {
    "gdcheck": "gdcheck: 1",
    "name": "name: unit",
    "constants": "constants: {lam: 0.25}",
    "parameters": "parameters: {w: {shape: [2]}, b: {}}",
    "inputs": "inputs: {x: {shape: [2]}}",
    "target": "target: {y: {}}",
    "model": "model: dot(w, x) + b",
    "loss": "loss: (y_pred - y)**2",
    "penalty": "penalty: lam * sum(w**2)",
    "data": "data: {inline: {x: [[0.5, 1.0], [1.0, -1.0]], y: [1, 0]}}",
    "optimizer": "optimizer: {method: gd, learning_rate: 0.1, steps: 10}",
}


def assemble(base: Mapping[str, str], sections: Mapping[str, str | None]) -> str:
    merged = {**base, **sections}
    return "\n".join(text for text in merged.values() if text is not None) + "\n"


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., SymbolicObjective]:
    """derive() of the base spec with top-level sections replaced (None removes one)."""

    def derive_spec(base: dict[str, str], **sections: str | None) -> SymbolicObjective:
        path = tmp_path / "s.yaml"
        path.write_text(assemble(base, sections))
        return derive(load(path))

    return derive_spec


def value_at(expression: sp.Expr, values: dict[sp.Symbol, float]) -> float:
    return float(expression.xreplace({s: sp.Float(v) for s, v in values.items()}))


def by_name(objective: SymbolicObjective, numbers: dict[str, float]) -> dict[sp.Symbol, float]:
    symbols = objective.parameter_symbols + objective.data_symbols + tuple(objective.constants)
    return {s: numbers[s.name] for s in symbols if s.name in numbers}


# ----------------------------------------------------------------- symbols


def test_symbols_for_names_each_scalar_row_major() -> None:
    where = Location("s.yaml", 1, "parameters.W")
    W = symbols_for(Variable("W", (2, 3), where))
    assert W.shape == (2, 3)
    assert [s.name for s in W.flat] == ["W[0,0]", "W[0,1]", "W[0,2]", "W[1,0]", "W[1,1]",
                                        "W[1,2]"]
    w = symbols_for(Variable("w", (2,), where))
    assert [s.name for s in w.flat] == ["w[0]", "w[1]"]
    b = symbols_for(Variable("b", (), where))
    assert b.shape == () and b[()].name == "b"
    assert all(s.is_real for value in (W, w, b) for s in value.flat)


def test_parameter_names_follow_declaration_order(write: Callable) -> None:
    objective = write(OBJECTIVE, parameters="parameters: {W: {shape: [2, 2]}, b: {}, "
                      "w: {shape: [3]}}", objective="objective: sum(W**2) + b**2 + sum(w**2)")
    assert objective.parameter_names == ("W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "b", "w[0]",
                                         "w[1]", "w[2]")
    assert [s.name for s in objective.parameter_symbols] == list(objective.parameter_names)
    assert objective.data_symbols == ()


def test_data_symbols_are_inputs_then_target_row_major(write: Callable) -> None:
    objective = write(SUPERVISED, inputs="inputs: {x: {shape: [2]}, Z: {shape: [2, 2]}}",
                      target="target: {y: {shape: [2]}}", model="model: Z @ w + x * b",
                      loss="loss: sum((y_pred - y)**2)",
                      data="data: {inline: {x: [[1, 2]], Z: [[[1, 0], [0, 1]]], y: [[1, 2]]}}")
    assert [s.name for s in objective.data_symbols] == [
        "x[0]", "x[1]", "Z[0,0]", "Z[0,1]", "Z[1,0]", "Z[1,1]", "y[0]", "y[1]"]
    assert objective.model is not None and objective.model.shape == (2,)


def test_every_symbol_is_real(write: Callable) -> None:
    objective = write(SUPERVISED)
    symbols = (objective.parameter_symbols + objective.data_symbols
               + tuple(objective.constants))
    assert symbols and all(s.is_real is True for s in symbols)
    assert objective.constants == {sp.Symbol("lam", real=True): 0.25}
    assert objective.sample_loss.free_symbols <= set(symbols)


# ----------------------------------------------------------------- derivatives


def test_rosenbrock_gradient_and_hessian_match_the_hand_derivation(write: Callable) -> None:
    objective = write(OBJECTIVE)
    assert objective.reduction == "sum" and objective.penalty == 0
    for a, b in [(-1.2, 1.0), (0.3, -0.7), (1.0, 1.0)]:
        at = by_name(objective, {"a": a, "b": b})
        gradient = [value_at(g, at) for g in objective.sample_gradient]
        assert gradient == pytest.approx([-2 * (1 - a) - 400 * a * (b - a**2),
                                          200 * (b - a**2)], rel=1e-12, abs=1e-12)
        hessian = [[value_at(h, at) for h in row] for row in objective.sample_hessian]
        assert hessian == [pytest.approx([2 - 400 * (b - a**2) + 800 * a**2, -400 * a]),
                           pytest.approx([-400 * a, 200])]


def test_hessian_is_symmetric_and_matches_the_hand_derivation(write: Callable) -> None:
    objective = write(OBJECTIVE, parameters="parameters: {a: {}, b: {}, w: {shape: [2]}}",
                      objective="objective: a**2*b + sin(a*b) + exp(w[0]*w[1]) + a*w[1]**3")
    hessian = objective.sample_hessian
    size = len(objective.parameter_symbols)
    assert all(hessian[i][j] == hessian[j][i] for i in range(size) for j in range(size))
    a, b, w0, w1 = 0.6, -1.1, 0.4, 0.9
    e = math.exp(w0 * w1)
    s, c = math.sin(a * b), math.cos(a * b)
    expected = np.array([
        [2 * b - b**2 * s, 2 * a + c - a * b * s, 0, 3 * w1**2],
        [2 * a + c - a * b * s, -(a**2) * s, 0, 0],
        [0, 0, w1**2 * e, e + w0 * w1 * e],
        [3 * w1**2, 0, e + w0 * w1 * e, w0**2 * e + 6 * a * w1],
    ])
    at = by_name(objective, {"a": a, "b": b, "w[0]": w0, "w[1]": w1})
    got = np.array([[value_at(h, at) for h in row] for row in hessian])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    gradient = [value_at(g, at) for g in objective.sample_gradient]
    np.testing.assert_allclose(gradient, [2 * a * b + b * c + w1**3, a**2 + a * c, w1 * e,
                                          w0 * e + 3 * a * w1**2], rtol=1e-12)


def test_supervised_gradient_is_per_sample_and_penalty_separate(write: Callable) -> None:
    objective = write(SUPERVISED)
    numbers = {"w[0]": 0.3, "w[1]": -0.8, "b": 0.2, "x[0]": 1.5, "x[1]": -0.4, "y": 0.7,
               "lam": 0.25}
    at = by_name(objective, numbers)
    residual = 0.3 * 1.5 + -0.8 * -0.4 + 0.2 - 0.7
    features = [1.5, -0.4, 1.0]
    sample = [value_at(g, at) for g in objective.sample_gradient]
    assert sample == pytest.approx([2 * residual * f for f in features], rel=1e-12)
    penalty = [value_at(g, at) for g in objective.penalty_gradient]
    assert penalty == pytest.approx([2 * 0.25 * 0.3, 2 * 0.25 * -0.8, 0.0], abs=1e-15)
    sample_hessian = [[value_at(h, at) for h in row] for row in objective.sample_hessian]
    np.testing.assert_allclose(sample_hessian, 2 * np.outer(features, features), rtol=1e-12)
    penalty_hessian = [[value_at(h, at) for h in row] for row in objective.penalty_hessian]
    np.testing.assert_allclose(penalty_hessian, np.diag([0.5, 0.5, 0.0]), atol=1e-15)


def test_nested_tanh_twelve_deep_derives(write: Callable) -> None:
    depth = 12
    objective = write(OBJECTIVE, parameters="parameters: {a: {}}",
                      objective="objective: " + "tanh(" * depth + "a" + ")" * depth)
    a = 0.8
    values, slope = a, 1.0
    for _ in range(depth):
        values = math.tanh(values)
        slope *= 1 - values**2
    at = by_name(objective, {"a": a})
    assert value_at(objective.sample_loss, at) == pytest.approx(values, rel=1e-12)
    assert value_at(objective.sample_gradient[0], at) == pytest.approx(slope, rel=1e-12)
    assert math.isfinite(value_at(objective.sample_hessian[0][0], at))


@pytest.mark.parametrize("text", ["sum(exp([a, 2*b]))", "logsumexp([a, 2*b]) - log(exp(a) + "
                                  "exp(2*b)) + sum(exp([a, 2*b]))"])
def test_functions_of_list_literals_differentiate(write: Callable, text: str) -> None:
    objective = write(OBJECTIVE, objective=f"objective: {text}")
    at = by_name(objective, {"a": 0.3, "b": -0.4})
    gradient = [value_at(g, at) for g in objective.sample_gradient]
    assert gradient == pytest.approx([math.exp(0.3), 2 * math.exp(-0.8)], rel=1e-9)


# ----------------------------------------------------------------- readable forms


@pytest.mark.parametrize(("reduction", "prefix", "latex"), [
    (None, "mean_i(", r"\frac{1}{n}\sum_{i}\left["),
    ("reduction: mean", "mean_i(", r"\frac{1}{n}\sum_{i}\left["),
    ("reduction: sum", "sum_i(", r"\sum_{i}\left["),
])
def test_gradient_expressions_show_the_reduction(write: Callable, reduction: str | None,
                                                 prefix: str, latex: str) -> None:
    objective = write(SUPERVISED, reduction=reduction)
    assert objective.reduction == (reduction or "reduction: mean").split()[-1]
    texts = [str(g) for g in objective.gradient_expressions]
    assert len(texts) == 3 and all(prefix in text for text in texts)
    assert "lam*w[0]" in texts[0] and "lam" not in texts[2]  # the penalty, outside the sum
    assert prefix in str(objective.objective_expression)
    assert latex in sp.latex(objective.objective_expression)


def test_objective_specs_show_no_reduction(write: Callable) -> None:
    objective = write(OBJECTIVE, penalty="penalty: a**2")
    assert objective.objective_expression == objective.sample_loss + objective.penalty
    at = by_name(objective, {"a": 0.5, "b": 2.0})
    assert value_at(objective.objective_expression, at) == pytest.approx(
        0.25 + 100 * 1.75**2 + 0.25)
    assert "_i(" not in str(objective.objective_expression)
    assert all("_i(" not in str(g) for g in objective.gradient_expressions)


# ----------------------------------------------------------------- kinks


def test_kinks_of_every_non_smooth_function(write: Callable) -> None:
    objective = write(OBJECTIVE, parameters="parameters: {a: {}, b: {}, w: {shape: [3]}}",
                      objective="objective: abs(a) + relu(b - 1) + maximum(a, b) + max(w) "
                      "+ minimum(w[0], 2) + sign(b)")
    a, b = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    w0, w1, w2 = (sp.Symbol(f"w[{i}]", real=True) for i in range(3))
    assert set(objective.kinks) == {a, b - 1, a - b, w0 - w1, Maximum(w0, w1) - w2, w0 - 2, b}
    assert len(objective.kinks) == len(set(objective.kinks))


def test_kinks_in_model_and_penalty(write: Callable) -> None:
    objective = write(SUPERVISED, model="model: relu(dot(w, x)) + b",
                      penalty="penalty: lam * sum(abs(w))")
    w0, w1, x0, x1 = (sp.Symbol(name, real=True) for name in ("w[0]", "w[1]", "x[0]", "x[1]"))
    assert set(objective.kinks) == {w0 * x0 + w1 * x1, w0, w1}


def test_a_smooth_objective_has_no_kinks(write: Callable) -> None:
    assert write(OBJECTIVE).kinks == ()
    assert write(SUPERVISED, model="model: sigmoid(dot(w, x) + b)",
                 loss="loss: -(y*log(y_pred) + (1 - y)*log(1 - y_pred))").kinks == ()


@pytest.mark.parametrize("text", ["sqrt(a**2) + b**2", "norm(a) + b**2"])
def test_kinks_found_through_sympy_simplification(write: Callable, text: str) -> None:
    objective = write(OBJECTIVE, objective=f"objective: {text}")
    assert objective.kinks == (sp.Symbol("a", real=True),)


# ----------------------------------------------------------------- warnings


@pytest.mark.parametrize(("parameters", "text", "unused"), [
    ("parameters: {a: {}, b: {}}", "a**2", "b"),
    ("parameters: {w: {shape: [3]}}", "w[0]**2 + w[2]**2", "w[1]"),
    ("parameters: {a: {}, W: {shape: [1, 2]}}", "a**2", "W[0,0], W[0,1]"),
])
def test_unused_parameters_warn(write: Callable, parameters: str, text: str, unused: str
                                ) -> None:
    objective = write(OBJECTIVE, parameters=parameters, objective=f"objective: {text}")
    assert objective.warnings == [f"the objective does not depend on {unused}: its gradient "
                                  "is identically zero"]


def test_a_parameter_in_the_penalty_only_is_used(write: Callable) -> None:
    objective = write(SUPERVISED, parameters="parameters: {w: {shape: [2]}, b: {}, c: {}}",
                      penalty="penalty: lam * sum(w**2) + c**2")
    assert objective.warnings == []


def test_a_parameter_in_no_field_warns_in_a_supervised_spec(write: Callable) -> None:
    objective = write(SUPERVISED, parameters="parameters: {w: {shape: [2]}, b: {}, c: {}}")
    assert len(objective.warnings) == 1 and "depend on c:" in objective.warnings[0]


# ----------------------------------------------------------------- errors


def case(id: str, base: dict[str, str], field: str, fragments: list[str], **sections: str
         ) -> object:
    return pytest.param(base, sections, field, fragments, id=id)


ERRORS = [
    case("model-shape-not-target", SUPERVISED, "model",
         ["the model has shape [2] but the target 'y' has shape []", "must be equal"],
         model="model: w * x"),
    case("model-scalar-target-vector", SUPERVISED, "model",
         ["the model has shape []", "the target 'y' has shape [3]"],
         target="target: {y: {shape: [3]}}"),
    case("loss-not-scalar", SUPERVISED, "loss",
         ["the loss must be a scalar, but it has shape [2]", "sum(...)"],
         loss="loss: (y_pred - y) * w"),
    case("penalty-not-scalar", SUPERVISED, "penalty",
         ["the penalty must be a scalar, but it has shape [2]"], penalty="penalty: lam * w**2"),
    case("objective-not-scalar", OBJECTIVE, "objective",
         ["the objective must be a scalar, but it has shape [2, 2]"],
         parameters="parameters: {W: {shape: [2, 2]}}", objective="objective: W**2"),
    case("loss-without-y-pred", SUPERVISED, "loss",
         ["the loss never uses y_pred", "compares y_pred with the target"],
         loss="loss: (y - 1)**2"),
    case("y-pred-in-penalty", SUPERVISED, "penalty",
         ["'y_pred' cannot be used here", "may appear only in the loss"],
         penalty="penalty: lam * y_pred"),
    case("y-pred-in-model", SUPERVISED, "model",
         ["'y_pred' cannot be used here", "may appear only in the loss"],
         model="model: y_pred + b"),
    case("y-pred-in-objective", OBJECTIVE, "objective",
         ["'y_pred' cannot be used here", "may appear only in the loss"],
         objective="objective: a**2 + y_pred"),
    case("input-in-penalty", SUPERVISED, "penalty",
         ["'x' cannot be used here: an input may appear in the model and the loss only"],
         penalty="penalty: sum(x**2)"),
    case("target-in-model", SUPERVISED, "model",
         ["'y' cannot be used here: the target may appear in the loss only"],
         model="model: dot(w, x) + b + y"),
    case("target-in-penalty", SUPERVISED, "penalty",
         ["'y' cannot be used here: the target may appear in the loss only"],
         penalty="penalty: lam * y"),
    case("unknown-name-in-loss", SUPERVISED, "loss", ["unknown name 'yy'", "did you mean"],
         loss="loss: (y_pred - yy)**2"),
]


@pytest.mark.parametrize(("base", "sections", "field", "fragments"), ERRORS)
def test_misplaced_names_and_shapes_are_explained(write: Callable, base: dict[str, str],
                                                  sections: dict[str, str], field: str,
                                                  fragments: list[str]) -> None:
    with pytest.raises(ExpressionError) as caught:
        write(base, **sections)
    error = caught.value
    lines = assemble(base, sections).splitlines()
    line = next(number for number, text in enumerate(lines, 1) if text.startswith(f"{field}:"))
    assert (error.location.field, error.location.line) == (field, line)
    for fragment in fragments:
        assert fragment in error.message
