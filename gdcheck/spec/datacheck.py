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
