"""Optimizer update rules against hand-computed steps and a closed-form minimum."""

import numpy as np
import pytest

from gdcheck.engine.optimizers import OPTIMIZERS, step
from gdcheck.errors import UsageError
from gdcheck.spec import OPTIMIZER_METHODS, Optimizer

# ½θᵀAθ − bᵀθ, minimum at A⁻¹b
A = np.array([[3.0, 1.0], [1.0, 2.0]])
B = np.array([1.0, -1.0])
MINIMUM = np.linalg.solve(A, B)


def quadratic_gradient(theta):
    return theta @ A - B


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


@pytest.mark.parametrize("method", OPTIMIZER_METHODS)
def test_rows_are_independent_runs(method):
    optimizer = Optimizer(method, learning_rate=0.05)
    starts = np.array([[2.0, -3.0], [0.5, 0.25], [-1.0, 4.0]])

    def descend(theta, count=5):
        state = {}
        for t in range(1, count + 1):
            theta, state = step(optimizer, theta, quadratic_gradient(theta), state=state, t=t,
                                gradient_at=quadratic_gradient)
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


def test_unknown_method_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError, match="did you mean 'adam'"):
        step(Optimizer("adma"), THETA, GRADIENT)
