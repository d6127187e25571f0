"""gdcheck speed and scale benchmark (run on demand; pytest never collects it).

    python tests/benchmarks/bench_gdcheck.py [--quick] [--cases NAME ...] [--sections ...]

Times, single-threaded, the exact gradient of a compiled `Problem` against hand-written
numpy (matrix products), PyTorch autograd and `jax.jit(jax.grad(...))` on five models
(up to the 784-256-10 softmax-tanh network, 203,530 parameters), after checking that every
implementation agrees with gdcheck to 1e-8 relative; then the one-time cost (imports,
load, graph, reverse pass, code generation, first gradient) of one network architecture
from about 10^2 to 10^6 parameters; the Hessian-vector product's cost relative to a
gradient and a dense Hessian of about 1,000 parameters; the peak memory of a gradient over
1,000,000 samples; the wall time of `gdcheck verify specs/` and the load + compile time of
a 12-deep nested tanh. Timings are medians of process CPU time, the contenders alternating
repeat by repeat; every measurement runs in its own subprocess with a timeout, so a slow
derivation cannot hang the run. See README.md here.
"""

# Pin BLAS, OpenMP, PyTorch and XLA to one thread before numpy (or anything else) is imported.
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULT_MARKER = "BENCH-RESULT "
AGREEMENT = 1e-8    # every implementation's gradient must match gdcheck's to this (relative)
FD_AGREEMENT = 1e-5  # a Hessian-vector product against central differences of the gradient

# The gradient table: name -> model kind and sizes.
CASES: dict[str, dict[str, Any]] = {
    "logistic-d20": {"kind": "logistic", "d": 20, "n": 100_000},
    "tanh-d10-h16": {"kind": "tanh", "d": 10, "h": 16, "n": 10_000},
    "tanh-d20-h32": {"kind": "tanh", "d": 20, "h": 32, "n": 10_000},
    "softmax-d10-k5": {"kind": "softmax", "d": 10, "k": 5, "n": 20_000},
    "mlp-784-256-10": {"kind": "mlp", "d": 784, "h": 256, "k": 10, "n": 5_000},
}
# One-time cost: the 705-parameter tanh network, then one architecture (the softmax-tanh
# network d-h-k) from about 1e2 to 1e6 parameters, all with n = 5,000.
ONE_TIME = [CASES["tanh-d20-h32"],
            {"kind": "mlp", "d": 8, "h": 8, "k": 4, "n": 5_000},          # 108
            {"kind": "mlp", "d": 32, "h": 24, "k": 8, "n": 5_000},        # 992
            {"kind": "mlp", "d": 100, "h": 90, "k": 10, "n": 5_000},      # 10,000
            {"kind": "mlp", "d": 784, "h": 126, "k": 10, "n": 5_000},     # 100,180
            CASES["mlp-784-256-10"],                                       # 203,530
            {"kind": "mlp", "d": 784, "h": 1262, "k": 10, "n": 5_000}]    # 1,003,300
ONE_TIME_TARGETS = {"tanh-d20-h32": 1.0, "mlp-784-256-10": 3.0}   # seconds, total
HVP_CASES = ["tanh-d20-h32", "mlp-784-256-10"]
HVP_TARGET = 3.0                # hessian_vector time / gradient time
DENSE_HESSIAN = {"kind": "tanh", "d": 40, "h": 24, "n": 1_000}      # 1,009 parameters
DENSE_HESSIAN_TARGET = 1.0      # seconds
MEMORY = {"kind": "logistic", "d": 20, "n": 1_000_000}
MEMORY_TARGET = 2.0             # gradient peak / data size
NESTED_DEPTH = 12
SECTIONS = ("gradient", "onetime", "hessian", "memory", "verify", "nested")


# ---------------------------------------------------------------- specs and data

def case_name(case: dict[str, Any]) -> str:
    """The case's name in CASES, or a name made from its sizes."""
    for name, known in CASES.items():
        if known == case:
            return name
    if case["kind"] == "mlp":
        return f"mlp-{case['d']}-{case['h']}-{case['k']}"
    if case["kind"] == "tanh":
        return f"tanh-d{case['d']}-h{case['h']}"
    if case["kind"] == "softmax":
        return f"softmax-d{case['d']}-k{case['k']}"
    return f"logistic-d{case['d']}"


def layout(case: dict[str, Any]) -> list[tuple[str, tuple[int, ...]]]:
    """Parameters in declaration order (θ's layout), with their shapes."""
    d = case["d"]
    if case["kind"] == "logistic":
        return [("w", (d,)), ("b", ())]
    if case["kind"] == "tanh":
        h = case["h"]
        return [("W1", (h, d)), ("b1", (h,)), ("w2", (h,)), ("b2", ())]
    if case["kind"] == "mlp":
        h, k = case["h"], case["k"]
        return [("W1", (h, d)), ("b1", (h,)), ("W2", (k, h)), ("b2", (k,))]
    k = case["k"]
    return [("W", (k, d)), ("b", (k,))]


def parameter_count(case: dict[str, Any]) -> int:
    return sum(int(np.prod(shape, dtype=int)) for _, shape in layout(case))


