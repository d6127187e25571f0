"""The spec reference (docs/spec.md) is right: every YAML example is standard YAML that
gdcheck loads (whole specs as they are; fragments, a few top-level sections, within a small
spec that supplies the rest) and the schema accepts, it documents every function, method,
schedule and check the code has, and its links stay inside the repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import gdcheck
from gdcheck import defaults
from gdcheck.spec import CHECK_KEYS, OPTIMIZER_METHODS
from gdcheck.spec.reader import SUPERVISED_KEYS, TOP_KEYS
from gdcheck.spec.vocabulary import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "spec.md"
TEXT = REFERENCE.read_text()

# what a fragment is completed with: the sections it does not give
OBJECTIVE = {
    "gdcheck": 1, "name": "fragment",
    "parameters": {"w": {"shape": [2]}},
    "objective": "sum(w**2)",
    "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10},
}
SUPERVISED = {
    "gdcheck": 1, "name": "fragment",
    "parameters": {"w": {"shape": [2]}, "b": {}},
    "inputs": {"x": {"shape": [2]}}, "target": {"y": {}},
    "model": "dot(w, x) + b", "loss": "(y_pred - y)**2",
    "data": {"inline": {"x": [[0.0, 1.0], [1.0, 0.0]], "y": [1.0, 2.0]}},
    "optimizer": {"method": "gd", "learning_rate": 0.1, "steps": 10},
}


def yaml_blocks() -> list[Any]:
    """Every ```yaml block of the reference, named by its first line."""
    blocks = []
    for match in re.finditer(r"^( *)```yaml\n(.*?)^\1```", TEXT, re.S | re.M):
        indent, block = match.group(1), match.group(2)
        text = "\n".join(line.removeprefix(indent) for line in block.splitlines()) + "\n"
        line = TEXT.count("\n", 0, match.start()) + 2
        blocks.append(pytest.param(text, id=f"docs/spec.md:{line}"))
    return blocks


BLOCKS = yaml_blocks()


def as_spec(block: str) -> tuple[str, Any]:
    """The block as spec text and its document: whole, or a fragment completed."""
    document = yaml.safe_load(block)
    assert isinstance(document, dict), "an example is a mapping of spec sections"
    if "gdcheck" in document:
        return block, document
    unknown = set(document) - set(TOP_KEYS)
    assert not unknown, f"a fragment holds spec sections only, not {sorted(unknown)}"
    supervised = bool(set(document) & {*SUPERVISED_KEYS, "reduction"})
    completed = {**(SUPERVISED if supervised else OBJECTIVE), **document}
    return yaml.safe_dump(completed, sort_keys=False), completed


def test_the_reference_has_whole_specs_and_fragments():
    whole = [block for block in BLOCKS if "gdcheck" in yaml.safe_load(block.values[0])]
    assert len(whole) >= 4 and len(BLOCKS) - len(whole) >= 10


@pytest.mark.parametrize("block", BLOCKS)
def test_every_example_is_standard_yaml_read_as_gdcheck_reads_it(block):
    document = yaml.safe_load(block)
    assert isinstance(document, dict)

    def calls_cut_at_a_comma(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [cut for item in value.values() for cut in calls_cut_at_a_comma(item)]
        if isinstance(value, list):
            return [cut for item in value for cut in calls_cut_at_a_comma(item)]
        return [value] if isinstance(value, str) and value.count("(") > value.count(")") else []

    assert not calls_cut_at_a_comma(document), "quote distributions in flow mappings"


@pytest.mark.parametrize("block", BLOCKS)
def test_every_example_loads(block, tmp_path):
    text, _ = as_spec(block)
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    gdcheck.load(path)


@pytest.mark.parametrize("block", BLOCKS)
def test_every_example_validates_against_the_schema(block):
    jsonschema = pytest.importorskip("jsonschema")
    from gdcheck.spec.schema import schema

    _, document = as_spec(block)
    validator = jsonschema.Draft202012Validator(schema())
    found = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
             for e in validator.iter_errors(document)]
    assert not found, "\n".join(found)


def table_names(text: str) -> set[str]:
    """The names a reference table documents: its rows' first cells, `name(` or `name`."""
    return set(re.findall(r"^\| `([a-z_0-9]+)", text, re.M))


def test_every_function_of_the_language_is_documented():
    assert FUNCTION_NAMES <= table_names(TEXT), sorted(FUNCTION_NAMES - table_names(TEXT))


def test_every_method_schedule_check_and_field_is_documented():
    documented = table_names(TEXT)
    wanted = {*OPTIMIZER_METHODS, *defaults.SCHEDULES, *CHECK_KEYS, *TOP_KEYS}
    assert wanted <= documented, sorted(wanted - documented)
    for source in ("generate", "csv", "npz", "inline"):
        assert f"### `{source}`" in TEXT, source


def test_the_editor_setup_is_shown():
    assert "gdcheck schema > gdcheck.schema.json" in TEXT
    assert "# yaml-language-server: $schema=./gdcheck.schema.json" in TEXT


def anchors(text: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_stays_inside_the_repository_and_every_anchor_exists():
    for target in re.findall(r"\]\(([^)]+)\)", TEXT):
        if target.startswith("#"):
            assert target[1:] in anchors(TEXT), f"no heading for {target}"
        else:
            assert not re.match(r"[a-z]+:", target), f"{target}: links stay in the repository"
            resolved = (REFERENCE.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), target


def test_the_readme_links_the_reference():
    assert "(docs/spec.md)" in (ROOT / "README.md").read_text()
