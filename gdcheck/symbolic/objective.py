"""The objective as SymPy, and its exact gradient and Hessian.

How it works: every declared scalar becomes a real SymPy symbol (`w[0]`,
`W[1,0]`, `b`); the model is parsed first and handed to the loss as `y_pred`,
so the per-sample loss ℓ(θ; x, y) is one expression of parameter and data
symbols. The objective is L(θ) = mean_i ℓ(θ; xᵢ, yᵢ) + penalty(θ) (or sum_i),
or the bare `objective` with no data. This entry-by-entry view is for people
(`gdcheck derive --scalar`) and for tests on small specs; the numbers come from the
tensor graph (`derivation.py`). Its derivatives are that graph's, written out entry by
entry (`expand.py`): of ℓ and of the penalty separately, so they stay per sample.
Nothing is simplified or expanded algebraically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ExpressionError, LimitError, Location
from ..spec import Spec, Variable
from .backward import gradient, hessian_vector
from .derivation import GraphObjective, placement_reasons
from .expand import TooLarge, expand
from .expressions import MAX_ENTRIES, Value, names_used, parse, shape_text, value_of
from .functions import KINKS, SYMPY_EQUIVALENTS


def symbols_for(variable: Variable) -> Value:
    """An object array of real symbols named like `w[0]` or `W[1,2]`, in the declared shape."""
    if not variable.shape:
        return value_of(sp.Symbol(variable.name, real=True))
    array = np.empty(variable.shape, dtype=object)
    for index in np.ndindex(variable.shape):
        array[index] = sp.Symbol(f"{variable.name}[{','.join(map(str, index))}]", real=True)
    return array


class DataReduction(sp.Function):
    """Display only: mean_i(...) or sum_i(...) of a per-sample expression over the data."""

    def _sympystr(self, printer: Any) -> str:
        return f"{self.how}_i({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        prefix = r"\frac{1}{n}\sum_{i}" if self.how == "mean" else r"\sum_{i}"
        return rf"{prefix}\left[{printer._print(self.args[0])}\right]"


class DataMean(DataReduction):
    how = "mean"


class DataSum(DataReduction):
    how = "sum"


@dataclass(frozen=True)
class SymbolicObjective:
    """A spec's objective in SymPy, with its derivatives computed on first use."""

    spec: Spec
    parameters: dict[str, Value]
    inputs: dict[str, Value]
    target: dict[str, Value]
    constants: dict[sp.Symbol, float]
    sample_loss: sp.Expr            # ℓ(θ; x, y), or the bare objective
    penalty: sp.Expr                # 0 when there is none
    model: Value | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def reduction(self) -> str:
        """'mean' or 'sum' over samples; a bare objective is one 'sample' summed."""
        return self.spec.reduction if self.spec.kind == "supervised" else "sum"

    @cached_property
    def parameter_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for value in self.parameters.values() for s in value.flat)

    @cached_property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.parameter_symbols)

    @cached_property
    def data_symbols(self) -> tuple[sp.Symbol, ...]:
        """Inputs then the target, each row-major: the columns data are fed as."""
        values = list(self.inputs.values()) + list(self.target.values())
        return tuple(s for value in values for s in value.flat)

    @cached_property
    def graph(self) -> GraphObjective:
        """The tensor graph these derivatives are written out from."""
        return GraphObjective(self.spec)

    def _written_out(self, nodes: list[Any], directions: dict[int, Value] | None = None
                     ) -> list[sp.Expr]:
        """The graph's nodes (one per parameter) entry by entry, flattened in θ order."""
        graph = self.graph
        leaves = {id(graph.parameters[name]): value for name, value in self.parameters.items()}
        leaves |= {id(graph.data[name]): value for name, value in
                   {**self.inputs, **self.target}.items()}
        leaves |= directions or {}
        try:
            arrays = expand(nodes, leaves)
        except TooLarge as error:
            raise LimitError(self._where(), f"{error} (the matrix formulas of `gdcheck "
                             "derive`, without --scalar, hold at any size)") from None
        return [_own_functions(entry) for array in arrays for entry in array.flat]

    def _where(self) -> Location:
        """Where a problem of the whole entry-by-entry view is reported: its objective."""
        source = self.spec.objective or self.spec.loss
        return source.location if source is not None else Location(str(self.spec.path),
                                                                    None, "spec")

    def _gradient_of(self, node: Any) -> tuple[sp.Expr, ...]:
        if node is None:
            return tuple(sp.S.Zero for _ in self.parameter_symbols)
        graph = self.graph
        return tuple(self._written_out(gradient(graph.graph, node,
                                                list(graph.parameters.values()))))

    def _hessian_of(self, node: Any) -> tuple[tuple[sp.Expr, ...], ...]:
        """H[i][j] = ∂(H·v)_i/∂v_j of the written-out Hessian-vector product (linear in v);
        the upper triangle is mirrored, so it is symmetric by construction."""
        size = len(self.parameter_symbols)
        if node is None:
            return tuple(tuple(sp.S.Zero for _ in range(size)) for _ in range(size))
        if size * (size + 1) // 2 > MAX_ENTRIES:
            raise LimitError(self._where(), f"the Hessian of {size:,} parameters has "
                             f"{size * (size + 1) // 2:,} entries to write out; at most "
                             f"{MAX_ENTRIES:,} are allowed (`gdcheck derive --hessian`, "
                             "without --scalar, writes H·v at any size)")
        graph = self.graph
        directions = {id(d): symbols_for(Variable(f"v_{name}", d.shape, p.location))
                      for (name, d), p in zip(zip(graph.parameters, graph.directions,
                                                  strict=True), self.spec.parameters,
                                              strict=True)}
        vector = [s for value in directions.values() for s in np.asarray(value).flat]
        product = self._written_out(hessian_vector(graph.graph, node,
                                                   list(graph.parameters.values()),
                                                   graph.directions), directions)
        rows = [[sp.S.Zero] * size for _ in range(size)]
        for i in range(size):
            for j in range(i, size):
                rows[i][j] = rows[j][i] = sp.diff(product[i], vector[j])
        return tuple(tuple(row) for row in rows)

    @cached_property
    def sample_gradient(self) -> tuple[sp.Expr, ...]:
        return self._gradient_of(self.graph.sample_loss)

    @cached_property
    def penalty_gradient(self) -> tuple[sp.Expr, ...]:
        return self._gradient_of(self.graph.penalty)

    @cached_property
    def sample_hessian(self) -> tuple[tuple[sp.Expr, ...], ...]:
        return self._hessian_of(self.graph.sample_loss)

    @cached_property
    def penalty_hessian(self) -> tuple[tuple[sp.Expr, ...], ...]:
        return self._hessian_of(self.graph.penalty)

    @cached_property
    def kinks(self) -> tuple[sp.Expr, ...]:
        """Expressions that are zero where the objective is not differentiable."""
        found: dict[sp.Expr, None] = {}
        for expression in (self.sample_loss, self.penalty):
            for kind, where in KINKS.items():
                for call in expression.atoms(kind):
                    found.update(dict.fromkeys(where(*call.args)))
        return tuple(found)

    def readable(self, per_sample: sp.Expr, penalty: sp.Expr) -> sp.Expr:
        """The reduced expression for people: mean_i(ℓ) + penalty."""
        if self.spec.kind == "objective":
            return per_sample + penalty
        reduced = per_sample if per_sample == 0 else (
            DataMean if self.reduction == "mean" else DataSum)(per_sample)
        return reduced + penalty

    @cached_property
    def objective_expression(self) -> sp.Expr:
        return self.readable(self.sample_loss, self.penalty)

    @cached_property
    def gradient_expressions(self) -> tuple[sp.Expr, ...]:
        return tuple(self.readable(g, p) for g, p in zip(self.sample_gradient,
                                                           self.penalty_gradient, strict=True))


