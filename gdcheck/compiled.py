"""SymPy expressions → numpy functions (the one `lambdify` wrapper) → `Problem`.

How it works: each list of expressions is lambdified once, with `cse=True`
and every argument renamed (no user-chosen name reaches generated code),
over three groups of arguments: the parameters, the data columns and the
named constants. Data enter as whole columns (n,), parameters as scalars for
θ of shape (P,) or as (K, 1) columns for a batch θ of shape (K, P), so one call
evaluates every sample of every point and numpy broadcasting gives (K, n);
the result is then reduced over samples (mean or sum).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .data import load_data
from .errors import UsageError
from .functions import NUMPY_NAMESPACE
from .spec import GenerateData, Spec, load
from .symbolic import SymbolicObjective, derive

KINK_MARGIN = 2.0  # how far past the first-order reach of a step a kink still counts as crossed


class _Printer(NumPyPrinter):
    """numpy code in which every number fits a machine word: an integer past 2**53 (2**64,
    a huge literal) is written as the float numpy would make of it, not a Python int that
    numpy refuses to convert."""

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(expr.p) if abs(expr.p) < 2**53 else _float_literal(expr)

    def _print_Rational(self, expr: sp.Rational) -> str:
        if max(abs(expr.p), expr.q) < 2**53:
            return super()._print_Rational(expr)
        return _float_literal(expr)


def _float_literal(expr: sp.Rational) -> str:
    try:
        value = float(expr)
    except OverflowError:
        value = math.copysign(math.inf, expr.p)
    return repr(value) if math.isfinite(value) else f"float('{value}')"


class SampleReduction(sp.Function):
    """Marks a per-sample expression to be reduced over samples inside the generated code,
    so each gradient column is averaged as soon as it is computed (no n × P intermediate)."""

    nargs = 1

    def _numpycode(self, printer: Any) -> str:
        return f"gdcheck_reduce({printer._print(self.args[0])})"


def sample_reducer(samples: int, reduction: str) -> Callable[[Any], Any]:
    """Reduce a value over its sample axis: (n,) → scalar, (K, n) → (K,). Values that do not
    depend on the data ((K, 1) columns or scalars) are the same for every sample."""
    def reduce(value: Any) -> Any:
        value = np.asarray(value, dtype=float)
        if value.ndim and value.shape[-1] == samples and samples > 1:
            return value.mean(axis=-1) if reduction == "mean" else value.sum(axis=-1)
        constant = value[..., 0] if value.ndim == 2 else value
        return constant if reduction == "mean" else constant * samples

    return reduce


def numeric(expressions: Iterable[sp.Expr], arguments: Iterable[sp.Symbol],
            namespace: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The numpy function returning the list of `expressions` at `arguments`."""
    # order="none": code keeps each sum's terms as they are; sorting them for display
    # evaluates terms numerically and grows exponentially with nested tanh.
    printer = _Printer({"fully_qualified_modules": False, "inline": True,
                            "allow_unknown_functions": True, "order": "none",
                            "user_functions": {name: name for name in NUMPY_NAMESPACE}})
    # Arguments become generated names (no user-chosen name reaches the code), and stay real:
    # lambdify's own dummies are not, and rebuilding nested tanh over them is very slow.
    arguments = list(arguments)
    generated = [sp.Symbol(f"arg{i}", real=True) for i in range(len(arguments))]
    renamed: dict[sp.Basic, Any] = dict(zip(arguments, generated, strict=True))
    # use_imps=False: there are no implemented functions, and its scan walks every tree whole
    modules = [{**NUMPY_NAMESPACE, **(namespace or {})}, "numpy"]
    return sp.lambdify(generated, list(expressions), modules=modules,
                       printer=printer, use_imps=False,
                       cse=lambda code: shared_nodes(code, renamed))