def unpack(theta: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Slices of θ (numpy, torch or jax) reshaped to each parameter's shape."""
    result, start = {}, 0
    for name, shape in layout(case):
        size = int(np.prod(shape, dtype=int))
        result[name] = theta[start:start + size].reshape(shape)
        start += size
    return result


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def make_data(case: dict[str, Any], seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic inputs x (n, d) and targets y from a model of the same kind plus noise."""
    rng = np.random.default_rng(seed)
    n, d = case["n"], case["d"]
    x = rng.normal(size=(n, d))
    if case["kind"] == "logistic":
        w = rng.normal(0, 0.5, size=d)
        y = (rng.random(n) < sigmoid(x @ w + 0.3)).astype(float)
    elif case["kind"] == "tanh":
        h = case["h"]
        hidden = np.tanh(x @ rng.normal(0, 0.3, size=(h, d)).T + rng.normal(0, 0.3, size=h))
        y = hidden @ rng.normal(0, 0.5, size=h) + 0.1 + rng.normal(0, 0.1, size=n)
    elif case["kind"] == "mlp":
        h, k = case["h"], case["k"]
        hidden = np.tanh(x @ rng.normal(0, d ** -0.5, size=(h, d)).T)
        scores = hidden @ rng.normal(0, h ** -0.5, size=(k, h)).T + rng.gumbel(size=(n, k))
        y = np.eye(k)[scores.argmax(axis=1)]
    else:
        k = case["k"]
        scores = x @ rng.normal(0, 0.7, size=(k, d)).T
        y = np.eye(k)[scores.argmax(axis=1)]
    return {"x": x, "y": y}


def spec_text(case: dict[str, Any], name: str) -> str:
    d = case["d"]
    if case["kind"] == "logistic":
        parameters = f"  w: {{shape: [{d}], init: normal(0, 0.3)}}\n  b: {{init: normal(0, 0.3)}}\n"
        target = "{y: {}}"
        model = "sigmoid(dot(w, x) + b)"
        loss = "-(y*log(y_pred) + (1 - y)*log(1 - y_pred))"
    elif case["kind"] == "tanh":
        h = case["h"]
        parameters = (f"  W1: {{shape: [{h}, {d}], init: normal(0, 0.3)}}\n"
                      f"  b1: {{shape: [{h}], init: normal(0, 0.3)}}\n"
                      f"  w2: {{shape: [{h}], init: normal(0, 0.3)}}\n"
                      "  b2: {init: normal(0, 0.3)}\n")
        target = "{y: {}}"
        model = "dot(w2, tanh(W1 @ x + b1)) + b2"
        loss = "(y_pred - y)**2"
    elif case["kind"] == "mlp":
        h, k = case["h"], case["k"]
        parameters = (f"  W1: {{shape: [{h}, {d}], init: normal(0, {d ** -0.5:.4g})}}\n"
                      f"  b1: {{shape: [{h}], init: normal(0, 0.1)}}\n"
                      f"  W2: {{shape: [{k}, {h}], init: normal(0, {h ** -0.5:.4g})}}\n"
                      f"  b2: {{shape: [{k}], init: normal(0, 0.1)}}\n")
        target = f"{{y: {{shape: [{k}]}}}}"
        model = "softmax(W2 @ tanh(W1 @ x + b1) + b2)"
        loss = "-sum(y * log(y_pred))"
    else:
        k = case["k"]
        parameters = (f"  W: {{shape: [{k}, {d}], init: normal(0, 0.3)}}\n"
                      f"  b: {{shape: [{k}], init: normal(0, 0.3)}}\n")
        target = f"{{y: {{shape: [{k}]}}}}"
        model = "log_softmax(W @ x + b)"
        loss = "-dot(y, y_pred)"
    return (f"gdcheck: 1\nname: {name}\nparameters:\n{parameters}"
            f"inputs: {{x: {{shape: [{d}]}}}}\ntarget: {target}\n"
            f"model: {model}\nloss: {loss}\nreduction: mean\n"
            "data: {npz: data.npz}\n"
            "optimizer: {method: gd, learning_rate: 0.1, steps: 10}\n")


def write_case(case: dict[str, Any], folder: Path, name: str) -> tuple[Path, dict[str, np.ndarray]]:
    data = make_data(case)
    np.savez(folder / "data.npz", **data)
    path = folder / f"{name}.yaml"
    path.write_text(spec_text(case, name))
    return path, data


def start_point(case: dict[str, Any], seed: int = 1) -> np.ndarray:
    """θ ~ normal(0, 0.3); for the softmax-tanh network each weight matrix is scaled by
    1/sqrt(fan-in) (biases 0.1) so that tanh does not saturate at d = 784."""
    rng = np.random.default_rng(seed)
    if case["kind"] != "mlp":
        return rng.normal(0, 0.3, size=parameter_count(case))
    scales = {"W1": case["d"] ** -0.5, "b1": 0.1, "W2": case["h"] ** -0.5, "b2": 0.1}
    return np.concatenate([rng.normal(0, scales[name], size=int(np.prod(shape, dtype=int)))
                           for name, shape in layout(case)])


def direction(case: dict[str, Any], seed: int = 2) -> np.ndarray:
    """The vector v of a Hessian-vector product."""
    return np.random.default_rng(seed).normal(size=parameter_count(case))


# ---------------------------------------------------------------- the implementations

def numpy_gradient(case: dict[str, Any], data: dict[str, np.ndarray]) -> Callable[..., Any]:
    """Forward and backward pass written by hand with matrix products."""
    x, y, n = data["x"], data["y"], len(data["y"])

    if case["kind"] == "logistic":
        def gradient(theta: np.ndarray) -> np.ndarray:
            w, b = theta[:-1], theta[-1]
            residual = (sigmoid(x @ w + b) - y) / n
            return np.concatenate([residual @ x, [residual.sum()]])
    elif case["kind"] == "tanh":
        def gradient(theta: np.ndarray) -> np.ndarray:
            p = unpack(theta, case)
            hidden = np.tanh(x @ p["W1"].T + p["b1"])
            upstream = (2.0 / n) * (hidden @ p["w2"] + p["b2"] - y)       # dL/dy_pred per row
            pre = np.outer(upstream, p["w2"]) * (1.0 - hidden * hidden)   # dL/d(W1 x + b1)
            return np.concatenate([(pre.T @ x).ravel(), pre.sum(axis=0),
                                   upstream @ hidden, [upstream.sum()]])
    elif case["kind"] == "mlp":
        def gradient(theta: np.ndarray) -> np.ndarray:
            p = unpack(theta, case)
            hidden = np.tanh(x @ p["W1"].T + p["b1"])
            # d/dz of −Σₖ yₖ log softmax(z)ₖ is softmax(z) − y for a one-hot y
            upstream = (softmax_rows(hidden @ p["W2"].T + p["b2"]) - y) / n
            pre = (upstream @ p["W2"]) * (1.0 - hidden * hidden)          # dL/d(W1 x + b1)
            return np.concatenate([(pre.T @ x).ravel(), pre.sum(axis=0),
                                   (upstream.T @ hidden).ravel(), upstream.sum(axis=0)])
    else:
        def gradient(theta: np.ndarray) -> np.ndarray:
            p = unpack(theta, case)
            scores = x @ p["W"].T + p["b"]
            scores -= scores.max(axis=1, keepdims=True)
            probabilities = np.exp(scores)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            # d/dz of −Σₖ yₖ log_softmax(z)ₖ is (Σₖ yₖ)·p − y
            upstream = (y.sum(axis=1, keepdims=True) * probabilities - y) / n
            return np.concatenate([(upstream.T @ x).ravel(), upstream.sum(axis=0)])
    return gradient


def torch_gradient(case: dict[str, Any], data: dict[str, np.ndarray]) -> Callable[..., Any]:
    import torch

    torch.set_num_threads(1)
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])

    def loss(theta: Any) -> Any:
        p = unpack(theta, case)
        if case["kind"] == "logistic":
            q = torch.sigmoid(x @ p["w"] + p["b"])
            return (-(y * torch.log(q) + (1 - y) * torch.log(1 - q))).mean()
        if case["kind"] == "tanh":
            prediction = torch.tanh(x @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
            return ((prediction - y) ** 2).mean()
        if case["kind"] == "mlp":
            scores = torch.tanh(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]
            return (-(y * torch.log(torch.softmax(scores, dim=1))).sum(dim=1)).mean()
        return (-(y * torch.log_softmax(x @ p["W"].T + p["b"], dim=1)).sum(dim=1)).mean()

    def gradient(theta: np.ndarray) -> np.ndarray:
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        loss(t).backward()
        return t.grad.numpy()
    return gradient


def jax_loss(case: dict[str, Any]) -> Callable[..., Any]:
    """loss(theta, x, y) in jax.numpy (float64 once jax_enable_x64 is set)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def loss(theta: Any, x: Any, y: Any) -> Any:
        p = unpack(theta, case)
        if case["kind"] == "logistic":
            q = jax.nn.sigmoid(x @ p["w"] + p["b"])
            return jnp.mean(-(y * jnp.log(q) + (1 - y) * jnp.log(1 - q)))
        if case["kind"] == "tanh":
            prediction = jnp.tanh(x @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
            return jnp.mean((prediction - y) ** 2)
        if case["kind"] == "mlp":
            scores = jnp.tanh(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]
            return jnp.mean(-jnp.sum(y * jnp.log(jax.nn.softmax(scores, axis=1)), axis=1))
        return jnp.mean(-jnp.sum(y * jax.nn.log_softmax(x @ p["W"].T + p["b"], axis=1), axis=1))
    return loss


def jax_of(transform_name: str, case: dict[str, Any], data: dict[str, np.ndarray]
           ) -> Callable[..., Any]:
    """θ ↦ jax.jit(jax.<transform_name>(loss))(θ, x, y) as numpy: jax.grad or jax.hessian."""
    import jax
    import jax.numpy as jnp

    loss = jax_loss(case)   # first: it turns on float64, which the data must come in as
    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])
    compiled = jax.jit(getattr(jax, transform_name)(loss))

    def evaluate(theta: np.ndarray) -> np.ndarray:
        return np.asarray(compiled(jnp.asarray(theta), x, y))
    return evaluate


def jax_gradient(case: dict[str, Any], data: dict[str, np.ndarray]) -> Callable[..., Any]:
    return jax_of("grad", case, data)


def jax_hessian_vector(case: dict[str, Any], data: dict[str, np.ndarray]) -> Callable[..., Any]:
    """Forward-over-reverse: jax.jit of jax.jvp(jax.grad(loss))."""
    import jax
    import jax.numpy as jnp

    loss = jax_loss(case)
    x, y = jnp.asarray(data["x"]), jnp.asarray(data["y"])

    def hvp(theta: Any, v: Any, x: Any, y: Any) -> Any:
        return jax.jvp(lambda t: jax.grad(loss)(t, x, y), (theta,), (v,))[1]
    compiled = jax.jit(hvp)

    def product(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.asarray(compiled(jnp.asarray(theta), jnp.asarray(v), x, y))
    return product


def jax_hessian(case: dict[str, Any], data: dict[str, np.ndarray]) -> Callable[..., Any]:
    return jax_of("hessian", case, data)


def finite_difference_hvp(gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                          v: np.ndarray) -> np.ndarray:
    """(∇L(θ + εv) − ∇L(θ − εv)) / 2ε, from the hand-written gradient."""
    step = 1e-5 / max(float(np.max(np.abs(v))), 1e-300)
    return (gradient(theta + step * v) - gradient(theta - step * v)) / (2 * step)


# ---------------------------------------------------------------- timing helpers

def measure(functions: dict[str, Callable[[], Any]], repeats: int,
            min_time: float) -> dict[str, dict[str, Any]]:
    """Per contender, the median process CPU seconds per call over `repeats` repeats, each
    of enough calls to last `min_time`; the contenders alternate repeat by repeat (the
    first one rotating), so a burst of load on the machine hits them all alike."""
    numbers = {}
    for label, function in functions.items():
        function()                               # warm-up (lambdify, jit, caches)
        start = time.perf_counter()
        function()
        numbers[label] = max(1, int(min_time / max(time.perf_counter() - start, 1e-9)))
    cpu: dict[str, list[float]] = {label: [] for label in functions}
    wall: dict[str, list[float]] = {label: [] for label in functions}
    system = dict.fromkeys(functions, 0.0)     # kernel CPU seconds (page faults, mostly)
    faults = dict.fromkeys(functions, 0)       # minor page faults
    labels = list(functions)
    for repeat in range(repeats):
        shift = repeat % len(labels)
        for label in labels[shift:] + labels[:shift]:
            function, number = functions[label], numbers[label]
            gc.collect()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(number):
                function()
            cpu[label].append((time.process_time() - cpu_start) / number)
            wall[label].append((time.perf_counter() - wall_start) / number)
            after = resource.getrusage(resource.RUSAGE_SELF)
            system[label] += after.ru_stime - usage.ru_stime
            faults[label] += after.ru_minflt - usage.ru_minflt
    return {label: {"median_s": statistics.median(cpu[label]), "min_s": min(cpu[label]),
                    "max_s": max(cpu[label]), "wall_median_s": statistics.median(wall[label]),
                    "calls_per_repeat": numbers[label], "repeats": repeats,
                    "cpu_per_wall": sum(cpu[label]) / sum(wall[label]),
                    "system_share": system[label] / max(sum(cpu[label]) * numbers[label], 1e-12),
                    "page_faults_per_call": faults[label] / (numbers[label] * repeats)}
            for label in functions}


def relative_error(candidate: np.ndarray, reference: np.ndarray) -> float:
    """max |candidate − reference| / max |reference| (infinity norm)."""
    return float(np.max(np.abs(candidate - reference)) / max(np.max(np.abs(reference)), 1e-300))


def loud(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {message}\n{bar}\n", file=sys.stderr, flush=True)


class Stopwatch:
    """Wraps module.attribute so each call's wall time is added up (if the attribute exists:
    otherwise `seconds` stays None and the report shows "—")."""

    def __init__(self, module: Any, attribute: str):
        self.seconds: float | None = None
        original = getattr(module, attribute, None)
        if not callable(original):
            return
        self.seconds = 0.0

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds = (self.seconds or 0.0) + time.perf_counter() - start
        setattr(module, attribute, timed)


def load_and_compile(path: Path) -> tuple[Any, dict[str, Any], dict[str, Stopwatch]]:
    """The imports, gdcheck.load and gdcheck.compile, timed; the stopwatches on the graph
    build (`GraphObjective`, inside compile), the reverse pass (`derivation.gradient`) and
    the code generation (`Program`), both inside the first gradient call."""
    start = time.perf_counter()
    import gdcheck
    import gdcheck.compiled.kernels
    import gdcheck.compiled.problem
    import gdcheck.spec
    import gdcheck.symbolic.derivation
    imported = time.perf_counter()
    watches = {"graph_s": Stopwatch(gdcheck.compiled.problem, "GraphObjective"),
               "reverse_s": Stopwatch(gdcheck.symbolic.derivation, "gradient"),
               "codegen_s": Stopwatch(gdcheck.compiled.kernels, "Program")}
    loading = time.perf_counter()
    spec = gdcheck.load(path)
    loaded = time.perf_counter()
    problem = gdcheck.compile(spec)
    compiled = time.perf_counter()
    graph = watches["graph_s"].seconds
    return problem, {"import_s": imported - start, "load_s": loaded - loading,
                     "compile_s": compiled - loaded, "graph_s": graph,
                     "data_s": None if graph is None else compiled - loaded - graph}, watches


def first_gradient(problem: Any, theta: np.ndarray, costs: dict[str, Any],
                   watches: dict[str, Stopwatch]) -> np.ndarray:
    """The first problem.gradient call, timed, split into reverse pass, code generation and
    evaluation (what is left)."""
    before = {key: watch.seconds for key, watch in watches.items()}
    start = time.perf_counter()
    gradient = problem.gradient(theta)
    costs["first_gradient_s"] = time.perf_counter() - start
    spent = 0.0
    for key in ("reverse_s", "codegen_s"):
        now, then = watches[key].seconds, before[key]
        costs[key] = None if now is None else now - (then or 0.0)
        spent += costs[key] or 0.0
    costs["evaluation_s"] = costs["first_gradient_s"] - spent
    costs["total_s"] = (costs["import_s"] + costs["load_s"] + costs["compile_s"]
                        + costs["first_gradient_s"])
    return gradient


def thread_settings() -> dict[str, Any]:
    settings = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                "MKL_NUM_THREADS")}
    try:
        import threadpoolctl
        settings["threadpools"] = [{"api": p["internal_api"], "threads": p["num_threads"]}
                                   for p in threadpoolctl.threadpool_info()]
    except ImportError:
        pass
    return settings


# ---------------------------------------------------------------- workers (one per subprocess)

def work_gradient(job: dict[str, Any]) -> dict[str, Any]:
    case, name = job["case"], job["name"]
    with tempfile.TemporaryDirectory() as folder:
        path, data = write_case(case, Path(folder), name)
        problem, costs, watches = load_and_compile(path)
    theta = start_point(case)
    reference = first_gradient(problem, theta, costs, watches)
    result: dict[str, Any] = {"name": name, "P": problem.size, "n": len(data["y"]),
                              "one_time": costs, "threads": thread_settings()}
    if problem.size != parameter_count(case):
        loud(f"{name}: gdcheck has {problem.size} parameters, expected {parameter_count(case)}")
    implementations: dict[str, Callable[[], Callable[..., Any]]] = {
        "gdcheck": lambda: problem.gradient,
        "numpy": lambda: numpy_gradient(case, data),
        "torch": lambda: torch_gradient(case, data),
        "jax": lambda: jax_gradient(case, data),
    }
    timed: dict[str, Callable[[], Any]] = {}
    for label, make in implementations.items():
        try:
            gradient = make()
        except ImportError as error:
            result[label] = {"skipped": f"not installed ({error})"}
            continue
        value = np.asarray(gradient(theta), dtype=float)
        error = relative_error(value, reference)
        result[label] = {"relative_error": error, "agrees": bool(error <= AGREEMENT)}
        if not result[label]["agrees"]:
            loud(f"MISMATCH in {name}: {label}'s gradient differs from gdcheck's by "
                 f"{error:.3g} relative (tolerance {AGREEMENT:g}); its timing is not comparable")
        timed[label] = lambda g=gradient: g(theta)
    for label, entry in measure(timed, job["repeats"], job["min_time"]).items():
        result[label].update(entry)
    if "torch" in timed:
        import torch
        result["threads"]["torch"] = torch.get_num_threads()
    return result


def work_one_time(job: dict[str, Any]) -> dict[str, Any]:
    case = job["case"]
    with tempfile.TemporaryDirectory() as folder:
        path, _ = write_case(case, Path(folder), case_name(case))
        problem, costs, watches = load_and_compile(path)
    theta = start_point(case)
    first_gradient(problem, theta, costs, watches)
    start = time.perf_counter()
    problem.gradient(theta)
    costs["second_gradient_s"] = time.perf_counter() - start
    costs["P"], costs["n"] = problem.size, case["n"]
    costs["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return costs


def work_hvp(job: dict[str, Any]) -> dict[str, Any]:
    """hessian_vector / gradient time for one case; the product checked against jax's
    forward-over-reverse product (if installed) and central differences of the
    hand-written gradient."""
    case, name = job["case"], job["name"]
    with tempfile.TemporaryDirectory() as folder:
        path, data = write_case(case, Path(folder), name)
        problem, costs, watches = load_and_compile(path)
    theta, v = start_point(case), direction(case)
    first_gradient(problem, theta, costs, watches)
    start = time.perf_counter()
    product = problem.hessian_vector(theta, v)
    costs["first_hvp_s"] = time.perf_counter() - start
    result: dict[str, Any] = {"name": name, "P": problem.size, "n": len(data["y"]),
                              "one_time": costs}
    hand = numpy_gradient(case, data)
    result["fd_error"] = relative_error(finite_difference_hvp(hand, theta, v), product)
    timed: dict[str, Callable[[], Any]] = {
        "gdcheck gradient": lambda: problem.gradient(theta),
        "gdcheck hvp": lambda: problem.hessian_vector(theta, v)}
    try:
        jax_product, jax_grad = jax_hessian_vector(case, data), jax_gradient(case, data)
    except ImportError as error:
        result["jax"] = f"not installed ({error})"
    else:
        result["jax_error"] = relative_error(jax_product(theta, v), product)
        timed["jax gradient"] = lambda: jax_grad(theta)
        timed["jax hvp"] = lambda: jax_product(theta, v)
    result["agrees"] = bool(result["fd_error"] <= FD_AGREEMENT
                            and result.get("jax_error", 0.0) <= AGREEMENT)
    if not result["agrees"]:
        loud(f"MISMATCH in {name}: hessian_vector differs from central differences by "
             f"{result['fd_error']:.3g} (tolerance {FD_AGREEMENT:g}) or from jax by "
             f"{result.get('jax_error', float('nan')):.3g} (tolerance {AGREEMENT:g})")
    result["timings"] = measure(timed, job["repeats"], job["min_time"])
    return result


def work_dense_hessian(job: dict[str, Any]) -> dict[str, Any]:
    """problem.hessian(θ) for about 1,000 parameters: the first call (with the code
    generation of the Hessian-vector product) and the median of later calls; checked
    against jax.hessian (if installed) and, row by row, against hessian_vector."""
    case = job["case"]
    name = case_name(case)
    with tempfile.TemporaryDirectory() as folder:
        path, data = write_case(case, Path(folder), name)
        problem, costs, watches = load_and_compile(path)
    theta, v = start_point(case), direction(case)
    first_gradient(problem, theta, costs, watches)
    start = time.perf_counter()
    hessian = problem.hessian(theta)
    first = time.perf_counter() - start
    result: dict[str, Any] = {"name": name, "P": problem.size, "n": len(data["y"]),
                              "first_hessian_s": first, "one_time": costs,
                              "hvp_error": relative_error(hessian @ v,
                                                          problem.hessian_vector(theta, v)),
                              "asymmetry": relative_error(hessian, hessian.T)}
    timed: dict[str, Callable[[], Any]] = {"gdcheck hessian": lambda: problem.hessian(theta)}
    try:
        jax_dense = jax_hessian(case, data)
    except ImportError as error:
        result["jax"] = f"not installed ({error})"
    else:
        result["jax_error"] = relative_error(jax_dense(theta), hessian)
        timed["jax hessian"] = lambda: jax_dense(theta)
    result["agrees"] = bool(result["hvp_error"] <= AGREEMENT
                            and result.get("jax_error", 0.0) <= AGREEMENT)
    if not result["agrees"]:
        loud(f"MISMATCH in the dense Hessian of {name}: H·v vs hessian_vector "
             f"{result['hvp_error']:.3g}, vs jax.hessian "
             f"{result.get('jax_error', float('nan')):.3g} (tolerance {AGREEMENT:g})")
    result["timings"] = measure(timed, job["repeats"], job["min_time"])
    return result


def work_memory(job: dict[str, Any]) -> dict[str, Any]:
    case = job["case"]
    with tempfile.TemporaryDirectory() as folder:
        path, data = write_case(case, Path(folder), "logistic-memory")
        data_bytes = sum(a.nbytes for a in data.values())
        hand = numpy_gradient(case, data)
        theta = start_point(case)
        # The hand-written gradient first, on our own copy of the data...
        hand(theta)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        hand(theta)
        numpy_peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        del data, hand
        gc.collect()
        # ... then gdcheck, which loads the npz itself: what it keeps, and a gradient's peak.
        import gdcheck.compiled.kernels  # noqa: F401 - the imports (SymPy) are not the Problem's
        import gdcheck.spec  # noqa: F401
        import gdcheck.symbolic.derivation  # noqa: F401
        tracemalloc.start()
        problem, costs, _ = load_and_compile(path)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        problem.gradient(theta)        # first call: code generation, the buffers allocated
        first_peak = tracemalloc.get_traced_memory()[1] - retained
        gc.collect()
        buffers = tracemalloc.get_traced_memory()[0] - retained
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        problem.gradient(theta)
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    return {"P": problem.size, "n": case["n"], "data_mb": data_bytes / 2**20,
            "gdcheck_gradient_peak_mb": peak / 2**20, "numpy_gradient_peak_mb": numpy_peak / 2**20,
            "gdcheck_first_peak_mb": first_peak / 2**20, "gdcheck_kept_mb": buffers / 2**20,
            "problem_retained_mb": retained / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "compile_s": costs["compile_s"]}


def work_nested(job: dict[str, Any]) -> dict[str, Any]:
    depth = job["depth"]
    model = "w*x"
    for _ in range(depth):
        model = f"tanh({model} + b)"
    x = np.array([0.1, 0.5, -1.0, 2.0])
    y = np.array([0.0, 0.3, -0.5, 0.9])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nested.yaml"
        path.write_text(f"gdcheck: 1\nname: nested\nparameters: {{w: {{}}, b: {{}}}}\n"
                        f"inputs: {{x: {{}}}}\ntarget: {{y: {{}}}}\nmodel: {model}\n"
                        f"loss: (y_pred - y)**2\ndata: {{inline: {{x: {x.tolist()}, "
                        f"y: {y.tolist()}}}}}\n"
                        "optimizer: {method: gd, learning_rate: 0.1, steps: 10}\n")
        problem, costs, watches = load_and_compile(path)
    w, b = 0.3, 0.1
    gradient = first_gradient(problem, np.array([w, b]), costs, watches)
    value, d_w, d_b = w * x, x.copy(), np.zeros_like(x)     # the chain rule, by hand
    for _ in range(depth):
        value = np.tanh(value + b)
        slope = 1 - value**2
        d_w, d_b = slope * d_w, slope * (d_b + 1)
    expected = np.array([np.mean(2 * (value - y) * d_w), np.mean(2 * (value - y) * d_b)])
    costs["relative_error"] = relative_error(gradient, expected)
    if costs["relative_error"] > AGREEMENT:
        loud(f"MISMATCH: nested tanh gradient differs from the chain rule by "
             f"{costs['relative_error']:.3g}")
    costs["depth"] = depth
    return costs


WORKERS = {"gradient": work_gradient, "onetime": work_one_time, "hvp": work_hvp,
           "dense_hessian": work_dense_hessian, "memory": work_memory, "nested": work_nested}


# With --malloc-tuned, glibc malloc keeps freed memory instead of returning it to the system.
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**28), "MALLOC_TRIM_THRESHOLD_": str(2**28)}
WORKER_ENVIRONMENT: dict[str, str] = {}