def derive(spec: Spec) -> SymbolicObjective:
    """Parse every expression of `spec` into SymPy (raising located SpecErrors).

    Every declared scalar becomes a symbol of its own, so the declared entries are bounded
    (`MAX_ENTRIES`); the shaped graph (`GraphObjective`) takes any size.
    """
    _check_size(spec)
    parameters = {p.name: symbols_for(p) for p in spec.parameters}
    inputs = {v.name: symbols_for(v) for v in spec.inputs}
    target = {spec.target.name: symbols_for(spec.target)} if spec.target else {}
    constants = {name: value_of(sp.Symbol(name, real=True)) for name in spec.constants}
    constants |= {name: _numbers(value) for name, value in getattr(spec, "arrays", {}).items()}
    constant_values = {sp.Symbol(name, real=True): value for name, value in spec.constants.items()}
    only_params = {**parameters, **constants}
    not_here = placement_reasons(spec)
    penalty = sp.S.Zero
    if spec.penalty is not None:
        penalty = _scalar(spec.penalty, parse(spec.penalty, only_params, spec.constants,
                                              not_here), "penalty")
    if spec.objective is not None:
        objective = parse(spec.objective, only_params, spec.constants, not_here)
        result = SymbolicObjective(spec, parameters, inputs, target, constant_values,
                                   _scalar(spec.objective, objective, "objective"), penalty)
    else:
        result = _supervised(spec, parameters, inputs, target, constants, constant_values,
                             penalty, not_here)
    _warn_unused(result)
    return result


