"""The graph's formulas for people: matrix notation, with shared intermediates named.

How it works: the nodes of the objective and its gradients are written out arguments
first. A node used more than once (and worth a name) becomes a definition `t1 = ...`;
every other node is written inline where it is used. Data are matrices with one row per
sample (`x` is n × d), so a contraction over the samples reads as a matrix product:
the weight gradient of `W @ x + b` is `G.T @ x` where G holds one row per sample. Maps
print their SymPy template (`*` elementwise), reductions over the samples `mean_i(...)`.
Structural nodes that only move values (broadcast, reshape) are transparent. The size of
what is printed follows the graph, not the number of parameters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import sympy as sp

from .contraction import SAMPLE, as_matrix_product, sampled_subscripts
from .derivation import GraphObjective
from .indexing import index_text
from .tensor import Node, symbols, topological

TRANSPARENT = ("broadcast", "reshape", "to_samples")
NEVER_NAMED = ("parameter", "data", "samples", "literal", "constant", "index", "transpose")
MAX_LITERAL = 6   # constants with more entries are shown by their shape


class Notation:
    """Text for nodes of one graph; `definitions` collects the named intermediates."""

    def __init__(self, roots: Iterable[Node], reserved: Iterable[str] = (), latex: bool = False):
        self.roots = list(roots)
        self.latex = latex
        order = topological(self.roots)
        uses: Counter[int] = Counter(id(arg) for node in order for arg in node.args)
        self.named = {id(node) for node in order
                      if uses[id(node)] > 1 and node.op not in NEVER_NAMED + TRANSPARENT}
        self.reserved = taken_names(reserved)
        # the number of samples, n unless the spec declares an n of its own
        self.samples = next((name for name in ("n", "N") if name not in self.reserved),
                            fresh_name("n", 1, self.reserved))
        self.reserved.add(self.samples)
        self.texts: dict[int, str] = {}
        self.definitions: list[tuple[str, str]] = []
        for node in order:
            text = WRITERS[node.op](self, node, [self.texts[id(a)] for a in node.args])
            if id(node) in self.named and id(node) not in {id(r) for r in self.roots}:
                name = self._fresh()
                self.definitions.append((name, text))
                text = name
            self.texts[id(node)] = text

    def _fresh(self) -> str:
        """t1, t2, ...: the next name no spec name takes (a parameter `t1` makes it t2)."""
        name = fresh_name("t", len(self.definitions) + 1, self.reserved)
        self.reserved.add(name)
        return name

    def text(self, node: Node) -> str:
        return self.texts[id(node)]


def taken_names(declared: Iterable[str]) -> set[str]:
    """The names an intermediate may not take: each declared name, and it without
    underscores (in LaTeX `t_1` and `t1` both read t₁)."""
    names = set(declared)
    return names | {name.replace("_", "") for name in names}


def fresh_name(prefix: str, number: int, taken: set[str]) -> str:
    """`prefix` + the first number from `number` on whose name is not taken."""
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _group(text: str) -> str:
    """Parenthesised unless it is a name, a number, or one bracketed or called whole."""
    plain = text.replace("_", "").replace(".", "").replace("'", "")
    if plain.isalnum():
        return text
    start = min((text.find(b) for b in "([" if b in text), default=-1)
    head = text[:start].replace("_", "")
    whole = start >= 0 and (head == "" or head.isalnum()) and _closing(text, start) == len(text) - 1
    return text if whole else f"({text})"


def _closing(text: str, start: int) -> int:
    """Where the bracket opened at `start` closes."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _placeholder(i: int) -> str:
    """A name no formula holds, of letters only (LaTeX would subscript digits)."""
    letters = ""
    while True:
        letters = chr(ord("a") + i % 26) + letters
        i //= 26
        if not i:
            return f"zq{letters}qz"


