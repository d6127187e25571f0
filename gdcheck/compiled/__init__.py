"""Compiling a spec for numbers: generated numpy code, the θ layout, the data columns,
and `Problem`, the facade over them."""

from .layout import ParameterLayout
from .problem import Problem, compile_spec, model_function

__all__ = ["ParameterLayout", "Problem", "compile_spec", "model_function"]
