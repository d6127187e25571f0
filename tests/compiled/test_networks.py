"""Oracle tests for whole networks: forward and backward passes written by hand in numpy.

Each oracle is backpropagation derived on paper (in its docstring) and written with matrix
products over the n samples at once, nothing from gdcheck or SymPy. The compiled Problem
must agree with it to 1e-10 relative, its Hessian-vector product with central differences
of the hand-written gradient, and its graph must not grow with the layer widths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gdcheck
from gdcheck.symbolic.tensor import topological

RTOL = 1e-10
SAMPLES = 20

Function = Callable[[np.ndarray], Any]


def assert_close(actual: Any, expected: Any, rtol: float) -> None:
    """Entrywise relative agreement; entries near 0 are judged against the largest one."""
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol,
                               atol=rtol * 1e-2 * float(np.max(np.abs(expected))))


def split(theta: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """θ → the parameters in declaration order, each row-major in its shape."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    pieces = np.split(theta, np.cumsum(sizes)[:-1])
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes, strict=True)]


def central_difference(gradient: Function, theta: np.ndarray, v: np.ndarray,
                       step: float) -> np.ndarray:
    """H·v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε."""
    return (gradient(theta + step * v) - gradient(theta - step * v)) / (2 * step)


# ----------------------------------------------------------------- a softmax classifier


