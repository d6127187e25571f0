"""Arrays for a supervised spec's inputs and target, from its `data:` source.

One loader per source (`LOADERS`: generate, csv, npz, inline). Each returns
float64 arrays of shape (n, *declared_shape), the first axis the sample, and
raises DataError naming the field, file, row, column or array at fault.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import defaults
from ..errors import DataError, Location, UsageError
from .datacheck import (
    Arrays,
    check_ids,
    check_lengths,
    check_names,
    data_variables,
    first,
    first_bad_row,
    row_text,
    shape_text,
)
from .datafiles import read_csv_data, read_npz_data
from .model import CsvData, GenerateData, InlineData, NpzData, Spec, Text, Variable
from .source import describe

ModelFunction = Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], np.ndarray]

PROBABILITY_TOL = defaults.PROBABILITY_TOL


def load_data(spec: Spec, model: ModelFunction | None = None) -> Arrays:
    """Arrays for every input and the target of a supervised spec.

    Args:
        spec: a loaded supervised spec (`gdcheck.load`).
        model: `model(parameters, inputs)` giving the output (n, *target_shape);
            needed only for `data.generate`, which samples the spec's own model.
    Returns:
        name -> float64 array (n, *declared_shape), the first axis the sample.
    Raises:
        DataError naming the field, file, row, column or array at fault;
        UsageError for an objective spec, or `generate` without a model.
    Example: `arrays = load_data(gdcheck.load("specs/linear.yaml"))`.
    """
    if spec.data is None or spec.target is None:
        raise UsageError(f"{spec.path}: load_data needs a supervised spec (model + loss + data)")
    return LOADERS[type(spec.data)](spec, spec.data, model)


# ----------------------------------------------------------------- generate


def _generate(spec: Spec, source: GenerateData, model: ModelFunction | None) -> Arrays:
    if model is None:
        raise UsageError("data.generate samples the spec's own model: pass load_data(spec, model)")
    if source.labels is not None and source.noise is not None:
        raise DataError(source.location.child("noise"), f"'noise' cannot go with 'labels: "
                        f"{source.labels}': labels are sampled from the model's probabilities; "
                        "noise is for regression")
    inputs_at = source.location.child("inputs")
    check_names(source.inputs, [v.name for v in spec.inputs], inputs_at, "input",
                optional=[v.name for v in spec.inputs if v.dtype == "int"])
    truth_at = source.location.child("truth")
    check_names(source.truth, [p.name for p in spec.parameters], truth_at, "parameter")
    truth = {p.name: _truth(p, source.truth[p.name], truth_at.child(p.name))
             for p in spec.parameters}
    rng = np.random.default_rng(source.seed)
    inputs = {v.name: _draw(v, source, rng) for v in spec.inputs}
    # before the model: it looks ids up
    check_ids(inputs, spec.inputs, lambda v, sample, _: (inputs_at.child(v.name),
                                                          f"sample {sample}"))
    assert spec.target is not None
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite row, named below
        output = _model_output(spec.target, source, model(truth, inputs))
    if source.labels is not None:
        call = outer_call(spec.model)
        output = LABELS[source.labels](spec.target, source, output, call, rng)
    elif source.noise is not None:
        output = output + source.noise.sample(rng, output.shape)
    return {**inputs, spec.target.name: output}


def _draw(variable: Variable, source: GenerateData, rng: np.random.Generator) -> np.ndarray:
    """An input's samples from its distribution; an integer input without one, uniform ids."""
    shape = (source.n, *variable.shape)
    if variable.name in source.inputs:
        return np.asarray(source.inputs[variable.name].sample(rng, shape), float)
    assert variable.range is not None   # only an integer input may be left out
    return rng.integers(0, variable.range, size=shape).astype(float)


def _truth(parameter: Variable, value: Any, where: Location) -> np.ndarray:
    declared = list(parameter.shape)
    try:
        array = np.asarray(value, dtype=float)
    except ValueError:
        raise DataError(where, f"'{parameter.name}' is a ragged list; expected shape "
                        f"{declared}") from None
    if (array.ndim == 0) != (parameter.shape == ()) or array.size != parameter.size:
        raise DataError(where, f"'{parameter.name}' has shape {list(array.shape)} but is "
                        f"declared with shape {declared}")
    return array.reshape(parameter.shape)


def _model_output(target: Variable, source: GenerateData, output: Any) -> np.ndarray:
    expected = (source.n, *target.shape)
    output = np.asarray(output, dtype=float)
    try:
        output = np.array(np.broadcast_to(output, expected))
    except ValueError:
        raise DataError(source.location, f"the model gives shape {output.shape}; expected "
                        f"{shape_text(source.n, target.shape)} for target '{target.name}'"
                        ) from None
    row = first_bad_row(output)
    if row is not None:
        raise DataError(source.location, f"the model at the truth parameters gives a non-finite "
                        f"value at sample row {row}: {row_text(output, row)}")
    return output


# What the model's output is, read off its outermost call (the grammar has validated the
# text); a model that does not say is read by its values (`_bernoulli`, `_categorical`).
OUTPUT_FORMS = {"sigmoid(...)": "probabilities", "softmax(...)": "probabilities",
                "log_softmax(...)": "log-probabilities",
                "log(sigmoid(...))": "log-probabilities", "log(softmax(...))": "log-probabilities"}


