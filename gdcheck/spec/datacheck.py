"""What every data source's arrays must satisfy, checked with the row or array named."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..errors import DataError, Location, did_you_mean, excerpt
from .model import Spec, Variable

Arrays = dict[str, np.ndarray]


def data_variables(spec: Spec) -> tuple[Variable, ...]:
    assert spec.target is not None
    return (*spec.inputs, spec.target)


def check_names(given: Iterable[str], declared: list[str], where: Location, kind: str,
                 locations: dict[str, Location] | None = None,
                 optional: Iterable[str] = ()) -> None:
    """Every declared name is given (those `optional` may be left out), and nothing else is."""
    given, optional = list(given), set(optional)
    for name in declared:
        if name not in given and name not in optional:
            raise DataError(where, f"missing {kind} '{name}': {where.field} needs an entry for "
                            f"every declared {kind}")
    for name in given:
        if name not in declared:
            at = (locations or {}).get(name, where.child(name))
            raise DataError(at, f"unknown {kind} '{name}' in {where.field}"
                            f"{did_you_mean(name, declared)}; declared: {', '.join(declared)}")


def shape_text(n: int | str, shape: tuple[int, ...]) -> str:
    return f"({', '.join(str(d) for d in (n, *shape))}{',' if not shape else ''})"


def first(bad: np.ndarray) -> int | None:
    """The index of the first True in a per-row mask, or None."""
    return int(np.argmax(bad)) if bad.any() else None


def first_bad_row(array: np.ndarray) -> int | None:
    return first(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))


def row_text(array: np.ndarray, row: int) -> str:
    return excerpt(np.array2string(np.asarray(array[row]), threshold=10))


def check_array(array: np.ndarray, shape: tuple[int, ...], where: Location, what: str) -> None:
    """`array` is (n, *shape) with n >= 1 and finite values."""
    if array.ndim == 0 or array.shape[1:] != shape:
        n = len(array) if array.ndim else "n"
        raise DataError(where, f"{what} has shape {array.shape}; expected {shape_text(n, shape)}: "
                        f"the first axis the sample, then the declared shape {list(shape)}")
    if len(array) == 0:
        raise DataError(where, f"{what} has no rows")
    row = first_bad_row(array)
    if row is not None:
        raise DataError(where, f"{what} has a non-finite value at row index {row}: "
                        f"{row_text(array, row)}")


def check_lengths(arrays: Arrays, locate: Callable[[str], Location]) -> None:
    first, *others = arrays
    for name in others:
        if len(arrays[name]) != len(arrays[first]):
            raise DataError(locate(name), f"'{name}' has {len(arrays[name])} rows but '{first}' "
                            f"has {len(arrays[first])}; every input and the target need one row "
                            "per sample")


# where a bad id is: its Location and the row as its source counts it ("sample 17", or
# "d.csv: row 17 (line 18), column 'token'"), from the variable, the sample and the entry
SamplePlace = Callable[[Variable, int, int], tuple[Location, str]]


def check_ids(arrays: Arrays, variables: Iterable[Variable], place: SamplePlace) -> None:
    """Every value of an integer input is a whole number in 0 .. range - 1 (float64 still)."""
    for variable in variables:
        if variable.dtype != "int":
            continue
        assert variable.range is not None
        values = arrays[variable.name].reshape(len(arrays[variable.name]), variable.size)
        bad = ~((values >= 0) & (values < variable.range) & (values == np.floor(values)))
        sample = first(bad.any(axis=1))
        if sample is not None:
            entry = int(np.argmax(bad[sample]))
            where, row = place(variable, sample, entry)
            raise DataError(where, f"{row}: {_id_problem(variable, entry, values[sample, entry])}")


def _id_problem(variable: Variable, entry: int, value: float) -> str:
    """`token = 1003 is outside 0..999 (range: 1000)`, `token[2] = 2.5 is not an integer id`."""
    index = np.unravel_index(entry, variable.shape) if variable.shape else ()
    name = f"{variable.name}[{', '.join(str(int(i)) for i in index)}]" if index else variable.name
    value = float(value)
    if not value.is_integer():
        return f"{name} = {value!r} is not an integer id (range: {variable.range})"
    assert variable.range is not None
    return f"{name} = {int(value)} is outside 0..{variable.range - 1} (range: {variable.range})"
