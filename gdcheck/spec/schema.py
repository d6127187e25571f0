"""The JSON Schema (Draft 2020-12) of the spec format, shipped as `schema.json` beside this
module, for editors (`gdcheck schema > gdcheck.schema.json`) and other YAML tools.

It checks a spec's structure: keys, types, enums, bounds, shapes, distributions, names.
What only the loader can check (expressions, a name declared once, data matching the
declarations) is gdcheck's own work; docs/spec.md says which is which.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE = "schema.json"
SCHEMA_PATH = Path(__file__).with_name(SCHEMA_FILE)


def schema_text() -> str:
    """The schema as JSON text, exactly as shipped (what `gdcheck schema` prints)."""
    return resources.files("gdcheck.spec").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The schema as a dict, ready for a validator (`jsonschema.Draft202012Validator`)."""
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded
