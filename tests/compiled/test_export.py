"""`gdcheck export`'s modules: imported from a file, they compute what `Problem` does.

Every bundled spec and a few written here (every function of the language, a network of
relu and softmax on generated data, names that clash with the code's own) is exported,
imported with importlib and compared with `gdcheck.compile(spec)` at random points to
1e-12; the linear regression's module also against its gradient derived by hand, on data
of another size. The torch module is compared with `Problem.gradient` and with torch's
autograd of losses written by hand here (skipped without torch).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import gdcheck
from gdcheck.compiled.export import export_source
from gdcheck.errors import SpecError, UsageError

RTOL = 1e-12
POINTS = 3
SPECS = Path(__file__).resolve().parents[2] / "specs"
BUNDLED = sorted(SPECS.glob("*.yaml"))

WRITTEN = {
    "every_function": """\
gdcheck: 1
name: every_function
parameters:
  w: {shape: [3]}
  W: {shape: [2, 3]}
  c: {}
objective: >-
  sum(exp(w) * 0.1) + sum(log(1 + w**2)) + norm(w) + sum(sqrt(2 + sin(w)))
  + sum(abs(w)) + sum(cos(W)) + tan(c / 4) + tanh(c) + sigmoid(c) + softplus(w[0])
  + sum(relu(W)) + log1p(c**2) + expm1(c / 3) + erf(c) + sign(c) * c
  + sum(maximum(w, 0.5)) + sum(minimum(W, 0.2)) + logsumexp(w) + max(w) + min(W)
  + dot(softmax(w), [1, 2, 3]) + sum(log_softmax(W @ w)) + sum(transpose(W) @ [1.0, -1.0])
  + mean(W[1]) + W[0, 2] * pi + e * c + sum([[1, 2, 3], [4, 5, 6]] * W)
optimizer: {method: gd, learning_rate: 0.01, steps: 10}
""",
    "relu_classifier": """\
gdcheck: 1
name: relu_classifier
parameters:
  W1: {shape: [4, 3]}
  b1: {shape: [4]}
  W2: {shape: [2, 4]}
  c: {}
inputs: {x: {shape: [3]}, t: {}}
target: {y: {shape: [2]}}
model: softmax(W2 @ relu(W1 @ x + b1) + c * t)
loss: -sum(y * log(y_pred)) + abs(t) * max(y_pred)
reduction: sum
penalty: 0.5 * norm(W2)
data:
  generate:
    n: 30
    seed: 1
    inputs: {x: normal(0, 1), t: normal(0, 1)}
    truth: {W1: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], b1: [0, 0, 0, 0],
            W2: [[1, 0, 1, 0], [0, 1, 0, 1]], c: 0.5}
    noise: normal(0, 0.1)
optimizer: {method: gd, learning_rate: 0.01, steps: 10}
""",
    # names the generated code, numpy and the module use themselves
    "clashing_names": """\
gdcheck: 1
name: clashing_names
parameters:
  np: {shape: [2]}
  v1: {}
  n: {}
inputs: {N: {shape: [2]}, full: {}}
target: {loss: {}}
model: dot(np, N) * full + v1 * n
loss: (y_pred - loss)**2
data:
  inline:
    N: [[1, 2], [3, -1], [0.5, 0.25]]
    full: [1, -2, 0.5]
    loss: [0.5, 1, -1]
optimizer: {method: gd, learning_rate: 0.01, steps: 10}
""",
    # a constant gradient, and parameters the objective does not use (gradient zero)
    "linear_and_unused": """\
gdcheck: 1
name: linear_and_unused
parameters:
  a: {}
  u: {shape: [2]}
  M: {shape: [2, 2]}
