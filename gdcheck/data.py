"""Arrays for a supervised spec's inputs and target, from its `data:` source.

One loader per source (`LOADERS`: generate, csv, npz, inline). Each returns
float64 arrays of shape (n, *declared_shape), the first axis the sample, and
raises DataError naming the field, file, row, column or array at fault.
"""

from __future__ import annotations

import csv
import difflib
import math
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .errors import DataError, Location, UsageError
from .spec import CsvData, GenerateData, InlineData, NpzData, Spec, Variable
from .yamlsource import describe

ModelFunction = Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], np.ndarray]
Arrays = dict[str, np.ndarray]

PROBABILITY_TOL = 1e-6  # how far a categorical row may sum from 1 (rounding in softmax)


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


# ----------------------------------------------------------------- shared checks


def _variables(spec: Spec) -> tuple[Variable, ...]:
    assert spec.target is not None
    return (*spec.inputs, spec.target)


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_names(given: Iterable[str], declared: list[str], where: Location, kind: str,
                 locations: dict[str, Location] | None = None) -> None:
    """Every declared name is given, and nothing else is."""
    given = list(given)
    for name in declared:
        if name not in given:
            raise DataError(where, f"missing {kind} '{name}': {where.field} needs an entry for "
                            f"every declared {kind}")
    for name in given:
        if name not in declared:
            at = (locations or {}).get(name, where.child(name))
            raise DataError(at, f"unknown {kind} '{name}' in {where.field}"
                            f"{_did_you_mean(name, declared)}; declared: {', '.join(declared)}")


def _shape_text(n: int | str, shape: tuple[int, ...]) -> str:
    return f"({', '.join(str(d) for d in (n, *shape))}{',' if not shape else ''})"


def _first(bad: np.ndarray) -> int | None:
    """The index of the first True in a per-row mask, or None."""
    return int(np.argmax(bad)) if bad.any() else None


def _first_bad_row(array: np.ndarray) -> int | None:
    return _first(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))


def _row_text(array: np.ndarray, row: int) -> str:
    return np.array2string(np.asarray(array[row]), threshold=10)


def _check_array(array: np.ndarray, shape: tuple[int, ...], where: Location, what: str) -> None:
    """`array` is (n, *shape) with n >= 1 and finite values."""
    if array.ndim == 0 or array.shape[1:] != shape:
        n = len(array) if array.ndim else "n"
        raise DataError(where, f"{what} has shape {array.shape}; expected {_shape_text(n, shape)}: "
                        f"the first axis the sample, then the declared shape {list(shape)}")
    if len(array) == 0:
        raise DataError(where, f"{what} has no rows")
    row = _first_bad_row(array)
    if row is not None:
        raise DataError(where, f"{what} has a non-finite value at row index {row}: "
                        f"{_row_text(array, row)}")


def _check_lengths(arrays: Arrays, locate: Callable[[str], Location]) -> None:
    first, *others = arrays
    for name in others:
        if len(arrays[name]) != len(arrays[first]):
            raise DataError(locate(name), f"'{name}' has {len(arrays[name])} rows but '{first}' "
                            f"has {len(arrays[first])}; every input and the target need one row "
                            "per sample")


# ----------------------------------------------------------------- generate


def _generate(spec: Spec, source: GenerateData, model: ModelFunction | None) -> Arrays:
    if model is None:
        raise UsageError("data.generate samples the spec's own model: pass load_data(spec, model)")
    if source.labels is not None and source.noise is not None:
        raise DataError(source.location.child("noise"), f"'noise' cannot go with 'labels: "
                        f"{source.labels}': labels are sampled from the model's probabilities; "
                        "noise is for regression")
    _check_names(source.inputs, [v.name for v in spec.inputs], source.location.child("inputs"),
                 "input")
    truth_at = source.location.child("truth")
    _check_names(source.truth, [p.name for p in spec.parameters], truth_at, "parameter")
    truth = {p.name: _truth(p, source.truth[p.name], truth_at.child(p.name))
             for p in spec.parameters}
    rng = np.random.default_rng(source.seed)
    inputs = {v.name: np.asarray(source.inputs[v.name].sample(rng, (source.n, *v.shape)), float)
              for v in spec.inputs}
    assert spec.target is not None
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite row, named below
        output = _model_output(spec.target, source, model(truth, inputs))
    if source.labels is not None:
        output = LABELS[source.labels](spec.target, source, output, rng)
    elif source.noise is not None:
        output = output + source.noise.sample(rng, output.shape)
    return {**inputs, spec.target.name: output}


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
                        f"{_shape_text(source.n, target.shape)} for target '{target.name}'"
                        ) from None
    row = _first_bad_row(output)
    if row is not None:
        raise DataError(source.location, f"the model at the truth parameters gives a non-finite "
                        f"value at sample row {row}: {_row_text(output, row)}")
    return output


