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
    COMPARISONS,
    AbsoluteValue,
    LogSumExp,
    Lookup,
    Maximum,
    Minimum,
    Relu,
    Sigmoid,
    Sign,
    Softplus,
    Where,
)

RTOL = 1e-10          # loss and gradient
HESSIAN_RTOL = 1e-9   # H·v and the dense Hessian
POINTS = 3
SAMPLES = 3

Shapes = dict[str, list[int]]


# ----------------------------------------------------------------- the oracle


class Largest(sp.Function):
    """Largest(k, t0, t1, ...): 1 where t_k is the largest term, else 0. Away from ties it
    is locally constant, so its derivative is 0, and max(t) = Σ_k t_k · Largest(k, t)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class Smallest(Largest):
    """Smallest(k, t0, t1, ...): 1 where t_k is the smallest term, else 0."""


def _indicator(pick: Callable[..., Any]) -> Callable[..., Any]:
    def value(k: Any, *terms: Any) -> Any:
        others = [t for i, t in enumerate(terms) if i != int(k)]
        return mpmath.mpf(1 if all(pick(terms[int(k)], t) for t in others) else 0)

    return value


INDICATORS = {"Largest": _indicator(lambda a, b: a > b),
              "Smallest": _indicator(lambda a, b: a < b)}

# gdcheck's own SymPy functions → textbook SymPy, so `sympy.diff` never calls their fdiff
PLAIN: dict[type, Callable[..., sp.Expr]] = {
    Sigmoid: lambda u: 1 / (1 + sp.exp(-u)),
    Softplus: lambda u: sp.log(1 + sp.exp(u)),
    Relu: lambda u: sp.Piecewise((u, u > 0), (0, True)),
    AbsoluteValue: lambda u: sp.Piecewise((u, u > 0), (-u, True)),
    Sign: lambda u: sp.Piecewise((1, u > 0), (-1, u < 0), (0, True)),
    LogSumExp: lambda *terms: sp.log(sp.Add(*[sp.exp(t) for t in terms])),
    log1p: lambda u: sp.log(1 + u),
    expm1: lambda u: sp.exp(u) - 1,
    Where: lambda c, a, b: sp.Piecewise((a, sp.Ne(c, 0)), (b, True)),
    Lookup: lambda i, *rows: sp.Add(*[sp.Piecewise((row, sp.Eq(i, k)), (0, True))
                                      for k, row in enumerate(rows)]),
    **{cls: (lambda test: lambda a, b: sp.Piecewise((1, test(a, b)), (0, True)))(cls.test)
       for cls in COMPARISONS.values()},
}
EXTREMES = {Maximum: Largest, Minimum: Smallest}


def terms_of(expression: sp.Expr, kind: type) -> list[sp.Expr]:
    """The terms of max(max(a, b), c) (or min), flattened: [a, b, c]."""
    if type(expression) is not kind:
        return [expression]
    return [term for arg in expression.args for term in terms_of(arg, kind)]


def plain(expression: sp.Expr) -> sp.Expr:
    """The expression with every gdcheck function (and log1p, expm1) written out."""
    if expression.is_Atom:
        return expression
    indicator = EXTREMES.get(type(expression))
    if indicator is not None:
        terms = [plain(term) for term in terms_of(expression, type(expression))]
        return sp.Add(*[t * indicator(k, *terms) for k, t in enumerate(terms)])
    args = [plain(arg) for arg in expression.args]
    rewrite = PLAIN.get(type(expression))
    return rewrite(*args) if rewrite else expression.func(*args)


def _cse(expressions: Any) -> Any:
    return sp.cse(expressions, order="none", list=False)


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
    """[f, ∇f, ∇²f] of a scalar expression, each by `sympy.diff` (the Hessian's upper
    triangle, mirrored: SymPy's mixed partials are equal)."""
    gradient = [sp.diff(expression, s) for s in symbols]
    hessian = sp.zeros(len(symbols))
    for i, g in enumerate(gradient):
        for j in range(i, len(symbols)):
            hessian[i, j] = hessian[j, i] = sp.diff(g, symbols[j])
    return [expression, sp.Matrix(gradient), hessian]


def reference(problem: Any, arrays: dict[str, np.ndarray]) -> Reference:
    """The oracle of a compiled spec, over the data written into it (`arrays`)."""
    symbolic = problem.symbolic
    theta, data = symbolic.parameter_symbols, symbolic.data_symbols
    constants = {c: sp.Float(value, 30) for c, value in symbolic.constants.items()}

    def compiled(expression: sp.Expr, arguments: tuple[sp.Symbol, ...]) -> Callable[..., Any]:
        expression = plain(sp.sympify(expression).xreplace(constants))
        return sp.lambdify(arguments, derivatives(expression, theta), cse=_cse,
                           modules=[INDICATORS, "mpmath"])

    sample = compiled(symbolic.sample_loss, theta + data)
    penalty = compiled(symbolic.penalty, theta)
    columns = [arrays[name].reshape(SAMPLES, -1) for name in (*symbolic.inputs,
                                                              *symbolic.target)]
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
    ids: dict[str, int] = field(default_factory=dict)   # integer inputs: name → range

    def document(self, name: str, rng: np.random.Generator
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The spec as a dict, and the data written into it (inputs, then the target y)."""
        document: dict[str, Any] = {"gdcheck": 1, "name": name}
        arrays: dict[str, np.ndarray] = {}
        if self.constants:
            document["constants"] = dict(self.constants)
        document["parameters"] = {p: {"shape": s} for p, s in self.parameters.items()}
        if self.objective is not None:
            document["objective"] = self.objective
        else:
            document["inputs"] = {i: {"shape": s, **({"dtype": "int", "range": self.ids[i]}
                                                     if i in self.ids else {})}
                                  for i, s in self.inputs.items()}
            document["target"] = {"y": {"shape": self.target}}
            document["model"], document["loss"] = self.model, self.loss
            document["reduction"] = self.reduction
            arrays = {name: (rng.integers(0, self.ids[name], (SAMPLES, *shape)).astype(float)
                             if name in self.ids else draw(rng, self.data, (SAMPLES, *shape)))
                      for name, shape in {**self.inputs, "y": self.target}.items()}
            document["data"] = {"inline": {k: a.tolist() for k, a in arrays.items()}}
        if self.penalty is not None:
            document["penalty"] = self.penalty
        document["optimizer"] = {"method": "gd", "learning_rate": 0.1, "steps": 10}
        return document, arrays


def draw(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "half":
        return rng.uniform(-0.5, 0.5, shape)
    if kind == "above one":
        return rng.uniform(1.5, 3.0, shape)
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
    "sinh": "small", "cosh": "small", "arctan": "normal", "arcsin": "half",
    "arccos": "half", "arcsinh": "normal", "arccosh": "above one", "arctanh": "half",
}

BY_DOMAIN = {domain: [name for name, where in ELEMENTWISE.items() if where == domain]
             for domain in dict.fromkeys(ELEMENTWISE.values())}

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
    "[[sampled, parameter], [parameter, sampled]]": supervised(
        {"a": [], "b": [], **V2}, {"x": [2]}, [], "sum(sin([[x[0], a], [b, x[1]]] @ u))"),
    "[parameter]ᵀ @ [sampled]": supervised(V2, {"x": [3]}, [],
                                           "sum(tanh(transpose([u]) @ [x]))"),
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
    "parameter row * sampled column": supervised({"R": [1, 3]}, {"X": [2, 1]}, [],
                                                 "sum(tanh(R * X))"),
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
    "logsumexp, norm of a sampled matrix": supervised(M23, {"X": [2, 3]}, [],
                                                      "logsumexp(X * A) * norm(X + A)"),
    # -- max and min of a value (away from ties), maximum and minimum
    "max, min of a vector": objective(V3, "max(v) * v[0] + min(v)**2"),
    "max, min of a matrix": objective(M23, "max(A)**2 + min(sin(A))"),
    "max, min sampled": supervised({**M23, **V3}, {"x": [3]}, [],
                                   "max(A @ x) + min(x * v)**2"),
    "max, min of a sampled matrix": supervised(M23, {"X": [2, 3]}, [],
                                               "max(X * A) + min(X + A)**2"),
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
    "quotients of data": supervised(V3, {"x": [3]}, [], "sum(v / x) * sum(x / v)",
                                    theta="positive", data="positive"),
    # -- constants, penalty, reduction
    "constants": objective({"a": [], **V3}, "sum(pi * v * lam) + e**a - lam / (1 + a**2)",
                           constants={"lam": 0.25}),
    "penalty": supervised({"w": [2], "b": []}, {"x": [2]}, [], "dot(w, x) + b",
                          penalty="lam * sum(w**2) + b**4", constants={"lam": 0.3}),
    "objective penalty": objective(V3, "sum(sin(v))", penalty="sum(v**4)"),
    # a per-sample term of the parameters alone, constant over the samples (it was counted
    # once, not n times, before ab9dd59)
    "parameter-only term in the loss": supervised(
        {"w": [2], "b": []}, {"x": [2]}, [], "dot(w, x) + b",
        loss="(y_pred - y)**2 + 0.1 * sum(w**2)"),
    "model without inputs": supervised({**M23, **V3}, {"x": [3]}, [2], "tanh(A @ v)",
                                       loss=SQUARED_ERROR),
    "reduction: sum": supervised({"w": [2], "b": []}, {"x": [2]}, [], "tanh(dot(w, x) + b)",
                                 penalty="lam * sum(w**2)", constants={"lam": 0.3},
                                 reduction="sum"),
    # -- reductions along an axis (issue 14)
    "sum, mean along an axis": objective(M23, "sum(sin(sum(A, axis=1))) + sum(mean(A, axis=0)**2)"),
    "keepdims": objective(M23, "sum(exp(A - logsumexp(A, axis=1, keepdims=True)) * A)"),
    "max, min along an axis": objective(M23, "sum(max(A, axis=0)**2) + sum(min(A, axis=1))"),
    "softmax along axis 0": objective(M23, "sum(softmax(A, axis=0) * sin(A))"),
    "norm ord 2, 1, inf along axes": objective(
        M23, "sum(norm(A, axis=1)) + norm(A, ord=1) + sum(norm(A, ord=inf, axis=0))"),
    "axis reductions sampled": supervised(M23, {"X": [2, 3]}, [2],
                                          "logsumexp(X * A, axis=1)", loss=SQUARED_ERROR),
    # -- conditions
    "where, comparisons": objective(V3, "sum(where(v > 0, v**2, sin(v)) + (v <= 0.5) * v)"),
    "where sampled": supervised(V3, {"x": [3]}, [], "sum(where(x > 0, v * x, exp(v)))"),
    "clip": objective(V3, "sum(clip(v, -0.5, 0.5) * v) + sum(clip(2 * v, v - 1, 1)**2)"),
    # -- slices, rank 3
    "slices": objective({"A": [4, 5]},
                        "sum(sin(A[1:3, ::2])) + sum(A[:, 0]**2) + sum(A[3::-2, 1])"),
    "slices sampled": supervised(V3, {"X": [4, 3]}, [2], "tanh(X[1:3] @ v)", loss=SQUARED_ERROR),
    "rank 3 @": objective({"T": [2, 3, 2], "B": [2, 2, 3]}, "sum(tanh(T @ B)) + sum(T[1, :, 1:])"),
    "rank 3 data": supervised({"W": [2, 3]}, {"X": [2, 3, 2]}, [2], "sum(tanh(W @ X[0]), axis=1)",
                              loss=SQUARED_ERROR),
    # -- lookups by integer ids (an embedding bag)
    "E[token]": supervised({"E": [4, 2], "w": [2]}, {"token": [3]}, [],
                           "dot(mean(E[token], axis=0), w)", ids={"token": 4}),
    "E[token] twice, tanh": supervised({"E": [3, 2]}, {"token": [2]}, [2],
                                       "tanh(sum(E[token] * E[token], axis=0))",
                                       loss=SQUARED_ERROR, ids={"token": 3}),
    # -- convolutions and pooling
    "conv1d": supervised({"W": [2, 1, 2]}, {"x": [1, 4]}, [2, 3], "tanh(conv1d(x, W))",
                         loss=SQUARED_ERROR),
    "conv1d stride, padding": supervised({"W": [1, 2, 3]}, {"x": [2, 5]}, [1, 3],
                                         "conv1d(x, W, stride=2, padding=1)",
                                         loss=SQUARED_ERROR),
    "conv2d": supervised({"W": [1, 1, 2, 2]}, {"x": [1, 3, 3]}, [1, 2, 2],
                         "sin(conv2d(x, W))", loss=SQUARED_ERROR),
    "max_pool, avg_pool": supervised({"W": [2, 1, 2]}, {"x": [1, 5]}, [],
                                     "sum(max_pool(conv1d(x, W), size=2)) "
                                     "+ sum(avg_pool(tanh(conv1d(x, W)), size=2, stride=1))"),
    # -- elementwise functions: each of a parameter vector; of sampled data, by domain
    **{name: objective(UV, f"sum(u * {name}(v))", theta=domain)
       for name, domain in ELEMENTWISE.items()},
    **{f"{domain} elementwise sampled": supervised(
        V3, {"x": [3]}, [], " + ".join(f"sum({name}(v * x))" for name in names),
        theta=domain, data=domain) for domain, names in BY_DOMAIN.items()},
}


def write_spec(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def compile_row(row: Row, folder: Path, seed: int = 0) -> tuple[Any, dict[str, np.ndarray]]:
    """The compiled row, and the data its spec holds."""
    document, arrays = row.document("rule", np.random.default_rng(seed))
    return gdcheck.compile(write_spec(folder, document)), arrays


def assert_close(actual: Any, expected: Any, rtol: float) -> None:
    """Entrywise relative agreement; zeros are compared against the value's own scale."""
    expected = np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * 1e-2 * scale)


# ----------------------------------------------------------------- the rule table


@pytest.mark.parametrize("row", [pytest.param(row, id=name) for name, row in RULES.items()])
def test_rule_matches_per_entry_sympy(row: Row, tmp_path: Path) -> None:
    """Loss, gradient, H·v and the Hessian agree with sympy.diff of the per-entry loss."""
    problem, arrays = compile_row(row, tmp_path)
    oracle = reference(problem, arrays)
    rng = np.random.default_rng(1)
    for theta in draw(rng, row.theta, (POINTS, problem.size)):
        value, gradient, hessian = oracle(theta)
        assert np.all(np.isfinite(hessian))
        assert_close(problem.loss(theta), value, RTOL)
        assert_close(problem.gradient(theta), gradient, RTOL)
        v = rng.normal(0.0, 1.0, problem.size)
        assert_close(problem.hessian_vector(theta, v), hessian @ v, HESSIAN_RTOL)
        assert_close(problem.hessian(theta), hessian, HESSIAN_RTOL)


# ----------------------------------------------------------------- a batch of points


@pytest.mark.parametrize("name", ["softmax cross-entropy", "[sampled vector, parameter]",
                                  "vector + matrix", "max, min of a vector"])
def test_a_batch_of_points_equals_one_call_per_point(name: str, tmp_path: Path) -> None:
    """θ of shape (K, P): loss, gradient, H·v and the Hessian at row k are those of point k
    alone (a bare objective runs the batch as one call on a second graph)."""
    problem, _ = compile_row(RULES[name], tmp_path)
    rng = np.random.default_rng(2)
    thetas, vs = rng.normal(0.0, 1.0, (2, 4, problem.size))
    losses, gradients = problem.loss(thetas), problem.gradient(thetas)
    assert losses.shape == (4,) and gradients.shape == (4, problem.size)
    both = problem.loss_and_gradient(thetas)
    products = problem.hessian_vector(thetas, vs)
    assert products.shape == (4, problem.size)
    hessians = problem.hessian(thetas[:2])
    assert hessians.shape == (2, problem.size, problem.size)
    for k, (theta, v) in enumerate(zip(thetas, vs, strict=True)):
        assert_close(losses[k], problem.loss(theta), 1e-13)
        assert_close(both[0][k], problem.loss(theta), 1e-13)
        assert_close(gradients[k], problem.gradient(theta), 1e-13)
        assert_close(both[1][k], problem.gradient(theta), 1e-13)
        assert_close(products[k], problem.hessian_vector(theta, v), 1e-13)
        if k < 2:
            assert_close(hessians[k], problem.hessian(theta), 1e-13)


# ----------------------------------------------------------------- the generated code


SECRET = """\
gdcheck: 1
name: secret
constants: {lam_secret: 0.5}
parameters: {weights_secret: {shape: [2, 3]}, bias_secret: {shape: [2]}}
inputs: {inputs_secret: {shape: [3]}}
target: {target_secret: {shape: [2]}}
model: tanh(weights_secret @ inputs_secret + bias_secret)
loss: sum((y_pred - target_secret)**2)
penalty: lam_secret * sum(weights_secret**2)
data: {inline: {inputs_secret: [[1, 2, 3], [0, -1, 2]], target_secret: [[1, 0], [0, 1]]}}
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""
SECRET_OBJECTIVE = """\
gdcheck: 1
name: secret_objective
constants: {lam_secret: 0.5}
parameters: {weights_secret: {shape: [2, 3]}, vector_secret: {shape: [3]}}
objective: sum(sin(weights_secret @ vector_secret)) + lam_secret * sum(vector_secret**2)
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
"""


@pytest.mark.parametrize("text", [SECRET, SECRET_OBJECTIVE], ids=["supervised", "objective"])
def test_generated_code_holds_no_user_chosen_name(text: str, tmp_path: Path) -> None:
    """Every name in the generated code is gdcheck's own: a spec cannot inject code."""
    path = tmp_path / "secret.yaml"
    path.write_text(text, encoding="utf-8")
    problem = gdcheck.compile(path)
    theta = np.random.default_rng(3).normal(0.0, 1.0, problem.size)
    problem.gradient(theta)
    problem.loss(theta)
    problem.hessian_vector(theta, theta)
    problem.gradient(np.stack([theta, theta]))
    kernels = problem.kernels
    sources = [kernels.program(name).source for name in ("gradient", "loss", "hvp")]
    if problem.spec.kind == "objective":
        sources.append(kernels.program("gradient", batched=True).source)
    assert "def program" in sources[0]   # the code really is what runs
    for source in sources:
        assert "secret" not in source and "y_pred" not in source


# ----------------------------------------------------------------- the kink test


KINKED = """\
gdcheck: 1
name: kinked
parameters: {{W: {{shape: [2, 3]}}, b: {{shape: [2]}}}}
inputs: {{x: {{shape: [3]}}}}
target: {{y: {{}}}}
model: sum({function}(W @ x + b))
loss: (y_pred - y)**2
data: {{inline: {{x: [[1, -2, 0.5], [0.3, 0.8, -1.5], [2, 1, 1]], y: [1, 0, 2]}}}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""
KINK_X = np.array([[1, -2, 0.5], [0.3, 0.8, -1.5], [2, 1, 1]])


@pytest.mark.parametrize("function", ["relu", "abs"])
@pytest.mark.parametrize(("sample", "entry"), [(0, 0), (2, 1)])
def test_crosses_kink_when_one_entry_is_within_the_steps_of_zero(
        function: str, sample: int, entry: int, tmp_path: Path) -> None:
    """One entry of W xᵢ + b (one sample, one row) 1e-8 from 0: steps of 1e-6 cross it."""
    path = tmp_path / "kinked.yaml"
    path.write_text(KINKED.format(function=function), encoding="utf-8")
    problem = gdcheck.compile(path)
    weights = np.random.default_rng(4).normal(0.0, 0.01, (2, 3))
    bias = np.array([3.0, -3.0])    # every entry of W x + b is about ±3 ...
    bias[entry] = 1e-8 - weights[entry] @ KINK_X[sample]   # ... but this one
    theta = problem.pack({"W": weights, "b": bias})
    pre_activations = KINK_X @ weights.T + bias
    assert np.sum(np.abs(pre_activations) < 1e-6) == 1
    assert problem.crosses_kink(theta, np.full(problem.size, 1e-6))
    assert not problem.crosses_kink(theta, np.full(problem.size, 1e-12))


@pytest.mark.parametrize("function", ["relu", "abs"])
def test_no_kink_is_crossed_far_from_zero_with_tiny_steps(function: str,
                                                          tmp_path: Path) -> None:
    """Every entry of W xᵢ + b is about ±3 away from 0: steps of 1e-8 cross nothing, and
    steps of 10 may cross anything."""
    path = tmp_path / "kinked.yaml"
    path.write_text(KINKED.format(function=function), encoding="utf-8")
    problem = gdcheck.compile(path)
    weights = np.random.default_rng(5).normal(0.0, 0.01, (2, 3))
    theta = problem.pack({"W": weights, "b": [3.0, -3.0]})
    assert np.min(np.abs(KINK_X @ weights.T + [3.0, -3.0])) > 2.5
    assert not problem.crosses_kink(theta, np.full(problem.size, 1e-8))
    assert problem.crosses_kink(theta, np.full(problem.size, 10.0))


@pytest.mark.parametrize("objective", ["norm(c)", "sqrt(c**2 + d**2)", "(c**2)**(1/3)"])
def test_a_root_of_zero_is_a_kink(objective: str, tmp_path: Path) -> None:
    """norm and sqrt have an infinite slope where their argument is 0 (found by the fuzzer:
    norm(c) at c = 6e-119 was compared against a difference that straddles the origin)."""
    path = tmp_path / "root.yaml"
    path.write_text("gdcheck: 1\nname: root\nparameters: {c: {}, d: {}}\n"
                    f"objective: {objective} + d**2\n"
                    "optimizer: {method: gd, learning_rate: 0.1, steps: 10}\n", encoding="utf-8")
    problem = gdcheck.compile(path)
    assert problem.crosses_kink(np.array([6e-119, 0.0]), np.full(2, 1e-6))
    assert not problem.crosses_kink(np.array([1.0, 0.5]), np.full(2, 1e-6))


STILL = """\
gdcheck: 1
name: still
parameters: {{w: {{}}}}
inputs: {{x: {{}}}}
target: {{y: {{}}}}
model: {model}
loss: {loss}
data: {{inline: {{x: [0, 1, 2], y: [1, 0, 2]}}}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""


@pytest.mark.parametrize(("model", "loss"), [("w * abs(x)", "(y_pred - y)**2"),
                                             ("w * x", "(y_pred - y)**2 + abs(y)")])
def test_a_kink_in_the_data_alone_is_never_crossed(model: str, loss: str,
                                                   tmp_path: Path) -> None:
    """abs(x) at a sample where x = 0 does not move with θ: L(w) is smooth (here linear or
    quadratic in w), so no step can cross a kink (every θ was a kink before ab9dd59)."""
    path = tmp_path / "still.yaml"
    path.write_text(STILL.format(model=model, loss=loss), encoding="utf-8")
    problem = gdcheck.compile(path)
    assert not problem.crosses_kink(np.array([0.7]), np.full(1, 1e-6))


TIED = """\
gdcheck: 1
name: tied
parameters: {{v: {{shape: [3]}}, A: {{shape: [2, 3]}}}}
objective: {function}(v) + {function}(A)
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""


@pytest.mark.parametrize("function", ["max", "min"])
def test_crosses_kink_at_a_tie_of_max_or_min(function: str, tmp_path: Path) -> None:
    """max(v) is not differentiable where its two largest entries are equal (min: smallest;
    ties went unseen before ab9dd59)."""
    path = tmp_path / "tied.yaml"
    path.write_text(TIED.format(function=function), encoding="utf-8")
    problem = gdcheck.compile(path)
    sign = 1.0 if function == "max" else -1.0
    matrix = sign * np.array([[0.0, -5.0, -6.0], [-7.0, -8.0, -9.0]])   # far from any tie
    tied = problem.pack({"v": sign * np.array([2.0, 2.0 + 1e-9, -1.0]), "A": matrix})
    apart = problem.pack({"v": sign * np.array([2.0, 3.0, -1.0]), "A": matrix})
    steps = np.full(problem.size, 1e-6)
    assert not problem.crosses_kink(apart, steps)
    assert problem.crosses_kink(tied, steps)


# ----------------------------------------------------------------- numerical stability


LOGISTIC = """\
gdcheck: 1
name: logistic_stability
parameters: {{z: {{}}}}
inputs: {{x: {{}}}}
target: {{y: {{}}}}
model: {model}
loss: {loss}
data: {{inline: {{x: [1.0], y: [{label}]}}}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""
LOGISTIC_FORMS = {   # the loss written on the score, and on the probability y_pred
    "on z": ("z * x", "-(y*log(sigmoid(y_pred)) + (1 - y)*log(1 - sigmoid(y_pred)))"),
    "on y_pred": ("sigmoid(z * x)", "-(y*log(y_pred) + (1 - y)*log(1 - y_pred))"),
}


def mp_sigmoid(z: Any) -> Any:
    return 1 / (1 + mpmath.exp(-z))


def logistic_far_out(form: str, label: int, z: float, folder: Path
                     ) -> tuple[list[float], list[float]]:
    """gdcheck's [ℓ, ℓ', ℓ'', H·1] at z, and the same from mpmath at 50 digits:
    ℓ = y log(1 + e^−z) + (1 − y) log(1 + e^z), ℓ' = σ(z) − y, ℓ'' = σ(z)σ(−z), with
    1 − σ(z) written σ(−z) so that no digit is lost in the reference either."""
    model, loss = LOGISTIC_FORMS[form]
    path = folder / "logistic.yaml"
    path.write_text(LOGISTIC.format(model=model, loss=loss, label=label), encoding="utf-8")
    problem = gdcheck.compile(path)
    with mpmath.workdps(50):
        t, y = mpmath.mpf(z), label
        value = y * mpmath.log1p(mpmath.exp(-t)) + (1 - y) * mpmath.log1p(mpmath.exp(t))
        slope = -y * mp_sigmoid(-t) + (1 - y) * mp_sigmoid(t)
        curvature = mp_sigmoid(t) * mp_sigmoid(-t)
    theta = np.array([z])
    with np.errstate(over="raise", divide="raise", invalid="raise"):   # no inf, no 0·inf
        got = [problem.loss(theta), problem.gradient(theta)[0], problem.hessian(theta)[0, 0],
               problem.hessian_vector(theta, np.ones(1))[0]]
    return got, [float(value), float(slope), float(curvature), float(curvature)]


FAR_OUT = [40.0, -40.0, 800.0, -800.0]


@pytest.mark.parametrize("form", LOGISTIC_FORMS)
@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("z", FAR_OUT)
def test_logistic_loss_is_finite_and_accurate_far_out(form: str, label: int, z: float,
                                                      tmp_path: Path) -> None:
    """The loss to 1e-13 relative (e^−40 and e^−800 included: no log(1 − σ) cancels), its
    derivatives finite and within 1e-16 absolute."""
    got, expected = logistic_far_out(form, label, z, tmp_path)
    assert all(np.isfinite(got))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("form", LOGISTIC_FORMS)
@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("z", FAR_OUT)
def test_logistic_derivatives_are_accurate_relative_to_their_size(
        form: str, label: int, z: float, tmp_path: Path) -> None:
    """ℓ' and ℓ'' to 1e-13 relative: e^−40 is a normal float, so it can be had exactly."""
    got, expected = logistic_far_out(form, label, z, tmp_path)
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-13, atol=1e-300)


LOG_SOFTMAX = {
    "objective": """\
gdcheck: 1
name: log_softmax_underflow
parameters: {v: {shape: [2]}}
objective: -sum([0, 1] * log(softmax(v))) + 0.5 * sum([1, 0] * log(softmax(v)))
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
""",
    "supervised": """\
gdcheck: 1
name: log_softmax_underflow
parameters: {v: {shape: [2]}}
inputs: {x: {}}
target: {y: {shape: [2]}}
model: softmax(v * x)
loss: -sum(y * log(y_pred))
data: {inline: {x: [1.0, 1.0], y: [[0, 1], [-0.5, 0]]}}
optimizer: {method: gd, learning_rate: 0.1, steps: 10}
""",
}


@pytest.mark.parametrize("form", LOG_SOFTMAX)
def test_log_of_softmax_is_finite_where_softmax_underflows(form: str, tmp_path: Path) -> None:
    """At v = [0, −1000], softmax(v)₁ = e^−1000 is 0 in floats, yet log softmax(v) is
    [−log(1 + e^−1000), −1000 − log(1 + e^−1000)]: L = −(lsm₁ − lsm₀/2) (the supervised
    spec averages the same two terms: half of it), ∇L = −(e₁ − p) + (e₀ − p)/2 and
    ∇²L = (1 − 1/2)(diag(p) − ppᵀ), against mpmath at 50 digits."""
    path = tmp_path / "lsm.yaml"
    path.write_text(LOG_SOFTMAX[form], encoding="utf-8")
    problem = gdcheck.compile(path)
    with mpmath.workdps(50):
        v = [mpmath.mpf(0), mpmath.mpf(-1000)]
        total = mpmath.log(mpmath.exp(v[0]) + mpmath.exp(v[1]))
        lsm = [v[0] - total, v[1] - total]
        p = [mpmath.exp(item) for item in lsm]
        value = -(lsm[1] - lsm[0] / 2)
        gradient = [-(0 - p[0]) + (1 - p[0]) / 2, -(1 - p[1]) + (0 - p[1]) / 2]
        hessian = [[(p[i] * (i == j) - p[i] * p[j]) / 2 for j in range(2)] for i in range(2)]
    scale = 0.5 if form == "supervised" else 1.0
    theta = np.array([0.0, -1000.0])
    got_value, got_gradient = problem.loss(theta), problem.gradient(theta)
    got_hessian = problem.hessian(theta)
    assert np.isfinite(got_value) and np.all(np.isfinite(got_gradient))
    assert np.all(np.isfinite(got_hessian))
    np.testing.assert_allclose(got_value, scale * float(value), rtol=1e-13)
    np.testing.assert_allclose(got_gradient, scale * np.array(gradient, dtype=float),
                               rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(got_hessian, scale * np.array(hessian, dtype=float),
                               rtol=1e-13, atol=1e-300)
