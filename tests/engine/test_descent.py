"""descend() on hand-written batched objectives with known minima and trajectories."""

import json
import warnings

import numpy as np
import pytest

from gdcheck.engine.descent import DIVERGENCE_FACTOR, descend
from gdcheck.errors import UsageError
from gdcheck.spec import Optimizer


class Quadratic:
    """½θᵀAθ − bᵀθ: gradient Aθ − b, minimum A⁻¹b."""

    def __init__(self, A, b):
        self.A, self.b = np.asarray(A, dtype=float), np.asarray(b, dtype=float)
        self.minimum = np.linalg.solve(self.A, self.b)

    def loss(self, theta):
        return 0.5 * np.einsum("...p,pq,...q->...", theta, self.A, theta) - theta @ self.b

    def gradient(self, theta):
        return theta @ self.A - self.b


class Rosenbrock:
    def loss(self, theta):
        a, b = theta[..., 0], theta[..., 1]
        return (1 - a) ** 2 + 100 * (b - a**2) ** 2

    def gradient(self, theta):
        a, b = theta[..., 0], theta[..., 1]
        return np.stack([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)], axis=-1)


class Counting:
    """Wraps an objective and records the batch size of every call."""

    def __init__(self, objective):
        self.objective, self.loss_batches, self.gradient_batches = objective, [], []

    def loss(self, theta):
        self.loss_batches.append(len(theta))
        return self.objective.loss(theta)

    def gradient(self, theta):
        self.gradient_batches.append(len(theta))
        return self.objective.gradient(theta)


QUADRATIC = Quadratic([[3.0, 1.0], [1.0, 2.0]], [1.0, -1.0])
STARTS = np.array([[2.0, 3.0], [-1.0, 0.5], [4.0, -4.0]])

# method: (learning_rate, steps, other parameters)
CONVERGENT = {
    "gd": (0.25, 500, {}),
    "momentum": (0.1, 2000, {"momentum": 0.9}),
    "nesterov": (0.1, 2000, {"momentum": 0.9}),
    "adam": (0.05, 5000, {}),
}


@pytest.mark.parametrize("method", CONVERGENT)
def test_every_method_reaches_the_closed_form_minimum(method):
    learning_rate, steps, parameters = CONVERGENT[method]
    optimizer = Optimizer(method, learning_rate, steps, tolerance=1e-10, **parameters)
    descent = descend(QUADRATIC, STARTS, optimizer)
    np.testing.assert_allclose(descent.final, np.tile(QUADRATIC.minimum, (3, 1)), atol=1e-8)
    assert descent.converged.all()
    assert (descent.steps < steps).all() and (descent.diverged_at == -1).all()


@pytest.mark.parametrize("method, learning_rate", [
    ("gd", 1e-3), ("momentum", 1e-4), ("nesterov", 1e-4), ("adam", 1e-2)])
def test_batched_runs_equal_single_runs(method, learning_rate):
    optimizer = Optimizer(method, learning_rate, 800, tolerance=1e-2)
    # runs that stop at step 0, part-way and never, so the batch shrinks as it goes
    starts = np.array([[-1.0, 1.0], [0.5, 0.2], [1.0, 1.0], [1.01, 1.03]])
    batched = descend(Rosenbrock(), starts, optimizer)
    assert len(set(batched.steps.tolist())) >= 3
    for run, start in enumerate(starts):
        single = descend(Rosenbrock(), start[None], optimizer)
        assert batched.steps[run] == single.steps[0]
        np.testing.assert_allclose(batched.final[run], single.final[0], rtol=1e-12)
        np.testing.assert_allclose(batched.losses[:, run][: single.losses.shape[0]],
                                   single.losses[:, 0], rtol=1e-12)


