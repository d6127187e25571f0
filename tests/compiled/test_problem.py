"""Oracle tests for `gdcheck.compile`: losses, gradients and Hessians written by hand.

Each oracle below is the textbook formula in plain numpy (no SymPy, nothing
from gdcheck), fed the same data as the spec: read from the bundled spec's
YAML or csv, or generated here and written into a spec with inline data. The
compiled Problem must agree with it to 1e-10 relative at random points.
The oracles are themselves checked against central differences of their own
losses, so a slip in a hand derivation shows up as an oracle failure, not as a
false library bug.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import gdcheck

SPECS = Path(__file__).resolve().parents[2] / "specs"
RTOL, ATOL = 1e-10, 1e-12
POINTS = 5

Function = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Oracle:
    """A hand-written objective over the flat θ, and where to probe it."""

    spec: Path
    loss: Function
    gradient: Function
    hessian: Function | None = None
    scale: float = 1.0                  # θ ~ normal(0, scale) at the test points

    def points(self, size: int, seed: int = 0, count: int = POINTS) -> np.ndarray:
        return np.random.default_rng(seed).normal(0.0, self.scale, (count, size))


# ----------------------------------------------------------------- the oracles


def with_ones(x: np.ndarray) -> np.ndarray:
    """The design matrix A = [X, 1]: θ = (w, b) gives the scores A θ = X w + b."""
    return np.column_stack([x, np.ones(len(x))])


def least_squares(x: np.ndarray, y: np.ndarray, lam: float = 0.0,
                  reduction: str = "mean") -> tuple[Function, Function, Function]:
    """L = c Σᵢ (w·xᵢ + b − yᵢ)² + lam |w|², c = 1/n (mean) or 1 (sum).

    ∇L = 2c Aᵀ(Aθ − y) + 2 lam (w, 0);  ∇²L = 2c AᵀA + 2 lam diag(1, …, 1, 0).
    """
    design = with_ones(x)
    weight = 1.0 / len(y) if reduction == "mean" else 1.0
    penalised = np.r_[np.ones(x.shape[1]), 0.0]     # the bias b is not penalised

    def loss(theta: np.ndarray) -> float:
        residual = design @ theta - y
        return weight * residual @ residual + lam * np.sum((penalised * theta) ** 2)

    def gradient(theta: np.ndarray) -> np.ndarray:
        return 2 * weight * design.T @ (design @ theta - y) + 2 * lam * penalised * theta

    def hessian(theta: np.ndarray) -> np.ndarray:
        return 2 * weight * design.T @ design + 2 * lam * np.diag(penalised)

    return loss, gradient, hessian


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def logistic(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[Function, Function, Function]:
    """L = −mean(y log p + (1 − y) log(1 − p)) + lam |w|², p = σ(Aθ).

    ∇L = Aᵀ(p − y)/n + 2 lam (w, 0);  ∇²L = Aᵀ diag(p(1 − p)) A / n + 2 lam diag(1, 1, 0).
    """
    design, n = with_ones(x), len(y)
    penalised = np.r_[np.ones(x.shape[1]), 0.0]

    def loss(theta: np.ndarray) -> float:
        p = sigmoid(design @ theta)
        cross_entropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return cross_entropy + lam * np.sum((penalised * theta) ** 2)

    def gradient(theta: np.ndarray) -> np.ndarray:
        return design.T @ (sigmoid(design @ theta) - y) / n + 2 * lam * penalised * theta

    def hessian(theta: np.ndarray) -> np.ndarray:
        p = sigmoid(design @ theta)
        return (design.T * (p * (1 - p))) @ design / n + 2 * lam * np.diag(penalised)

    return loss, gradient, hessian


def softmax_regression(x: np.ndarray, onehot: np.ndarray,
                       lam: float) -> tuple[Function, Function]:
    """θ = (W row-major, b); Z = X Wᵀ + b; L = −mean Σₖ yₖ log softmax(Z)ₖ + lam(|W|² + |b|²).

    ∂L/∂Z = (softmax(Z) − Y)/n, so ∇W = (∂L/∂Z)ᵀ X and ∇b = Σᵢ ∂L/∂Zᵢ (plus 2 lam θ).
    """
    n, features = x.shape
    classes = onehot.shape[1]

    def log_probabilities(theta: np.ndarray) -> np.ndarray:
        weights, bias = theta[:classes * features].reshape(classes, features), theta[-classes:]
        scores = x @ weights.T + bias
        top = scores.max(axis=1, keepdims=True)
        return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))

    def loss(theta: np.ndarray) -> float:
        return -np.mean(np.sum(onehot * log_probabilities(theta), axis=1)) + lam * theta @ theta

    def gradient(theta: np.ndarray) -> np.ndarray:
        d_scores = (np.exp(log_probabilities(theta)) - onehot) / n
        return np.r_[(d_scores.T @ x).ravel(), d_scores.sum(axis=0)] + 2 * lam * theta

    return loss, gradient


def tanh_network(x: np.ndarray, y: np.ndarray, hidden: int,
                 lam: float) -> tuple[Function, Function]:
    """θ = (W1 row-major, b1, w2, b2); f(x) = w2·tanh(W1 x + b1) + b2.

    L = mean (f(xᵢ) − yᵢ)² + lam(|W1|² + |w2|²). Backpropagation by hand:
    δ = 2 r / n, ∇w2 = Hᵀδ, ∇b2 = Σδ, ∂L/∂(W1 x + b1) = δ w2ᵀ ⊙ (1 − H²).
    """
    n, features = x.shape

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        split = np.cumsum([hidden * features, hidden, hidden])
        first, first_bias, second, second_bias = np.split(theta, split)
        return first.reshape(hidden, features), first_bias, second, second_bias[0]

    def forward(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first, first_bias, second, second_bias = unpack(theta)
        activations = np.tanh(x @ first.T + first_bias)
        return activations, activations @ second + second_bias - y

    def loss(theta: np.ndarray) -> float:
        first, _, second, _ = unpack(theta)
        _, residual = forward(theta)
        return np.mean(residual**2) + lam * (np.sum(first**2) + np.sum(second**2))

    def gradient(theta: np.ndarray) -> np.ndarray:
        first, _, second, _ = unpack(theta)
        activations, residual = forward(theta)
        delta = 2 * residual / n
        d_hidden = np.outer(delta, second) * (1 - activations**2)
        return np.r_[(d_hidden.T @ x).ravel() + 2 * lam * first.ravel(), d_hidden.sum(axis=0),
                     activations.T @ delta + 2 * lam * second, delta.sum()]

    return loss, gradient


def poisson(x: np.ndarray, counts: np.ndarray) -> tuple[Function, Function, Function]:
    """z = Aθ, μ = exp(z); L = mean(μ − y z) (y log μ = y z).

    ∇L = Aᵀ(μ − y)/n;  ∇²L = Aᵀ diag(μ) A / n.
    """
    design, n = with_ones(x), len(counts)

    def loss(theta: np.ndarray) -> float:
        scores = design @ theta
        return np.mean(np.exp(scores) - counts * scores)

    def gradient(theta: np.ndarray) -> np.ndarray:
        return design.T @ (np.exp(design @ theta) - counts) / n

    def hessian(theta: np.ndarray) -> np.ndarray:
        return (design.T * np.exp(design @ theta)) @ design / n

    return loss, gradient, hessian


def rosenbrock_loss(theta: np.ndarray) -> float:
    a, b = theta
    return (1 - a) ** 2 + 100 * (b - a**2) ** 2


def rosenbrock_gradient(theta: np.ndarray) -> np.ndarray:
    a, b = theta
    return np.array([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)])


def rosenbrock_hessian(theta: np.ndarray) -> np.ndarray:
    a, b = theta
    return np.array([[2 - 400 * (b - a**2) + 800 * a**2, -400 * a], [-400 * a, 200.0]])


BOWL_MATRIX = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
BOWL_CENTRE = np.array([1.0, -2.0, 0.5])


def bowl_loss(theta: np.ndarray) -> float:
    offset = theta - BOWL_CENTRE
    return 0.5 * offset @ BOWL_MATRIX @ offset + 3.0


# ----------------------------------------------------------------- the data behind each oracle


def read_yaml(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def inline_arrays(document: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(values, dtype=float)
            for name, values in document["data"]["inline"].items()}


def write_spec(folder: Path, document: dict[str, Any]) -> Path:
    """A spec file from a plain dict (declaration order kept: sort_keys=False)."""
    path = folder / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def supervised_document(name: str, parameters: dict[str, list[int]], model: str, loss: str,
                        data: dict[str, np.ndarray], *, penalty: str | None = None,
                        constants: dict[str, float] | None = None,
                        reduction: str = "mean") -> dict[str, Any]:
    """A supervised spec with inline data; the last entry of `data` is the target."""
    *inputs, target = data
    document: dict[str, Any] = {"gdcheck": 1, "name": name}
    if constants:
        document["constants"] = constants
    document |= {
        "parameters": {p: {"shape": shape} for p, shape in parameters.items()},
        "inputs": {i: {"shape": list(data[i].shape[1:])} for i in inputs},
        "target": {target: {"shape": list(data[target].shape[1:])}},
        "model": model,
        "loss": loss,
        "reduction": reduction,
    }
    if penalty:
        document["penalty"] = penalty
    document["data"] = {"inline": {key: value.tolist() for key, value in data.items()}}
    document["optimizer"] = {"method": "gd", "learning_rate": 0.1, "steps": 10}
    return document


def linear_regression_oracle(folder: Path) -> Oracle:
    path = SPECS / "linear_regression.yaml"
    arrays = inline_arrays(read_yaml(path))
    loss, gradient, hessian = least_squares(arrays["x"], arrays["y"])
    return Oracle(path, loss, gradient, hessian)


def ridge_oracle(folder: Path) -> Oracle:
    path = SPECS / "ridge.yaml"
    document = read_yaml(path)
    with open(SPECS / "data" / "ridge.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    x = np.array([[float(row[c]) for c in ("size", "rooms", "age")] for row in rows])
    price = np.array([float(row["price"]) for row in rows])
    loss, gradient, hessian = least_squares(x, price, lam=float(document["constants"]["lam"]))
    return Oracle(path, loss, gradient, hessian)


def logistic_oracle(folder: Path) -> Oracle:
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 1.0, (40, 2))
    y = (rng.uniform(size=40) < sigmoid(x @ [1.5, -2.0] + 0.5)).astype(float)
    lam = 0.05
    document = supervised_document(
        "logistic_oracle", {"w": [2], "b": []}, "sigmoid(dot(w, x) + b)",
        "-(y*log(y_pred) + (1 - y)*log(1 - y_pred))", {"x": x, "y": y},
        penalty="lam * sum(w**2)", constants={"lam": lam})
    loss, gradient, hessian = logistic(x, y, lam)
    return Oracle(write_spec(folder, document), loss, gradient, hessian)


def softmax_oracle(folder: Path) -> Oracle:
    path = SPECS / "softmax_regression.yaml"
    document = read_yaml(path)
    arrays = inline_arrays(document)
    loss, gradient = softmax_regression(arrays["x"], arrays["y"],
                                        float(document["constants"]["lam"]))
    return Oracle(path, loss, gradient)


def softmax_log_oracle(folder: Path) -> Oracle:
    """The same objective written the textbook way: log of softmax, −sum(y log p)."""
    document = read_yaml(SPECS / "softmax_regression.yaml")
    arrays = inline_arrays(document)
    lam = float(document["constants"]["lam"])
    spec = supervised_document(
        "softmax_log_oracle", {"W": [3, 2], "b": [3]}, "softmax(W @ x + b)",
        "-sum(y * log(y_pred))", {"x": arrays["x"], "y": arrays["y"]},
        penalty="lam * (sum(W**2) + sum(b**2))", constants={"lam": lam})
    loss, gradient = softmax_regression(arrays["x"], arrays["y"], lam)
    return Oracle(write_spec(folder, spec), loss, gradient)


def tanh_network_oracle(folder: Path) -> Oracle:
    rng = np.random.default_rng(12)
    x = rng.normal(0.0, 1.0, (30, 2))
    y = np.sin(x[:, 0]) - 0.5 * x[:, 1] + rng.normal(0.0, 0.1, 30)
    lam = 0.01
    document = supervised_document(
        "tanh_network_oracle", {"W1": [4, 2], "b1": [4], "w2": [4], "b2": []},
        "dot(w2, tanh(W1 @ x + b1)) + b2", "(y_pred - y)**2", {"x": x, "y": y},
        penalty="lam * (sum(W1**2) + sum(w2**2))", constants={"lam": lam})
    loss, gradient = tanh_network(x, y, hidden=4, lam=lam)
    return Oracle(write_spec(folder, document), loss, gradient, scale=0.7)


def poisson_oracle(folder: Path) -> Oracle:
    path = SPECS / "poisson.yaml"
    arrays = inline_arrays(read_yaml(path))
    loss, gradient, hessian = poisson(arrays["x"], arrays["y"])
    return Oracle(path, loss, gradient, hessian, scale=0.5)


def rosenbrock_oracle(folder: Path) -> Oracle:
    return Oracle(SPECS / "rosenbrock.yaml", rosenbrock_loss, rosenbrock_gradient,
                  rosenbrock_hessian)


def quadratic_bowl_oracle(folder: Path) -> Oracle:
    return Oracle(SPECS / "quadratic_bowl.yaml", bowl_loss,
                  lambda theta: BOWL_MATRIX @ (theta - BOWL_CENTRE),
                  lambda theta: BOWL_MATRIX, scale=2.0)


ORACLES: dict[str, Callable[[Path], Oracle]] = {
    "linear_regression": linear_regression_oracle,
    "ridge": ridge_oracle,
    "logistic": logistic_oracle,
    "softmax_regression": softmax_oracle,
    "softmax_log": softmax_log_oracle,
    "tanh_network": tanh_network_oracle,
    "poisson": poisson_oracle,
    "rosenbrock": rosenbrock_oracle,
    "quadratic_bowl": quadratic_bowl_oracle,
}
WITH_HESSIAN = ["linear_regression", "ridge", "logistic", "poisson", "rosenbrock",
                "quadratic_bowl"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Any, Oracle]]:
    """name -> (compiled Problem, Oracle), each compiled once per module."""
    cache: dict[str, tuple[Any, Oracle]] = {}

    def get(name: str) -> tuple[Any, Oracle]:
        if name not in cache:
            oracle = ORACLES[name](tmp_path_factory.mktemp(name))
            cache[name] = (gdcheck.compile(gdcheck.load(oracle.spec)), oracle)
        return cache[name]

    return get


# ----------------------------------------------------------------- the tests


def central_differences(loss: Function, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
    basis = np.eye(len(theta)) * step
    return np.array([(loss(theta + e) - loss(theta - e)) / (2 * step) for e in basis])


@pytest.mark.parametrize("name", ORACLES)
def test_oracle_gradient_matches_its_own_finite_differences(name: str,
                                                           compiled: Callable) -> None:
    problem, oracle = compiled(name)
    for theta in oracle.points(problem.size, seed=1, count=2):
        np.testing.assert_allclose(oracle.gradient(theta),
                                   central_differences(oracle.loss, theta),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ORACLES)
def test_loss_and_gradient_match_the_hand_derived_oracle(name: str, compiled: Callable) -> None:
    problem, oracle = compiled(name)
    for theta in oracle.points(problem.size):
        loss = problem.loss(theta)
        assert isinstance(loss, float)
        np.testing.assert_allclose(loss, oracle.loss(theta), rtol=RTOL, atol=ATOL)
        gradient = problem.gradient(theta)
        assert gradient.shape == (problem.size,)
        np.testing.assert_allclose(gradient, oracle.gradient(theta), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", WITH_HESSIAN)
def test_hessian_matches_the_hand_derived_oracle(name: str, compiled: Callable) -> None:
    problem, oracle = compiled(name)
    assert oracle.hessian is not None
    for theta in oracle.points(problem.size, seed=2):
        hessian = problem.hessian(theta)
        assert hessian.shape == (problem.size, problem.size)
        np.testing.assert_allclose(hessian, oracle.hessian(theta), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ORACLES)
def test_a_batch_of_points_equals_one_call_per_point(name: str, compiled: Callable) -> None:
    problem, oracle = compiled(name)
    batch = oracle.points(problem.size, seed=3, count=4)
    losses, gradients = problem.loss(batch), problem.gradient(batch)
    assert losses.shape == (4,) and gradients.shape == (4, problem.size)
    np.testing.assert_allclose(losses, [problem.loss(theta) for theta in batch],
                               rtol=1e-13, atol=ATOL)
    np.testing.assert_allclose(gradients, [problem.gradient(theta) for theta in batch],
                               rtol=1e-13, atol=ATOL)


@pytest.mark.parametrize(("name", "names"), [
    ("linear_regression", ["w[0]", "w[1]", "w[2]", "b"]),
    ("logistic", ["w[0]", "w[1]", "b"]),
    ("softmax_regression", ["W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "W[2,0]", "W[2,1]",
                            "b[0]", "b[1]", "b[2]"]),
    ("tanh_network", [*(f"W1[{i},{j}]" for i in range(4) for j in range(2)),
                      *(f"b1[{i}]" for i in range(4)), *(f"w2[{i}]" for i in range(4)), "b2"]),
    ("rosenbrock", ["a", "b"]),
    ("quadratic_bowl", ["theta[0]", "theta[1]", "theta[2]"]),
])
def test_parameter_names_are_in_declaration_order_row_major(name: str, names: list[str],
                                                             compiled: Callable) -> None:
    problem, _ = compiled(name)
    assert problem.parameter_names == names
    assert problem.size == len(names)


def test_pack_flattens_row_major_in_declaration_order(compiled: Callable) -> None:
    problem, _ = compiled("softmax_regression")
    theta = problem.pack({"b": [7, 8, 9], "W": [[1, 2], [3, 4], [5, 6]]})
    np.testing.assert_array_equal(theta, np.arange(1.0, 10.0))


@pytest.mark.parametrize("name", ["linear_regression", "softmax_regression", "tanh_network",
                                  "rosenbrock"])
def test_pack_and_unpack_round_trip(name: str, compiled: Callable) -> None:
    problem, oracle = compiled(name)
    theta = oracle.points(problem.size, seed=4, count=1)[0]
    values = problem.unpack(theta)
    declared = {p.name: p.shape for p in gdcheck.load(oracle.spec).parameters}
    assert list(values) == list(declared)
    assert {key: np.shape(value) for key, value in values.items()} == declared
    np.testing.assert_array_equal(problem.pack(values), theta)
    again = problem.unpack(problem.pack(values))
    for key in values:
        np.testing.assert_array_equal(again[key], values[key])


def test_unpack_gives_matrices_row_major(compiled: Callable) -> None:
    problem, _ = compiled("tanh_network")
    values = problem.unpack(np.arange(17.0))
    np.testing.assert_array_equal(values["W1"], np.arange(8.0).reshape(4, 2))
    np.testing.assert_array_equal(values["b1"], [8, 9, 10, 11])
    np.testing.assert_array_equal(values["w2"], [12, 13, 14, 15])
    assert values["b2"].shape == () and float(values["b2"]) == 16.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reduction_mean_or_sum_of_the_per_sample_loss(reduction: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.0, 1.0, (8, 2)), rng.normal(0.0, 1.0, 8)
    lam = 0.3
    document = supervised_document(
        f"reduction_{reduction}", {"w": [2], "b": []}, "dot(w, x) + b", "(y_pred - y)**2",
        {"x": x, "y": y}, penalty="lam * sum(w**2)", constants={"lam": lam},
        reduction=reduction)
    problem = gdcheck.compile(gdcheck.load(write_spec(tmp_path, document)))
    loss, gradient, hessian = least_squares(x, y, lam=lam, reduction=reduction)
    for theta in rng.normal(0.0, 1.0, (3, 3)):
        np.testing.assert_allclose(problem.loss(theta), loss(theta), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(problem.gradient(theta), gradient(theta), rtol=RTOL,
                                   atol=ATOL)
        np.testing.assert_allclose(problem.hessian(theta), hessian(theta), rtol=RTOL, atol=ATOL)


def test_sum_reduction_is_n_times_the_mean_and_the_penalty_is_added_once(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(0.0, 1.0, (12, 3)), rng.normal(0.0, 1.0, 12)
    problems = {}
    for reduction in ("mean", "sum"):
        document = supervised_document(
            f"penalised_{reduction}", {"w": [3], "b": []}, "dot(w, x) + b",
            "abs(y_pred - y) + log1p(y_pred**2)", {"x": x, "y": y},
            penalty="lam * sum(w**2) + b**2", constants={"lam": 0.5}, reduction=reduction)
        problems[reduction] = gdcheck.compile(gdcheck.load(write_spec(tmp_path, document)))
    for theta in rng.normal(0.0, 1.0, (3, 4)):
        penalty = 0.5 * theta[:3] @ theta[:3] + theta[3] ** 2
        penalty_gradient = np.r_[theta[:3], 2 * theta[3]]
        np.testing.assert_allclose(problems["sum"].loss(theta) - penalty,
                                   12 * (problems["mean"].loss(theta) - penalty), rtol=RTOL)
        np.testing.assert_allclose(problems["sum"].gradient(theta) - penalty_gradient,
                                   12 * (problems["mean"].gradient(theta) - penalty_gradient),
                                   rtol=RTOL, atol=1e-11)


def test_tanh_nested_twelve_deep_matches_the_chain_rule(tmp_path):
    """12 nested tanh: builds and compiles (SymPy symbols are real, so it stays fast), and the
    gradient equals the chain rule written out by hand."""
    depth = 12
    model = "w*x"
    for _ in range(depth):
        model = f"tanh({model} + b)"
    x = np.array([0.1, 0.5, -1.0, 2.0])
    y = np.array([0.0, 0.3, -0.5, 0.9])
    path = tmp_path / "nested.yaml"
    path.write_text(yaml.safe_dump({
        "gdcheck": 1, "name": "nested", "parameters": {"w": {}, "b": {}},
        "inputs": {"x": {}}, "target": {"y": {}}, "model": model, "loss": "(y_pred - y)**2",
        "data": {"inline": {"x": x.tolist(), "y": y.tolist()}},
        "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10}}, sort_keys=False))
    problem = gdcheck.compile(gdcheck.load(path))
    w, b = 0.3, 0.1
    value = w * x
    d_w, d_b = x.copy(), np.zeros_like(x)   # derivatives of the running value
    for _ in range(depth):
        value = np.tanh(value + b)
        slope = 1 - value**2
        d_w, d_b = slope * d_w, slope * (d_b + 1)
    residual = value - y
    np.testing.assert_allclose(problem.loss([w, b]), np.mean(residual**2), rtol=1e-12)
    expected = [np.mean(2 * residual * d_w), np.mean(2 * residual * d_b)]
    np.testing.assert_allclose(problem.gradient([w, b]), expected, rtol=1e-10)