def _bernoulli(target: Variable, source: GenerateData, probability: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    where = source.location.child("labels")
    if target.shape:
        raise DataError(where, f"labels: bernoulli needs a scalar target; '{target.name}' has "
                        f"shape {list(target.shape)}")
    row = _first((probability < 0) | (probability > 1))
    if row is not None:
        raise DataError(where, f"labels: bernoulli needs model output in [0, 1] (a probability);"
                        f" sample row {row} gives {probability[row]:g}")
    return (rng.uniform(size=len(probability)) < probability).astype(float)


def _categorical(target: Variable, source: GenerateData, probability: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    where = source.location.child("labels")
    if len(target.shape) != 1:
        raise DataError(where, f"labels: categorical needs a vector target; '{target.name}' has "
                        f"shape {list(target.shape)}")
    outside = ((probability < 0) | (probability > 1)).any(axis=1)
    row = _first(outside | (np.abs(probability.sum(axis=1) - 1) > PROBABILITY_TOL))
    if row is not None:
        raise DataError(where, "labels: categorical needs each row of model output to be "
                        f"probabilities (in [0, 1], summing to 1); sample row {row} gives "
                        f"{_row_text(probability, row)}")
    # Inverse-CDF sampling, all rows at once: the chosen class is the number of
    # cumulative sums at or below a uniform draw scaled to the row's total.
    cumulative = np.cumsum(probability, axis=1)
    draws = rng.uniform(size=(len(probability), 1)) * cumulative[:, -1:]
    chosen = np.minimum((cumulative <= draws).sum(axis=1), target.shape[0] - 1)
    return np.eye(target.shape[0])[chosen]


LABELS = {"bernoulli": _bernoulli, "categorical": _categorical}


# ----------------------------------------------------------------- csv


def _csv(spec: Spec, source: CsvData, model: ModelFunction | None) -> Arrays:
    where = source.location
    columns_at = Location(where.file, where.line, "data.columns")
    variables = _variables(spec)
    _check_names(source.columns, [v.name for v in variables], columns_at, "input or target")
    header, rows = _read_csv(source)
    return {v.name: _csv_variable(source, v, header, rows, columns_at.child(v.name))
            for v in variables}


def _read_csv(source: CsvData) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data rows, each with its line in the file."""
    rows: list[tuple[int, list[str]]] = []
    try:
        with open(source.path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            try:
                rows = [(reader.line_num, row) for row in reader if row]
            except csv.Error as error:
                raise DataError(source.location, f"{source.path}: line {reader.line_num}: "
                                f"not valid csv: {error}") from None
    except OSError as error:
        raise DataError(source.location, f"cannot read csv file {source.path}: "
                        f"{error.strerror or error}") from None
    except UnicodeDecodeError:
        raise DataError(source.location, f"{source.path} is not UTF-8 text") from None
    if not rows:
        raise DataError(source.location, f"{source.path} is empty; expected a header row")
    header, data = [cell.strip() for cell in rows[0][1]], rows[1:]
    if not data:
        raise DataError(source.location, f"{source.path} has a header but no data rows")
    for number, (line, row) in enumerate(data, 1):
        if len(row) != len(header):
            raise DataError(source.location, f"{source.path}: row {number} (line {line}) has "
                            f"{len(row)} cells; the header has {len(header)}")
    return header, data


def _csv_variable(source: CsvData, variable: Variable, header: list[str],
                  rows: list[tuple[int, list[str]]], where: Location) -> np.ndarray:
    if len(variable.shape) > 1:
        raise DataError(where, f"'{variable.name}' has shape {list(variable.shape)}; csv holds "
                        "scalars and vectors only (use npz or inline data for matrices)")
    mapped = source.columns[variable.name]
    names = (mapped,) if isinstance(mapped, str) else mapped
    if len(names) != variable.size:
        raise DataError(where, f"'{variable.name}' has shape {list(variable.shape)}, so it needs "
                        f"{variable.size} column(s); got {len(names)}: {', '.join(names)}")
    indices = [_column_index(source, header, column, where) for column in names]
    values = np.empty((len(rows), len(indices)))
    for number, (line, row) in enumerate(rows, 1):
        for position, index in enumerate(indices):
            values[number - 1, position] = _cell(source, row[index], number, line, header[index])
    return values.reshape((len(rows), *variable.shape))


def _column_index(source: CsvData, header: list[str], column: str, where: Location) -> int:
    if header.count(column) != 1:
        problem = "appears twice in" if column in header else "is not in"
        raise DataError(where, f"column '{column}' {problem} the header of {source.path}"
                        f"{_did_you_mean(column, header)}; the header is: {', '.join(header)}")
    return header.index(column)


def _cell(source: CsvData, text: str, number: int, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        problem = f"got {text!r}, expected a number"
    else:
        if math.isfinite(value):
            return value
        problem = f"got {text.strip()!r}, expected a finite number"
    raise DataError(source.location, f"{source.path}: row {number} (line {line}), column "
                    f"'{column}': {problem}")


# ----------------------------------------------------------------- npz


def _npz(spec: Spec, source: NpzData, model: ModelFunction | None) -> Arrays:
    variables = _variables(spec)
    arrays = _read_npz(source, [v.name for v in variables])
    for variable in variables:
        _check_array(arrays[variable.name], variable.shape, source.location,
                     f"array '{variable.name}' in {source.path}")
    _check_lengths(arrays, lambda name: source.location)
    return arrays


def _read_npz(source: NpzData, names: list[str]) -> Arrays:
    try:
        archive = np.load(source.path, allow_pickle=False)
    except OSError as error:
        raise DataError(source.location, f"cannot read npz file {source.path}: "
                        f"{error.strerror or error}") from None
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(source.location, f"{source.path} is not an npz archive of numeric "
                        f"arrays (pickled data is never loaded): {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(source.location, f"{source.path} holds a single array, not an npz "
                        "archive; save one array per name with np.savez(path, x=..., y=...)")
    with archive:
        for name in names:
            if name not in archive.files:
                raise DataError(source.location, f"{source.path} has no array '{name}'"
                                f"{_did_you_mean(name, archive.files)}; it has: "
                                f"{', '.join(archive.files) or 'no arrays'}")
        return {name: _npz_array(source, archive, name) for name in names}


def _npz_array(source: NpzData, archive: Any, name: str) -> np.ndarray:
    try:
        array = archive[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(source.location, f"cannot load array '{name}' from {source.path} "
                        f"(object arrays and pickles are never loaded): {error}") from None
    if array.dtype.kind not in "iuf":
        raise DataError(source.location, f"array '{name}' in {source.path} has dtype "
                        f"{array.dtype}; expected integers or floats")
    return np.asarray(array, dtype=float)


# ----------------------------------------------------------------- inline


def _inline(spec: Spec, source: InlineData, model: ModelFunction | None) -> Arrays:
    variables = _variables(spec)
    _check_names(source.values, [v.name for v in variables], source.location,
                 "input or target", source.locations)
    arrays = {v.name: _inline_array(v, source.values[v.name], source.locations[v.name])
              for v in variables}
    _check_lengths(arrays, lambda name: source.locations[name])
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
    CsvData: _csv,
    NpzData: _npz,
    InlineData: _inline,
}