def run_worker(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one job in a fresh interpreter; {"error": ...} on a timeout or a crash."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
    start = time.perf_counter()
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=None, text=True,
                                   timeout=timeout, cwd=ROOT,
                                   env={**os.environ, **WORKER_ENVIRONMENT})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode or not lines:
        return {"error": f"worker failed (exit {completed.returncode}) after "
                         f"{time.perf_counter() - start:.1f} s"}
    return json.loads(lines[-1][len(RESULT_MARKER):])


def run_verify(specs: Path, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "gdcheck", "verify", str(specs), "--report-dir", folder]
        start = time.perf_counter()
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                       cwd=ROOT)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s"}
        wall = time.perf_counter() - start
    lines = completed.stdout.strip().splitlines()
    return {"wall_s": wall, "exit_status": completed.returncode,
            "summary": lines[-1] if lines else completed.stderr.strip()[-300:],
            "specs": sum(1 for p in specs.rglob("*.y*ml"))}


# ---------------------------------------------------------------- the machine

def load_lines(machine: dict[str, Any], after: list[float]) -> list[str]:
    """The load average before and after a run, and a warning if the machine was busy."""
    lines = [f"- load average before / after the run: "
             f"{', '.join(f'{x:.1f}' for x in machine['load_average'])} / "
             f"{', '.join(f'{x:.1f}' for x in after)}", ""]
    if max(machine["load_average"][0], after[0]) > 0.5 * (machine["cores"] or 1):
        lines += ["Warning: the machine was busy with other work (load average above half the "
                  "cores): timings are noisy and slower than on an idle machine.", ""]
    return lines


