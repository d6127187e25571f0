"""Hypothesis strategies for points and initialisations (the public home of
`gdcheck.checks.strategies`)::

    from hypothesis import given
    import gdcheck
    from gdcheck.strategies import points

    @given(points(-2, 2, shape=(3,)))
    def test_my_gradient(x):
        gdcheck.assert_gradient(my_loss, my_gradient, x)
"""

from .checks.strategies import initialisations, parameter_values, points

__all__ = ["initialisations", "parameter_values", "points"]
