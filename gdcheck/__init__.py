"""gdcheck: exact gradients from a YAML spec, verified with Hypothesis.

    import gdcheck
    spec = gdcheck.load("specs/logistic.yaml")
    problem = gdcheck.compile(spec)
    problem.gradient(problem.pack({"w": [1, 2], "b": 0.5}))

Names are imported when first used, so `import gdcheck` and
`from gdcheck import check_gradient` stay light (no SymPy, Hypothesis or matplotlib
until something needs them).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from .errors import (
    DataError,
    ExpressionError,
    GdcheckError,
    GradientInconclusive,
    GradientMismatch,
    GradientWarning,
    LimitError,
    SpecError,
    UsageError,
)

# public name -> (module, attribute), imported on first use
_LAZY = {
    "GradientCheck": ("gradcheck", "GradientCheck"),
    "assert_gradient": ("gradcheck", "assert_gradient"),
    "check_gradient": ("gradcheck", "check_gradient"),
    "Problem": ("compiled", "Problem"),
    "compile": ("compiled", "compile_spec"),
    "Spec": ("spec", "Spec"),
    "load": ("spec", "load"),
    "Verification": ("results", "Verification"),
    "compare": ("verify", "compare"),
    "strategies": ("strategies", None),
}

__all__ = [
    "DataError", "ExpressionError", "GdcheckError", "GradientCheck", "GradientInconclusive",
    "GradientMismatch", "GradientWarning", "LimitError", "Problem", "Spec", "SpecError",
    "UsageError", "Verification",
    "assert_gradient", "check_gradient", "compare", "compile", "load", "verify",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gdcheck' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"verify"})


class _Package(types.ModuleType):
    """`gdcheck.verify` is the function, although a submodule has the same name: importing
    the submodule would otherwise rebind the package's attribute to the module."""

    @property
    def verify(self) -> Any:
        from .verify import verify

        return verify

    @verify.setter
    def verify(self, value: Any) -> None:
        pass  # the import system setting the submodule: the function stays the attribute


sys.modules[__name__].__class__ = _Package