def _numbers(array: np.ndarray) -> Value:
    """An array constant as an object array of exact numbers (as the spec wrote them)."""
    result = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        result[index] = sp.Float(float(array[index]), 17)
    return result


def _check_size(spec: Spec) -> None:
    declared = 0
    for variable in (*spec.parameters, *spec.inputs, *([spec.target] if spec.target else [])):
        declared += variable.size
        if declared > MAX_ENTRIES:
            raise LimitError(variable.location, f"the entry-by-entry view (`derive --scalar`) "
                             f"writes every declared scalar out, and with this one there are "
                             f"{declared:,}; at most {MAX_ENTRIES:,} are allowed (the matrix "
                             "formulas of `gdcheck derive` hold at any size)")


def _supervised(spec: Spec, parameters: dict[str, Value], inputs: dict[str, Value],
                target: dict[str, Value], constants: dict[str, Value],
                constant_values: dict[sp.Symbol, float], penalty: sp.Expr,
                not_here: dict[str, str]) -> SymbolicObjective:
    assert spec.model is not None and spec.loss is not None and spec.target is not None
    ids = frozenset(v.name for v in spec.inputs if getattr(v, "dtype", "float") == "int")
    model = parse(spec.model, {**parameters, **inputs, **constants}, spec.constants, not_here,
                  ids)
    target_value = target[spec.target.name]
    if model.shape != target_value.shape:
        raise ExpressionError(spec.model.location, f"the model has shape {shape_text(model)} "
                              f"but the target '{spec.target.name}' has shape "
                              f"{shape_text(target_value)}; they must be equal")
    if "y_pred" not in names_used(spec.loss):
        raise ExpressionError(spec.loss.location, "the loss never uses y_pred (the model "
                              "output); a loss compares y_pred with the target")
    environment = {**parameters, **inputs, **target, **constants, "y_pred": model}
    loss = _scalar(spec.loss, parse(spec.loss, environment, spec.constants, ids=ids), "loss")
    return SymbolicObjective(spec, parameters, inputs, target, constant_values, loss, penalty,
                             model)


def _scalar(source: Any, value: Value, what: str) -> sp.Expr:
    if value.shape != ():
        raise ExpressionError(source.location, f"the {what} must be a scalar, but it has shape "
                              f"{shape_text(value)} (reduce it with sum(...) or mean(...))")
    return _own_functions(value[()])


def _own_functions(expression: sp.Expr) -> sp.Expr:
    """SymPy's Abs/sign/Heaviside (made by SymPy itself) replaced by gdcheck's."""
    for theirs, ours in SYMPY_EQUIVALENTS.items():
        if expression.has(theirs):
            expression = expression.replace(theirs, ours)
    return expression


def _warn_unused(objective: SymbolicObjective) -> None:
    used = objective.sample_loss.free_symbols | objective.penalty.free_symbols
    unused = [s.name for s in objective.parameter_symbols if s not in used]
    if unused:
        objective.warnings.append(f"the objective does not depend on {', '.join(unused)}: "
                                  "its gradient is identically zero")
