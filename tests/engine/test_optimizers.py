"""Optimizer update rules against hand-computed steps and a closed-form minimum."""

import numpy as np
import pytest

from gdcheck.engine.optimizers import (
    OPTIMIZERS,
    gradient_mapping,
    learning_rate_at,
    soft_threshold,
    step,
)
from gdcheck.errors import UsageError
from gdcheck.spec import OPTIMIZER_METHODS, Optimizer

# ½θᵀAθ − bᵀθ, minimum at A⁻¹b
A = np.array([[3.0, 1.0], [1.0, 2.0]])
B = np.array([1.0, -1.0])
MINIMUM = np.linalg.solve(A, B)


def quadratic_gradient(theta):
    return theta @ A - B


def descend(optimizer, start, gradient, steps, l1=None):
    """`steps` updates of `optimizer` from the rows of `start`, with `gradient` (K, P) → (K, P)."""
    theta, state = np.array(start, dtype=float), {}
    for t in range(1, steps + 1):
        theta, state = step(optimizer, theta, gradient(theta), state=state, t=t,
                            gradient_at=gradient, l1=l1)
    return theta


THETA = np.array([[2.0, -3.0], [0.5, 0.25]])
GRADIENT = np.array([[0.4, -1.5], [2.0, 0.125]])


def test_the_table_covers_every_spec_method():
    assert set(OPTIMIZERS) == set(OPTIMIZER_METHODS)


def test_gd_step_is_theta_minus_learning_rate_times_gradient_exactly():
    theta, state = step(Optimizer("gd", learning_rate=0.3), THETA, GRADIENT)
    np.testing.assert_array_equal(theta, THETA - 0.3 * GRADIENT)
    assert state == {}


def test_momentum_accumulates_velocity():
    optimizer = Optimizer("momentum", learning_rate=0.1, momentum=0.5)
    theta1, state = step(optimizer, THETA, GRADIENT)
    np.testing.assert_allclose(theta1, THETA - 0.1 * GRADIENT)
    second = np.array([[1.0, 1.0], [-1.0, 0.0]])
    theta2, _ = step(optimizer, theta1, second, state=state, t=2)
    np.testing.assert_allclose(theta2, theta1 - 0.1 * (0.5 * GRADIENT + second))


def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    optimizer = Optimizer("nesterov", learning_rate=0.1, momentum=0.5)
    seen = []

    def gradient_at(points):
        seen.append(points.copy())
        return quadratic_gradient(points)

    theta1, state = step(optimizer, THETA, GRADIENT, gradient_at=gradient_at)
    assert seen == []  # v = 0: the look-ahead point is theta, whose gradient is given
    np.testing.assert_allclose(theta1, THETA - 0.1 * GRADIENT)
    theta2, _ = step(optimizer, theta1, quadratic_gradient(theta1), state=state, t=2,
                     gradient_at=gradient_at)
    look_ahead = theta1 - 0.1 * 0.5 * GRADIENT
    np.testing.assert_allclose(seen[0], look_ahead)
    velocity = 0.5 * GRADIENT + quadratic_gradient(look_ahead)
    np.testing.assert_allclose(theta2, theta1 - 0.1 * velocity)


def test_nesterov_needs_gradient_at_after_the_first_step():
    optimizer = Optimizer("nesterov", learning_rate=0.1)
    theta, state = step(optimizer, THETA, GRADIENT)
    with pytest.raises(UsageError, match="gradient_at"):
        step(optimizer, theta, GRADIENT, state=state, t=2)


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate():
    theta, _ = step(Optimizer("adam", learning_rate=0.01), THETA, GRADIENT)
    np.testing.assert_allclose(theta, THETA - 0.01 * np.sign(GRADIENT), rtol=1e-9, atol=1e-9)


def test_adam_bias_correction_keeps_steps_at_learning_rate_for_a_constant_gradient():
    optimizer = Optimizer("adam", learning_rate=0.01, beta1=0.8, beta2=0.99, epsilon=0.0)
    theta, state = THETA, {}
    for t in range(1, 6):
        previous = theta
        theta, state = step(optimizer, theta, GRADIENT, state=state, t=t)
        np.testing.assert_allclose(theta, previous - 0.01 * np.sign(GRADIENT), rtol=1e-12)