objective: 2*a + 3
optimizer: {method: gd, learning_rate: 0.01, steps: 10}
""",
}
NAMES = [path.stem for path in BUNDLED] + list(WRITTEN)


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("specs")
    written = {name: folder / f"{name}.yaml" for name in WRITTEN}
    for name, path in written.items():
        path.write_text(WRITTEN[name])
    return {**{path.stem: path for path in BUNDLED}, **written}


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


@cache
def problem(path: Path) -> gdcheck.Problem:
    return gdcheck.compile(path)


_EXPORTS = tempfile.TemporaryDirectory(prefix="gdcheck-export-")   # removed at exit


@cache
def exported(path: Path, to: str) -> tuple[str, ModuleType]:
    """The module's source, and the module imported from a file of its own."""
    source = export_source(path, to)
    folder = Path(_EXPORTS.name) / f"{path.parent.name}_{to}"   # never beside the bundled specs
    folder.mkdir(exist_ok=True)
    file = folder / f"{path.stem}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(f"exported_{to}_{path.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return source, module


def points(problem: gdcheck.Problem, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=problem.size) for _ in range(POINTS)]


def assert_close(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    """Entrywise relative agreement; entries near 0 are judged against the largest one."""
    expected = np.asarray(expected, dtype=float)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rtol,
                               atol=rtol * scale)


def flat(gradient: dict[str, Any], problem: gdcheck.Problem) -> np.ndarray:
    """{name: array} → θ's layout, each checked to have its parameter's shape."""
    assert list(gradient) == [p.name for p in problem.spec.parameters]
    for parameter in problem.spec.parameters:
        assert tuple(gradient[parameter.name].shape) == parameter.shape
    return problem.pack({name: np.asarray(value, dtype=float)
                         for name, value in gradient.items()})


def module_imports(source: str) -> set[str]:
    """The top-level packages the module imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


# ----------------------------------------------------------------- numpy


@pytest.mark.parametrize("name", NAMES)
def test_the_numpy_module_computes_what_problem_does(name, specs):
    compiled = problem(specs[name])
    source, module = exported(specs[name], "numpy")
    data = compiled.data if compiled.spec.kind == "supervised" else None
    for theta in points(compiled):
        params = compiled.unpack(theta)
        value = module.loss(params, data)
        assert isinstance(value, float)
        assert_close(value, compiled.loss(theta))
        assert_close(flat(module.gradient(params, data), compiled), compiled.gradient(theta))
        both = module.loss_and_gradient(params, data)
        assert_close(both[0], compiled.loss(theta))
        assert_close(flat(both[1], compiled), compiled.gradient(theta))
    # numpy and, for erf, the scipy it tries first (math.erf without it); never gdcheck
    assert module_imports(source) <= {"__future__", "numpy", "math", "typing", "scipy"}


@pytest.mark.parametrize("name", ["logistic", "every_function"])
def test_the_numpy_module_runs_where_gdcheck_cannot_be_imported(name, specs):
    source, _ = exported(specs[name], "numpy")
    compiled = problem(specs[name])
    theta = points(compiled)[0]
    data = {k: v.tolist() for k, v in compiled.data.items()}
    params = {k: v.tolist() for k, v in compiled.unpack(theta).items()}
    program = (
        "import json, sys\n"
        "sys.modules['gdcheck'] = None   # `import gdcheck` raises ImportError\n"
        f"namespace = {{}}\nexec(compile({source!r}, 'exported.py', 'exec'), namespace)\n"
        f"value = namespace['loss']({params!r}, {data!r} or None)\n"
        "print(json.dumps(value))\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert_close(float(result.stdout), compiled.loss(theta))


def test_the_linear_regression_module_against_its_gradient_derived_by_hand(specs):
    """L = mean_i((x_i·w + b − y_i)²), so with r = x w + b − y (one entry per sample)
    dL/dw = (2/n) xᵀ r and dL/db = (2/n) Σ r. On data the spec never saw, and of another
    size: nothing of the spec's own data is written into the module."""
    _, module = exported(specs["linear_regression"], "numpy")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(37, 3)), rng.normal(size=37)
    w, b = rng.normal(size=3), 0.3
    residual = x @ w + b - y
    gradient = module.gradient({"w": w, "b": b}, {"x": x, "y": y})
    assert_close(module.loss({"w": w, "b": b}, {"x": x, "y": y}), np.mean(residual**2))
    assert_close(gradient["w"], 2 / 37 * x.T @ residual)
    assert_close(gradient["b"], 2 / 37 * np.sum(residual))


