"""What a function of the spec language is: the base classes every function's class extends.

`Function` is one function of the language; a subclass that sets `spec_name` registers
itself in `LANGUAGE`. `Elementwise`, `Reduction` and `VectorMap` hold the shared
behaviour of each kind. `CustomFunction` is a `sympy.Function` of gdcheck's own (for what
SymPy lacks, or has in an unhelpful form); each registers itself in `CUSTOM`.
`gdcheck.symbolic.functions` derives every table from these two registries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import mpmath
import numpy as np
import sympy as sp

Value = np.ndarray  # object array of SymPy scalars, ndim 0, 1 or 2


def value_of(item: Any) -> Value:
    """Wrap a SymPy scalar (or pass an object array through) as a Value."""
    if isinstance(item, np.ndarray):
        return item
    value = np.empty((), dtype=object)
    value[()] = item
    return value


def shape_text(value: Value) -> str:
    return f"[{', '.join(str(d) for d in value.shape)}]"


# ----------------------------------------------------------------- the language's functions


class Function:
    """One function of the language: its arity, how to build it and (if scalar) fold it."""

    spec_name: ClassVar[str] = ""    # the name a spec calls it by; bases leave it unset
    arity: ClassVar[int] = 1
    build: ClassVar[Callable[..., Value]]   # shaped arguments (Values) → Value
    fold: ClassVar[Callable[..., float] | None] = None   # float version, for constant folding
    signature: ClassVar[str] = ""
    # keyword → its kind (keywords.py): literal values only, for these functions alone
    keywords: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec_name" not in vars(cls):
            return  # a base for the shared behaviour, not a function of its own
        if cls.spec_name in LANGUAGE:
            raise TypeError(f"two functions are named {cls.spec_name!r}")
        if not hasattr(cls, "build"):
            raise TypeError(f"{cls.__name__} says nothing about how to build it")
        LANGUAGE[cls.spec_name] = cls


LANGUAGE: dict[str, type[Function]] = {}   # spec name → class, in the order defined


class Elementwise(Function):
    """A scalar function applied to every element; two arguments broadcast like numpy's."""

    sympy: ClassVar[Any] = None   # its SymPy function; None: the class is its own
    numpy: ClassVar[Callable[..., Any] | None] = None   # code for a SymPy name numpy lacks

    @classmethod
    def build(cls, *values: Value) -> Value:
        function = cls if cls.sympy is None else cls.sympy
        return value_of(np.frompyfunc(function, cls.arity, 1)(*values))


class Reduction(Function):
    """The elements of one value combined into a scalar: all of them, or along `axis`
    (one axis or a tuple; `keepdims` keeps them as axes of length one)."""

    keywords = {"axis": "axes", "keepdims": "flag"}

    @staticmethod
    def combine(items: list[Any]) -> Any:
        """The elements (SymPy scalars) → one SymPy scalar."""
        raise NotImplementedError

    @classmethod
    def build(cls, value: Value, axis: tuple[int, ...] | None = None, keepdims: bool = False,
              **options: Any) -> Value:
        from .keywords import axes_of  # keywords.py reads the ast; it needs nothing here

        if value.size == 0:
            raise ValueError(f"cannot reduce an empty value of shape {shape_text(value)}")
        axes = axes_of(axis, value.ndim)
        kept = tuple(size for i, size in enumerate(value.shape) if i not in axes)
        moved = np.moveaxis(value, axes, tuple(range(-len(axes), 0))) if axes else value
        rows = moved.reshape(kept + (-1,))
        result = np.empty(kept, dtype=object)
        for index in np.ndindex(kept):
            result[index] = cls.combine(list(rows[index]), **options)
        if keepdims:
            result = result.reshape(tuple(1 if i in axes else size
                                          for i, size in enumerate(value.shape)))
        return value_of(result) if result.ndim else value_of(result[()])


class VectorMap(Function):
    """A vector to a vector of the same length; along `axis` (the last by default) of a
    value of any rank."""

    keywords = {"axis": "axes"}

    @staticmethod
    def transform(items: list[Any]) -> list[Any]:
        raise NotImplementedError

    @classmethod
    def build(cls, value: Value, axis: tuple[int, ...] = (-1,)) -> Value:
        from .keywords import axes_of

        if value.ndim == 0:
            raise ValueError(f"expected a vector, got shape {shape_text(value)}")
        if len(axis) != 1:
            raise ValueError(f"{cls.spec_name} works along one axis, got axis={axis}")
        (along,) = axes_of(axis, value.ndim)
        moved = np.moveaxis(value, along, -1)
        result = np.empty(moved.shape, dtype=object)
        for index in np.ndindex(moved.shape[:-1]):
            for k, item in enumerate(cls.transform(list(moved[index]))):
                result[index + (k,)] = item
        return np.moveaxis(result, -1, along)


# ----------------------------------------------------------------- gdcheck's SymPy functions


class CustomFunction(sp.Function):
    """A SymPy function printed under its spec-language name, with its numpy code and kinks.

    A subclass gives `spec_name` (and `latex_name`), `mpmath` (its value, for evalf),
    `numpy` (called from generated code as `gdcheck_<spec_name>`) and `fdiff`; a
    non-smooth one gives `kinks`, and one SymPy makes by itself gives `replaces`.
    """

    spec_name: ClassVar[str] = ""
    latex_name: ClassVar[str] = ""
    numpy: ClassVar[Callable[..., Any] | None] = None
    # the expressions that are zero where it is not differentiable, given its arguments
    kinks: ClassVar[Callable[..., list[Any]] | None] = None
    # SymPy's own version, which SymPy makes from real expressions (sqrt(a**2) is Abs(a))
    replaces: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.numpy is None:
            raise TypeError(f"{cls.__name__} has no numpy code")
        CUSTOM.append(cls)

    def _eval_is_real(self) -> bool | None:
        return True if all(arg.is_real for arg in self.args) else None

    def _sympystr(self, printer: Any) -> str:
        return f"{self.spec_name}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return rf"{self.latex_name or self.spec_name}\left({inner}\right)"

    def _numpycode(self, printer: Any) -> str:
        return f"gdcheck_{self.spec_name}({', '.join(printer._print(a) for a in self.args)})"

    def _eval_evalf(self, prec: int) -> sp.Float | None:
        """Numeric value (for constants and for readers who substitute numbers)."""
        numbers = [arg if arg.is_Number else arg._eval_evalf(prec) for arg in self.args]
        if any(number is None or not number.is_Number for number in numbers):
            return None  # exact numbers (an Integer 0 too) are fine; symbols are not
        with mpmath.workprec(prec):  # every step, the result's rounding too, at `prec` bits
            value = mpmath.mpf(self.mpmath(*[number._to_mpmath(prec) for number in numbers]))
            return sp.Float._new(value._mpf_, prec)

    @staticmethod
    def mpmath(*args: Any) -> Any:
        raise NotImplementedError


CUSTOM: list[type[CustomFunction]] = []   # in the order defined
