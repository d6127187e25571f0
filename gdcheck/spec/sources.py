"""The `data:` section of a spec: which source (generate, csv, npz, inline) and its settings.

Reading the arrays themselves is `data.py`'s work, when a spec is compiled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import defaults
from ..errors import SpecError, excerpt
from .distributions import parse_distribution
from .fields import Fields, choice, mapping_of, number, plain, text
from .model import CsvData, DataSource, GenerateData, InlineData, NpzData
from .root import project_root
from .source import Node


def data_source(top: Fields, path: Path) -> DataSource:
    """The spec's `data:` entry: exactly one source, with its paths checked."""
    sources = ("generate", "csv", "npz", "inline")
    data = top.sub("data", sources + ("columns",))
    given = [key for key in sources if data.has(key)]
    if len(given) != 1:
        raise SpecError(data.where, f"got {len(given)} data sources ({', '.join(given) or 'none'}),"
                        f" expected exactly one of: {', '.join(sources)}")
    kind = given[0]
    if data.has("columns") and kind != "csv":
        raise SpecError(data.at("columns"), "'columns' goes with 'csv' only")
    folder, root = path.parent, project_root(path)
    if kind == "generate":
        return _generate(data.sub("generate", ("n", "seed", "inputs", "truth", "noise",
                                               "labels")))
    if kind == "csv":
        columns = data.required("columns", lambda v, w: mapping_of(v, w, "name: column(s)"))
        named: dict[str, tuple[str, ...] | str] = {}
        for name, item in columns.items():
            where = data.at("columns").child(name, item.line)
            if isinstance(item.value, list):
                named[name] = tuple(text(c.value, where.child(i, c.line))
                                    for i, c in enumerate(item.value))
            else:
                named[name] = text(str(item.value) if isinstance(item.value, int)
                                   else item.value, where)
        return CsvData(_data_path(folder, root, data, "csv"), named, data.at("csv"))
    if kind == "npz":
        return NpzData(_data_path(folder, root, data, "npz"), data.at("npz"))
    items = data.required("inline", lambda v, w: mapping_of(v, w, "name: values"))
    values = {name: _raw(item) for name, item in items.items()}
    locations = {name: data.at("inline").child(name, item.line) for name, item in items.items()}
    return InlineData(values, locations, data.at("inline"))


def _data_path(folder: Path, root: Path, data: Fields, key: str) -> Path:
    """A data file's path: relative to the spec's folder and inside the project root (specs
    may be untrusted; see root.py).

    Only the path is checked here; `datafiles` checks the file itself just before reading it.
    """
    written = data.required(key, text)
    if "\0" in written:   # the OS layer would raise ValueError
        raise SpecError(data.at(key), f"got '{excerpt(written)}', which holds a NUL character; "
                        "expected a file name")
    relative = Path(written)
    try:
        resolved = (folder / relative).resolve()
    except (OSError, ValueError, RuntimeError) as error:   # a symlink loop; unencodable text
        raise SpecError(data.at(key), f"got '{excerpt(written)}', which is not a usable path: "
                        f"{excerpt(error)}") from None
    if relative.is_absolute() or not resolved.is_relative_to(root):
        raise SpecError(data.at(key), f"got '{excerpt(written)}', expected a path relative to "
                        f"the spec's folder and inside the project root {root} (the nearest "
                        "folder above the spec holding .git or pyproject.toml; --root sets it)")
    return folder / relative


def _raw(node: Node) -> Any:
    """Plain Python values from a Node tree; data.py validates them with row numbers."""
    if isinstance(node.value, list):
        return [_raw(item) for item in node.value]
    if isinstance(node.value, dict):
        return {key: _raw(item) for key, item in node.value.items()}
    return node.value


def _generate(fields: Fields) -> GenerateData:
    # every float input needs a distribution (data.py checks it); an int input may go without
    inputs = fields.get("inputs", lambda v, w: mapping_of(v, w, "input: distribution"), {})
    truth = fields.get("truth", lambda v, w: mapping_of(v, w, "parameter: values"), {})
    return GenerateData(
        n=fields.required("n", number(1, integer=True, high=defaults.MAX_SAMPLES)),
        seed=fields.get("seed", number(0, integer=True), 0),
        inputs={name: parse_distribution(item.value, fields.at("inputs").child(name, item.line))
                for name, item in inputs.items()},
        truth={name: plain(item.value, fields.at("truth").child(name, item.line))
               for name, item in truth.items()},
        noise=fields.get("noise", parse_distribution),
        labels=fields.get("labels", choice("bernoulli", "categorical")),
        location=fields.where,
    )