def _call_arguments(template: sp.Expr) -> set[sp.Basic]:
    """Symbols that appear only as whole arguments of function calls (tanh(X0)): their text
    needs no parentheses of its own."""
    inside: set[sp.Basic] = set()
    elsewhere: set[sp.Basic] = set()
    for node in sp.preorder_traversal(template):
        for arg in node.args:
            if arg.is_Symbol:
                (inside if isinstance(node, sp.Function) else elsewhere).add(arg)
    if template.is_Symbol:
        elsewhere.add(template)
    return inside - elsewhere


def _map(notation: Notation, node: Node, texts: list[str]) -> str:
    placeholders = {symbol: sp.Symbol(_placeholder(i)) for i, symbol in
                    enumerate(symbols(len(texts)))}
    template = node.attrs[0].xreplace(placeholders)
    text = sp.latex(template, order="none") if notation.latex else sp.sstr(template,
                                                                             order="none")
    bare = _call_arguments(template)
    arguments = {}
    for i, argument in enumerate(texts):
        name = sp.Symbol(_placeholder(i))
        shown = argument if notation.latex or name in bare else _group(argument)
        if notation.latex and not argument.replace("_", "").isalnum():
            shown = rf"\left({argument}\right)"
        arguments[name.name] = shown
    # one pass: an argument's own text (a parameter named zqaqz) is never replaced again
    pattern = "|".join(sorted(map(re.escape, arguments), key=len, reverse=True))
    return re.sub(pattern, lambda match: arguments[match.group()], text) if arguments else text


def _contract(notation: Notation, node: Node, texts: list[str]) -> str:
    a_sub, b_sub, out = sampled_subscripts(node)
    product = as_matrix_product(_group(texts[0]), _group(texts[1]), a_sub, b_sub, out)
    if product is None:   # the sample axis is n in the formulas, as in "n × d"
        subscripts = f"{a_sub},{b_sub}->{out}".replace(SAMPLE, "n")
        product = f"einsum('{subscripts}', {texts[0]}, {texts[1]})"
    product = product.replace("multiply.outer", "outer")
    if notation.latex:
        product = (product.replace(" @ ", " ").replace(".T", r"^{\top}")
                   .replace("outer", r"\operatorname{outer}"))
    return product


def _sum_to(notation: Notation, node: Node, texts: list[str]) -> str:
    arg = node.args[0]
    text = texts[0]
    if arg.sampled and not node.sampled:
        text = f"sum_i({text})"
    if not node.shape and arg.shape:
        return f"sum({text})"
    if len(arg.shape) != len(node.shape) or any(
            s == 1 and t != 1 for s, t in zip(node.shape, arg.shape[-len(node.shape):] or (),
                                                strict=False)):
        text = f"sum({text}, to shape {list(node.shape)})"
    return text


def _literal(notation: Notation, node: Node, texts: list[str]) -> str:
    values, shape = node.attrs
    if not shape:
        return f"{values[0]:g}"
    if len(values) <= MAX_LITERAL:
        return str(np.array(values).reshape(shape).tolist())
    return f"constant{list(shape)}"


def _call(name: str) -> Callable[[Notation, Node, list[str]], str]:
    return lambda notation, node, texts: f"{name}({', '.join(texts)})"


def _reduced(name: str) -> Callable[[Notation, Node, list[str]], str]:
    """max(x), or max(x, axis=(0,)) where it reduces some axes only."""
    def write(notation: Notation, node: Node, texts: list[str]) -> str:
        if len(node.attrs[0]) == len(node.args[0].shape):
            return f"{name}({texts[0]})"
        return f"{name}({texts[0]}, axis={node.attrs[0]})"

    return write


