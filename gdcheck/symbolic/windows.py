"""Convolutions and pooling: windows of the spatial axes, contracted or reduced.

A value with channels has them first: (channels, length) for `conv1d`, (channels, height,
width) for `conv2d`; a kernel is (out channels, in channels, *kernel). Both are one
`patches` node (every window, as (channels, *kernel, *positions)) and one contraction
with the kernel, so a convolution's derivative is a contraction and the adjoint of
`patches` (its windows added back); `max_pool` and `avg_pool` are a max and a mean over
the kernel axes of the patches. Like PyTorch's `conv1d`/`conv2d`, the kernel is not
flipped (a cross-correlation). The functions below build the same values entry by entry
(`patches_of`), for `derive --scalar` and the per-entry oracle.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

from .elementwise import Maximum
from .indexing import window_shape, window_slices
from .keywords import per_axis
from .language import Function, Value, shape_text

_KERNEL_LETTERS = "abc"


def patches_of(value: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
               padding: tuple[int, ...]) -> np.ndarray:
    """(C, *spatial) object array → (C, *kernel, *positions), zeros where padded."""
    d = len(kernel)
    padded = np.pad(value, [(0, 0)] + [(p, p) for p in padding], constant_values=sp.S.Zero) \
        if any(padding) else value
    positions = window_shape(value.shape[1:], kernel, stride, padding)
    result = np.empty((value.shape[0], *kernel, *positions), dtype=object)
    for offset in np.ndindex(*kernel):
        where = window_slices(offset, stride, tuple(positions))
        result[(slice(None), *offset)] = padded[(slice(None), *where)]
    assert result.ndim == 1 + 2 * d
    return result


def unpatches_of(g: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, ...],
                 stride: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    """The adjoint of `patches_of`: each window's entries added back where they came from."""
    padded = np.empty((shape[0], *(size + 2 * p for size, p in zip(shape[1:], padding,
                                                                   strict=True))), dtype=object)
    padded[...] = sp.S.Zero
    positions = g.shape[1 + len(kernel):]
    for offset in np.ndindex(*kernel):
        where = window_slices(offset, stride, tuple(positions))
        padded[(slice(None), *where)] = padded[(slice(None), *where)] + g[(slice(None),
                                                                            *offset)]
    inner = tuple(slice(p, p + size) for p, size in zip(padding, shape[1:], strict=True))
    return padded[(slice(None), *inner)]


def spatial_axes(name: str, x_shape: tuple[int, ...], count: int | None = None) -> int:
    """How many spatial axes a (channels, *spatial) value has, checked."""
    rank = len(x_shape)
    if count is not None and rank != count + 1:
        form = "(channels, length)" if count == 1 else "(channels, height, width)"
        raise ValueError(f"{name} takes a value of shape {form}, got {list(x_shape)}")
    if count is None and not 2 <= rank <= 4:
        raise ValueError(f"{name} takes a value of shape (channels, length) or (channels, "
                         f"height, width), got {list(x_shape)}")
    return rank - 1


def conv_settings(name: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...], d: int,
                  keywords: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    """(kernel, stride, padding) of a convolution, each checked against the shapes."""
    spatial_axes(name, x_shape, d)
    if len(w_shape) != d + 2 or w_shape[1] != x_shape[0]:
        axes = "k" if d == 1 else "kh, kw"
        raise ValueError(f"{name} needs a kernel of shape (out channels, {x_shape[0]}, "
                         f"{axes}) for an input of shape {list(x_shape)}, got "
                         f"{list(w_shape)}")
    kernel = tuple(w_shape[2:])
    stride = per_axis(keywords.get("stride", (1,)), d, "stride")
    padding = per_axis(keywords.get("padding", (0,)), d, "padding")
    window_shape(x_shape[1:], kernel, stride, padding)
    return kernel, stride, padding


