"""`gdcheck export`: a spec's loss and exact gradient as a standalone Python module.

How it works: the objective's graph is written by the code generator that compiles a
`Problem` (`code.py`), as two functions on named arrays: the loss, and the loss with its
gradient (the backward pass reusing the forward values). The target (numpy, torch) says
what each name that code calls is, and gives the module's public functions; the module is
then put together: a docstring saying how to call it, the formulas `gdcheck derive`
prints, the imports, the declared shapes, the interface, the generated functions with their
constants, and every helper they call, copied in, so the module never imports gdcheck.
"""

from __future__ import annotations

import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np

from ...errors import UsageError, did_you_mean
from ...spec import Spec, load
from ...symbolic.derivation import GraphObjective
from ...symbolic.notation import derivation_lines
from .code import Functions, local_names
from .target import ARGUMENTS, Target
from .to_numpy import HELPERS, NUMPY
from .to_torch import TORCH

TARGETS: dict[str, Target] = {"numpy": NUMPY, "torch": TORCH}

# the names the generated code reads besides numpy's and the helpers': the module's own
# (which the spec's names must not shadow), the builtin float and the writer's N
MODULE_NAMES = frozenset({
    "np", "math", "torch", "tnp", "Any", "PARAMETERS", "DATA", "loss", "gradient",
    "loss_and_gradient", "exact_loss", "ExactLoss", "once_differentiable", "_loss",
    "_loss_and_gradient", "_arguments", "_known", "_array", "_tensor", "_full", "float", "N",
})


def export_source(spec: Spec | str | Path, to: str = "numpy") -> str:
    """The source of a standalone module with `loss(params, data)` and
    `gradient(params, data)` of the spec, for `to` "numpy" or "torch".

    `params` maps each parameter's name to an array of its declared shape; `data` each
    input's and the target's name to an array with one row per sample (none for a bare
    objective); `gradient` returns {parameter name: array of its shape}. The torch module
    also has `ExactLoss`, an autograd function whose backward is the exact gradient.
    Raises SpecError for a bad spec, UsageError for an unknown target.
    Example: `Path("logistic.py").write_text(export_source("specs/logistic.yaml"))`.
    """
    if to not in TARGETS:
        raise UsageError(f"export: to={to!r} is not a target; choose one of "
                         f"{', '.join(TARGETS)}{did_you_mean(to, TARGETS)}")
    target = TARGETS[to]
    if not isinstance(spec, Spec):
        spec = load(spec)
    objective = GraphObjective(spec)
    taken = set(MODULE_NAMES) | set(dir(np)) | set(HELPERS)
    names = local_names([*objective.parameters, *objective.data], taken)
    functions = Functions(objective, names, local_names(["n"], taken)["n"])
    functions.add("_loss", [objective.objective], "The objective L.")
    functions.add("_loss_and_gradient", [objective.objective, *objective.gradients],
                  "L and dL/d each parameter, in the order of PARAMETERS.")
    functions.resolve(target.resolve)
    return _module(spec, objective, target, functions)


def _module(spec: Spec, objective: GraphObjective, target: Target, functions: Functions
            ) -> str:
    """The module's text: how to call it and what it computes, then the code."""
    helpers = "\n\n\n".join(target.definitions(functions.calls))
    constants = [f"{name} = {target.constant(values)}"
                 for name, values in functions.constants.items()]
    sections = [
        _docstring(spec, target), _formulas(objective),
        "\n".join(["from __future__ import annotations", "", *target.imports(helpers), "",
                   _shapes(spec)]),
        target.interface.strip(), ARGUMENTS.strip(),
        "# The generated code: straight-line, one array operation per line; the names are "
        f"the\n# spec's, {functions.samples} the number of samples, v1, v2 ... the values in "
        "between.",
        *(["\n".join(constants)] if constants else []), *functions.sources,
        *([target.helpers_heading, helpers] if helpers else []),
    ]
    return "\n\n\n".join(sections) + "\n"


def _docstring(spec: Spec, target: Target) -> str:
    parameters = ", ".join(f'"{p.name}": {_shaped(target.array, p.shape)}'
                           for p in spec.parameters)
    variables = [*spec.inputs, *([spec.target] if spec.target else [])]
    data = ", ".join(f'"{v.name}": {_shaped(target.array, ("n", *v.shape))}'
                     for v in variables)
    gradient = "{" + ", ".join(f'"{p.name}": {_shaped(target.array, p.shape, returned=True)}'
                               for p in spec.parameters) + "}"
    source = spec.path.name if spec.path.name else "a spec"
    lines = [f"{spec.name}: the loss and its exact gradient, as {target.name} code.", ""]
    paragraphs = [" ".join(part.split()) for part in spec.description.split("\n\n")]
    lines += [line for paragraph in paragraphs if paragraph
              for line in [*textwrap.wrap(paragraph, 88), ""]]
    lines += [f"    params = {{{parameters}}}",
              f"    data = {{{data}}}   # one row per sample" if data
              else "    data = None   # a bare objective: no data",
              target.usage.format(gradient=gradient), "",
              "PARAMETERS and DATA below give each name's shape (for the data, of one row). "
              "The code",
              "is the exact gradient gdcheck derived (its formulas are below), written out "
              "line by line.",
              f"Exported by gdcheck{_version()} from {source}; it needs {target.name} only, "
              "not gdcheck."]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""{text}\n"""'


def _shaped(kind: str, shape: tuple[object, ...], returned: bool = False) -> str:
    """`array of shape (n, 2)`; an argument of shape () may be a plain number."""
    if not shape:
        return "number" if kind == "array" and not returned else f"{kind} of shape ()"
    return f"{kind} of shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _formulas(objective: GraphObjective) -> str:
    lines = [part for line in derivation_lines(objective) for part in line.splitlines()]
    return "\n".join(["# The formulas, as `gdcheck derive` prints them:",
                      *(f"#   {line}" for line in lines)])


def _shapes(spec: Spec) -> str:
    parameters = ", ".join(f'"{p.name}": {p.shape!r}' for p in spec.parameters)
    variables = [*spec.inputs, *([spec.target] if spec.target else [])]
    data = ", ".join(f'"{v.name}": {v.shape!r}' for v in variables)
    return "\n".join([f"PARAMETERS = {{{parameters}}}   # name: shape",
                      f"DATA = {{{data}}}   # name: shape of one row; each array is (n, *shape)"])


def _version() -> str:
    try:
        return f" {metadata.version('gdcheck')}"
    except metadata.PackageNotFoundError:
        return ""


__all__ = ["TARGETS", "export_source"]