def outer_call(model: Text | None) -> str | None:
    """The model's outermost call as `sigmoid(...)` or `log(softmax(...))`, or None."""
    if model is None:
        return None
    try:
        body = ast.parse(" ".join(model.text.splitlines()).strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None   # not yet through the grammar (load_data on a bare Spec): say nothing
    name = _called(body)
    inner = _called(body.args[0]) if name == "log" and isinstance(body, ast.Call) else None
    return None if name is None else f"log({inner}(...))" if inner else f"{name}(...)"


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        return node.func.id
    return None


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -logit))   # no overflow for logits of either sign


def _softmax(scores: np.ndarray) -> np.ndarray:
    exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _bernoulli(target: Variable, source: GenerateData, output: np.ndarray, call: str | None,
               rng: np.random.Generator) -> np.ndarray:
    where = source.location.child("labels")
    if target.shape:
        raise DataError(where, f"labels: bernoulli needs a scalar target; '{target.name}' has "
                        f"shape {list(target.shape)}")
    probability = _bernoulli_probability(output, call, where)
    return (rng.uniform(size=len(probability)) < probability).astype(float)


def _bernoulli_probability(output: np.ndarray, call: str | None, where: Location) -> np.ndarray:
    """P(y = 1): the output itself, exp of a log-probability, or sigmoid of a logit."""
    form = OUTPUT_FORMS.get(call or "")
    if form == "log-probabilities":
        return np.exp(output)
    row = first((output < 0) | (output > 1))
    if row is None:
        return output
    if form is None:
        return _sigmoid(output)
    raise DataError(where, f"labels: bernoulli needs model output in [0, 1] (a probability, as "
                    f"{call} says); sample row {row} gives {output[row]:g}")


def _categorical(target: Variable, source: GenerateData, output: np.ndarray, call: str | None,
                 rng: np.random.Generator) -> np.ndarray:
    where = source.location.child("labels")
    if len(target.shape) != 1:
        raise DataError(where, f"labels: categorical needs a vector target; '{target.name}' has "
                        f"shape {list(target.shape)}")
    probability = _categorical_probability(output, call, where)
    # Inverse-CDF sampling, all rows at once: the chosen class is the number of
    # cumulative sums at or below a uniform draw scaled to the row's total.
    cumulative = np.cumsum(probability, axis=1)
    draws = rng.uniform(size=(len(probability), 1)) * cumulative[:, -1:]
    chosen = np.minimum((cumulative <= draws).sum(axis=1), target.shape[0] - 1)
    return np.eye(target.shape[0])[chosen]


def _categorical_probability(output: np.ndarray, call: str | None, where: Location
                             ) -> np.ndarray:
    """Each row's class probabilities: the output itself, or softmax of log-probabilities
    (which gives them back, normalised) or of logits."""
    form = OUTPUT_FORMS.get(call or "")
    outside = ((output < 0) | (output > 1)).any(axis=1)
    row = first(outside | (np.abs(output.sum(axis=1) - 1) > PROBABILITY_TOL))
    if form == "log-probabilities" or (form is None and row is not None):
        return _softmax(output)
    if row is None:
        return output
    raise DataError(where, "labels: categorical needs each row of model output to be "
                    f"probabilities (in [0, 1], summing to 1), as {call} says; sample row {row} "
                    f"gives {row_text(output, row)}; for softmax to normalise scores, end the "
                    "model in log_softmax(...) or return the scores")


LABELS = {"bernoulli": _bernoulli, "categorical": _categorical}


# ----------------------------------------------------------------- inline


def _inline(spec: Spec, source: InlineData, model: ModelFunction | None) -> Arrays:
    variables = data_variables(spec)
    check_names(source.values, [v.name for v in variables], source.location,
                 "input or target", source.locations)
    arrays = {v.name: _inline_array(v, source.values[v.name], source.locations[v.name])
              for v in variables}
    check_lengths(arrays, lambda name: source.locations[name])
    check_ids(arrays, variables, lambda v, sample, _: (source.locations[v.name].child(sample),
                                                        f"sample {sample}"))
    return arrays


def _inline_array(variable: Variable, value: Any, where: Location) -> np.ndarray:
    if not isinstance(value, list):
        raise DataError(where, f"'{variable.name}': got {describe(value)}, expected a list with "
                        "one entry per sample")
    if not value:
        raise DataError(where, f"'{variable.name}' has no rows")
    for index, sample in enumerate(value):
        problem = _sample_problem(sample, variable.shape)
        if problem is not None:
            raise DataError(where.child(index), f"'{variable.name}' row index {index}: {problem} "
                            f"(declared shape {list(variable.shape)})")
    return np.array(value, dtype=float).reshape((len(value), *variable.shape))


def _sample_problem(sample: Any, shape: tuple[int, ...]) -> str | None:
    """What is wrong with one sample of the declared shape, or None."""
    if not shape:
        if isinstance(sample, bool) or not isinstance(sample, (int, float)):
            return f"got {describe(sample)}, expected a number"
        try:
            finite = math.isfinite(float(sample))
        except OverflowError:
            return "got an integer too large for a float"
        return None if finite else f"got {sample!r}, expected a finite number"
    if not isinstance(sample, list):
        return f"got {describe(sample)}, expected a list of {shape[0]}"
    if len(sample) != shape[0]:
        return f"got a list of {len(sample)}, expected {shape[0]}"
    for item in sample:
        problem = _sample_problem(item, shape[1:])
        if problem is not None:
            return problem
    return None


LOADERS: dict[type, Callable[[Spec, Any, ModelFunction | None], Arrays]] = {
    GenerateData: _generate,
    CsvData: read_csv_data,
    NpzData: read_npz_data,
    InlineData: _inline,
}
