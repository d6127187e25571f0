"""A two-operand einsum written as one matrix product of (transposed) views, where it can be:
the form both the generated code and the formulas for people use."""

from __future__ import annotations

from .tensor import Node

SAMPLE = "Z"   # the sample axis' letter in subscripts (the graph's own letters are lowercase)


def sampled_subscripts(node: Node) -> tuple[str, str, str]:
    """A contract node's subscripts with the sample axis written where a value has it."""
    a, b = node.args
    a_sub, b_sub, out = node.attrs
    return (SAMPLE + a_sub if a.sampled else a_sub, SAMPLE + b_sub if b.sampled else b_sub,
            SAMPLE + out if node.sampled else out)


def as_matrix_product(a: str, b: str, a_sub: str, b_sub: str, out: str) -> str | None:
    """The contraction as (transposed) views and one matmul, if no axis is shared by both
    operands and the output, and each group of axes is one axis at most."""
    operands = matrix_operands(a, b, a_sub, b_sub, out)
    if operands is None:
        return None
    left, right, inner = operands
    return f"({left} @ {right})" if inner else f"multiply.outer({left}, {right})"


def matrix_operands(a: str, b: str, a_sub: str, b_sub: str, out: str
                    ) -> tuple[str, str, bool] | None:
    """(left, right, whether an axis is summed) of `as_matrix_product`'s form: left @ right
    with a summed axis, the outer product of left and right without."""
    a_keep = [c for c in a_sub if c in out and c not in b_sub]
    b_keep = [c for c in b_sub if c in out and c not in a_sub]
    inner = [c for c in a_sub if c in b_sub and c not in out]
    if (any(c in a_sub and c in b_sub for c in out) or len(a_keep) > 1 or len(b_keep) > 1
            or len(inner) > 1 or len(a_sub) != len(a_keep) + len(inner)
            or len(b_sub) != len(b_keep) + len(inner)):
        return None
    forms = []
    # (A @ B).T is B.T @ A.T: either order whose result is in the output's axis order, with
    # as few transposed operands as possible (a product of C-ordered arrays is fastest)
    for (x, x_sub, x_keep), (y, y_sub, y_keep) in (((a, a_sub, a_keep), (b, b_sub, b_keep)),
                                                   ((b, b_sub, b_keep), (a, a_sub, a_keep))):
        if list(out) != x_keep + y_keep:
            continue
        left = x if list(x_sub) == x_keep + inner else _transposed(x)
        right = y if list(y_sub) == inner + y_keep else _transposed(y)
        forms.append(((left + right).count(".T"), (left, right, bool(inner))))
    return min(forms)[1]


def _transposed(name: str) -> str:
    return name[:-2] if name.endswith(".T") else f"{name}.T"