def test_a_step_does_not_mutate_the_state_it_was_given():
    optimizer = Optimizer("adam", learning_rate=0.01)
    _, state = step(optimizer, THETA, GRADIENT)
    copies = {name: value.copy() for name, value in state.items()}
    step(optimizer, THETA, 2 * GRADIENT, state=state, t=2)
    for name, value in state.items():
        np.testing.assert_array_equal(value, copies[name])


@pytest.mark.parametrize("method, accelerated",
                         [(method, False) for method in OPTIMIZER_METHODS]
                         + [("proximal_gradient", True)])
def test_rows_are_independent_runs(method, accelerated):
    optimizer = Optimizer(method, learning_rate=0.05, accelerated=accelerated)
    starts = np.array([[2.0, -3.0], [0.5, 0.25], [-1.0, 4.0]])

    def descend(theta, count=5):
        state = {}
        for t in range(1, count + 1):
            theta, state = step(optimizer, theta, lasso_gradient(theta), state=state, t=t,
                                gradient_at=lasso_gradient, l1=L1)
        return theta

    batched = descend(starts)
    for row, start in enumerate(starts):
        np.testing.assert_allclose(batched[row], descend(start[None])[0], rtol=1e-14)


# method: (learning_rate, steps, other parameters)
CONVERGENT = {
    "gd": (0.25, 200, {}),
    "momentum": (0.1, 1000, {"momentum": 0.9}),
    "nesterov": (0.1, 500, {"momentum": 0.9}),
    "adam": (0.05, 2000, {}),
}


@pytest.mark.parametrize("method", CONVERGENT)
def test_each_method_reaches_the_closed_form_minimum(method):
    learning_rate, steps, parameters = CONVERGENT[method]
    optimizer = Optimizer(method, learning_rate=learning_rate, **parameters)
    theta, state = np.array([[2.0, 3.0], [-4.0, 0.5]]), {}
    for t in range(1, steps + 1):
        theta, state = step(optimizer, theta, quadratic_gradient(theta), state=state, t=t,
                            gradient_at=quadratic_gradient)
    np.testing.assert_allclose(theta, np.tile(MINIMUM, (2, 1)), atol=1e-8)


# ½θᵀAθ − bᵀθ + Σ λⱼ|θⱼ|; the rules receive the gradient of the whole objective, which holds
# λ·sign(θ) from the L1 term (as gdcheck's exact gradient does: d|x|/dx = sign(x))
L1 = np.array([0.5, 0.5])


def lasso_gradient(theta):
    return quadratic_gradient(theta) + L1 * np.sign(theta)


def lasso_by_coordinate_descent(matrix, vector, l1, sweeps=2000):
    """The lasso minimum by exact coordinate minimisation: an algorithm independent of
    proximal gradient (each coordinate's minimiser is a soft threshold in closed form)."""
    theta = np.zeros(len(vector))
    for _ in range(sweeps):
        for j in range(len(vector)):
            rest = vector[j] - matrix[j] @ theta + matrix[j, j] * theta[j]
            theta[j] = np.sign(rest) * max(abs(rest) - l1[j], 0.0) / matrix[j, j]
    return theta


def test_soft_threshold_by_hand():
    x = np.array([-3.0, -0.5, 0.0, 0.2, 2.0])
    np.testing.assert_array_equal(soft_threshold(x, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])


def test_a_diagonal_lasso_has_its_closed_form_minimum():
    """With A = diag(3, 2): θⱼ = S(bⱼ, λⱼ)/Aⱼⱼ, here (1 − 0.5)/3 and 0 (|−0.1| < 0.5)."""
    matrix, vector = np.diag([3.0, 2.0]), np.array([1.0, -0.1])
    expected = np.array([0.5 / 3, 0.0])

    def gradient(theta):
        return theta @ matrix - vector + L1 * np.sign(theta)

    for accelerated in (False, True):
        optimizer = Optimizer("proximal_gradient", learning_rate=0.3, accelerated=accelerated)
        theta = descend(optimizer, [[2.0, 3.0], [-4.0, 0.5]], gradient, 300, L1)
        np.testing.assert_allclose(theta, np.tile(expected, (2, 1)), atol=1e-12)
        assert np.all(theta[:, 1] == 0.0)   # exactly sparse, as the soft threshold makes it


