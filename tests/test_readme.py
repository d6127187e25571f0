"""The README's first lines are the two commands, and CI runs exactly the second."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```\n(.*?)```", text, re.S)
    assert block and text.index(block.group(0)) < 20, "the commands come first"
    return block.group(1).strip().splitlines()


def test_first_command_installs_and_verifies_the_bundled_specs():
    assert readme_commands()[0] == "pip install -e . && gdcheck verify specs/"


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = readme_commands()[1]
    assert f'TEST_COMMAND="{test_command}"' in ci
    assert "exit 1" in ci and '"$status" -eq 5' in ci  # no tests collected is a failure
