"""The torch target: the generated code runs on float64 tensors, so torch's autograd can also
differentiate it, and `ExactLoss` gives the exact gradient as its backward.

The code calls numpy's functions by their numpy names; here each is `tnp.<name>`, a class
of one-line translations to torch written into the module (only those the code calls), and
each of gdcheck's helpers has its torch version (the same stable formulas). Both are tables
of source text, as the module is written for a torch this process need not have.
"""

from __future__ import annotations

from collections.abc import Iterable

from .target import Target, python_literal

# numpy's elementwise functions that torch has under the same name
ELEMENTWISE = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "log1p", "expm1")


def _reduction(name: str) -> str:
    # torch reads dim=() as every axis, numpy's axis=() as none
    return f'''\
    @staticmethod
    def {name}(x, axis=None):
        x = _tensor(x)
        if axis is None:
            return torch.{name}(x)
        return x if axis == () else torch.{name}(x, dim=axis)'''


# numpy name → the source of its translation, a member of the class tnp
NUMPY_NAMES: dict[str, str] = {
    **{name: f'''\
    @staticmethod
    def {name}(x):
        return torch.{name}(_tensor(x))''' for name in ELEMENTWISE},
    **{name: _reduction(name) for name in ("sum", "mean", "amax", "amin")},
    **{name: f"    {name} = math.{name}" for name in ("pi", "e", "inf", "nan")},
    "float64": '''\
    @staticmethod
    def float64(value):
        return torch.tensor(float(value), dtype=torch.float64)''',
    "full": '''\
    @staticmethod
    def full(shape, value):
        return torch.full(tuple(shape), float(value), dtype=torch.float64)''',
    "broadcast_to": '''\
    @staticmethod
    def broadcast_to(x, shape):
        return torch.broadcast_to(_tensor(x), tuple(shape))''',
    "reshape": '''\
    @staticmethod
    def reshape(x, shape):
        return torch.reshape(_tensor(x), tuple(shape))''',
    "swapaxes": '''\
    @staticmethod
    def swapaxes(x, first, second):
        return torch.swapaxes(_tensor(x), first, second)''',
    "einsum": '''\
    @staticmethod
    def einsum(subscripts, *operands):
        return torch.einsum(subscripts, *(_tensor(operand) for operand in operands))''',
    "multiply": '''\
    class multiply:
        @staticmethod
        def outer(a, b):
            a, b = _tensor(a), _tensor(b)
            return a.reshape(tuple(a.shape) + (1,) * b.ndim) * b''',
}

# gdcheck's helpers (gdcheck/symbolic/elementwise.py, reductions.py, compiled/printing.py)
HELPERS: dict[str, str] = {
    "gdcheck_abs": "def gdcheck_abs(x):\n    return torch.abs(_tensor(x))",
    "gdcheck_sign": "def gdcheck_sign(x):\n    return torch.sign(_tensor(x))",
    "gdcheck_sigmoid": "def gdcheck_sigmoid(x):\n    return torch.sigmoid(_tensor(x))",
    "gdcheck_softplus": '''\
def gdcheck_softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, no cancellation (torch's own
    # softplus returns x itself above a threshold, 2e-9 off at 20)
    x = _tensor(x)
    return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-torch.abs(x)))''',
    "gdcheck_relu": "def gdcheck_relu(x):\n    return torch.clamp(_tensor(x), min=0.0)",
    "gdcheck_step": '''\
def gdcheck_step(x):
    """Heaviside step, 1/2 at 0."""
    return torch.heaviside(_tensor(x), torch.tensor(0.5, dtype=torch.float64))''',
    "gdcheck_maximum": '''\
def gdcheck_maximum(a, b):
    return torch.maximum(_tensor(a), _tensor(b))''',
    "gdcheck_minimum": '''\
def gdcheck_minimum(a, b):
    return torch.minimum(_tensor(a), _tensor(b))''',
    "erf": "def erf(x):\n    return torch.erf(_tensor(x))",
    "gdcheck_logsumexp": '''\
def gdcheck_logsumexp(*terms):
    """log(sum of exp(term)), elementwise over the terms, shifted by their maximum."""
    terms = [_tensor(term) for term in terms]
    top = terms[0]
    for term in terms[1:]:
        top = torch.maximum(top, term)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return top + torch.log(sum(torch.exp(term - top) for term in terms))''',
    "gdcheck_lse": '''\
def gdcheck_lse(x, axes):
    """log-sum-exp over `axes` of x, shifted by the maximum."""
    x = _tensor(x)
    top = torch.amax(x, dim=axes, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return top.squeeze(axes) + torch.log(torch.sum(torch.exp(x - top), dim=axes))''',
    "gdcheck_scatter": '''\
def gdcheck_scatter(g, index, shape, sampled):
    """An array of `shape` (after the sample axis, if sampled), zero but g at `index`."""
    g = _tensor(g)
    lead = (g.shape[0],) if sampled else ()
    result = torch.zeros(lead + tuple(shape), dtype=torch.float64)
    result[(slice(None),) * len(lead) + tuple(index)] = g
    return result''',
    "gdcheck_stack": '''\
def gdcheck_stack(items, sampled, out_sampled):
    """The items stacked along a new axis (after the sample axis, if any is sampled)."""
    items = [_tensor(item) for item in items]
    if not out_sampled:
        return torch.stack(items)
    n = next(item.shape[0] for item, s in zip(items, sampled) if s)
    spread = [item if s else torch.broadcast_to(item, (n,) + tuple(item.shape))
              for item, s in zip(items, sampled)]
    return torch.stack(spread, dim=1)''',
    "gdcheck_gap": '''\
def gdcheck_gap(x, axes, which):
    """Over `axes`: the difference of the two largest (which="max") or smallest entries."""
    x = _tensor(x)
    kept = [axis for axis in range(x.ndim) if axis not in axes]
    moved = x.permute(kept + list(axes))
    flat = torch.sort(moved.reshape(tuple(moved.shape[:len(kept)]) + (-1,)), dim=-1).values
    return flat[..., -1] - flat[..., -2] if which == "max" else flat[..., 1] - flat[..., 0]''',
}

