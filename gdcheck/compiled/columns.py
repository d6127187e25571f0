"""A supervised spec's data as the generated code takes it: one C-contiguous float array per
input and for the target, (n, *declared shape), the sample axis first, each stored once."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..spec import Spec


class DataColumns:
    """`arrays` (name → (n, *shape)) and `samples` (n; 1 with no data)."""

    def __init__(self, spec: Spec, data: Mapping[str, np.ndarray]):
        self.samples = len(next(iter(data.values()))) if data else 1
        # C order: rows of samples are contiguous, as BLAS and numpy's loops like best
        self.arrays = {name: np.ascontiguousarray(array, dtype=float)
                       for name, array in data.items()}

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}{list(array.shape)}" for name, array in self.arrays.items())
        return f"DataColumns({shapes or 'no data'})"
