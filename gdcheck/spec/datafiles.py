"""Data from files beside the spec: csv (a header row, numeric cells) and npz (one array per
name, never pickled).

Specs may come from strangers, so every file is checked before it is opened (`checked_file`:
a regular file inside the spec's folder, never a FIFO or a device) and refused, with the file
named, when reading it could pass the memory limit (`memory_limit()`): a csv by its size, an
npz by the shape and dtype in the header of each array it needs, read without loading it.

A csv is read row by row, its cells turned into floats as they come: an 8-byte float per
cell of at least 2 bytes (the number and its comma), so at most CSV_BYTES_PER_BYTE bytes of
memory per byte of file, plus one row at a time, itself at most MAX_CSV_ROW characters.
"""

from __future__ import annotations

import csv
import math
import resource
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from .. import defaults
from ..errors import DataError, Location, did_you_mean, excerpt
from ..options import size_text
from .datacheck import Arrays, check_array, check_ids, check_lengths, check_names, data_variables
from .model import CsvData, NpzData, Spec, Variable
from .root import project_root
from .source import checked_file, describe

ModelFunction = Any

CSV_BYTES_PER_BYTE = 4     # memory per byte of a csv file: 8 bytes per cell of >= 2 bytes
MAX_CSV_ROW = 1 << 20      # characters in one csv row (wider data belongs in npz)

