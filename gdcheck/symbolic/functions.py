"""The functions of the spec language, and every table about them, derived from their classes.

Each function is one class that carries all it needs: its name in the spec language
(`spec_name`), its arity, how it builds SymPy values from shaped arguments (`build`), its
float version for constant folding (`fold`, scalar functions only) and, for gdcheck's own
SymPy functions, its numpy code, derivative (`fdiff`) and kinks. The bases are in
`language.py`; the functions in `elementwise.py` (scalar functions) and `reductions.py`
(functions of whole values).

To add a function: write its class in one of those two modules; it registers itself
when defined. Then the tests ask for what lives outside the package: its name in
`FUNCTION_NAMES` (gdcheck/spec/vocabulary.py, which stays free of SymPy), one oracle line
in tests/oracles.py and, for a scalar function, its fold's oracle in
tests/symbolic/test_expressions.py.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp

from ..spec.vocabulary import RESERVED_NAMES
from .elementwise import AbsoluteValue, Maximum, Minimum, Relu, Sigmoid, Sign, Softplus, Step
from .language import (
    CUSTOM,
    LANGUAGE,
    CustomFunction,
    Elementwise,
    Function,
    Value,
    shape_text,
    value_of,
)
from .reductions import LogSumExp
from .selections import COMPARISONS, Lookup, Where
from .windows import AvgPool, Conv1d, Conv2d, MaxPool

__all__ = [
    "CONSTANTS", "FUNCTIONS", "KINKS", "NUMPY_NAMESPACE", "RESERVED_NAMES", "SYMPY_EQUIVALENTS",
    "AbsoluteValue", "CustomFunction", "Function", "LogSumExp", "Maximum", "Minimum", "Relu",
    "Sigmoid", "Sign", "Softplus", "Step", "Value", "shape_text", "value_of",
    "COMPARISONS", "Lookup", "Where", "AvgPool", "Conv1d", "Conv2d", "MaxPool",
]

# The language's table of functions: spec name → its class (`arity`, `build`, `fold`).
FUNCTIONS: dict[str, type[Function]] = dict(LANGUAGE)

CONSTANTS: dict[str, tuple[Any, float]] = {"pi": (sp.pi, math.pi), "e": (sp.E, math.e)}

# Where each non-smooth function is not differentiable: the expressions that are zero there.
KINKS: dict[type, Any] = {cls: cls.kinks for cls in CUSTOM if cls.kinks is not None}

# SymPy makes its own Abs and sign from real expressions (sqrt(a**2) is Abs(a)); these are
# swapped for ours, whose derivatives stay free of DiracDelta and which print as the spec does.
SYMPY_EQUIVALENTS: dict[Any, type] = {cls.replaces: cls for cls in CUSTOM
                                      if cls.replaces is not None}


def _numpy_namespace() -> dict[str, Any]:
    """The helpers generated numpy code calls: gdcheck_<name> for our SymPy functions, and
    SymPy's own name for a builtin whose numpy code is ours."""
    namespace = {f"gdcheck_{cls.spec_name}": cls.numpy for cls in CUSTOM}
    for row in FUNCTIONS.values():
        if issubclass(row, Elementwise) and row.sympy is not None and row.numpy is not None:
            namespace[row.sympy.__name__] = row.numpy
    return namespace


NUMPY_NAMESPACE: dict[str, Any] = _numpy_namespace()
