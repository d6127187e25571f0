"""Reading specs: YAML → frozen dataclasses with the file and line of every field.

This stage never imports SymPy: `gdcheck.load` and the pytest plugin's
collection stay cheap. `load(path)` and `parse(text, path)` raise SpecError.
"""

from .model import (
    CHECK_KEYS,
    Checks,
    ConvergenceCheck,
    CsvData,
    DataSource,
    DescentCheck,
    Expect,
    GenerateData,
    InlineData,
    NpzData,
    Optimizer,
    Spec,
    Text,
    ToleranceCheck,
    Variable,
)
from .reader import FORMAT_VERSION, MAX_SCALARS, OPTIMIZER_METHODS, expression, load, parse

__all__ = [
    "CHECK_KEYS", "FORMAT_VERSION", "MAX_SCALARS", "OPTIMIZER_METHODS", "Checks",
    "ConvergenceCheck", "CsvData", "DataSource", "DescentCheck", "Expect", "GenerateData",
    "InlineData", "NpzData", "Optimizer", "Spec", "Text", "ToleranceCheck", "Variable",
    "expression", "load", "parse",
]