BUILTINS = frozenset({"float"})


def reference(name: str) -> str | None:
    if name in HELPERS or name in BUILTINS:
        return name
    return f"tnp.{name}" if name in NUMPY_NAMES else None


def definitions(calls: Iterable[str]) -> list[str]:
    used = sorted(calls)
    members = [NUMPY_NAMES[name] for name in used if name in NUMPY_NAMES]
    namespace = ["class tnp:", '    """numpy\'s functions the code calls, on float64 '
                 'tensors."""', "", "\n\n".join(members)] if members else []
    return [*(["\n".join(namespace)] if namespace else []),
            *(HELPERS[name] for name in used if name in HELPERS)]


def imports(helpers: str) -> list[str]:
    lines = ["import math", ""] if "math." in helpers else []
    return [*lines, "import torch", "from torch.autograd.function import once_differentiable"]


INTERFACE = '''
def loss(params, data=None):
    """The objective L at `params`: a 0-d tensor (torch's autograd differentiates the
    code's operations, for those that require grad)."""
    return _full(_loss(*_arguments(params, data)), ())


def gradient(params, data=None):
    """The exact gradient of L at `params`: {parameter name: tensor of its shape}."""
    return loss_and_gradient(params, data)[1]


def loss_and_gradient(params, data=None):
    """(L, gradient) in one pass: the backward pass reuses the forward values."""
    value, *gradients = _loss_and_gradient(*_arguments(params, data))
    return _full(value, ()), {name: _full(g, shape)
                              for (name, shape), g in zip(PARAMETERS.items(), gradients)}


def exact_loss(params, data=None):
    """L at `params` whose backward is the exact gradient: after
    `exact_loss(params, data).backward()` each parameter tensor's .grad holds it."""
    return ExactLoss.apply(data, *(params[name] for name in PARAMETERS))


class ExactLoss(torch.autograd.Function):
    """L as an autograd function of the parameter tensors (in the order of PARAMETERS):
    `ExactLoss.apply(data, *parameters)`. Its backward is the exact gradient times the
    incoming gradient; no gradient flows to the data."""

    @staticmethod
    def forward(ctx, data, *parameters):
        value, exact = loss_and_gradient(dict(zip(PARAMETERS, parameters)), data)
        ctx.save_for_backward(*exact.values())
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        return (None, *(grad_output * g for g in ctx.saved_tensors))


def _array(value):
    return torch.as_tensor(value, dtype=torch.float64)


def _tensor(value):
    """A float64 tensor of the value (the same tensor if it already is one)."""
    if isinstance(value, torch.Tensor):
        return value if value.dtype == torch.float64 else value.to(torch.float64)
    return torch.tensor(value, dtype=torch.float64)


def _full(value, shape):
    """The value broadcast to `shape`, a tensor of its own."""
    return torch.broadcast_to(_tensor(value), shape).clone()
'''

USAGE = """\
    loss(params, data)               -> 0-d tensor
    gradient(params, data)           -> {gradient}
    loss_and_gradient(params, data)  -> (loss, gradient) in one pass
    exact_loss(params, data)         -> 0-d tensor; .backward() puts the exact gradient in
                                        each parameter's .grad (ExactLoss: the autograd
                                        function itself)"""

TORCH = Target(name="torch", array="tensor", imports=imports, reference=reference,
               definitions=definitions,
               constant=lambda values: (f"torch.tensor({python_literal(values)}, "
                                        "dtype=torch.float64)"),
               interface=INTERFACE, usage=USAGE,
               helpers_heading="# numpy's functions the code calls, in torch, and gdcheck's "
                               "own (the same stable\n# formulas gdcheck runs).")
