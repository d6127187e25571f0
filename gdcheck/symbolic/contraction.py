"""A two-operand einsum written as one matrix product of (transposed) views, where it can be:
the form both the generated code and the formulas for people use."""

from __future__ import annotations

SAMPLE = "Z"   # the sample axis' letter in subscripts (the graph's own letters are lowercase)


def as_matrix_product(a: str, b: str, a_sub: str, b_sub: str, out: str) -> str | None:
    """The contraction as (transposed) views and one matmul, if no axis is shared by both
    operands and the output, and each group of axes is one axis at most."""
    a_keep = [c for c in a_sub if c in out and c not in b_sub]
    b_keep = [c for c in b_sub if c in out and c not in a_sub]
    inner = [c for c in a_sub if c in b_sub and c not in out]
    if (any(c in a_sub and c in b_sub for c in out) or len(a_keep) > 1 or len(b_keep) > 1
            or len(inner) > 1 or len(a_sub) != len(a_keep) + len(inner)
            or len(b_sub) != len(b_keep) + len(inner)):
        return None
    if list(out) != a_keep + b_keep:
        # (A @ B).T is B.T @ A.T: the same product, written so the result is C-ordered
        a, b, a_sub, b_sub, a_keep, b_keep = b, a, b_sub, a_sub, b_keep, a_keep
    left = a if list(a_sub) == a_keep + inner else _transposed(a)
    right = b if list(b_sub) == inner + b_keep else _transposed(b)
    return f"({left} @ {right})" if inner else f"multiply.outer({left}, {right})"


def _transposed(name: str) -> str:
    return name[:-2] if name.endswith(".T") else f"{name}.T"
