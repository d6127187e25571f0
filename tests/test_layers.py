"""Imports flow one way (DESIGN.md): a module imports only layers below its own.

A layer is a subpackage (`spec`, `symbolic`, ...) or a top-level module
(`errors`, `verify`, ...). Every import counts, wherever it stands: inside a
function, or under `if TYPE_CHECKING:` (a type a lower layer needs belongs
below it). The one exception is the package's own `__init__`, which only
names the public API and imports it lazily.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gdcheck"

LAYERS = [
    "errors", "defaults", "options", "spec", "results", "symbolic", "compiled", "engine",
    "checks", "reports", "verify", "runner", "gradcheck", "strategies", "cli",
    "pytest_plugin", "__init__", "__main__",
]


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path, text: str | None = None) -> set[str]:
    """The gdcheck layers a module imports, anywhere in it (`text`: its source, if not the
    file's own)."""
    tree = ast.parse(path.read_text() if text is None else text)
    package_depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level <= package_depth:  # inside its own subpackage
                found.add(layer_of(path))
            elif node.module:
                found.add(node.module.split(".")[0])
            else:                            # from .. import defaults, results
                found |= {alias.name for alias in node.names}
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
    for imported in imported_layers(path):
        if imported == layer_of(path) or layer_of(path) == "__init__":
            continue  # within its own layer; the package's lazy public names
        assert LAYERS.index(imported) < own, (
            f"{path.relative_to(PACKAGE)} ({layer_of(path)}) imports {imported}, a higher layer")


def test_the_layer_test_catches_an_upward_import():
    """A spec module importing the symbolic layer, even only for typing, is found."""
    module = PACKAGE / "spec" / "model.py"
    text = module.read_text() + "\nif TYPE_CHECKING:\n    from ..symbolic import functions\n"
    assert "symbolic" not in imported_layers(module)
    assert "symbolic" in imported_layers(module, text)


@pytest.mark.parametrize("module, absent", [
    ("gdcheck.spec", ["sympy", "hypothesis", "matplotlib"]),
    ("gdcheck", ["sympy", "hypothesis", "matplotlib"]),
    ("gdcheck.pytest_plugin", ["sympy", "hypothesis", "matplotlib"]),
])
def test_light_imports_stay_light(module, absent):
    """Reading specs, `import gdcheck` and loading the pytest plugin import none of the
    heavy libraries (checked in a fresh interpreter, where nothing is imported yet)."""
    code = (f"import sys, {module}\n"
            f"print(' '.join(m for m in {absent!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "", f"import {module} loaded {result.stdout.strip()}"


def test_check_gradient_imports_neither_sympy_nor_hypothesis():
    code = ("import sys\nfrom gdcheck import check_gradient\n"
            "print(' '.join(m for m in ('sympy', 'hypothesis', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
