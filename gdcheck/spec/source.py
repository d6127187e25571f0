"""Strict YAML: one document, one mapping, every value with its line.

PyYAML's safe loader is used only to compose the node tree; values are then
built here so that duplicate keys, anchors, aliases and explicit tags are
errors, `1e-3` is a number (YAML 1.1 would read it as a string) and keys are
always the text written, never `True` for a key spelled `on`.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import defaults
from ..errors import EXCERPT, Location, SpecError, excerpt

MAX_SPEC_BYTES = defaults.MAX_SPEC_BYTES   # docs/spec.md: "a spec file is at most 1 MiB"

_NUMBER = re.compile(r"^[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Node:
    """A YAML value with its line: a dict of Nodes, a list of Nodes, or a scalar."""

    value: Any
    line: int

    def kind(self) -> str:
        return describe(self.value)


def describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing"
    if isinstance(value, str) and len(value) > EXCERPT:
        return f"'{excerpt(value)}'"
    return excerpt(repr(value))


# ----------------------------------------------------------------- files


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def checked_file(path: Path, folder: Path, where: Location, what: str,
                 error: type[SpecError] = SpecError, area: str = "its folder") -> int:
    """The size of `path` once it is known safe to open: it exists, it is a regular file
    (opening a FIFO or a device can block forever or never end), and followed through any
    symlinks it stays inside `folder` (a symlink must not lead to, say, a token file).

    `what` names the file in messages ("the spec", "csv file"); raises `error` at `where`.
    """
    try:
        status = os.stat(path)   # follows symlinks: the file that open() would reach
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError, RuntimeError) as problem:   # ValueError: a NUL in the path
        reason = getattr(problem, "strerror", None) or excerpt(problem)
        raise error(where, f"cannot read {what} {path}: {reason}") from None
    if not inside:
        raise error(where, f"{what} {path} leads outside {area} {folder} (a symlink must "
                    "stay inside it); it is not read")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a file")
        raise error(where, f"{what} {path} is {kind}, not a regular file; it is not read")
    return status.st_size


def read_text(path: Path) -> str:
    """A spec file's text: a regular file inside its own folder, at most MAX_SPEC_BYTES."""
    where = Location(str(path), None, "file")
    size = checked_file(path, path.parent, where, "the spec")
    if size > MAX_SPEC_BYTES:
        raise SpecError(where, _too_big(f"{size} bytes"))
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read(MAX_SPEC_BYTES + 1)   # bounded even if the file grew meanwhile
    except UnicodeDecodeError:
        raise SpecError(where, "the spec is not UTF-8 text") from None
    except OSError as error:
        raise SpecError(where, f"cannot read the spec: {error.strerror or error}") from None
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(where, _too_big(f"more than {MAX_SPEC_BYTES} characters"))
    return text


def _too_big(size: str) -> str:
    return f"the spec is {size}; at most 1 MiB is allowed (put large data in a csv or npz file)"


MAX_NESTING = defaults.MAX_YAML_NESTING


def _check_nesting(text: str, file: str) -> None:
    """Reject deep flow nesting before PyYAML, whose time grows steeply with it."""
    depth = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            depth += char in "[{"
            depth -= char in "]}"
            if depth > MAX_NESTING:
                raise SpecError(Location(file, line_number, "yaml"),
                                f"brackets nested more than {MAX_NESTING} deep")


# PyYAML's problems quote at most a character or a tag handle of the text; twice an excerpt
# keeps its longest own wording whole.
_PROBLEM = 2 * EXCERPT


def parse_yaml(text: str, file: str) -> Node:
    """Parse YAML text into a Node tree, rejecting what SPEC.md forbids."""
    _check_nesting(text, file)
    try:
        _reject_anchors_and_tags(text, file)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise SpecError(Location(file, line, "yaml"),
                        f"not valid YAML: {excerpt(problem, _PROBLEM)}") from None
    except yaml.YAMLError as error:
        raise SpecError(Location(file, None, "yaml"),
                        f"not valid YAML: {excerpt(error, _PROBLEM)}") from None
    except RecursionError:
        raise SpecError(Location(file, None, "yaml"), "the YAML is nested too deeply") from None
    if root is None:
        raise SpecError(Location(file, 1, "spec"), "the spec is empty; expected a mapping")
    node = _convert(root, file, "")
    if not isinstance(node.value, dict):
        raise SpecError(Location(file, node.line, "spec"),
                        f"got {node.kind()}, expected a mapping of fields at the top")
    return node


