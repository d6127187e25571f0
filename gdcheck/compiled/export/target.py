"""What a target of `gdcheck export` (numpy, torch) gives the exported module: its imports,
the code of every name the generated functions call, its constants and its public functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ...errors import UsageError

# The part of the public interface both targets share: each argument checked against the
# declared shapes, with a message naming it. `_array` is the target's own.
ARGUMENTS = '''
def _arguments(params, data):
    """The generated functions' arguments: the parameters, the data, then n."""
    data = {} if data is None else data
    _known("params", params, PARAMETERS)
    _known("data", data, DATA)
    values = []
    for name, shape in PARAMETERS.items():
        value = _array(params[name])
        if tuple(value.shape) != shape:
            raise ValueError(f"params[{name!r}] has shape {tuple(value.shape)}, expected "
                             f"{shape}")
        values.append(value)
    arrays = []
    for name, shape in DATA.items():
        array = _array(data[name])
        if tuple(array.shape[1:]) != shape or array.ndim != len(shape) + 1:
            rows = f"(n, {', '.join(map(str, shape))})" if shape else "(n,)"
            raise ValueError(f"data[{name!r}] has shape {tuple(array.shape)}, expected "
                             f"{rows}: one row per sample")
        arrays.append(array)
    n = len(arrays[0]) if arrays else 1
    if n == 0 or any(len(array) != n for array in arrays):
        raise ValueError("the data must have the same number of rows (samples), at least 1; "
                         f"got {', '.join(f'{k}: {len(a)}' for k, a in zip(DATA, arrays))}")
    return (*values, *arrays, n)


def _known(what, given, declared):
    unknown = sorted(set(given) - set(declared))
    missing = [name for name in declared if name not in given]
    if unknown or missing:
        raise ValueError(f"{what} must have exactly the keys {list(declared)}; "
                         f"missing {missing}, unknown {unknown}")
'''


@dataclass(frozen=True)
class Target:
    """One language an objective can be exported to.

    `reference` gives the code for a name the generated functions call (`exp` → `np.exp`)
    or None if the target has none; `definitions` the module-level source of those names
    that must be written into the module (helpers), and `imports` the import lines
    their sources need besides the target's own."""

    name: str
    array: str                     # what the docstring calls an argument: "array", "tensor"
    imports: Callable[[str], list[str]]   # the module's imports, given the helpers' source
    reference: Callable[[str], str | None]
    definitions: Callable[[Iterable[str]], list[str]]
    constant: Callable[[np.ndarray], str]   # code making the constant's value
    interface: str                 # the public functions and `_array`
    usage: str                     # how the public functions are called (docstring lines)
    helpers_heading: str           # the comment above the helpers

    def resolve(self, name: str) -> str:
        code = self.reference(name)
        if code is None:
            raise UsageError(f"cannot export to {self.name}: the generated code calls "
                             f"'{name}', which has no {self.name} translation yet; "
                             "export to numpy instead")
        return code


def python_literal(values: np.ndarray) -> str:
    """Nested lists of floats that read back exactly: the repr of each, `float('inf')` for
    an infinity."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        value = float(array)
        return repr(value) if np.isfinite(value) else f"float('{value}')"
    return "[" + ", ".join(python_literal(row) for row in array) + "]"