def pool_settings(name: str, x_shape: tuple[int, ...], keywords: dict[str, Any]
                  ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    d = spatial_axes(name, x_shape)
    if "size" not in keywords:
        raise ValueError(f"{name} needs the window's size, like {name}(x, size=2)")
    size = per_axis(keywords["size"], d, "size")
    stride = per_axis(keywords.get("stride", size), d, "stride")
    window_shape(x_shape[1:], size, stride, (0,) * d)
    return size, stride


def _conv_subscripts(d: int) -> str:
    kernel, positions = _KERNEL_LETTERS[:d], "hwz"[:d]
    return f"oc{kernel},c{kernel}{positions}->o{positions}"


class _Convolution(Function):
    arity = 2
    dimensions = 1
    keywords = {"stride": "window", "padding": "padding"}

    @classmethod
    def build(cls, x: Value, w: Value, **keywords: Any) -> Value:
        kernel, stride, padding = conv_settings(cls.spec_name, x.shape, w.shape,
                                                cls.dimensions, keywords)
        windows = patches_of(x, kernel, stride, padding)
        size = math.prod(kernel) * x.shape[0]
        columns = windows.reshape(size, -1)
        rows = w.reshape(w.shape[0], size)
        if rows.shape[0] * columns.shape[1] * size > 10**5:
            raise ValueError("this convolution would write out more than 100,000 terms one "
                             "by one (as constants and `derive --scalar` are built)")
        result = np.empty((rows.shape[0], columns.shape[1]), dtype=object)
        for o in range(rows.shape[0]):
            for p in range(columns.shape[1]):
                result[o, p] = sp.Add(*[a * b for a, b in zip(rows[o], columns[:, p],
                                                                strict=True)])
        return result.reshape((w.shape[0], *windows.shape[1 + cls.dimensions:]))

    @classmethod
    def graph(cls, graph: Any, x: Any, w: Any, **keywords: Any) -> Any:
        kernel, stride, padding = conv_settings(cls.spec_name, x.shape, w.shape,
                                                cls.dimensions, keywords)
        windows = graph.patches(x, kernel, stride, padding)
        return graph.contract(w, windows, _conv_subscripts(cls.dimensions))


class Conv1d(_Convolution):
    spec_name, dimensions = "conv1d", 1


class Conv2d(_Convolution):
    spec_name, dimensions = "conv2d", 2


class _Pool(Function):
    keywords = {"size": "window", "stride": "window"}

    @staticmethod
    def combine(items: list[Any]) -> Any:
        raise NotImplementedError

    @classmethod
    def build(cls, x: Value, **keywords: Any) -> Value:
        size, stride = pool_settings(cls.spec_name, x.shape, keywords)
        windows = patches_of(x, size, stride, (0,) * len(size))
        moved = np.moveaxis(windows, tuple(range(1, 1 + len(size))),
                            tuple(range(-len(size), 0)))
        rows = moved.reshape(moved.shape[:1 + len(size)] + (-1,))
        result = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(result.shape):
            result[index] = cls.combine(list(rows[index]))
        return result

    @classmethod
    def graph(cls, graph: Any, x: Any, **keywords: Any) -> Any:
        raise NotImplementedError


class MaxPool(_Pool):
    spec_name = "max_pool"
    combine = staticmethod(lambda items: functools.reduce(Maximum, items))

    @classmethod
    def graph(cls, graph: Any, x: Any, **keywords: Any) -> Any:
        size, stride = pool_settings(cls.spec_name, x.shape, keywords)
        windows = graph.patches(x, size, stride, (0,) * len(size))
        return graph.reduce("max", windows, tuple(range(1, 1 + len(size))))


class AvgPool(_Pool):
    spec_name = "avg_pool"
    combine = staticmethod(lambda items: sp.Add(*items) / len(items))

    @classmethod
    def graph(cls, graph: Any, x: Any, **keywords: Any) -> Any:
        from .tensor import symbols

        size, stride = pool_settings(cls.spec_name, x.shape, keywords)
        windows = graph.patches(x, size, stride, (0,) * len(size))
        total = graph.sum(windows, tuple(range(1, 1 + len(size))))
        return graph.map(symbols(1)[0] / math.prod(size), (total,))


__all__ = ["AvgPool", "Conv1d", "Conv2d", "MaxPool", "patches_of", "shape_text",
           "unpatches_of"]
