"""Hypothesis strategies for points and initialisations.

`initialisations(spec)` draws a flat θ whose every parameter lies in the range
of its declared `init` (for `normal(m, s)`: m ± 4s), never NaN or infinite; a parameter
of more than 64 entries is sampled from its `init` by a seed Hypothesis draws.
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


ENTRY_DRAWS = 64   # parameters up to this many entries are drawn entry by entry


def parameter_values(parameter: Variable) -> st.SearchStrategy[np.ndarray]:
    """Values of one declared parameter, drawn from the range of its `init`.

    Up to ENTRY_DRAWS entries, Hypothesis draws (and shrinks) every entry. A larger one (a
    weight matrix) is drawn from its `init` distribution, clipped to that range, by a
    numpy generator whose seed Hypothesis draws: drawing 50,000 floats per example, and
    shrinking them one by one, would cost far more than the check."""
    low, high = parameter.init.bounds()
    if parameter.size <= ENTRY_DRAWS or low == high:
        return points(low, high, parameter.shape)

    def sampled(seed: int) -> np.ndarray:
        # the name in the seed: two parameters drawn with one seed still differ
        rng = np.random.default_rng([seed, *parameter.name.encode()])
        values = parameter.init.sample(rng, parameter.shape)
        return np.clip(values, low, high)

    return st.integers(0, 2**32 - 1).map(sampled)


def initialisations(spec: Spec) -> st.SearchStrategy[np.ndarray]:
    """Flat θ vectors (P,), in declaration order, each parameter within its init range."""
    parts = [parameter_values(p) for p in spec.parameters]
    return st.tuples(*parts).map(ParameterLayout(spec.parameters).join)
