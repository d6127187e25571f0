"""Messages a new user meets in the first hour say the right thing: a suggestion only where
it is what they meant, and the fix where the mistake is a habit from another language."""

from __future__ import annotations

from pathlib import Path

import pytest

import gdcheck
from gdcheck.errors import SpecError, did_you_mean

SPEC = """\
gdcheck: 1
name: first-hour
parameters: {a: {}}
objective: OBJECTIVE
optimizer: {method: adam, learning_rate: 0.1, steps: 10OPTIONS}
"""


def refused(tmp_path: Path, objective: str = "a**2", options: str = "") -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("OBJECTIVE", objective).replace("OPTIONS", options))
    with pytest.raises(SpecError) as error:
        gdcheck.compile(gdcheck.load(path))   # expressions are parsed when compiled
    return str(error.value)


def test_an_abbreviation_suggests_the_field_it_begins(tmp_path: Path) -> None:
    assert "did you mean 'epsilon'?" in refused(tmp_path, options=", eps: 1e-8")


def test_a_function_the_language_lacks_gets_no_misleading_suggestion(tmp_path: Path) -> None:
    message = refused(tmp_path, objective="digamma(a)")
    assert "unknown function 'digamma'" in message and "did you mean" not in message
    assert "allowed:" in message


def test_a_caret_says_how_powers_are_written(tmp_path: Path) -> None:
    assert "a power is written a**2" in refused(tmp_path, objective="a^2")


@pytest.mark.parametrize(("word", "options", "expected"), [
    ("learnin_rate", ["learning_rate", "steps"], "learning_rate"),   # a typo
    ("eps", ["steps", "epsilon"], "epsilon"),                        # an abbreviation
    ("xx", ["x", "y"], "x"),                                         # a doubled letter
    ("arctan", ["tan", "tanh"], None),                               # another function
    ("zzz", ["steps"], None),                                        # nothing close
])
def test_did_you_mean(word: str, options: list[str], expected: str | None) -> None:
    assert did_you_mean(word, options) == ("" if expected is None
                                           else f" (did you mean '{expected}'?)")