def test_one_batched_call_per_step_and_only_for_runs_still_going():
    counting = Counting(QUADRATIC)
    starts = np.vstack([QUADRATIC.minimum, STARTS])  # run 0 starts at the minimum
    descent = descend(counting, starts, Optimizer("gd", 0.25, 100, tolerance=1e-9))
    assert descent.steps[0] == 0
    assert len(counting.loss_batches) == descent.steps.max() + 1
    assert counting.loss_batches[0] == 4 and counting.loss_batches[1] == 3
    assert counting.gradient_batches == counting.loss_batches


def test_tolerance_stops_each_run_at_the_first_small_gradient_and_freezes_it():
    descent = descend(QUADRATIC, STARTS, Optimizer("gd", 0.05, 10_000, tolerance=1e-6))
    for run in range(3):
        last = descent.steps[run]
        assert last < 10_000
        assert descent.grad_norms[last, run] < 1e-6 <= descent.grad_norms[last - 1, run]
        assert np.isnan(descent.losses[last + 1:, run]).all()
        assert np.isfinite(descent.losses[: last + 1, run]).all()
    assert descent.losses.shape == (descent.steps.max() + 1, 3)


def test_without_tolerance_every_step_is_taken():
    descent = descend(QUADRATIC, STARTS, Optimizer("gd", 0.05, 50))
    assert (descent.steps == 50).all() and descent.losses.shape == (51, 3)
    assert not descent.converged.any()  # no criterion: tolerance 0 and no grad_tol
    assert descend(QUADRATIC, STARTS, Optimizer("gd", 0.05, 50), grad_tol=10.0).converged.all()


def test_gd_trajectory_matches_the_closed_form():
    # f = ½ L θ²: θ_t = (1 − ηL)^t θ₀
    descent = descend(Quadratic([[4.0]], [0.0]), np.array([[1.5]]), Optimizer("gd", 0.1, 20))
    t = np.arange(21)
    np.testing.assert_allclose(descent.losses[:, 0], 0.5 * 4.0 * (1.5 * 0.6**t) ** 2, rtol=1e-12)
    np.testing.assert_allclose(descent.grad_norms[:, 0], 4.0 * 1.5 * 0.6**t, rtol=1e-12)


def first_step_past_the_divergence_limit(curvature, learning_rate, start):
    initial = 0.5 * curvature * start**2
    limit = abs(initial) + DIVERGENCE_FACTOR * max(1.0, abs(initial))
    t, theta = 0, start
    while 0.5 * curvature * theta**2 <= limit:
        t, theta = t + 1, (1 - learning_rate * curvature) * theta
    return t


@pytest.mark.parametrize("learning_rate", [0.6, 1.0, 3.0])  # > 2/L = 0.5
def test_too_large_a_learning_rate_diverges_at_the_computed_step(learning_rate):
    expected = first_step_past_the_divergence_limit(4.0, learning_rate, 1.0)
    objective = Quadratic([[4.0]], [0.0])
    starts = np.array([[1.0], [0.0]])  # run 1 sits at the minimum and must not be flagged
    descent = descend(objective, starts, Optimizer("gd", learning_rate, 200))
    assert descent.diverged_at.tolist() == [expected, -1]
    assert descent.steps[0] == expected and not descent.converged[0]
    np.testing.assert_allclose(descent.final[0], (1 - 4.0 * learning_rate) ** expected, rtol=1e-9)
    assert descent.run(0)["diverged_at"] == expected


class NanBelowMinusOne(Quadratic):
    """½θ², but the loss is NaN once θ < −1 (as log of a negative number would be)."""

    def __init__(self):
        super().__init__([[1.0]], [0.0])

    def loss(self, theta):
        return super().loss(theta) + 0.0 * np.log1p(theta[..., 0])


