"""The README's first lines are the two commands, CI runs exactly the second, and the specs
the README and the spec reference show are real specs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import gdcheck

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


def spec_examples(document: str) -> list[str]:
    """The ```yaml blocks of a document that are whole specs (they start `gdcheck: 1`)."""
    text = (ROOT / document).read_text()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S)
            if block.lstrip().startswith("gdcheck:")]


@pytest.mark.parametrize("document", ["README.md", "docs/spec.md"])
def test_the_spec_examples_of_the_docs_load_and_compile(document, tmp_path):
    examples = spec_examples(document)
    assert examples, f"{document} shows no spec"
    for i, example in enumerate(examples):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(example)
        problem = gdcheck.compile(gdcheck.load(path))
        assert problem.size >= 1


def test_the_reference_parses_in_standard_yaml_as_gdcheck_reads_it(tmp_path):
    """Flow-style values are quoted, so any YAML tool reads `init` as gdcheck does."""
    for example in spec_examples("docs/spec.md"):
        document = yaml.safe_load(example)
        for parameter in document["parameters"].values():
            assert isinstance(parameter.get("init", ""), str)
