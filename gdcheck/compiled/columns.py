"""A supervised spec's data as the compiled functions take it: one float column (n,) per
scalar of each input and of the target, row-major, all stored once in one block."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..spec import Spec


class DataColumns:
    """The data block: `columns` (rows of one C-contiguous array, so elementwise code is fast),
    `arrays` (name → (n, *shape) views of the same memory) and `samples` (n; 1 with no data)."""

    def __init__(self, spec: Spec, data: Mapping[str, np.ndarray]):
        self.samples = len(next(iter(data.values()))) if data else 1
        variables = [*spec.inputs, spec.target] if data and spec.target is not None else []
        columns = columns_of(variables, data)
        if not columns:
            self.columns: list[np.ndarray] = []
            self.arrays: dict[str, np.ndarray] = dict(data)
            return
        block = np.stack(columns)  # (columns, n)
        self.columns = list(block)
        self.arrays, start = {}, 0
        for variable in variables:
            stop = start + variable.size
            self.arrays[variable.name] = block[start:stop].T.reshape((block.shape[1],)
                                                                     + variable.shape)
            start = stop

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}{list(array.shape)}" for name, array in self.arrays.items())
        return f"DataColumns({shapes or 'no data'})"


def columns_of(variables: Iterable[Any], data: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """The data as one float column (n,) per scalar of each variable, row-major."""
    columns: list[np.ndarray] = []
    for variable in variables:
        array = np.asarray(data[variable.name], dtype=float)
        flat = array.reshape(len(array), -1)
        columns.extend(flat[:, j] for j in range(flat.shape[1]))
    return columns
