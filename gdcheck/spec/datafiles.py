"""Data from files beside the spec: csv (a header row, numeric cells) and npz (one array per
name, never pickled)."""

from __future__ import annotations

import csv
import math
import zipfile
from typing import Any

import numpy as np

from ..errors import DataError, Location, did_you_mean
from .datacheck import Arrays, check_array, check_lengths, check_names, data_variables
from .model import CsvData, NpzData, Spec, Variable

ModelFunction = Any


def read_csv_data(spec: Spec, source: CsvData, model: ModelFunction | None) -> Arrays:
    where = source.location
    columns_at = Location(where.file, where.line, "data.columns")
    variables = data_variables(spec)
    check_names(source.columns, [v.name for v in variables], columns_at, "input or target")
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
                        f"{did_you_mean(column, header)}; the header is: {', '.join(header)}")
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


def read_npz_data(spec: Spec, source: NpzData, model: ModelFunction | None) -> Arrays:
    variables = data_variables(spec)
    arrays = _read_npz(source, [v.name for v in variables])
    for variable in variables:
        check_array(arrays[variable.name], variable.shape, source.location,
                     f"array '{variable.name}' in {source.path}")
    check_lengths(arrays, lambda name: source.location)
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
                                f"{did_you_mean(name, archive.files)}; it has: "
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
