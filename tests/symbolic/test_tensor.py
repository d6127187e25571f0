"""The tensor engine, rule by rule, against per-entry SymPy differentiation.

Each row of `RULES` is a small spec whose expression exercises one structural rule of the
shaped graph (a matmul of some ranks, an index, a broadcast, a reduction ...). The oracle
is independent of gdcheck's derivatives: the per-entry forward expression
(`problem.symbolic.sample_loss` and `.penalty`) is rewritten into plain SymPy (sigmoid as
1/(1 + e^-u), relu and abs as Piecewise, logsumexp as log Σ exp ...), differentiated once
and twice with `sympy.diff`, and evaluated with mpmath at 30 digits, sample by sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
import sympy as sp
import yaml
from sympy.codegen.cfunctions import expm1, log1p

import gdcheck
from gdcheck.symbolic.functions import (
    AbsoluteValue,
    LogSumExp,
    Maximum,
    Minimum,
    Relu,
    Sigmoid,
    Sign,
    Softplus,
)

RTOL = 1e-10          # loss and gradient
HESSIAN_RTOL = 1e-9   # H·v and the dense Hessian
POINTS = 3
SAMPLES = 3

Shapes = dict[str, list[int]]


# ----------------------------------------------------------------- the oracle


def _piecewise_max(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.Piecewise((a, a > b), (b, True))


def _piecewise_min(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    return sp.Piecewise((a, a < b), (b, True))


# gdcheck's own SymPy functions → textbook SymPy, so `sympy.diff` never calls their fdiff
PLAIN: dict[type, Callable[..., sp.Expr]] = {
    Sigmoid: lambda u: 1 / (1 + sp.exp(-u)),
    Softplus: lambda u: sp.log(1 + sp.exp(u)),
    Relu: lambda u: sp.Piecewise((u, u > 0), (0, True)),
    AbsoluteValue: lambda u: sp.Piecewise((u, u > 0), (-u, True)),
    Sign: lambda u: sp.Piecewise((1, u > 0), (-1, u < 0), (0, True)),
    Maximum: _piecewise_max,
    Minimum: _piecewise_min,
    LogSumExp: lambda *terms: sp.log(sp.Add(*[sp.exp(t) for t in terms])),
    log1p: lambda u: sp.log(1 + u),
    expm1: lambda u: sp.exp(u) - 1,
}


def plain(expression: sp.Expr) -> sp.Expr:
    """The expression with every gdcheck function (and log1p, expm1) written out."""
    if expression.is_Atom:
        return expression
    args = [plain(arg) for arg in expression.args]
    rewrite = PLAIN.get(type(expression))
    return rewrite(*args) if rewrite else expression.func(*args)


@dataclass
class Reference:
    """L, ∇L and ∇²L from per-entry SymPy: mean (or sum) over samples, plus the penalty."""

    sample: Callable[..., Any]     # (θ entries, data entries) → [ℓ, ∇ℓ, ∇²ℓ]
    penalty: Callable[..., Any]    # θ entries → [R, ∇R, ∇²R]
    data: np.ndarray               # (n, data entries): inputs then target, row-major
    reduction: str

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        with mpmath.workdps(30):
            rows = [self.sample(*theta, *row) for row in self.data] or [self.sample(*theta)]
            weight = 1 / len(rows) if self.reduction == "mean" else 1
            parts = [weight * sum(row[k] for row in rows) + self.penalty(*theta)[k]
                     for k in range(3)]
        value, gradient, hessian = (np.array(mpmath.matrix(p).tolist(), dtype=float)
                                    if k else float(p) for k, p in enumerate(parts))
        return value, gradient.ravel(), hessian


def derivatives(expression: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> list[Any]:
    """[f, ∇f, ∇²f] of a scalar expression, each by `sympy.diff`."""
    gradient = [sp.diff(expression, s) for s in symbols]
    hessian = [[sp.diff(g, s) for s in symbols] for g in gradient]
    return [expression, sp.Matrix(gradient), sp.Matrix(hessian)]


def reference(problem: Any) -> Reference:
    symbolic = problem.symbolic
    theta, data = symbolic.parameter_symbols, symbolic.data_symbols
    sample = sp.lambdify(theta + data, derivatives(plain(symbolic.sample_loss), theta),
                         modules="mpmath")
    penalty = sp.lambdify(theta, derivatives(plain(sp.sympify(symbolic.penalty)), theta),
                          modules="mpmath")
    columns = [np.asarray(problem.data[name], dtype=float).reshape(problem.samples, -1)
               for name in (*symbolic.inputs, *symbolic.target)]
    table = np.hstack(columns) if columns else np.zeros((0, 0))
    return Reference(sample, penalty, table, symbolic.reduction)


# ----------------------------------------------------------------- the rows


@dataclass(frozen=True)
class Row:
    """One rule: a spec (objective, or supervised with inline data) and where to probe it."""

    parameters: Shapes
    objective: str | None = None
    model: str | None = None
    loss: str = "(y_pred - y)**2"
    inputs: Shapes = field(default_factory=dict)
    target: list[int] = field(default_factory=list)
    penalty: str | None = None
    constants: dict[str, float] = field(default_factory=dict)
    reduction: str = "mean"
    theta: str = "normal"          # normal(0, 1); positive: uniform(0.5, 2); small: (-1, 1)
    data: str = "normal"

    def document(self, name: str, rng: np.random.Generator) -> dict[str, Any]:
        document: dict[str, Any] = {"gdcheck": 1, "name": name}
        if self.constants:
            document["constants"] = dict(self.constants)
        document["parameters"] = {p: {"shape": s} for p, s in self.parameters.items()}
        if self.objective is not None:
            document["objective"] = self.objective
        else:
            document["inputs"] = {i: {"shape": s} for i, s in self.inputs.items()}
            document["target"] = {"y": {"shape": self.target}}
            document["model"], document["loss"] = self.model, self.loss
            document["reduction"] = self.reduction
            shapes = {**self.inputs, "y": self.target}
            document["data"] = {"inline": {
                name: draw(rng, self.data, (SAMPLES, *shape)).tolist()
                for name, shape in shapes.items()}}
        if self.penalty is not None:
            document["penalty"] = self.penalty
        document["optimizer"] = {"method": "gd", "learning_rate": 0.1, "steps": 10}
        return document


def draw(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "small":
        return rng.uniform(-1.0, 1.0, shape)
    return rng.normal(0.0, 1.0, shape)


def objective(parameters: Shapes, text: str, **options: Any) -> Row:
    return Row(parameters, objective=text, **options)


def supervised(parameters: Shapes, inputs: Shapes, target: list[int], model: str,
               **options: Any) -> Row:
    return Row(parameters, model=model, inputs=inputs, target=target, **options)


M23, V3, V2 = {"A": [2, 3]}, {"v": [3]}, {"u": [2]}
UV = {"u": [3], "v": [3]}
SCALARS = {"a": [], "b": [], "c": [], "d": []}
SQUARED_ERROR = "sum((y_pred - y)**2)"
ELEMENTWISE = {   # name → where θ and the data are drawn, so the argument is in its domain
    "exp": "normal", "log": "positive", "sqrt": "positive", "tanh": "normal",
    "sigmoid": "normal", "softplus": "normal", "relu": "normal", "abs": "normal",
    "log1p": "positive", "expm1": "normal", "erf": "normal", "sin": "normal",
    "cos": "normal", "tan": "small", "sign": "normal",
}

RULES: dict[str, Row] = {
    # -- matmul of every rank, parameters on both sides
    "matrix@vector": objective({**M23, **V3}, "sum(sin(A @ v))"),
    "vector@matrix": objective({**V2, **M23}, "sum(sin(u @ A))"),
    "matrix@matrix": objective({**M23, "B": [3, 1]}, "sum(sin(A @ B))"),
    "matrix@matrix 3x1@1x4": objective({"A": [3, 1], "B": [1, 4]}, "sum(tanh(A @ B))"),
    "matrix@vector 1x4@4": objective({"R": [1, 4], "v": [4]}, "sum(exp(R @ v))"),
    "vector@vector": objective(UV, "sin(u @ v) + (u @ v)**2"),
    "literal@matrix": objective(M23, "sum(sin([1, -2] @ A))"),
    "matrix literal@vector": objective(V2, "sum(exp([[1, 0.5], [2, -1], [0, 3]] @ u))"),
    "matrix@matrix@vector": objective({**M23, "B": [3, 2], **V2}, "sum(tanh(A @ B @ u))"),
    # -- matmul with data operands, on either side
    "param matrix@data vector": supervised(M23, {"x": [3]}, [2], "tanh(A @ x)",
                                           loss=SQUARED_ERROR),
    "data vector@param matrix": supervised(M23, {"x": [2]}, [3], "tanh(x @ A)",
                                           loss=SQUARED_ERROR),
    "data matrix@param vector": supervised(V3, {"X": [2, 3]}, [2], "tanh(X @ v)",
                                           loss=SQUARED_ERROR),
    "param vector@data matrix": supervised(V2, {"X": [2, 3]}, [3], "tanh(u @ X)",
                                           loss=SQUARED_ERROR),
    "data matrix@param matrix": supervised({"B": [3, 1]}, {"X": [2, 3]}, [2, 1],
                                           "tanh(X @ B)", loss=SQUARED_ERROR),
    "param matrix@data matrix": supervised(M23, {"X": [3, 2]}, [2, 2], "sin(A @ X)",
                                           loss=SQUARED_ERROR),
    "data vector@param vector": supervised(V3, {"x": [3]}, [], "tanh(x @ v)"),
    "param vector@data vector": supervised(V3, {"x": [3]}, [], "sin(v @ x) * (v @ x)"),
    "data matrix@data vector": supervised(V2, {"X": [2, 3], "x": [3]}, [],
                                          "sum(tanh((X @ x) * u))"),
    "params@params@data": supervised({**M23, "B": [3, 2]}, {"x": [2]}, [2],
                                     "tanh(A @ (B @ x))", loss=SQUARED_ERROR),
    "data@param@data": supervised({"B": [3, 2]}, {"x": [3], "z": [2]}, [], "tanh(x @ B @ z)"),
    # -- dot
    "dot params": objective(UV, "dot(u, sin(v)) * dot(u, v)"),
    "dot param data": supervised({"w": [3], "b": []}, {"x": [3]}, [],
                                 "sigmoid(dot(w, x) + b)", loss="log(1 + (y_pred - y)**2)"),
    "dot data data": supervised(V3, {"x": [3]}, [], "dot(x, x) * v[0] + dot(x, v)**2"),
    # -- sum, mean, norm
    "sum": objective(M23, "sum(exp(A)) * sum(A)"),
    "mean": objective({**M23, **V3}, "mean(A**2) * mean(sin(A)) + mean(exp(v))"),
    "norm": objective({**M23, **V3}, "norm(v) + norm(A)**3"),
    "sum sampled": supervised(M23, {"X": [2, 3]}, [], "tanh(sum(A * X))"),
    "mean and norm sampled": supervised(M23, {"x": [3]}, [], "norm(A @ x) + mean(A @ x)**2"),
    # -- indexing
    "W[1]": objective(M23, "sum(exp(A[1])) * A[0, 2]"),
    "W[0, 2]": objective(M23, "sin(A[0, 2]) * A[1, 0]**2 + A[-1, -2]**3"),
    "v[-1]": objective(V3, "sin(v[-1]) * v[0]**2"),
    "index transposed": objective(M23, "sum(exp(transpose(A)[2]))"),
    "index sampled": supervised({**M23, "w": [2]}, {"x": [3]}, [],
                                "tanh((A @ x)[1]) + x[-1] * w[0]**2"),
    "index data matrix": supervised(V3, {"X": [2, 3]}, [], "tanh(dot(X[1], v) + X[0, 2])"),
    # -- list literals
    "[a, b*c]": objective(SCALARS, "logsumexp([a, b*c]) + sum(exp([a, b*c]) * [c, d])"),
    "[[a, b], [c, d]]": objective({**SCALARS, **V2}, "sum(sin([[a, b], [c, d]] @ u))"),
    "[vector, vector]": objective({**UV, "a": []}, "sum(tanh([u, v*a]) @ v)"),
    "[sampled, unsampled]": supervised({"w": [2], "b": []}, {"x": [2]}, [],
                                       "logsumexp([w[0]*x[0], b, x[1]])"),
    "[sampled vector, parameter]": supervised(UV, {"x": [3]}, [],
                                              "sum(tanh([x, v]) @ u)"),
    # -- transpose
    "transpose(A) @ u": objective({**M23, **V2}, "sum(sin(transpose(A) @ u))"),
    "transpose(A) * B": objective({**M23, "B": [3, 2]}, "sum(exp(transpose(A) * B))"),
    "transpose(data) @ param": supervised(V2, {"X": [2, 3]}, [3], "tanh(transpose(X) @ u)",
                                          loss=SQUARED_ERROR),
    "transpose(param) @ data": supervised(M23, {"x": [2]}, [3], "sin(transpose(A) @ x)",
                                          loss=SQUARED_ERROR),
    # -- broadcasting
    "vector + matrix": objective({**M23, **V3}, "sum(sin(A + v))"),
    "scalar * vector": objective({"a": [], **V3}, "sum(exp(a * v))"),
    "scalar - matrix": objective({"a": [], **M23}, "sum(exp(A - a)**2)"),
    "column + matrix": objective({"C": [2, 1], **M23}, "sum(sin(C + A))"),
    "row * column": objective({"R": [1, 3], "C": [2, 1]}, "sum(tanh(R * C))"),
    "per-sample scalar * parameter vector": supervised(V3, {"t": []}, [],
                                                       "sum(sin(t * v))"),
    "sampled vector + parameter matrix": supervised(M23, {"x": [3]}, [], "sum(tanh(A + x))"),
    "parameter vector * sampled matrix": supervised(V3, {"X": [2, 3]}, [],
                                                    "sum(sin(X * v))"),
    "sampled column * parameter matrix": supervised(M23, {"X": [2, 1]}, [],
                                                    "sum(tanh(X * A))"),
    "parameter scalar * sampled matrix + vector": supervised(
        {"a": [], **V3}, {"X": [2, 3]}, [2, 3], "sin(a * X + v)", loss=SQUARED_ERROR),
    # -- logsumexp and the softmax family
    "logsumexp": objective({**M23, **V3}, "logsumexp(v) * v[0] + logsumexp(A)"),
    "softmax": objective(UV, "sum(softmax(v) * u)"),
    "log_softmax": objective(UV, "dot(log_softmax(v), u)"),
    "log(softmax)": objective(UV, "sum(log(softmax(v)) * u)"),
    "softmax cross-entropy": supervised({"W": [3, 2], "b": [3]}, {"x": [2]}, [3],
                                        "softmax(W @ x + b)", loss="-sum(y * log(y_pred))"),
    "log_softmax cross-entropy": supervised({"W": [3, 2]}, {"x": [2]}, [3],
                                            "log_softmax(W @ x)", loss="-dot(y, y_pred)"),
    "logsumexp sampled": supervised(M23, {"x": [3]}, [], "logsumexp(A @ x)"),
    # -- max and min of a value (away from ties), maximum and minimum
    "max, min of a vector": objective(V3, "max(v) * v[0] + min(v)**2"),
    "max, min of a matrix": objective(M23, "max(A)**2 + min(sin(A))"),
    "max, min sampled": supervised({**M23, **V3}, {"x": [3]}, [],
                                   "max(A @ x) + min(x * v)**2"),
    "maximum, minimum": objective(UV, "sum(maximum(u, v)**2) + sum(minimum(u, v) * u)"),
    "maximum, minimum broadcast": objective({"a": [], **V3, **M23},
                                            "sum(maximum(a, v) * v) + sum(minimum(A, v)**3)"),
    "maximum, minimum sampled": supervised(V3, {"x": [3]}, [],
                                           "sum(maximum(v, x)**2 + minimum(2 * v, x) * v)"),
    # -- powers
    "integer powers": objective(V3, "sum(v**3) + sum(v**-2) + v[0]**4 * v[1]"),
    "fractional powers": objective(V3, "sum(v**0.5) + sum(v**1.5) + sum(v**-0.25)",
                                   theta="positive"),
    "parameter exponents": objective({"a": [], "b": [], **V3},
                                     "a**b + sum(2**v) + sum(v**a)", theta="positive"),
    "powers of data": supervised(V3, {"x": [3]}, [], "sum((v * x)**2.5) + sum(x**v)",
                                 theta="positive", data="positive"),
    "quotients": objective(UV, "sum(u / v) + u[0] / (1 + sum(v**2))", theta="positive"),
    # -- constants, penalty, reduction
    "constants": objective({"a": [], **V3}, "sum(pi * v * lam) + e**a - lam / (1 + a**2)",
                           constants={"lam": 0.25}),
    "penalty": supervised({"w": [2], "b": []}, {"x": [2]}, [], "dot(w, x) + b",
                          penalty="lam * sum(w**2) + b**4", constants={"lam": 0.3}),
    "objective penalty": objective(V3, "sum(sin(v))", penalty="sum(v**4)"),
    "reduction: sum": supervised({"w": [2], "b": []}, {"x": [2]}, [], "tanh(dot(w, x) + b)",
                                 penalty="lam * sum(w**2)", constants={"lam": 0.3},
                                 reduction="sum"),
    # -- elementwise functions, each of a parameter vector and of sampled data
    **{f"{name}": objective(UV, f"sum(u * {name}(v)) + {name}(v[0] * u[1])**2", theta=domain)
       for name, domain in ELEMENTWISE.items()},
    **{f"{name} sampled": supervised(V3, {"x": [3]}, [], f"sum({name}(v * x))",
                                     theta=domain, data=domain)
       for name, domain in ELEMENTWISE.items()},
}


def write_spec(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def compile_row(row: Row, folder: Path, seed: int = 0) -> Any:
    document = row.document("rule", np.random.default_rng(seed))
    return gdcheck.compile(write_spec(folder, document))


def assert_close(actual: Any, expected: Any, rtol: float) -> None:
    """Entrywise relative agreement; zeros are compared against the value's own scale."""
    expected = np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-2 * scale)


# ----------------------------------------------------------------- the rule table


@pytest.mark.parametrize("row", [pytest.param(row, id=name) for name, row in RULES.items()])
def test_rule_matches_per_entry_sympy(row: Row, tmp_path: Path) -> None:
    """Loss, gradient, H·v and the Hessian agree with sympy.diff of the per-entry loss."""
    problem = compile_row(row, tmp_path)
    oracle = reference(problem)
    rng = np.random.default_rng(1)
    for theta in draw(rng, row.theta, (POINTS, problem.size)):
        value, gradient, hessian = oracle(theta)
        assert np.all(np.isfinite(hessian))
        assert_close(problem.loss(theta), value, RTOL)
        assert_close(problem.gradient(theta), gradient, RTOL)
        v = rng.normal(0.0, 1.0, problem.size)
        assert_close(problem.hessian_vector(theta, v), hessian @ v, HESSIAN_RTOL)
        assert_close(problem.hessian(theta), hessian, HESSIAN_RTOL)