def machine(packages: tuple[str, ...] = ("gdcheck", "numpy", "sympy", "torch", "jax",
                                         "jaxlib")) -> dict[str, Any]:
    """The CPU, cores, load, Python, BLAS, the versions of `packages` and the threads."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas_name = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - only informational
        blas_name = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": list(os.getloadavg()),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None, "python": platform.python_version(), "platform": platform.platform(),
            "blas": blas_name, "versions": versions, "threads": thread_settings()}


# ---------------------------------------------------------------- printing

def ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.3g}" if seconds < 0.1 else f"{seconds * 1e3:,.0f}"


def secs(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f}"


def flagged(entry: dict[str, Any]) -> str:
    """Median ms, marked when the gradient disagreed with gdcheck's."""
    flag = "" if entry["agrees"] else f" MISMATCH {entry['relative_error']:.1e}"
    return ms(entry["median_s"]) + flag


def cell(row: dict[str, Any], label: str) -> tuple[str, str]:
    entry = row.get(label, {})
    if "median_s" not in entry:
        return "—", entry.get("skipped", "—").split(" (")[0] if entry else "—"
    ratio = entry["median_s"] / row["numpy"]["median_s"] if "median_s" in row.get("numpy", {}) \
        else None
    return flagged(entry), "—" if ratio is None else f"{ratio:.2f}×"