def test_a_nan_loss_is_flagged_at_the_step_it_happens_without_warnings():
    # θ ← θ − 1.5θ = −θ/2: 4 → −2 is NaN at step 1; 1 → −0.5 → 0.25 … stays finite
    starts = np.array([[4.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        descent = descend(NanBelowMinusOne(), starts, Optimizer("gd", 1.5, 5))
        descend(Quadratic([[4.0]], [0.0]), np.array([[1e200]]), Optimizer("gd", 3.0, 50))
    assert descent.diverged_at.tolist() == [1, -1]
    assert descent.final[0, 0] == -2.0 and descent.steps.tolist() == [1, 5]


def test_a_loss_not_finite_at_the_start_diverges_at_step_zero():
    descent = descend(NanBelowMinusOne(), np.array([[-2.0]]), Optimizer("gd", 0.1, 10))
    assert descent.diverged_at[0] == 0 and descent.steps[0] == 0


def test_linear_rate_of_gd_on_a_quadratic_is_one_minus_eta_lambda_min():
    objective = Quadratic(np.diag([1.0, 10.0]), [0.0, 0.0])
    descent = descend(objective, np.array([[1.0, 1.0]]), Optimizer("gd", 0.1, 200))
    assert descent.linear_rate(0) == pytest.approx(0.9, rel=1e-9)


def test_linear_rate_is_none_when_not_estimable():
    diverged = descend(Quadratic([[4.0]], [0.0]), np.array([[1.0]]), Optimizer("gd", 3.0, 100))
    short = descend(QUADRATIC, STARTS, Optimizer("gd", 0.1, 2))
    assert diverged.linear_rate(0) is None and short.linear_rate(0) is None


def test_run_record_is_json_ready():
    descent = descend(QUADRATIC, STARTS, Optimizer("gd", 0.25, 500, tolerance=1e-9),
                      grad_tol=1e-6)
    record = json.loads(json.dumps(descent.run(1)))
    assert record["initial"] == [-1.0, 0.5]
    assert record["steps"] == descent.steps[1] and record["converged"] is True
    assert record["final_loss"] == pytest.approx(QUADRATIC.loss(QUADRATIC.minimum), abs=1e-15)
    assert record["initial_loss"] == QUADRATIC.loss(np.array([-1.0, 0.5]))
    assert record["grad_norm"] < 1e-9 and record["diverged_at"] is None


def test_progress_is_called_about_a_hundred_times_and_last_at_the_end():
    calls = []
    descend(QUADRATIC, STARTS, Optimizer("gd", 1e-4, 1_000, tolerance=1e-3),
            progress=lambda step, total: calls.append((step, total)))
    assert len(calls) == 100 and calls[-1] == (1_000, 1_000)
    assert all(total == 1_000 for _, total in calls)
    steps = []
    descend(QUADRATIC, STARTS, Optimizer("gd", 1e-4, 150),
            progress=lambda step, total: steps.append(step))
    assert len(steps) <= 101 and steps[-1] == 150
    few = []
    descend(QUADRATIC, STARTS, Optimizer("gd", 0.25, 10**8, tolerance=1e-6),
            progress=lambda step, total: few.append(step))
    assert len(few) == 1


def test_history_grows_with_the_steps_taken_not_the_steps_allowed():
    descent = descend(QUADRATIC, STARTS, Optimizer("gd", 0.25, 10**8, tolerance=1e-8))
    assert descent.losses.shape == descent.grad_norms.shape == (descent.steps.max() + 1, 3)
    assert descent.steps.max() < 200


def test_a_constant_objective_may_return_scalars_for_the_batch():
    class Constant:
        def loss(self, theta):
            return 2.0

        def gradient(self, theta):
            return np.zeros(theta.shape[-1])

    descent = descend(Constant(), STARTS, Optimizer("gd", 0.1, 3, tolerance=1e-9))
    assert (descent.steps == 0).all() and (descent.losses[0] == 2.0).all()
    np.testing.assert_array_equal(descent.final, STARTS)


@pytest.mark.parametrize("initial", [np.zeros(3), np.zeros((2, 2, 2))])
def test_initial_must_be_one_row_per_run(initial):
    with pytest.raises(UsageError, match=r"expected \(K, P\)"):
        descend(QUADRATIC, initial, Optimizer("gd", 0.1, 3))