def test_the_module_says_what_it_is(specs):
    source, module = exported(specs["logistic"], "numpy")
    docstring = module.__doc__
    assert docstring.startswith("logistic-regression: the loss and its exact gradient")
    assert "Binary logistic regression with an L2 penalty." in docstring
    assert 'params = {"w": array of shape (2,), "b": number}' in docstring
    assert 'data = {"x": array of shape (n, 2), "y": array of shape (n,)}' in docstring
    assert "it needs numpy only, not gdcheck" in docstring
    # the formulas as `gdcheck derive` prints them
    assert "#   objective: L = mean_i(" in source
    assert "#     dL/dw = (2*lam*w) + (t4 @ x)" in source
    assert module.PARAMETERS == {"w": (2,), "b": ()}
    assert module.DATA == {"x": (2,), "y": ()}
    # the spec's names in the code; numpy's functions by their names; gdcheck's helpers
    assert "def _loss_and_gradient(w, b, x, y, n):" in source
    assert "np.mean(" in source and "def gdcheck_sigmoid(" in source
    assert "P[0]" not in source and "D[0]" not in source


def test_a_bare_objective_takes_no_data(specs):
    _, module = exported(specs["rosenbrock"], "numpy")
    assert module.DATA == {}
    # (1 − a)² + 100(b − a²)² at (a, b) = (0, 1): 1 + 100; the gradient (−2 − 0, 200)
    assert module.loss({"a": 0.0, "b": 1.0}) == 101.0
    gradient = module.gradient({"a": 0.0, "b": 1.0}, {})
    assert_close(gradient["a"], -2.0)
    assert_close(gradient["b"], 200.0)


@pytest.mark.parametrize("params, data, message", [
    ({"w": [1, 2]}, None, "missing ['b']"),
    ({"w": [1, 2], "b": 0, "c": 1}, None, "unknown ['c']"),
    ({"w": [1, 2, 3], "b": 0}, None, "params['w'] has shape (3,), expected (2,)"),
    ({"w": [1, 2], "b": 0}, {"x": [[1, 2]], "y": [[1]]},
     "data['y'] has shape (1, 1), expected (n,)"),
    ({"w": [1, 2], "b": 0}, {"x": [[1, 2], [3, 4]], "y": [1]}, "x: 2, y: 1"),
    ({"w": [1, 2], "b": 0}, {"x": [[1, 2]]}, "data must have exactly the keys ['x', 'y']"),
])
def test_wrong_arguments_are_named(specs, params, data, message):
    _, module = exported(specs["logistic"], "numpy")
    with pytest.raises(ValueError) as raised:
        module.gradient(params, data if data is not None else
                        {"x": np.zeros((4, 2)), "y": np.zeros(4)})
    assert message in str(raised.value)


def test_an_unknown_target_or_a_bad_spec_is_refused(tmp_path):
    with pytest.raises(UsageError, match="to='jax' is not a target; choose one of numpy, torch"):
        export_source(SPECS / "logistic.yaml", "jax")
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPECS / "rosenbrock.yaml").read_text().replace("(1 - a)**2", "(1 - q)**2"))
    with pytest.raises(SpecError, match=r"bad\.yaml:\d+: objective"):
        export_source(bad)


# ----------------------------------------------------------------- torch