def share_warnings(shares: dict[str, float], kernel: dict[str, float]) -> list[str]:
    """Warnings for timings whose CPU time / wall time shows extra threads or a busy core,
    or that spent much of their CPU time in the kernel."""
    out = []
    heavy = [f"{key} {share:.0%}" for key, share in kernel.items() if share > 0.2]
    if heavy:
        out += ["Note: more than 20% of the CPU time spent in the kernel, mostly page faults: "
                "large temporaries freed at the end of a call go back to the system and the "
                "next call faults them in again (for the numpy-based contenders "
                "`--malloc-tuned` keeps them in the process): " + ", ".join(heavy), ""]
    busy = [f"{key} {share:.2f}" for key, share in shares.items() if share > 1.3]
    starved = [f"{key} {share:.2f}" for key, share in shares.items() if share < 0.9]
    if busy:
        out += [f"Warning: CPU time / wall time above 1.3 (more than one thread busy): "
                f"{', '.join(busy)}", ""]
    if starved:
        out += [f"Warning: CPU time / wall time below 0.9 (the process did not get a whole "
                f"core; other load on the machine): {', '.join(starved)}", ""]
    return out


def met(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def report(results: dict[str, Any]) -> str:
    out = []
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    out += ["## Machine", "",
            f"- CPU: {m['cpu']} ({m['cores']} cores, {m['usable_cores']} usable)",
            f"- Python {m['python']}, {m['platform']}; BLAS {m['blas']}",
            f"- {versions}",
            "- one thread: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1, "
            "torch.set_num_threads(1), XLA single-threaded",
            f"- {results['settings']['repeats']} repeats per median "
            f"({'quick' if results['settings']['quick'] else 'full'} run), each repeat at least "
            f"{results['settings']['min_time']:g} s of calls; medians of process CPU time, "
            "contenders alternating",
            "- memory allocator: glibc malloc "
            + ("tuned to keep freed memory (MALLOC_MMAP_THRESHOLD_ = MALLOC_TRIM_THRESHOLD_ "
               "= 256 MiB, `--malloc-tuned`)" if results["settings"].get("malloc_tuned")
               else "with its default settings"),
            *load_lines(m, results["load_average_after"])]
    if "gradient" in results:
        out += ["## Gradient evaluation (median CPU ms per call; ratio to hand-written numpy)",
                "",
                "| case | P | n | gdcheck ms | numpy ms | ratio | torch ms | torch ratio "
                "| jax ms | jax ratio |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, row in results["gradient"].items():
            if "error" in row:
                out.append(f"| {name} | {parameter_count(CASES[name]):,} | {CASES[name]['n']:,} "
                           f"| {row['error']} | | | | | | |")
                continue
            g, g_ratio = cell(row, "gdcheck")
            t, t_ratio = cell(row, "torch")
            j, j_ratio = cell(row, "jax")
            out.append(f"| {name} | {row['P']:,} | {row['n']:,} | {g} | "
                       f"{flagged(row['numpy'])} | {g_ratio} | {t} | {t_ratio} | {j} | "
                       f"{j_ratio} |")
        errors = [f"{name}: " + ", ".join(f"{label} {row[label]['relative_error']:.1e}"
                                          for label in ("numpy", "torch", "jax")
                                          if "relative_error" in row.get(label, {}))
                  for name, row in results["gradient"].items() if "error" not in row]
        out += ["", f"Agreement with gdcheck (max abs difference / max |gradient|, must be "
                f"≤ {AGREEMENT:g}): " + "; ".join(errors), ""]
        entries = {f"{name} {label}": row[label]
                   for name, row in results["gradient"].items() if "error" not in row
                   for label in ("gdcheck", "numpy", "torch", "jax")
                   if "cpu_per_wall" in row.get(label, {})}
        out += share_warnings({key: e["cpu_per_wall"] for key, e in entries.items()},
                              {key: e["system_share"] for key, e in entries.items()})
    if "onetime" in results:
        out += ["## One-time cost (fresh process; wall seconds)", "",
                "| network | P | n | imports | load | graph | data + Problem | reverse pass "
                "| codegen | first evaluation | total | total − evaluation | next gradient "
                "| peak RSS MiB |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        targets = []
        for name, row in results["onetime"].items():
            if "error" in row:
                out.append(f"| {name} | {row['P']:,} | {row['n']:,} | {row['error']} "
                           "| | | | | | | | | | |")
                continue
            setup = row["total_s"] - row["evaluation_s"]
            out.append(f"| {name} | {row['P']:,} | {row['n']:,} | {secs(row['import_s'])} | "
                       f"{secs(row['load_s'])} | {secs(row['graph_s'])} | "
                       f"{secs(row['data_s'])} | {secs(row['reverse_s'])} | "
                       f"{secs(row['codegen_s'])} | {secs(row['evaluation_s'])} | "
                       f"**{secs(row['total_s'])}** | {secs(setup)} | "
                       f"{secs(row['second_gradient_s'])} | {row['peak_rss_mb']:,.0f} |")
            if name in ONE_TIME_TARGETS:
                targets.append(f"{name} {row['total_s']:.2f} s (≤ {ONE_TIME_TARGETS[name]:g} s: "
                               f"{met(row['total_s'], ONE_TIME_TARGETS[name])})")
        out.append("")
        if targets:
            out += ["Targets, total: " + "; ".join(targets), ""]
    if "hessian" in results:
        section = results["hessian"]
        out += ["## Hessian-vector product (median CPU ms per call)", "",
                "| case | P | n | gradient ms | hessian_vector ms | ratio (target "
                f"≤ {HVP_TARGET:g}×) | first hessian_vector s | jax grad ms | jax hvp ms "
                "| jax ratio | vs. central differences | vs. jax |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        entries: dict[str, dict[str, Any]] = {}
        for name, row in section["hvp"].items():
            if "error" in row:
                out.append(f"| {name} | {parameter_count(CASES[name]):,} | {CASES[name]['n']:,} "
                           f"| {row['error']} | | | | | | | | |")
                continue
            t = row["timings"]
            entries.update({f"{name} {label}": entry for label, entry in t.items()})
            ratio = t["gdcheck hvp"]["median_s"] / t["gdcheck gradient"]["median_s"]
            jax_cells = ["—", "not installed", "—"]
            if "jax hvp" in t:
                jax_cells = [ms(t["jax gradient"]["median_s"]), ms(t["jax hvp"]["median_s"]),
                             f"{t['jax hvp']['median_s'] / t['jax gradient']['median_s']:.2f}×"]
            flag = "" if row["agrees"] else " MISMATCH"
            out.append(f"| {name} | {row['P']:,} | {row['n']:,} | "
                       f"{ms(t['gdcheck gradient']['median_s'])} | "
                       f"{ms(t['gdcheck hvp']['median_s'])}{flag} | {ratio:.2f}× "
                       f"({met(ratio, HVP_TARGET)}) | {secs(row['one_time']['first_hvp_s'])} | "
                       f"{' | '.join(jax_cells)} | "
                       f"{row['fd_error']:.1e} | "
                       f"{'—' if 'jax_error' not in row else format(row['jax_error'], '.1e')} |")
        out.append("")
        row = section["dense"]
        out += [f"Dense `Problem.hessian(θ)`, tanh network d = {DENSE_HESSIAN['d']}, "
                f"h = {DENSE_HESSIAN['h']} ({parameter_count(DENSE_HESSIAN):,} parameters), "
                f"n = {DENSE_HESSIAN['n']:,}, squared error:", ""]
        if "error" in row:
            out += [f"- {row['error']}", ""]
        else:
            t = row["timings"]
            entries.update({f"dense {label}": entry for label, entry in t.items()})
            median = t["gdcheck hessian"]["median_s"]
            jax_text = (f"; `jax.jit(jax.hessian)` {secs(t['jax hessian']['median_s'])} s, "
                        f"agreement {row['jax_error']:.1e}" if "jax hessian" in t else
                        "; jax not installed")
            out += [f"- median {median:.2f} s CPU (target < {DENSE_HESSIAN_TARGET:g} s: "
                    f"{met(median, DENSE_HESSIAN_TARGET)}); the first call, with the code "
                    f"generation of the Hessian-vector product, {row['first_hessian_s']:.2f} s "
                    f"wall{jax_text}; H·v vs. `hessian_vector`: {row['hvp_error']:.1e}"
                    f"{'' if row['agrees'] else ' MISMATCH'}", ""]
        out += share_warnings({key: e["cpu_per_wall"] for key, e in entries.items()},
                              {key: e["system_share"] for key, e in entries.items()})
    if "memory" in results:
        row = results["memory"]
        out += [f"## Memory: one gradient, logistic d = {MEMORY['d']}, n = {MEMORY['n']:,}", ""]
        if "error" in row:
            out += [f"- {row['error']}", ""]
        else:
            data = row["data_mb"]
            share = row["gdcheck_first_peak_mb"] / data
            out += ["| what | MiB | × data |", "|---|---:|---:|",
                    f"| the data (x and y, float64) | {data:,.0f} | 1.00 |",
                    f"| gdcheck first gradient peak (code generation, buffers allocated) | "
                    f"{row['gdcheck_first_peak_mb']:,.0f} | {share:.2f} |",
                    f"| of which kept between calls (generated code, per-sample buffers) | "
                    f"{row['gdcheck_kept_mb']:,.0f} | {row['gdcheck_kept_mb'] / data:.2f} |",
                    f"| gdcheck later gradient peak (above the kept buffers) | "
                    f"{row['gdcheck_gradient_peak_mb']:,.0f} | "
                    f"{row['gdcheck_gradient_peak_mb'] / data:.2f} |",
                    f"| hand-written numpy gradient peak | {row['numpy_gradient_peak_mb']:,.0f} "
                    f"| {row['numpy_gradient_peak_mb'] / data:.2f} |",
                    f"| kept by the compiled Problem (loaded data, columns, graph) | "
                    f"{row['problem_retained_mb']:,.0f} | "
                    f"{row['problem_retained_mb'] / data:.2f} |",
                    f"| peak RSS of the whole process | {row['peak_rss_mb']:,.0f} | "
                    f"{row['peak_rss_mb'] / data:.2f} |", "",
                    f"Target: gradient peak below {MEMORY_TARGET:g}× the data: "
                    f"{'met' if share < MEMORY_TARGET else '**missed**'}.", ""]
    if "verify" in results:
        row = results["verify"]
        out += ["## `gdcheck verify specs/`", ""]
        out += [f"- {row['error']}" if "error" in row else
                f"- {row['wall_s']:.1f} s wall for {row['specs']} specs (exit status "
                f"{row['exit_status']}): `{row['summary']}`", ""]
    if "nested" in results:
        row = results["nested"]
        out += [f"## Nested tanh, {NESTED_DEPTH} deep", ""]
        out += [f"- {row['error']}" if "error" in row else
                f"- imports {secs(row['import_s'])} s, load {secs(row['load_s'])} s, compile "
                f"{secs(row['compile_s'])} s (graph {secs(row['graph_s'])} s), first gradient "
                f"{secs(row['first_gradient_s'])} s (reverse pass {secs(row['reverse_s'])} s, "
                f"codegen {secs(row['codegen_s'])} s); total {secs(row['total_s'])} s; "
                f"gradient vs. chain rule by hand: {row['relative_error']:.1e} relative", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES),
                        metavar="CASE", help=f"gradient cases to run (default all: "
                                             f"{', '.join(CASES)})")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        metavar="SECTION", help=f"what to run (default all: {', '.join(SECTIONS)})")
    parser.add_argument("--repeats", type=int, help="repeats per median (default 7; 3 quick)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for each subprocess (default 600)")
    parser.add_argument("--specs", type=Path, default=ROOT / "specs",
                        help="folder for `gdcheck verify` (default the bundled specs/)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also save the results as JSON")
    parser.add_argument("--malloc-tuned", action="store_true",
                        help="run the workers with glibc malloc keeping freed memory "
                             "(MALLOC_MMAP_THRESHOLD_ = MALLOC_TRIM_THRESHOLD_ = 256 MiB)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.malloc_tuned:
        WORKER_ENVIRONMENT.update(TUNED_MALLOC)

    if args.worker:
        job = json.loads(args.worker)
        print(RESULT_MARKER + json.dumps(WORKERS[job["section"]](job)), flush=True)
        return 0

    repeats = args.repeats or (3 if args.quick else 7)
    min_time = 0.05 if args.quick else 0.2
    results: dict[str, Any] = {"machine": machine(), "settings": {
        "quick": args.quick, "repeats": repeats, "min_time": min_time, "timeout": args.timeout,
        "malloc_tuned": args.malloc_tuned}}

    def progress(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    if "gradient" in args.sections:
        results["gradient"] = {}
        for name in args.cases:
            progress(f"gradient: {name}")
            results["gradient"][name] = run_worker(
                {"section": "gradient", "name": name, "case": CASES[name], "repeats": repeats,
                 "min_time": min_time}, args.timeout)
    if "onetime" in args.sections:
        results["onetime"] = {}
        for case in ONE_TIME:
            name = case_name(case)
            progress(f"one-time cost: {name} ({parameter_count(case):,} parameters)")
            row = run_worker({"section": "onetime", "case": case}, args.timeout)
            row.setdefault("P", parameter_count(case))
            row.setdefault("n", case["n"])
            results["onetime"][name] = row
    if "hessian" in args.sections:
        results["hessian"] = {"hvp": {}}
        for name in HVP_CASES:
            progress(f"Hessian-vector product: {name}")
            results["hessian"]["hvp"][name] = run_worker(
                {"section": "hvp", "name": name, "case": CASES[name], "repeats": repeats,
                 "min_time": min_time}, args.timeout)
        progress(f"dense Hessian: {case_name(DENSE_HESSIAN)} "
                 f"({parameter_count(DENSE_HESSIAN):,} parameters)")
        results["hessian"]["dense"] = run_worker(
            {"section": "dense_hessian", "case": DENSE_HESSIAN, "repeats": repeats,
             "min_time": min_time}, args.timeout)
    if "memory" in args.sections:
        progress(f"memory: logistic d={MEMORY['d']}, n={MEMORY['n']:,}")
        results["memory"] = run_worker({"section": "memory", "case": MEMORY}, args.timeout)
    if "verify" in args.sections:
        progress(f"gdcheck verify {args.specs}")
        results["verify"] = run_verify(args.specs, args.timeout)
    if "nested" in args.sections:
        progress(f"nested tanh, {NESTED_DEPTH} deep")
        results["nested"] = run_worker({"section": "nested", "depth": NESTED_DEPTH}, args.timeout)

    results["load_average_after"] = list(os.getloadavg())
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        progress(f"results saved to {args.json}")
    mismatched = any(not entry.get("agrees", True)
                     for row in results.get("gradient", {}).values()
                     for entry in row.values() if isinstance(entry, dict))
    hessian = results.get("hessian", {})
    mismatched |= any(not row.get("agrees", True)
                      for row in [*hessian.get("hvp", {}).values(), hessian.get("dense", {})])
    mismatched |= results.get("nested", {}).get("relative_error", 0.0) > AGREEMENT
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