WRITERS: dict[str, Callable[[Notation, Node, list[str]], str]] = {
    "parameter": lambda notation, node, texts: node.attrs[0],
    "data": lambda notation, node, texts: node.attrs[0],
    "samples": lambda notation, node, texts: notation.samples,
    "constant": lambda notation, node, texts: node.attrs[0],
    "literal": _literal,
    "map": _map,
    "contract": _contract,
    "sum": lambda notation, node, texts: (f"sum({texts[0]})" if len(node.shape) == 0
                                          else f"sum({texts[0]}, axis={node.attrs[0]})"),
    "sample_reduce": lambda notation, node, texts: f"{node.attrs[0]}_i({texts[0]})",
    "broadcast": lambda notation, node, texts: texts[0],
    "to_samples": lambda notation, node, texts: texts[0],
    "reshape": lambda notation, node, texts: texts[0],
    "sum_to": _sum_to,
    "index": lambda notation, node, texts: f"{_group(texts[0])}[{index_text(node.attrs[0])}]",
    "scatter": lambda notation, node, texts: (
        f"scatter({texts[0]} at [{index_text(node.attrs[0])}] of {list(node.attrs[1])})"),
    "gather": lambda notation, node, texts: f"{_group(texts[0])}[{texts[1]}]",
    "scatter_add": lambda notation, node, texts: (
        f"scatter_add({texts[0]} into the rows {texts[1]} of {list(node.shape)})"),
    "patches": lambda notation, node, texts: (
        f"windows({texts[0]}, size={node.attrs[0]}, stride={node.attrs[1]}, "
        f"padding={node.attrs[2]})"),
    "unpatches": lambda notation, node, texts: (
        f"windows_added_back({texts[0]}, into {list(node.attrs[0])})"),
    "stack": lambda notation, node, texts: f"[{', '.join(texts)}]",
    "transpose": lambda notation, node, texts: f"{_group(texts[0])}.T",
    "logsumexp": _reduced("logsumexp"),
    "gap": lambda notation, node, texts: (
        f"{'largest' if node.attrs[0] == 'max' else 'smallest'} two entries of {texts[0]}, "
        "their difference" + ("" if len(node.attrs[1]) == len(node.args[0].shape)
                              else f", along axis {node.attrs[1]}")),
    "max": _reduced("max"),
    "min": _reduced("min"),
}


def derivation_lines(objective: GraphObjective, *, latex: bool = False,
                     hessian: bool = False) -> list[str]:
    """What `gdcheck derive` prints: the model, the objective and each parameter's gradient
    (and, with `hessian`, the Hessian-vector product) in matrix notation."""
    spec = objective.spec
    names = list(objective.parameters)
    roots = [objective.objective, *objective.gradients]
    if hessian:
        roots += objective.hessian_vector
    if objective.model is not None:
        roots.append(objective.model)
    declared = names + list(objective.data) + list(spec.constants)
    notation = Notation(roots, reserved=declared, latex=latex)
    label = _latex_label if latex else (lambda name: f"dL/d{name}")
    shapes = ", ".join(f"{name} {list(node.shape)}" for name, node in
                       objective.parameters.items())
    lines = [f"spec: {spec.name} ({spec.path})", f"parameters: {shapes}"]
    if objective.data:
        n = notation.samples
        lines.append("data: " + ", ".join(f"{name} [{n} × {', '.join(map(str, node.shape))}]"
                                          if node.shape else f"{name} [{n}]"
                                          for name, node in objective.data.items())
                     + " (one row per sample)")
    if spec.constants:
        lines.append("constants: " + ", ".join(f"{k} = {v:g}" for k, v in spec.constants.items()))
    if objective.model is not None:
        lines.append(f"model: y_pred = {notation.text(objective.model)}")
        lines.append(f"loss (per sample, as written): {spec.loss.text.strip()}")  # type: ignore
    if notation.definitions:
        lines.append("where:")
        lines += [f"  {name} = {text}" for name, text in notation.definitions]
    lines.append(f"objective: L = {notation.text(objective.objective)}")
    lines.append("gradient:")
    lines += [f"  {label(name)} = {notation.text(node)}"
              for name, node in zip(names, objective.gradients, strict=True)]
    if hessian:
        lines.append("hessian-vector product (v: one direction per parameter, v_W for W):")
        lines += [f"  (H v)_{name} = {notation.text(node)}"
                  for name, node in zip(names, objective.hessian_vector, strict=True)]
    return lines


def _latex_label(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {name}}}"