NETWORK = """\
gdcheck: 1
name: classifier
parameters:
  W1: {{shape: [{hidden}, {features}]}}
  b1: {{shape: [{hidden}]}}
  W2: {{shape: [{classes}, {hidden}]}}
  b2: {{shape: [{classes}]}}
inputs: {{x: {{shape: [{features}]}}}}
target: {{y: {{shape: [{classes}]}}}}
model: softmax(W2 @ tanh(W1 @ x + b1) + b2)
loss: -sum(y * log(y_pred))
data: {{npz: data.npz}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""


def classifier_data(features: int, classes: int, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-like inputs in [0, 1) and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (SAMPLES, features))
    y = np.eye(classes)[rng.integers(0, classes, SAMPLES)]
    return x, y


def classifier_spec(folder: Path, features: int, hidden: int, classes: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    x, y = classifier_data(features, classes)
    np.savez(folder / "data.npz", x=x, y=y)
    path = folder / "classifier.yaml"
    path.write_text(NETWORK.format(features=features, hidden=hidden, classes=classes),
                    encoding="utf-8")
    return path


def classifier(x: np.ndarray, y: np.ndarray, hidden: int) -> tuple[Function, Function]:
    """θ = (W1, b1, W2, b2). Over the rows of X (n × D) and Y (n × C):

        A = X W1ᵀ + b1,  H = tanh(A),  Z = H W2ᵀ + b2,  log P = Z − logsumexp(Z) (per row),
        L = −(1/n) Σᵢ Σₖ Yᵢₖ log Pᵢₖ.

    Backward: ∂ℓᵢ/∂Zᵢⱼ = −Yᵢⱼ + Pᵢⱼ Σₖ Yᵢₖ, so with δZ = (P ⊙ (Y 1) − Y)/n (n × C):
    ∇W2 = δZᵀ H, ∇b2 = 1ᵀ δZ; δH = δZ W2, δA = δH ⊙ (1 − H²);
    ∇W1 = δAᵀ X, ∇b1 = 1ᵀ δA.
    """
    n, features = x.shape
    classes = y.shape[1]
    shapes = [(hidden, features), (hidden,), (classes, hidden), (classes,)]

    def forward(theta: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = parameters = split(theta, shapes)
        h = np.tanh(x @ w1.T + b1)
        z = h @ w2.T + b2
        top = z.max(axis=1, keepdims=True)
        log_p = z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
        return parameters, h, log_p

    def loss(theta: np.ndarray) -> float:
        _, _, log_p = forward(theta)
        return float(-np.sum(y * log_p) / n)

    def gradient(theta: np.ndarray) -> np.ndarray:
        (_, _, w2, _), h, log_p = forward(theta)
        d_z = (np.exp(log_p) * y.sum(axis=1, keepdims=True) - y) / n
        d_a = (d_z @ w2) * (1 - h**2)
        return np.concatenate([(d_a.T @ x).ravel(), d_a.sum(axis=0),
                               (d_z.T @ h).ravel(), d_z.sum(axis=0)])

    return loss, gradient


MNIST = (784, 256, 10)
TINY = (2, 3, 2)


@pytest.fixture(scope="module")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Function, Function]:
    """The 784-256-10 network on 20 samples, compiled once, and its hand-written oracle."""
    features, hidden, classes = MNIST
    path = classifier_spec(tmp_path_factory.mktemp("mnist"), features, hidden, classes)
    loss, gradient = classifier(*classifier_data(features, classes), hidden)
    return gdcheck.compile(path), loss, gradient


def mnist_points(size: int, count: int = 2) -> np.ndarray:
    # small weights: tanh and softmax far from saturation, so every term matters
    return np.random.default_rng(1).normal(0.0, 0.05, (count, size))


def test_mnist_network_loss_and_gradient_match_the_hand_backpropagation(
        mnist: tuple[Any, Function, Function]) -> None:
    problem, loss, gradient = mnist
    features, hidden, classes = MNIST
    assert problem.size == hidden * features + hidden + classes * hidden + classes
    assert problem.data["x"].shape == (SAMPLES, features)
    for theta in mnist_points(problem.size):
        value = problem.loss(theta)
        assert isinstance(value, float)
        assert_close(value, loss(theta), RTOL)
        assert_close(problem.gradient(theta), gradient(theta), RTOL)
        both = problem.loss_and_gradient(theta)
        assert_close(both[0], loss(theta), RTOL)
        assert_close(both[1], gradient(theta), RTOL)


def test_mnist_network_hessian_vector_matches_differences_of_the_hand_gradient(
        mnist: tuple[Any, Function, Function]) -> None:
    problem, _, gradient = mnist
    rng = np.random.default_rng(4)
    for theta in mnist_points(problem.size):
        v = rng.normal(0.0, 1.0, problem.size)
        product = problem.hessian_vector(theta, v)
        assert product.shape == (problem.size,)
        # the difference's O(ε²) error is ~1e-9 of the largest entry at ε = 1e-6
        assert_close(product, central_difference(gradient, theta, v, 1e-6), 1e-6)


def test_the_graph_does_not_grow_with_the_layer_widths(
        mnist: tuple[Any, Function, Function], tmp_path: Path) -> None:
    """Objective and gradient of 784-256-10 and of 2-3-2 are graphs of the same size."""
    tiny = gdcheck.compile(classifier_spec(tmp_path, *TINY))

    def count(problem: Any) -> int:
        return len(topological([problem.objective.objective] + problem.objective.gradients))

    assert count(mnist[0]) == count(tiny)
    assert tiny.size == 3 * 2 + 3 + 2 * 3 + 2
    loss, gradient = classifier(*classifier_data(TINY[0], TINY[2]), TINY[1])
    theta = np.random.default_rng(5).normal(0.0, 1.0, tiny.size)
    assert_close(tiny.gradient(theta), gradient(theta), RTOL)   # and it is the same model


# ----------------------------------------------------------------- a ReLU regression network


RELU_NETWORKS = {   # model, target shape: the same θ layout either way
    "[1] target": ("W3 @ relu(W2 @ relu(W1 @ x + b1) + b2) + b3", [1], ([1, 6], [1])),
    "scalar target": ("sum(W3 * relu(W2 @ relu(W1 @ x + b1) + b2)) + b3", [], ([6], [])),
}
RELU = """\
gdcheck: 1
name: relu_network
parameters:
  W1: {{shape: [8, 5]}}
  b1: {{shape: [8]}}
  W2: {{shape: [6, 8]}}
  b2: {{shape: [6]}}
  W3: {{shape: {last}}}
  b3: {{shape: {bias}}}