@pytest.mark.parametrize("accelerated", [False, True])
@pytest.mark.parametrize("l1", [[0.5, 0.5], [0.2, 1.5]])
def test_ista_and_fista_reach_the_coordinate_descent_lasso_minimum(accelerated, l1):
    l1 = np.array(l1)
    expected = lasso_by_coordinate_descent(A, B, l1)

    def gradient(theta):
        return quadratic_gradient(theta) + l1 * np.sign(theta)

    optimizer = Optimizer("proximal_gradient", learning_rate=0.25, accelerated=accelerated)
    theta = descend(optimizer, [[2.0, 3.0], [-4.0, 0.5]], gradient, 2000, l1)
    np.testing.assert_allclose(theta, np.tile(expected, (2, 1)), atol=1e-10)
    mapping = gradient_mapping(theta, gradient(theta), 0.25, l1)
    assert np.max(np.abs(mapping)) < 1e-9      # the stationarity measure vanishes there...
    if np.any(expected == 0):                  # ...where the gradient, at the kink, does not
        assert np.max(np.abs(gradient(theta))) > 1.0


def test_fista_is_faster_than_ista_on_an_ill_conditioned_lasso():
    matrix = np.diag([1.0, 0.01])
    vector = np.array([1.0, 0.5])
    l1 = np.array([0.1, 0.001])
    expected = lasso_by_coordinate_descent(matrix, vector, l1, sweeps=10)

    def gradient(theta):
        return theta @ matrix - vector + l1 * np.sign(theta)

    errors = {}
    for accelerated in (False, True):
        optimizer = Optimizer("proximal_gradient", learning_rate=1.0, accelerated=accelerated)
        theta = descend(optimizer, np.zeros((1, 2)), gradient, 200, l1)
        errors[accelerated] = float(np.max(np.abs(theta[0] - expected)))
    assert errors[True] < errors[False] / 10, errors


def test_a_proximal_step_needs_the_l1_weights():
    with pytest.raises(UsageError, match="l1="):
        step(Optimizer("proximal_gradient", learning_rate=0.1), THETA, GRADIENT)


@pytest.mark.parametrize("schedule, settings, expected", [
    ("constant", {}, lambda t: 0.4),
    ("inverse_sqrt", {}, lambda t: 0.4 / np.sqrt(t)),
    ("inverse", {}, lambda t: 0.4 / t),
    ("step", {"every": 3, "factor": 0.1}, lambda t: 0.4 * 0.1 ** ((t - 1) // 3)),
    ("step", {}, lambda t: 0.4 * 0.5 ** ((t - 1) // 10)),   # every: steps // 10
    ("cosine", {"final": 0.1}, lambda t: 0.1 + 0.3 * (1 + np.cos(np.pi * (t - 1) / 99)) / 2),
])
def test_schedules_give_the_rate_of_each_update(schedule, settings, expected):
    optimizer = Optimizer("gd", learning_rate=0.4, steps=100, schedule=schedule, **settings)
    for t in (1, 2, 3, 4, 10, 11, 50, 100):
        assert learning_rate_at(optimizer, t) == pytest.approx(expected(t), rel=1e-14)
    theta, _ = step(optimizer, THETA, GRADIENT, t=7)
    np.testing.assert_allclose(theta, THETA - expected(7) * GRADIENT, rtol=1e-14)


def test_cosine_ends_at_its_final_rate():
    optimizer = Optimizer("gd", learning_rate=0.4, steps=100, schedule="cosine", final=0.01)
    assert learning_rate_at(optimizer, 1) == pytest.approx(0.4)
    assert learning_rate_at(optimizer, 100) == pytest.approx(0.01)


def test_unknown_method_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match="did you mean 'adam'"):
        step(Optimizer("adma"), THETA, GRADIENT)
