"""Diagnoses shared by scalar and matrix claims: what a wrong claim's mistake most likely is."""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..symbolic.abbreviate import abbreviate

__all__ = ["constant_factor_diagnosis", "index_slip"]


def index_slip(claim) -> tuple | None:
    """A sum whose summand does not use its index (Σ_k δ_i x_ij), a slip of the pen: the index, the summand
    with its per-sample pieces named (σ_i, δ_i), and those names; ``None`` if there is none.

    >>> from sympy import IndexedBase, Sum, symbols
    >>> x, i, k, N = IndexedBase('x'), *symbols('i k N')
    >>> index_slip(Sum(x[i], (k, 1, N)))[:2]
    (k, x[i])
    """
    if not isinstance(claim, sp.Basic):
        return None
    for node in sp.preorder_traversal(claim):
        if isinstance(node, sp.Sum):
            for index, *_ in node.limits:
                if index not in node.function.free_symbols:
                    summand, names = abbreviate(node.function)
                    return index, summand, names
    return None


def constant_factor_diagnosis(ratio: float, what: str = "derivative") -> str:
    """The mistake that a constant ratio claim / truth points to.

    >>> constant_factor_diagnosis(0.5)
    'missing factor 2 (the 2 that differentiating the square brings down)'
    >>> constant_factor_diagnosis(-1.0, "gradient")
    'sign error: the claim is the negative of the gradient'
    """
    if np.isclose(ratio, -1):
        return f"sign error: the claim is the negative of the {what}"
    if np.isclose(ratio, 0.5):
        return "missing factor 2 (the 2 that differentiating the square brings down)"
    if np.isclose(ratio, 2):
        return "extra factor 2"
    if np.isclose(ratio, 0):
        return f"the claim is zero but the {what} is not"
    shown = f"{ratio:.6g}"
    if float(shown) == 1.0:  # 1.000001 is not 1
        shown = f"{ratio:.12g}"
    return f"off by a constant factor: the claim is {shown} times the {what}"