inputs: {{x: {{shape: [5]}}}}
target: {{y: {{shape: {target}}}}}
model: {model}
loss: sum((y_pred - y)**2)
data: {{inline: {{x: {x}, y: {y}}}}}
optimizer: {{method: gd, learning_rate: 0.1, steps: 10}}
"""
RELU_SHAPES = [(8, 5), (8,), (6, 8), (6,), (1, 6), (1,)]


def relu_network(x: np.ndarray, y: np.ndarray) -> tuple[Function, Function, Function]:
    """θ = (W1, b1, W2, b2, W3, b3), y (n × 1). Forward over the rows of X:

        A1 = X W1ᵀ + b1, H1 = relu(A1), A2 = H1 W2ᵀ + b2, H2 = relu(A2),
        F = H2 W3ᵀ + b3, R = F − Y,  L = (1/n) Σᵢ Rᵢ².

    Backward (relu' = [A > 0] away from A = 0): δF = 2R/n, ∇W3 = δFᵀ H2, ∇b3 = 1ᵀ δF;
    δA2 = (δF W3) ⊙ [A2 > 0], ∇W2 = δA2ᵀ H1, ∇b2 = 1ᵀ δA2;
    δA1 = (δA2 W2) ⊙ [A1 > 0], ∇W1 = δA1ᵀ X, ∇b1 = 1ᵀ δA1.
    Also returns the pre-activations (A1, A2), to keep the test points off the kinks.
    """
    n = len(x)

    def forward(theta: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        w1, b1, w2, b2, w3, b3 = split(theta, RELU_SHAPES)
        a1 = x @ w1.T + b1
        h1 = np.maximum(a1, 0.0)
        a2 = h1 @ w2.T + b2
        h2 = np.maximum(a2, 0.0)
        residual = h2 @ w3.T + b3 - y
        return [a1, h1, a2, h2, residual], [w1, w2, w3]

    def loss(theta: np.ndarray) -> float:
        (*_, residual), _ = forward(theta)
        return float(np.sum(residual**2) / n)

    def gradient(theta: np.ndarray) -> np.ndarray:
        (a1, h1, a2, h2, residual), (_, w2, w3) = forward(theta)
        d_f = 2 * residual / n
        d_a2 = (d_f @ w3) * (a2 > 0)
        d_a1 = (d_a2 @ w2) * (a1 > 0)
        return np.concatenate([(d_a1.T @ x).ravel(), d_a1.sum(axis=0), (d_a2.T @ h1).ravel(),
                               d_a2.sum(axis=0), (d_f.T @ h2).ravel(), d_f.sum(axis=0)])

    def pre_activations(theta: np.ndarray) -> np.ndarray:
        (a1, _, a2, _, _), _ = forward(theta)
        return np.concatenate([a1.ravel(), a2.ravel()])

    return loss, gradient, pre_activations


def relu_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 1.0, (SAMPLES, 5))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2
    return x, y


def off_the_kinks(pre_activations: Function, rng: np.random.Generator, size: int,
                  count: int = 3) -> list[np.ndarray]:
    """Seeded points where every unit of every sample is well inside one linear piece."""
    points: list[np.ndarray] = []
    while len(points) < count:
        theta = rng.normal(0.0, 0.7, size)
        if np.min(np.abs(pre_activations(theta))) > 1e-3:
            points.append(theta)
    return points


def numeric_gradient(loss: Function, theta: np.ndarray, step: float = 1e-6) -> np.ndarray:
    return np.array([(loss(theta + e) - loss(theta - e)) / (2 * step)
                     for e in np.eye(theta.size) * step])


def test_the_hand_gradients_match_central_differences_of_their_own_losses() -> None:
    """The hand derivations checked: a small classifier, and the ReLU network off its kinks
    (a slip on paper shows up here, not as a false library bug)."""
    loss, gradient = classifier(*classifier_data(5, 3, seed=2), 4)
    theta = np.random.default_rng(3).normal(0.0, 0.5, 4 * 5 + 4 + 3 * 4 + 3)
    np.testing.assert_allclose(gradient(theta), numeric_gradient(loss, theta),
                               rtol=1e-6, atol=1e-8)
    loss, gradient, pre_activations = relu_network(*relu_data())
    (theta,) = off_the_kinks(pre_activations, np.random.default_rng(8), 8 * 5 + 8 + 6 * 8
                             + 6 + 6 + 1, count=1)
    np.testing.assert_allclose(gradient(theta), numeric_gradient(loss, theta),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("form", RELU_NETWORKS)
def test_relu_network_matches_the_hand_backpropagation_off_the_kinks(
        form: str, tmp_path: Path) -> None:
    model, target, (last, bias) = RELU_NETWORKS[form]
    x, y = relu_data()
    labels = y if target else y[:, 0]
    path = tmp_path / "relu.yaml"
    path.write_text(RELU.format(model=model, target=target, last=last, bias=bias,
                                x=x.tolist(), y=labels.tolist()), encoding="utf-8")
    problem = gdcheck.compile(path)
    loss, gradient, pre_activations = relu_network(x, y)
    rng = np.random.default_rng(7)
    for theta in off_the_kinks(pre_activations, rng, problem.size):
        assert not problem.crosses_kink(theta, np.full(problem.size, 1e-9))
        assert_close(problem.loss(theta), loss(theta), RTOL)
        assert_close(problem.gradient(theta), gradient(theta), RTOL)
        v = rng.normal(0.0, 1.0, problem.size)
        assert_close(problem.hessian_vector(theta, v),
                     central_difference(gradient, theta, v, 1e-6), 1e-6)
