"""gdcheck: exact gradients from a YAML spec, verified with Hypothesis.

    import gdcheck
    spec = gdcheck.load("specs/logistic.yaml")
    problem = gdcheck.compile(spec)
    problem.gradient(problem.pack({"w": [1, 2], "b": 0.5}))
"""

from .compiled import Problem
from .compiled import compile_spec as compile
from .errors import (
                     DataError,
                     ExpressionError,
                     GdcheckError,
                     GradientMismatch,
                     LimitError,
                     SpecError,
                     UsageError,
)
from .gradcheck import GradientCheck, assert_gradient, check_gradient
from .spec import Spec, load
from .verify import Verification, compare, verify

__all__ = [
    "DataError", "ExpressionError", "GdcheckError", "GradientCheck", "GradientMismatch",
    "LimitError", "Problem", "Spec", "SpecError", "UsageError", "Verification",
    "assert_gradient", "check_gradient", "compare", "compile", "load", "verify",
]
__version__ = "0.1.0"
