"""The in-place form of generated code (`gdcheck/compiled/inplace.py`) computes what the
plain form computes, never lets a later step overwrite a value still to be read, and never
hands a caller a buffer the next call overwrites."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gdcheck.compiled.inplace import Fixed, Slots, statements
from gdcheck.compiled.kernels import QUANTITIES
from gdcheck.compiled.problem import compile_spec
from gdcheck.compiled.program import Program
from gdcheck.symbolic.functions import NUMPY_NAMESPACE, Maximum, Relu, Sigmoid, Softplus

ROOT = Path(__file__).resolve().parents[2]
X0, X1, X2 = (sp.Symbol(f"X{i}", real=True) for i in range(3))

# templates of the kinds reverse mode writes: products with a sign, quotients, powers, a
# shared factor, functions of compound arguments, a value read by several steps
TEMPLATES = [
    -X0 * Sigmoid(X1), X0 * X1 * Sigmoid(-X1) * Sigmoid(X1), 2 * X0 / X1, X2 / X1,
    1 / (X0 + 2), -X1 / (X0**2 + 1), (X0 - X1)**2, sp.sqrt(X0**2 + 1), X0**3 - X1**-2,
    sp.tanh(X0 * X2 + X1), (1 - sp.tanh(X0)**2) * X2, Softplus(-X0) + Relu(X1 - X0),
    sp.exp(-X0) * sp.log(1 + X1**2) - X2, X0 + X1 + X2 + 3, X0 * (X0 + X1) * (X0 - X1),
    Maximum(X0, X1) + X2, -X0, 3 * X1, X0, Sigmoid(X0)**2 * X2 / (1 + X0**2),
    # a factor and a sign folded into the sigmoid's call (scale=, negated=)
    -X0 * Sigmoid(-X1), 2 * X0 * X2 * Sigmoid(X1 - X0), -Sigmoid(-X0 * X1), X1 * Sigmoid(-X1),
    X0 * Sigmoid(X1) + X2 * Sigmoid(-X1),
]


def _plain(template: sp.Expr, names: dict[sp.Symbol, str]) -> str:
    return sp.printing.numpy.NumPyPrinter(
        {"fully_qualified_modules": False, "allow_unknown_functions": True,
         "user_functions": {name: name for name in NUMPY_NAMESPACE}}
    ).doprint(template.xreplace({s: sp.Symbol(n) for s, n in names.items()}))


@pytest.mark.parametrize("template", TEMPLATES, ids=str)
@pytest.mark.parametrize("x2_sampled", [True, False])
@pytest.mark.parametrize("a_fixed", [False, True], ids=["a-varies", "a-fixed"])
def test_the_statements_compute_what_sympy_says(template: sp.Expr, x2_sampled: bool,
                                                a_fixed: bool) -> None:
    """With `a_fixed`, X0 is a value computed once per data set: products of it and numbers
    are hoisted onto lines of their own (run first here, as prepare() would)."""
    rng = np.random.default_rng(7)
    n, h = 50, 4
    values = {"a": rng.normal(size=(n, h)), "b": rng.uniform(0.5, 2, size=(n, h)),
              "c": rng.normal(size=(n, h) if x2_sampled else (h,))}
    operands = {X0: ("a", (h,)), X1: ("b", (h,)), X2: ("c", (h,) if x2_sampled else None)}
    names = {X0: "a", X1: "b", X2: "c"}
    slots = Slots()
    target = slots.take((h,))
    namespace = {**np.__dict__, **NUMPY_NAMESPACE}
    hoisted: list[str] = []

    def hoist(expr: sp.Expr) -> str:
        hoisted.append(f"h{len(hoisted)} = {_plain(expr, names)}")
        return f"h{len(hoisted) - 1}"

    lines, result = statements(template, operands, slots, target,
                               lambda e: _plain(e, names),
                               lambda call: _plain(call.func(*[X0] * len(call.args)),
                                                   names).split("(")[0],
                               namespace, Fixed({X0}, hoist) if a_fixed else None)
    assert all("X0" not in line for line in hoisted) and (a_fixed or not hoisted)
    lines = hoisted + lines
    scope = {**namespace, **values, **{f"b{i}": np.full((n, *shape), np.nan)
                                       for i, shape in enumerate(slots.shapes)}}
    before = {name: value.copy() for name, value in values.items()}
    exec("\n".join([*lines, f"__result = {result}"]), scope)  # noqa: S102 - test code
    definitions = template.replace(Sigmoid, lambda x: 1 / (1 + sp.exp(-x))).replace(
        Softplus, lambda x: sp.log(1 + sp.exp(x))).replace(Relu, lambda x: (x + abs(x)) / 2
    ).replace(Maximum, lambda x, y: (x + y + abs(x - y)) / 2)
    oracle = sp.lambdify((X0, X1, X2), definitions, modules="numpy")
    expected = np.broadcast_to(oracle(values["a"], values["b"], values["c"]), (n, h))
    np.testing.assert_allclose(scope["__result"], expected, rtol=1e-13, atol=1e-13)
    for name, value in values.items():   # the inputs are only read
        np.testing.assert_array_equal(value, before[name])


def test_compound_subexpressions_go_into_buffers_not_fresh_arrays() -> None:
    slots = Slots()
    target = slots.take((3,))
    lines, result = statements(-X0 * Sigmoid(-X1) / (X1 + 1), {X0: ("a", (3,)), X1: ("b", (3,))},
                               slots, target, str, lambda call: "gdcheck_sigmoid",
                               {"gdcheck_sigmoid": NUMPY_NAMESPACE["gdcheck_sigmoid"]})
    assert result == target
    assert all("out=" in line for line in lines), lines
    assert len(slots.shapes) == 2   # the target and one temporary, given back at the end


SPECS = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_buffered_programs_agree_with_plain_ones_on_the_bundled_specs(path: Path) -> None:
    problem = compile_spec(path)
    objective, kernels = problem.objective, problem.kernels
    if problem.spec.kind == "objective":
        pytest.skip("bare objectives are evaluated in batches, without buffers")
    rng = np.random.default_rng(3)
    theta, vector = rng.normal(0, 0.5, size=(2, problem.size))
    for outputs, extra in QUANTITIES.values():
        inputs = list(objective.parameters.values()) + extra(objective)
        programs = [Program(outputs(objective), inputs, list(objective.data.values()),
                            buffered=flag) for flag in (True, False)]
        arguments = list(problem.unpack(theta).values())
        if extra(objective):
            arguments += list(problem.unpack(vector).values())
        data = kernels._data_arrays
        buffered, plain = (p(arguments, data, problem.samples) for p in programs)
        for got, expected in zip(buffered, plain, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_results_are_not_overwritten_by_the_next_call() -> None:
    problem = compile_spec(ROOT / "specs" / "logistic.yaml")
    first_point, second_point = np.array([0.3, -0.2, 0.1]), np.array([-1.0, 2.0, 0.5])
    first = problem.gradient(first_point)
    kept = first.copy()
    model = problem.kernels.program("loss_gradient")
    values = model(list(problem.unpack(first_point).values()), problem.kernels._data_arrays,
                   problem.samples)
    held = [np.array(v) for v in values]
    problem.gradient(second_point)
    model(list(problem.unpack(second_point).values()), problem.kernels._data_arrays,
          problem.samples)
    np.testing.assert_array_equal(first, kept)
    for value, copy in zip(values, held, strict=True):
        np.testing.assert_array_equal(value, copy)


def test_calls_from_two_threads_do_not_share_buffers() -> None:
    problem = compile_spec(ROOT / "specs" / "logistic.yaml")
    points = np.random.default_rng(5).normal(size=(40, problem.size))
    expected = [problem.gradient(point) for point in points]
    got: list[list[np.ndarray]] = [[], []]

    def work(k: int) -> None:
        got[k] = [problem.gradient(point) for point in points]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for results in got:
        np.testing.assert_array_equal(np.array(results), np.array(expected))


def test_logistic_regression_gradient_takes_two_fused_sigmoid_calls() -> None:
    """(1 - y)·σ(z) - y·σ(-z), each σ with its data factor folded in (computed once per data
    set) and σ(-z) without negating z: the passes hand-written numpy needs, and no more."""
    problem = compile_spec(ROOT / "specs" / "logistic.yaml")
    source = problem.kernels.program("gradient").source
    body = source[source.index("def program"):]
    calls = [line for line in body.splitlines() if "gdcheck_sigmoid(" in line]
    assert len(calls) == 2 and all("scale=" in line for line in calls), body
    assert sum("negated=True" in line for line in calls) == 1, body
    assert "negative(" not in body and "multiply(" not in body, body
    theta = np.array([0.4, -1.3, 0.2])
    x, y = (problem.data[name] for name in ("x", "y"))
    z = x @ theta[:2] + theta[2]
    residual = ((1 - y) / (1 + np.exp(-z)) - y / (1 + np.exp(z))) / len(y)
    penalty = 2 * 0.01 * theta[:2]   # lam·|w|², lam = 0.01
    np.testing.assert_allclose(problem.gradient(theta),
                               np.append(residual @ x + penalty, residual.sum()), rtol=1e-12)
