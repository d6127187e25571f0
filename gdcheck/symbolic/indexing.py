"""Index and window arithmetic shared by the graph, its derivatives and the generated code.

An index item is an integer (the axis is dropped) or a slice `(start, stop, step)`,
normalised against the axis' length: start in range, stop None where a backward slice
runs past the first entry. Tuples, not `slice` objects, so graph nodes stay hashable.
A window (`patches`) is a kernel size, a stride and a zero padding per spatial axis.
"""

from __future__ import annotations

from typing import Any

Item = int | tuple[int, int | None, int]


def normal_slice(start: int | None, stop: int | None, step: int | None, size: int
                 ) -> tuple[int, int | None, int]:
    """A slice of an axis of `size` as (start, stop, step), stop None past the front."""
    first, last, stride = slice(start, stop, step).indices(size)
    return first, (None if last < 0 else last), stride


def python_index(items: tuple[Item, ...]) -> tuple[Any, ...]:
    """The items as a numpy index (ints and slice objects)."""
    return tuple(item if isinstance(item, int) else slice(*item) for item in items)


def indexed_shape(shape: tuple[int, ...], items: tuple[Item, ...]) -> tuple[int, ...]:
    kept = []
    for item, size in zip(items, shape, strict=False):
        if not isinstance(item, int):
            kept.append(len(range(size)[slice(*item)]))
    return tuple(kept) + tuple(shape[len(items):])


def index_text(items: tuple[Item, ...]) -> str:
    """The index as a spec (and numpy) writes it: `1, 0:3, ::-1`."""
    parts = []
    for item in items:
        if isinstance(item, int):
            parts.append(str(item))
            continue
        start, stop, step = item
        text = f"{start}:{'' if stop is None else stop}"
        parts.append(text if step == 1 else f"{text}:{step}")
    return ", ".join(parts)


def window_shape(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...]) -> tuple[int, ...]:
    """The output positions along each spatial axis; ValueError if the kernel does not fit."""
    out = []
    for size, k, s, p in zip(spatial, kernel, stride, padding, strict=True):
        if size + 2 * p < k:
            raise ValueError(f"a window of {k} does not fit an axis of {size}"
                             + (f" padded by {p} on each side" if p else ""))
        out.append((size + 2 * p - k) // s + 1)
    return tuple(out)


def window_slices(offset: tuple[int, ...], stride: tuple[int, ...],
                  positions: tuple[int, ...]) -> tuple[slice, ...]:
    """Where the entry at `offset` of every window lies, along each spatial axis."""
    return tuple(slice(o, o + s * (count - 1) + 1, s)
                 for o, s, count in zip(offset, stride, positions, strict=True))