def shared_nodes(expressions: list[Any], renamed: dict[sp.Basic, Any] | None = None
                 ) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[Any]]:
    """Common subexpression elimination in one pass over the graph of unique nodes.

    Every compound node used more than once becomes a named intermediate, in an order where
    each is defined before use; `renamed` symbols are replaced on the way. SymPy's own `cse`
    (and `xreplace`) walk shared subtrees again at every use, which is quadratic on the graphs
    reverse-mode derivatives are.
    """
    order, uses = _children_first(expressions)
    names = iter(sp.numbered_symbols("x", real=True))
    rebuilt: dict[sp.Basic, Any] = dict(renamed or {})
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    for node in order:
        args = [rebuilt.get(arg, arg) for arg in node.args]
        same = all(new is old for new, old in zip(args, node.args, strict=True))
        expression = node if same else _rebuild(node, args)
        if uses[node] > 1:
            name = next(names)
            definitions.append((name, expression))
            expression = name
        if expression is not node:
            rebuilt[node] = expression
    return definitions, [rebuilt.get(e, e) if isinstance(e, sp.Basic) else e for e in expressions]


def _rebuild(node: sp.Basic, args: list[Any]) -> sp.Basic:
    # evaluate=False: the node was already evaluated once; doing it again costs assumptions
    return node.func(*args, evaluate=False)


def _children_first(expressions: list[Any]) -> tuple[list[sp.Basic], dict[sp.Basic, int]]:
    """Compound unique nodes, arguments before the nodes using them; and how often each is used."""
    uses: dict[sp.Basic, int] = {}
    order: list[sp.Basic] = []
    stack = [(e, False) for e in reversed(expressions) if isinstance(e, sp.Basic)]
    for root, _ in stack:
        uses[root] = uses.get(root, 0) + 1
    seen: set[sp.Basic] = set()
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or not node.args:
            continue
        seen.add(node)
        stack.append((node, True))
        for arg in node.args:
            if arg.args:
                uses[arg] = uses.get(arg, 0) + 1
                stack.append((arg, False))
    return order, uses