@pytest.mark.parametrize("name", NAMES)
def test_the_torch_module_computes_what_problem_does(name, specs, torch):
    compiled = problem(specs[name])
    source, module = exported(specs[name], "torch")
    data = ({k: torch.tensor(v) for k, v in compiled.data.items()}
            if compiled.spec.kind == "supervised" else None)
    for theta in points(compiled):
        params = {k: torch.tensor(v, requires_grad=True)
                  for k, v in compiled.unpack(theta).items()}
        value, gradient = module.loss_and_gradient(params, data)
        assert value.dtype == torch.float64 and value.shape == ()
        assert_close(value.item(), compiled.loss(theta))
        assert_close(flat({k: g.detach() for k, g in gradient.items()}, compiled),
                     compiled.gradient(theta))
        # ExactLoss: its backward is the exact gradient, times the incoming one
        (3.0 * module.exact_loss(params, data)).backward()
        assert_close(flat({k: p.grad for k, p in params.items()}, compiled),
                     3.0 * compiled.gradient(theta))
        # the plain loss is torch code: autograd through its operations agrees too
        for p in params.values():
            p.grad = None
        module.loss(params, data).backward()
        autograd = {k: torch.zeros_like(p) if p.grad is None else p.grad   # p unused
                    for k, p in params.items()}
        assert_close(flat(autograd, compiled), compiled.gradient(theta), rtol=1e-10)
    assert module_imports(source) <= {"__future__", "torch", "math"}


def _logistic(torch: Any, p: dict[str, Any], d: dict[str, Any]) -> Any:
    """Mean binary cross-entropy of sigmoid(x w + b), plus 0.01 |w|²."""
    scores = d["x"] @ p["w"] + p["b"]
    cross_entropy = torch.nn.functional.binary_cross_entropy_with_logits(scores, d["y"])
    return cross_entropy + 0.01 * torch.sum(p["w"] ** 2)


def _tanh_network(torch: Any, p: dict[str, Any], d: dict[str, Any]) -> Any:
    """Mean squared error of tanh(x W1ᵀ + b1) w2 + b2, plus 0.01 (|W1|² + |w2|²)."""
    prediction = torch.tanh(d["x"] @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
    penalty = 0.01 * (torch.sum(p["W1"] ** 2) + torch.sum(p["w2"] ** 2))
    return torch.mean((prediction - d["y"]) ** 2) + penalty


def _softmax_regression(torch: Any, p: dict[str, Any], d: dict[str, Any]) -> Any:
    """Mean cross-entropy of log_softmax(x Wᵀ + b) with one-hot y, plus 0.01 (|W|² + |b|²)."""
    log_p = torch.log_softmax(d["x"] @ p["W"].T + p["b"], dim=1)
    penalty = 0.01 * (torch.sum(p["W"] ** 2) + torch.sum(p["b"] ** 2))
    return torch.mean(-torch.sum(d["y"] * log_p, dim=1)) + penalty


@pytest.mark.parametrize("name, by_hand", [("logistic", _logistic),
                                           ("tanh_network", _tanh_network),
                                           ("softmax_regression", _softmax_regression)])
def test_exact_loss_backward_matches_autograd_of_a_loss_written_by_hand(name, by_hand, specs,
                                                                         torch):
    compiled = problem(specs[name])
    _, module = exported(specs[name], "torch")
    data = {k: torch.tensor(v) for k, v in compiled.data.items()}
    for theta in points(compiled, seed=1):
        exact = {k: torch.tensor(v, requires_grad=True)
                 for k, v in compiled.unpack(theta).items()}
        reference = {k: torch.tensor(v, requires_grad=True)
                     for k, v in compiled.unpack(theta).items()}
        value = module.exact_loss(exact, data)
        expected = by_hand(torch, reference, data)
        assert_close(value.item(), expected.item())
        value.backward()
        expected.backward()
        for key in exact:
            assert_close(exact[key].grad, reference[key].grad)


def test_exact_loss_refuses_a_second_derivative(specs, torch):
    _, module = exported(specs["rosenbrock"], "torch")
    params = {"a": torch.tensor(0.5, requires_grad=True),
              "b": torch.tensor(1.0, requires_grad=True)}
    (gradient_a, _) = torch.autograd.grad(module.exact_loss(params), list(params.values()),
                                          create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        gradient_a.backward()
