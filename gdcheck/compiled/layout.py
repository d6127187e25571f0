"""The parameter vector θ: the parameters in declaration order, each flattened row-major.

The one implementation of θ's layout: names (`w[0]`, `W[1,2]`, `b`), packing
and unpacking, and a point as people read it. Every stage that turns θ into
named values, or named values into θ, goes through a `ParameterLayout`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import UsageError
from ..spec import Variable


class ParameterLayout:
    """Where each declared parameter sits in θ."""

    def __init__(self, parameters: Sequence[Variable]):
        self.parameters = tuple(parameters)
        self.size = sum(p.size for p in self.parameters)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{p.name}{list(p.shape)}" for p in self.parameters)
        return f"ParameterLayout({shapes}; P={self.size})"

    @cached_property
    def names(self) -> tuple[str, ...]:
        """One name per entry of θ: `b`, `w[0]`, `W[1,2]`."""
        return tuple(p.name if not p.shape else f"{p.name}[{','.join(map(str, index))}]"
                     for p in self.parameters for index in np.ndindex(p.shape or (1,)))

    def join(self, values: Sequence[Any]) -> np.ndarray:
        """θ from one array per parameter, in declaration order, each of its shape (with a
        common leading batch shape, for a batch θ)."""
        arrays = [np.asarray(value, dtype=float) for value in values]
        if not arrays:
            return np.zeros(0)
        batch = arrays[0].shape[:arrays[0].ndim - len(self.parameters[0].shape)]
        return np.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)

    def pack(self, values: Mapping[str, Any]) -> np.ndarray:
        """θ from a mapping of parameter name → value of its declared shape."""
        unknown = sorted(set(values) - {p.name for p in self.parameters})
        if unknown:
            raise UsageError(f"pack: unknown parameter(s) {', '.join(unknown)}; expected "
                             f"{', '.join(p.name for p in self.parameters)}")
        arrays = []
        for parameter in self.parameters:
            if parameter.name not in values:
                raise UsageError(f"pack: missing parameter '{parameter.name}'")
            value = np.asarray(values[parameter.name], dtype=float)
            if value.shape != parameter.shape:
                raise UsageError(f"pack: parameter '{parameter.name}' has shape "
                                 f"{list(parameter.shape)}, got {list(value.shape)}")
            arrays.append(value)
        return self.join(arrays)

    def unpack(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter name → array of its declared shape (with a leading K for a batch θ)."""
        theta = self.checked(theta)
        result, start = {}, 0
        for parameter in self.parameters:
            stop = start + parameter.size
            result[parameter.name] = theta[..., start:stop].reshape(theta.shape[:-1]
                                                                     + parameter.shape)
            start = stop
        return result

    def checked(self, theta: Any) -> np.ndarray:
        """θ as a float array of shape (P,) or (K, P); a UsageError naming the layout if not."""
        theta = np.asarray(theta, dtype=float)
        if theta.ndim not in (1, 2) or theta.shape[-1] != self.size:
            raise UsageError(f"theta must have shape ({self.size},) or (K, {self.size}) for "
                             f"parameters {', '.join(self.names)}; got {theta.shape}")
        return theta

    def point(self, theta: np.ndarray) -> dict[str, Any]:
        """θ as parameter name → value (number or nested list), for reports."""
        return {name: value.tolist() for name, value in self.unpack(theta).items()}

    def point_text(self, theta: np.ndarray) -> str:
        """θ as people read it: `w=[0, 1.5], b=0`."""
        return ", ".join(f"{name}={_short(value)}" for name, value in self.point(theta).items())


SHOWN_ENTRIES = 20   # a parameter with more entries is summarised in messages


def _short(value: Any) -> str:
    array = np.asarray(value, dtype=float)
    if array.size > SHOWN_ENTRIES:
        shape = "×".join(map(str, array.shape))
        first = ", ".join(f"{v:.4g}" for v in array.reshape(-1)[:3])
        return (f"<{shape} values in [{array.min():.4g}, {array.max():.4g}], first {first}, "
                "...>")
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return f"{value:.6g}"