def _reject_anchors_and_tags(text: str, file: str) -> None:
    documents = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise SpecError(Location(file, line, "yaml"),
                            f"alias *{excerpt(event.anchor)} is not allowed; write the value out")
        if getattr(event, "anchor", None):
            raise SpecError(Location(file, line, "yaml"),
                            f"anchor &{excerpt(event.anchor)} is not allowed; write the value "
                            "out")
        tag = getattr(event, "tag", None)
        implicit = getattr(event, "implicit", True)
        explicit = tag is not None and not (implicit is True or (
            isinstance(implicit, tuple) and any(implicit)))
        if tag is not None and tag not in ("!",) and explicit:
            raise SpecError(Location(file, line, "yaml"),
                            f"tag {excerpt(tag)} is not allowed; a spec holds only plain values")
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise SpecError(Location(file, line, "yaml"),
                                "more than one YAML document; a spec is one document")


def _convert(node: yaml.Node, file: str, path: str) -> Node:
    # Iterative over mappings and sequences would be overkill: depth is bounded by the
    # 1 MiB limit and RecursionError is caught by the caller.
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Node] = {}
        for key_node, value_node in _rejoin_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(Location(file, key_node.start_mark.line + 1, "yaml"),
                                "a key must be plain text")
            key = str(key_node.value)
            field = f"{path}.{key}" if path else key
            if key in mapping:
                raise SpecError(Location(file, key_node.start_mark.line + 1, field),
                                f"duplicate key '{excerpt(key)}' (first at line "
                                f"{mapping[key].line})")
            # a field is where its key is written (a block value starts a line below)
            value = _convert(value_node, file, field)
            mapping[key] = Node(value.value, key_node.start_mark.line + 1)
        return Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, f"{path}[{i}]")
                     for i, item in enumerate(_rejoin_items(node))], line)
    return Node(_scalar(node), line)


# In a flow collection YAML splits `{init: uniform(-1, 1)}` at the comma into the value
# 'uniform(-1' and a key '1)' with no value. SPEC.md writes calls that way, so rejoin.


def _unbalanced(node: yaml.Node) -> bool:
    return (isinstance(node, yaml.ScalarNode) and node.style is None
            and node.value.count("(") > node.value.count(")"))


def _joined(first: yaml.ScalarNode, rest: str) -> yaml.ScalarNode:
    return yaml.ScalarNode("tag:yaml.org,2002:str", f"{first.value}, {rest}",
                           first.start_mark, first.end_mark, style=None)


def _rejoin_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    pairs = list(node.value)
    if not node.flow_style:
        return pairs
    result: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in pairs:
        if (result and _unbalanced(result[-1][1]) and isinstance(key, yaml.ScalarNode)
                and isinstance(value, yaml.ScalarNode) and value.value == ""):
            result[-1] = (result[-1][0], _joined(result[-1][1], key.value))
        else:
            result.append((key, value))
    return result


def _rejoin_items(node: yaml.SequenceNode) -> list[yaml.Node]:
    result: list[yaml.Node] = []
    for item in node.value:
        if node.flow_style and result and _unbalanced(result[-1]) and isinstance(
                item, yaml.ScalarNode) and item.style is None:
            result[-1] = _joined(result[-1], item.value)  # type: ignore[arg-type]
        else:
            result.append(item)
    return result


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    tag = node.tag
    if node.style is not None:  # quoted or block: always text
        return text
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return text.lower() in ("true", "yes", "on")
    if tag.endswith(":int"):
        digits = text.replace("_", "")
        for base in (0, 10):
            try:
                return int(digits, base)
            except ValueError:
                continue
        return text
    if tag.endswith(":float") or _NUMBER.match(text):
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            lowered = text.lower()
            if lowered in (".inf", "+.inf"):
                return math.inf
            if lowered == "-.inf":
                return -math.inf
            if lowered == ".nan":
                return math.nan
            return text
        return value
    return text
