"""The finite-difference oracle: measured noise against noise of a known size, bounds that
cover the true error of the estimate, Hessian verdicts, and Lanczos against dense."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdcheck.checks.convex import lanczos_smallest, smallest_eigenvalue
from gdcheck.engine.oracle import EPSILON, Line, derivative, measure_noise
from gdcheck.engine.verdicts import verify_gradient, verify_hessian


def scalar_line(f, x: float) -> Line:
    return Line(lambda u: np.array([[f(x + t)] for t in u]),
                lambda u: ((x + u) - x)[:, None], lambda i, h: f"x + {h:g}")


def hashed(x: float) -> float:
    """A deterministic 'noise' uniform in [-0.5, 0.5): σ = 1/√12."""
    return math.sin(x * 1e11) * 1e5 % 1.0 - 0.5


# f, x, its noise (standard deviation) from how it is computed
NOISY = [
    ("float64 sin", math.sin, 0.7, EPSILON * 0.64 / 2),
    ("float32 exp", lambda x: float(np.exp(np.float32(x))), 0.3,
     float(np.finfo(np.float32).eps) * 1.35 / math.sqrt(12)),
    ("offset 1e12", lambda x: 1e12 + math.sin(x), 0.3, 2**-13 / math.sqrt(12)),
    ("hashed noise 1e-9", lambda x: math.sin(x) + 1e-9 * hashed(x), 0.4, 1e-9 / math.sqrt(12)),
]


@pytest.mark.parametrize(("name", "f", "x", "sigma"), NOISY, ids=[n[0] for n in NOISY])
def test_measured_noise_is_within_a_factor_of_its_true_size(name, f, x, sigma) -> None:
    line = scalar_line(f, x)
    noise, start = measure_noise(line, np.array([f(x)]))
    # rounding noise of a float64 function is at most its size and at least the floor
    low = sigma / 10 if "float64" not in name else EPSILON * abs(f(x)) / 8
    assert low <= float(noise[0]) <= 10 * sigma, (name, float(noise[0]), sigma)
    # steps start where f is known smooth: 4δ; where f is flat at every small δ (the offset
    # hides changes below its ulp), at the δ whose table first shows f's resolution
    assert 0 < start <= (4e-3 if name.startswith("offset") else 1e-6)


@pytest.mark.parametrize(("f", "df", "x"), [
    (math.sin, math.cos, 0.7), (math.exp, math.exp, 3.0), (math.log, lambda x: 1 / x, 1e-3),
    (lambda x: math.sin(1000 * x), lambda x: 1000 * math.cos(1000 * x), 100.0),
    (lambda x: math.tanh(x / 1e-8), lambda x: (1 - math.tanh(x / 1e-8) ** 2) / 1e-8, 3e-9),
    (lambda x: 1e12 + math.sin(x), math.cos, 0.3),
])
def test_the_bound_covers_the_true_error(f, df, x) -> None:
    line = scalar_line(f, x)
    noise, start = measure_noise(line, np.array([f(x)]))
    for richardson in (False, True):
        estimate = derivative(line, np.array([f(x)]), noise, start, richardson=richardson)
        assert abs(estimate.value[0] - df(x)) <= estimate.bound[0], (richardson, estimate)


def test_a_stencil_beyond_the_domain_falls_back_to_one_side_and_says_so() -> None:
    x = 1e-12
    line = scalar_line(lambda t: math.log(t) if t > 0 else math.nan, x)
    noise, start = measure_noise(line, np.array([math.log(x)]))
    estimate = derivative(line, np.array([math.log(x)]), noise, start)
    assert abs(estimate.value[0] - 1 / x) <= estimate.bound[0]


def quadratic(A: np.ndarray):
    return (lambda X: 0.5 * np.einsum("ki,ij,kj->k", X, A, X),
            lambda x: A @ x, lambda x, v: A @ v)


@pytest.mark.parametrize("size", [5, 400])
def test_hessian_verdicts_on_a_quadratic(size: int) -> None:
    rng = np.random.default_rng(size)
    B = rng.normal(size=(size, size))
    A = B + B.T
    _, gradient, product = quadratic(A)
    x = rng.normal(size=size)
    assert verify_hessian(gradient, product, x, rtol=1e-6).verdict == "pass"

    def wrong(x: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = A @ v
        out[3] *= 1.001
        return out

    found = verify_hessian(gradient, wrong, x, rtol=1e-6)
    assert found.verdict == "fail"
    assert "x[3]" in (found.reason or "")
    assert found.mode == ("components" if size <= 200 else "directions")


def test_a_large_gradient_with_one_wrong_entry_is_named_by_bisection() -> None:
    rng = np.random.default_rng(9)
    size = 5000
    A = rng.normal(size=size)
    x = rng.normal(size=size)
    exact = A * np.cos(A * x)
    wrong = exact.copy()
    wrong[4321] *= 1.01
    f = lambda X: np.sum(np.sin(X * A), axis=1)  # noqa: E731
    assert verify_gradient(f, x, exact, rtol=1e-6).verdict == "pass"
    found = verify_gradient(f, x, wrong, rtol=1e-6)
    assert found.verdict == "fail" and found.worst == 4321
    assert found.evaluations < 1500   # 4 directions, then about 2·log₂(5000) lines


@pytest.mark.parametrize("shift", [-0.05, 0.0, 0.3])
def test_lanczos_finds_the_smallest_eigenvalue_the_dense_solver_finds(shift: float) -> None:
    rng = np.random.default_rng(1)
    B = rng.normal(size=(400, 400))
    H = B @ B.T / 400 + shift * np.eye(400)
    smallest, tolerance = lanczos_smallest(400, lambda v: H @ v)
    dense, dense_tolerance = smallest_eigenvalue(H)
    assert smallest == pytest.approx(dense, abs=1e-6 * np.max(np.abs(np.linalg.eigvalsh(H))))
    assert tolerance == pytest.approx(dense_tolerance, rel=1e-3)