# what zipfile, zlib and numpy raise on a damaged archive or member
_NPZ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
               NotImplementedError, RuntimeError)
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def memory_limit() -> int:
    """The bytes a data file may take once read: this process's address-space limit when one
    is set (`gdcheck verify --memory` sets it in each spec's child), else defaults.MEMORY."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return defaults.MEMORY if soft == resource.RLIM_INFINITY else soft


def _check_memory(needed: int, where: Location, what: str) -> None:
    limit = memory_limit()
    if needed > limit:
        raise DataError(where, f"{what} would take {size_text(needed)} of memory, more than the "
                        f"limit of {size_text(limit)} (--memory); refused before reading it")


# ----------------------------------------------------------------- csv


def read_csv_data(spec: Spec, source: CsvData, model: ModelFunction | None) -> Arrays:
    where = source.location
    columns_at = Location(where.file, where.line, "data.columns")
    variables = data_variables(spec)
    check_names(source.columns, [v.name for v in variables], columns_at, "input or target")
    wanted = [(v, _column_names(source, v, columns_at.child(v.name))) for v in variables]
    size = checked_file(source.path, project_root(spec.path), where, "csv file", DataError,
                        "the project root")
    _check_memory(size * CSV_BYTES_PER_BYTE, where, f"csv file {source.path} ({size} bytes)")
    try:
        with open(source.path, newline="", encoding="utf-8-sig") as file:
            return _read_csv(source, _rows(source, file), wanted)
    except OSError as error:
        raise DataError(where, f"cannot read csv file {source.path}: "
                        f"{error.strerror or excerpt(error)}") from None
    except UnicodeDecodeError:
        raise DataError(where, f"{source.path} is not UTF-8 text") from None


def _column_names(source: CsvData, variable: Variable, where: Location) -> tuple[str, ...]:
    """A variable's columns, one per entry: a matrix's (or any shape's) in row-major order."""
    mapped = source.columns[variable.name]
    names = (mapped,) if isinstance(mapped, str) else mapped
    if len(names) != variable.size:
        raise DataError(where, f"'{variable.name}' has shape {list(variable.shape)}, so it needs "
                        f"{variable.size} column(s); got {len(names)}: {', '.join(names)}")
    return names


def _rows(source: CsvData, file: IO[str]) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows, each with its line in the file; a row (which may span lines inside
    quotes) longer than MAX_CSV_ROW characters is refused before it is split into cells."""
    line_number = row_length = 0

    def lines() -> Iterator[str]:
        nonlocal line_number, row_length
        while line := file.readline(MAX_CSV_ROW + 1):
            line_number += 1
            row_length += len(line)
            if row_length > MAX_CSV_ROW:
                raise DataError(source.location, f"{source.path}: line {line_number}: a row "
                                f"longer than {MAX_CSV_ROW} characters; a csv row may hold at "
                                "most that (use npz for wide data)")
            yield line

    reader = csv.reader(lines())
    try:
        for row in reader:
            row_length = 0
            if row:
                yield reader.line_num, row
    except csv.Error as error:
        raise DataError(source.location, f"{source.path}: line {reader.line_num}: "
                        f"not valid csv: {excerpt(error)}") from None


def _read_csv(source: CsvData, rows: Iterator[tuple[int, list[str]]],
              wanted: list[tuple[Variable, tuple[str, ...]]]) -> Arrays:
    """Each variable's array, from the header row and then the data rows as they come."""
    first = next(rows, None)
    if first is None:
        raise DataError(source.location, f"{source.path} is empty; expected a header row")
    header = [cell.strip() for cell in first[1]]
    columns_at = Location(source.location.file, source.location.line, "data.columns")
    indices = {v.name: [_column_index(source, header, column, columns_at.child(v.name))
                        for column in names] for v, names in wanted}
    used = sorted({index for row in indices.values() for index in row})
    values = array("d")
    count = 0
    for line, row in rows:
        count += 1
        if len(row) != len(header):
            raise DataError(source.location, f"{source.path}: row {count} (line {line}) has "
                            f"{len(row)} cells; the header has {len(header)}")
        values.extend(_cell(source, row[index], count, line, header[index]) for index in used)
    if not count:
        raise DataError(source.location, f"{source.path} has a header but no data rows")
    # a column may serve several entries: the arrays themselves are checked against the limit
    _check_memory(8 * count * sum(v.size for v, _ in wanted), source.location,
                  f"the {count} rows of {source.path}")
    table = (np.frombuffer(values, dtype=float) if values else np.zeros(0)).reshape(count, -1)
    position = {index: column for column, index in enumerate(used)}
    arrays = {v.name: table[:, [position[index] for index in indices[v.name]]].reshape(
        (count, *v.shape)) for v, _ in wanted}
    names = {v.name: columns for v, columns in wanted}
    check_ids(arrays, [v for v, _ in wanted], lambda v, row, entry: (
        source.location, f"{source.path}: row {row + 1} (line {_line_of(source, row + 1)}), "
        f"column '{excerpt(names[v.name][entry])}'"))
    return arrays


def _line_of(source: CsvData, number: int) -> int | None:
    """The line of data row `number` (from 1), read again: only an error needs to know it."""
    with open(source.path, newline="", encoding="utf-8-sig") as file:
        rows = _rows(source, file)
        next(rows, None)   # the header
        return next((line for count, (line, _) in enumerate(rows, start=1) if count == number),
                    None)


def _column_index(source: CsvData, header: list[str], column: str, where: Location) -> int:
    if header.count(column) != 1:
        problem = "appears twice in" if column in header else "is not in"
        raise DataError(where, f"column '{column}' {problem} the header of {source.path}"
                        f"{did_you_mean(column, header)}; the header is: "
                        f"{excerpt(', '.join(header))}")
    return header.index(column)


def _cell(source: CsvData, text: str, number: int, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        problem = f"got {describe(text)}, expected a number"
    else:
        if math.isfinite(value):
            return value
        problem = f"got {describe(text.strip())}, expected a finite number"
    raise DataError(source.location, f"{source.path}: row {number} (line {line}), column "
                    f"'{excerpt(column)}': {problem}")


# ----------------------------------------------------------------- npz


def read_npz_data(spec: Spec, source: NpzData, model: ModelFunction | None) -> Arrays:
    variables = data_variables(spec)
    checked_file(source.path, project_root(spec.path), source.location, "npz file", DataError,
                 "the project root")
    arrays = _read_npz(source, [v.name for v in variables])
    for variable in variables:
        check_array(arrays[variable.name], variable.shape, source.location,
                     f"array '{variable.name}' in {source.path}")
    check_lengths(arrays, lambda name: source.location)
    check_ids(arrays, variables, lambda v, sample, _: (
        source.location, f"array '{v.name}' in {source.path}, sample {sample}"))
    return arrays


def _read_npz(source: NpzData, names: list[str]) -> Arrays:
    try:
        with open(source.path, "rb") as file:
            if file.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
                raise DataError(source.location, f"{source.path} holds a single array, not an "
                                "npz archive; save one array per name with "
                                "np.savez(path, x=..., y=...)")
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                return _arrays(source, archive, names)
    except OSError as error:
        raise DataError(source.location, f"cannot read npz file {source.path}: "
                        f"{error.strerror or excerpt(error)}") from None
    except _NPZ_ERRORS as error:
        raise DataError(source.location, f"{source.path} is not an npz archive of numeric "
                        f"arrays (pickled data is never loaded): {excerpt(error)}") from None


def _arrays(source: NpzData, archive: zipfile.ZipFile, names: list[str]) -> Arrays:
    """The named arrays, once their headers show they fit in memory together."""
    stored = sorted(member.removesuffix(".npy") for member in archive.namelist()
                    if member.endswith(".npy"))   # what np.savez writes
    for name in names:
        if name not in stored:
            raise DataError(source.location, f"{source.path} has no array '{name}'"
                            f"{did_you_mean(name, stored)}; it has: "
                            f"{excerpt(', '.join(stored)) or 'no arrays'}")
    headers = {name: _header(source, archive, name) for name in names}
    # loading takes the stored bytes, then a float64 copy unless the array already is one
    needed = sum(math.prod(shape) * (dtype.itemsize + 8 * (dtype != np.float64))
                 for shape, dtype in headers.values())
    _check_memory(needed, source.location, f"the arrays of {source.path} (by their headers)")
    return {name: _load(source, archive, name) for name in names}


def _header(source: NpzData, archive: zipfile.ZipFile, name: str
            ) -> tuple[tuple[int, ...], np.dtype]:
    """An array's shape and dtype, from its .npy header alone."""
    try:
        with archive.open(f"{name}.npy") as stream:
            version = np.lib.format.read_magic(stream)
            if version not in _HEADER_READERS:
                raise ValueError(f".npy format version {version[0]}.{version[1]}; "
                                 "expected 1.0 or 2.0")
            shape, _, dtype = _HEADER_READERS[version](stream)
    except _NPZ_ERRORS as error:
        raise DataError(source.location, f"cannot load array '{name}' from {source.path}: "
                        f"{excerpt(error)}") from None
    if dtype.hasobject:
        raise DataError(source.location, f"cannot load array '{name}' from {source.path} "
                        "(object arrays and pickles are never loaded): it holds objects; "
                        "expected integers or floats")
    if dtype.kind not in "iuf":
        raise DataError(source.location, f"array '{name}' in {source.path} has dtype "
                        f"{excerpt(dtype)}; expected integers or floats")
    return shape, dtype


def _load(source: NpzData, archive: zipfile.ZipFile, name: str) -> np.ndarray:
    try:
        with archive.open(f"{name}.npy") as stream:
            array = np.lib.format.read_array(stream, allow_pickle=False)
    except _NPZ_ERRORS as error:
        raise DataError(source.location, f"cannot load array '{name}' from {source.path}: "
                        f"{excerpt(error)}") from None
    return np.asarray(array, dtype=float)
