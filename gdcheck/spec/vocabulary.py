"""The names the expression language gives a meaning to, which a spec may not declare.

Kept free of SymPy so that reading a spec stays cheap; `gdcheck.symbolic.functions`
defines each function, and a test holds the two to the same names.
"""

from __future__ import annotations

FUNCTION_NAMES = frozenset({
    "exp", "log", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sigmoid", "softplus", "relu",
    "log1p", "expm1", "erf", "sign", "maximum", "minimum",
    "sum", "mean", "dot", "norm", "logsumexp", "max", "min",
    "softmax", "log_softmax", "transpose",
    "sinh", "cosh", "arctan", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh",
    "where", "clip", "conv1d", "conv2d", "max_pool", "avg_pool",
})
CONSTANT_NAMES = frozenset({"pi", "e"})
MODEL_OUTPUT = "y_pred"

RESERVED_NAMES = FUNCTION_NAMES | CONSTANT_NAMES | {MODEL_OUTPUT}
