"""The numpy target: numpy's names as `np.<name>`, and gdcheck's helpers (the stable sigmoid,
softplus, log-sum-exp ...) copied into the module as the source gdcheck itself runs."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...symbolic.functions import NUMPY_NAMESPACE
from ..printing import RUNTIME
from .target import Target, python_literal

HELPERS: dict[str, Any] = {**NUMPY_NAMESPACE, **RUNTIME}
BUILTINS = frozenset({"float"})   # float('inf'): the printer's infinities


def reference(name: str) -> str | None:
    if name in HELPERS or name in BUILTINS:
        return name
    return f"np.{name}" if hasattr(np, name) else None


def helper_source(name: str) -> str:
    """A helper's definition under the name the code calls it by: a ufunc is numpy's own
    (`gdcheck_abs = np.absolute`), a function its source, renamed."""
    helper = HELPERS[name]
    if isinstance(helper, np.ufunc):
        return f"{name} = np.{helper.__name__}"
    source = textwrap.dedent(inspect.getsource(helper))
    return source.replace(f"def {helper.__name__}(", f"def {name}(", 1).rstrip()


def definitions(calls: Iterable[str]) -> list[str]:
    return [helper_source(name) for name in sorted(calls) if name in HELPERS]


def imports(helpers: str) -> list[str]:
    lines = ["import math"] if "math." in helpers else []
    lines += ["from typing import Any"] if "Any" in helpers else []
    return [*lines, "", "import numpy as np"] if lines else ["import numpy as np"]


INTERFACE = '''
def loss(params, data=None):
    """The objective L at `params` (a float)."""
    return float(_loss(*_arguments(params, data)))


def gradient(params, data=None):
    """The exact gradient of L at `params`: {parameter name: array of its shape}."""
    return loss_and_gradient(params, data)[1]


def loss_and_gradient(params, data=None):
    """(L, gradient) in one pass: the backward pass reuses the forward values."""
    value, *gradients = _loss_and_gradient(*_arguments(params, data))
    return float(value), {name: np.array(np.broadcast_to(g, shape), dtype=float)
                          for (name, shape), g in zip(PARAMETERS.items(), gradients)}


def _array(value):
    return np.asarray(value, dtype=float)
'''

USAGE = """\
    loss(params, data)               -> float
    gradient(params, data)           -> {gradient}
    loss_and_gradient(params, data)  -> (loss, gradient) in one pass"""

NUMPY = Target(name="numpy", array="array", imports=imports, reference=reference,
               definitions=definitions,
               constant=lambda values: f"np.array({python_literal(values)})",
               interface=INTERFACE, usage=USAGE,
               helpers_heading="# gdcheck's own functions the code calls, copied from gdcheck.")
