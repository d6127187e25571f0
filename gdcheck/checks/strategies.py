"""Hypothesis strategies for points and initialisations.

`initialisations(spec)` draws a flat θ whose every parameter lies in the range
of its declared `init` (for `normal(m, s)`: m ± 4s), never NaN or infinite.
`points(low, high, shape)` is the same for any array, for users' own tests:

    from hypothesis import given
    import gdcheck
    from gdcheck.strategies import points

    @given(points(-2, 2, shape=(3,)))
    def test_my_gradient(x):
        gdcheck.assert_gradient(my_loss, my_gradient, x)
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..compiled.layout import ParameterLayout
from ..spec import Spec, Variable


def points(low: float = -10.0, high: float = 10.0, shape: int | tuple[int, ...] = ()
           ) -> st.SearchStrategy[np.ndarray]:
    """Float64 arrays of `shape` with every entry in [low, high], never NaN or infinite."""
    if low == high:
        return st.just(np.full(shape, float(low)))
    elements = st.floats(min_value=float(low), max_value=float(high), allow_nan=False,
                         allow_infinity=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=elements)


def parameter_values(parameter: Variable) -> st.SearchStrategy[np.ndarray]:
    """Values of one declared parameter, drawn from the range of its `init`."""
    low, high = parameter.init.bounds()
    return points(low, high, parameter.shape)


def initialisations(spec: Spec) -> st.SearchStrategy[np.ndarray]:
    """Flat θ vectors (P,), in declaration order, each parameter within its init range."""
    parts = [parameter_values(p) for p in spec.parameters]
    return st.tuples(*parts).map(ParameterLayout(spec.parameters).join)
