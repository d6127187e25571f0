"""Imports flow one way (DESIGN.md): a module imports only modules below it here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gdcheck"

LAYERS = [
    "errors", "yamlsource", "functions", "fields", "distributions", "spec", "grammar",
    "expressions", "reverse", "symbolic", "data", "compiled", "finite_diff", "optimizers",
    "descent", "strategies", "checks", "report", "verify", "runner", "gradcheck", "cli",
    "pytest_plugin", "__init__", "__main__",
]


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def runtime_imports(path: Path) -> set[str]:
    """The gdcheck layers a module imports, leaving out `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree)
               if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
               for inner in block.body for node in ast.walk(inner)}
    package_depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level <= package_depth:  # inside its own subpackage
                found.add(layer_of(path))
            else:
                found.add((node.module or node.names[0].name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gdcheck."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("gdcheck.")}
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    assert {layer_of(p) for p in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    own = LAYERS.index(layer_of(path))
    for imported in runtime_imports(path):
        if imported == layer_of(path):
            continue  # within the checks package
        assert LAYERS.index(imported) < own, (
            f"{path.name} ({layer_of(path)}) imports {imported}, a higher layer")