class Problem:
    """A compiled objective: loss, exact gradient and Hessian over a flat θ.

    θ holds the parameters in declaration order, each flattened row-major.
    `loss`, `gradient` and `hessian` accept θ of shape (P,) or a batch (K, P).
    """

    def __init__(self, symbolic: SymbolicObjective, data: Mapping[str, np.ndarray]):
        self.symbolic = symbolic
        self.spec = symbolic.spec
        self.samples = _sample_count(data)
        self._columns, self.data = _column_block(symbolic, data)
        self._constants = list(symbolic.constants.values())
        self._arguments = (symbolic.parameter_symbols + symbolic.data_symbols
                           + tuple(symbolic.constants))
        self._penalty_arguments = symbolic.parameter_symbols + tuple(symbolic.constants)

    # -- the public surface of DESIGN.md

    @property
    def parameter_names(self) -> list[str]:
        return list(self.symbolic.parameter_names)

    @property
    def size(self) -> int:
        return len(self.symbolic.parameter_names)

    @property
    def gradient_expressions(self) -> list[sp.Expr]:
        """∂L/∂θᵢ as SymPy expressions for people to read (mean_i(...) over the data)."""
        return list(self.symbolic.gradient_expressions)

    @property
    def objective_expression(self) -> sp.Expr:
        return self.symbolic.objective_expression

    @property
    def warnings(self) -> list[str]:
        return list(self.symbolic.warnings)

    def pack(self, values: Mapping[str, Any]) -> np.ndarray:
        """θ from a mapping of parameter name → value of its declared shape."""
        pieces = []
        unknown = sorted(set(values) - {p.name for p in self.spec.parameters})
        if unknown:
            raise UsageError(f"pack: unknown parameter(s) {', '.join(unknown)}; expected "
                             f"{', '.join(p.name for p in self.spec.parameters)}")
        for parameter in self.spec.parameters:
            if parameter.name not in values:
                raise UsageError(f"pack: missing parameter '{parameter.name}'")
            value = np.asarray(values[parameter.name], dtype=float)
            if value.shape != parameter.shape:
                raise UsageError(f"pack: parameter '{parameter.name}' has shape "
                                 f"{list(parameter.shape)}, got {list(value.shape)}")
            pieces.append(value.ravel())
        return np.concatenate(pieces) if pieces else np.zeros(0)

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter name → array of its declared shape (with a leading K for a batch θ)."""
        theta = self._theta(theta)
        result, start = {}, 0
        for parameter in self.spec.parameters:
            stop = start + parameter.size
            result[parameter.name] = theta[..., start:stop].reshape(theta.shape[:-1]
                                                                     + parameter.shape)
            start = stop
        return result

    def loss(self, theta: np.ndarray) -> Any:
        """L(θ): a float for θ (P,), an array (K,) for θ (K, P)."""
        theta = self._theta(theta)
        per_sample = self._loss_function(*self._parameter_columns(theta), *self._columns,
                                         *self._constants)[0]
        penalty = self._penalty_function(*self._parameter_columns(theta), *self._constants)[0]
        total = (_stack([per_sample], theta.shape[:-1])
                 + _stack([penalty], theta.shape[:-1]))[..., 0]
        return float(total) if theta.ndim == 1 else total

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇L(θ): shape (P,) for θ (P,), (K, P) for θ (K, P)."""
        theta = self._theta(theta)
        columns = self._parameter_columns(theta)
        per_sample = self._gradient_function(*columns, *self._columns, *self._constants)
        penalty = self._penalty_gradient_function(*columns, *self._constants)
        return _stack(per_sample, theta.shape[:-1]) + _stack(penalty, theta.shape[:-1])

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²L(θ): shape (P, P) for θ (P,), (K, P, P) for θ (K, P)."""
        theta = self._theta(theta)
        columns = self._parameter_columns(theta)
        per_sample = self._hessian_function(*columns, *self._columns, *self._constants)
        penalty = self._penalty_hessian_function(*columns, *self._constants)
        flat = _stack(per_sample, theta.shape[:-1]) + _stack(penalty, theta.shape[:-1])
        return flat.reshape(theta.shape[:-1] + (self.size, self.size))

    def crosses_kink(self, theta: np.ndarray, steps: np.ndarray) -> bool:
        """Whether moving θ by up to `steps` (per coordinate) may cross a point where the
        objective is not differentiable, for any sample (a first-order bound, with margin)."""
        kinks = len(self.symbolic.kinks)
        if not kinks:
            return False
        theta = self._theta(theta)
        with np.errstate(all="ignore"):
            rows = self._kink_function(*self._parameter_columns(theta), *self._columns,
                                       *self._constants)
        shape = (self.samples,)
        values = [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in rows[:kinks]]
        slopes = [np.broadcast_to(np.abs(np.asarray(v, dtype=float)), shape)
                  for v in rows[kinks:]]
        for i, value in enumerate(values):
            reach = sum(slopes[i * self.size + j] * steps[j] for j in range(self.size))
            if np.any(np.abs(value) <= KINK_MARGIN * reach):
                return True
        return False

    # -- compiled functions, each made on first use

    @cached_property
    def _kink_function(self) -> Callable[..., Any]:
        kinks = self.symbolic.kinks
        slopes = [sp.diff(k, s) for k in kinks for s in self.symbolic.parameter_symbols]
        return numeric(list(kinks) + slopes, self._arguments)

    @cached_property
    def _loss_function(self) -> Callable[..., Any]:
        return self._reduced([self.symbolic.sample_loss])

    @cached_property
    def _penalty_function(self) -> Callable[..., Any]:
        return numeric([self.symbolic.penalty], self._penalty_arguments)

    @cached_property
    def _gradient_function(self) -> Callable[..., Any]:
        return self._reduced(self.symbolic.sample_gradient)

    @cached_property
    def _penalty_gradient_function(self) -> Callable[..., Any]:
        return numeric(self.symbolic.penalty_gradient, self._penalty_arguments)

    @cached_property
    def _hessian_function(self) -> Callable[..., Any]:
        return self._reduced([e for row in self.symbolic.sample_hessian for e in row])

    def _reduced(self, per_sample: Iterable[sp.Expr]) -> Callable[..., Any]:
        """Compiled per-sample expressions, each reduced over samples as soon as computed."""
        reducer = sample_reducer(self.samples, self.symbolic.reduction)
        return numeric([SampleReduction(e) for e in per_sample], self._arguments,
                       {"gdcheck_reduce": reducer})

    @cached_property
    def _penalty_hessian_function(self) -> Callable[..., Any]:
        return numeric([e for row in self.symbolic.penalty_hessian for e in row],
                       self._penalty_arguments)

    # -- helpers

    def _theta(self, theta: Any) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim not in (1, 2) or theta.shape[-1] != self.size:
            raise UsageError(f"theta must have shape ({self.size},) or (K, {self.size}) for "
                             f"parameters {', '.join(self.parameter_names)}; got {theta.shape}")
        return theta

    def _parameter_columns(self, theta: np.ndarray) -> list[Any]:
        if theta.ndim == 1:
            return list(theta)
        return [theta[:, j:j + 1] for j in range(theta.shape[1])]


def _stack(values: list[Any], batch: tuple[int, ...]) -> np.ndarray:
    """Per-point values (scalars or (K, 1) columns) as one array (*batch, len(values))."""
    result = np.empty(batch + (len(values),))
    for j, value in enumerate(values):
        array = np.asarray(value, dtype=float)
        result[..., j] = array.reshape(array.shape[:1]) if array.ndim else array
    return result


def _sample_count(data: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(data.values()))) if data else 1


def _columns(variables: Iterable[Any], data: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """The data as one float column (n,) per scalar of each variable, row-major."""
    columns: list[np.ndarray] = []
    for variable in variables:
        array = np.asarray(data[variable.name], dtype=float)
        flat = array.reshape(len(array), -1)
        columns.extend(flat[:, j] for j in range(flat.shape[1]))
    return columns


def _column_block(symbolic: SymbolicObjective, data: Mapping[str, np.ndarray]
                  ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Data columns in `symbolic.data_symbols` order, stored once: contiguous rows of one
    block (fast elementwise code), with the named arrays (n, *shape) as views of it."""
    target = symbolic.spec.target
    variables = [*symbolic.spec.inputs, target] if data and target is not None else []
    columns = _columns(variables, data)
    if not columns:
        return [], dict(data)
    block = np.stack(columns)  # (columns, n), C-contiguous: each row a contiguous column
    views, start = {}, 0
    for variable in variables:
        stop = start + variable.size
        views[variable.name] = block[start:stop].T.reshape((block.shape[1],) + variable.shape)
        start = stop
    return list(block), views


def model_function(symbolic: SymbolicObjective) -> Callable[..., np.ndarray]:
    """model(parameters, inputs) → outputs (n, *target shape), for generating data."""
    spec = symbolic.spec
    assert symbolic.model is not None and spec.target is not None
    inputs = tuple(s for value in symbolic.inputs.values() for s in value.flat)
    function = numeric(list(symbolic.model.flat),
                       symbolic.parameter_symbols + inputs + tuple(symbolic.constants))
    constants = list(symbolic.constants.values())

    target_shape = spec.target.shape

    def model(parameters: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        theta = [float(x) for p in spec.parameters
                 for x in np.asarray(parameters[p.name], dtype=float).ravel()]
        columns = _columns(spec.inputs, arrays)
        n = len(columns[0]) if columns else 1
        with np.errstate(all="ignore"):
            outputs = function(*theta, *columns, *constants)
        stacked = np.stack([np.broadcast_to(np.asarray(o, dtype=float), (n,)) for o in outputs],
                           axis=-1)
        return stacked.reshape((n,) + target_shape)

    return model


def compile_spec(spec: Spec | str | Path) -> Problem:
    """Derive and compile a spec (or a spec file's path) into a `Problem`.

    Raises SpecError for a bad spec or bad data.
    Example: `problem = gdcheck.compile("specs/logistic.yaml"); problem.gradient(theta)`.
    """
    if not isinstance(spec, Spec):
        spec = load(spec)
    symbolic = derive(spec)
    if spec.kind == "objective":
        return Problem(symbolic, {})
    generates = isinstance(spec.data, GenerateData)  # only generated data needs the model
    return Problem(symbolic, load_data(spec, model_function(symbolic) if generates else None))
