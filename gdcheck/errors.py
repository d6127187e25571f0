"""Every exception gdcheck raises, in one tree.

Each class says what causes it and how to fix it, and carries the exit status
the command line returns for it (`exit_code`): 2 for input a person must fix
(a bad spec, bad usage), 1 for a check that found a defect.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

# not printable ASCII: each is kept where Python prints it as itself (θ, σ), else escaped
_SUSPECT = re.compile("[^ -~]")
# what a CI runner reads as a command at a line's start (GitHub's `::error::` and `##[error]`,
# Azure's `##vso[`), after the leading spaces it trims
_CI_COMMAND = re.compile(r"^( *)(:(?=:)|#(?=#(?:vso)?\[))")


def printable(text: object) -> str:
    """Text from a spec or a file name made inert on one line of a terminal, a CI log or a
    report: every character Python does not print as itself (newline, tab, CR, the ESC of
    ANSI escapes, NUL, line separators, lone surrogates, bidi controls) is shown as its escape
    (`\\n`, `\\x1b`, `\\ud800`), and a CI command at the start (`::error`, `##[error]`)
    has its first character escaped (`\\x3a:error`). Other text (θ, σ) stays as it is."""
    shown = _SUSPECT.sub(_shown, str(text))
    return _CI_COMMAND.sub(lambda match: f"{match.group(1)}\\x{ord(match.group(2)):02x}",
                           shown, count=1)


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    return char if char.isprintable() else repr(char)[1:-1]


EXCERPT = 40   # characters of anything read (a value, a file's content) a message may quote


def excerpt(text: object, limit: int = EXCERPT) -> str:
    """At most `limit` characters of `text`, made printable, with '…' where it was cut: what
    a message may quote of anything gdcheck read (never a whole file's content)."""
    text = str(text)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return printable(cut)


LONGEST_WORD = 200   # characters of one unbroken run (a path, a value) in a message
_LONG_WORD = re.compile(r"\S{" + str(LONGEST_WORD + 1) + ",}")


def shortened(message: str) -> str:
    """A message with every unbroken run of more than LONGEST_WORD characters cut to that
    many and '…': a path of 5,000 characters read from a spec is named, not quoted whole."""
    return _LONG_WORD.sub(lambda match: match.group()[:LONGEST_WORD] + "…", message)


def did_you_mean(word: object, options: Iterable[str]) -> str:
    """' (did you mean 'learning_rate'?)' for the closest of `options`, or '' if none is close.
    A word that begins an option is its abbreviation (`eps` → `epsilon`, not `steps`); a word
    that is an option behind a prefix names something else (`arctan` is not `tan`, nor
    `tanh`): no suggestion then."""
    word, options = str(word), list(options)
    if any(word.endswith(o) and len(word) - len(o) >= 2 for o in options):
        return ""
    prefixed = [o for o in options if len(word) >= 2 and o.startswith(word)]
    close = prefixed or difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class GdcheckError(Exception):
    """Base of every gdcheck error."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where a value came from: the spec file, its line and the field path."""

    file: str
    line: int | None
    field: str

    def __str__(self) -> str:
        line = "" if self.line is None else f"{self.line}:"
        return shortened(f"{self.file}:{line} {self.field}")

    def child(self, name: str | int, line: int | None = None) -> Location:
        if not isinstance(name, int):
            name = excerpt(name)   # a key of 10 kB is shown as its first 40 characters
        field = f"{self.field}[{name}]" if isinstance(name, int) else (
            f"{self.field}.{name}" if self.field else name
        )
        return Location(self.file, self.line if line is None else line, field)


class SpecError(GdcheckError):
    """The spec file is not valid: the message names the file, line and field.

    Fix the field the message names; SPEC.md documents every field.
    """

    exit_code = 2

    def __init__(self, location: Location, message: str):
        self.location = location
        self.message = shortened(message)
        super().__init__(f"{location}: {self.message}")


class ExpressionError(SpecError):
    """An expression in the spec uses syntax, names or shapes the language does not allow."""


class DataError(SpecError):
    """The data the spec names is missing, malformed, or does not match the declared shapes."""


class LimitError(SpecError):
    """The spec exceeds a safety limit (expression length, nesting depth, exponent, size)."""


class UsageError(GdcheckError):
    """The command line or a Python call was used wrongly: the message says how to fix it."""

    exit_code = 2


class GradientMismatch(GdcheckError, AssertionError):
    """A gradient disagrees with its finite-difference estimate beyond the tolerance.

    The message names the worst component with both values; fix the gradient
    code, or loosen `rtol`/`atol` if the function is genuinely ill-conditioned.
    """

    exit_code = 1


class GradientInconclusive(GdcheckError, AssertionError):
    """No finite difference could decide whether a gradient is right: f's measured noise
    (or the edge of its domain) allows no check as tight as the tolerance asks.

    The message says which component, the bound reached and what to try (scheme='complex',
    f in higher precision); `assert_gradient(..., inconclusive="warn")` warns instead.
    """

    exit_code = 1


class GradientWarning(UserWarning):
    """An inconclusive gradient check let through by `assert_gradient(inconclusive="warn")`."""
