"""The one walk over SymPy's expression graph: unique compound nodes, children first.

Reverse-mode derivation (`reverse.py`) visits it backwards (parents first), and
code generation (`compiled.codegen`) names the nodes it counts as used more than
once. SymPy shares equal subtrees, so the graph is a DAG far smaller than the
tree it stands for; walking it iteratively keeps deep expressions off the stack.
"""

from __future__ import annotations

from typing import Any

import sympy as sp


def children_first(expressions: list[Any]) -> tuple[list[sp.Basic], dict[sp.Basic, int]]:
    """Compound unique nodes, arguments before the nodes using them; and how often each is used."""
    uses: dict[sp.Basic, int] = {}
    order: list[sp.Basic] = []
    stack = [(e, False) for e in reversed(expressions) if isinstance(e, sp.Basic)]
    for root, _ in stack:
        uses[root] = uses.get(root, 0) + 1
    seen: set[sp.Basic] = set()
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or not node.args:
            continue
        seen.add(node)
        stack.append((node, True))
        for arg in node.args:
            if arg.args:
                uses[arg] = uses.get(arg, 0) + 1
                stack.append((arg, False))
    return order, uses
