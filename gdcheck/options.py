"""Option values as people type them (`--seed 3`, `--memory 4G`, `--timeout 0`), shared by
the command line and the pytest plugin. Each raises argparse.ArgumentTypeError with the fix
in its message, which argparse (and pytest's option parser) shows as the option's error."""

from __future__ import annotations

import argparse

from . import defaults


def natural(text: str) -> int:
    """A whole number >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"got {_short(text)}, expected a whole number >= 0")
    return int(text)


def positive(text: str) -> int:
    """A whole number >= 1."""
    value = natural(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {_short(text)}, expected a whole number >= 1")
    return value


def examples(text: str) -> int:
    """A count of examples, 1 … defaults.MAX_EXAMPLES (a 400-digit count ran forever)."""
    value = positive(text)
    if value > defaults.MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(
            f"got {_short(text)}, expected at most {defaults.MAX_EXAMPLES:,} examples")
    return value


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "…"


def seconds(text: str) -> float | None:
    """Seconds >= 0; 0 means no limit (None)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= defaults.MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"got {_short(text)}, expected seconds from 0 to "
                                         f"{defaults.MAX_SECONDS:g} (0: no limit)")
    return value or None


def memory(text: str) -> int | None:
    """A size such as 4G or 512M in bytes; 0 means no limit (None)."""
    if text.strip() == "0":
        return None
    try:
        size = parse_size(text)
    except (ValueError, IndexError, OverflowError):
        raise argparse.ArgumentTypeError(f"got {_short(text)}, expected a size such as 4G or "
                                         "512M (0: no limit)") from None
    if size > defaults.MAX_MEMORY:
        raise argparse.ArgumentTypeError(f"got {_short(text)}, expected at most "
                                         f"{size_text(defaults.MAX_MEMORY)} (0: no limit)")
    return size


def parse_size(text: str) -> int:
    """'4G', '512M', '2048' (MiB) → bytes."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = units.get(text[-1:], None)
    number = text[:-1] if factor else text
    value = float(number) * (factor or 1024**2)
    if not value > 0:
        raise ValueError(text)
    return int(value)


def size_text(size: int | None) -> str:
    """Bytes as people read them: '4 GiB', '512 MiB', or 'unlimited'."""
    if size is None:
        return "unlimited"
    return f"{size / 1024**3:g} GiB" if size >= 1024**3 else f"{size / 1024**2:g} MiB"
