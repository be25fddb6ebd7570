"""Diagnoses shared by scalar and matrix claims: what a wrong claim's mistake most likely is."""
from __future__ import annotations

import numpy as np
import sympy as sp

from .. import printing
from ..core.model import depth
from ..symbolic.abbreviate import abbreviate

__all__ = ["constant_factor_diagnosis", "identity_diagnosis", "index_slip"]


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


#: expressions deeper than this are not rewritten for a diagnosis (expand and cancel recurse)
_DIAGNOSABLE_DEPTH = 25


def _squared_sum(expr):
    """``(c, base)`` when ``expr`` is ``c·(a + b + …)²``; else ``None``."""
    coefficient, rest = expr.as_coeff_Mul()
    if isinstance(rest, sp.Pow) and rest.exp == 2 and isinstance(rest.base, sp.Add):
        return coefficient, rest.base
    return None


def identity_diagnosis(claimed, correct) -> str | None:
    """What an expansion or a rewriting that is not equal most likely got wrong.

    >>> from sympy import symbols
    >>> y, f = symbols('y f')
    >>> identity_diagnosis(y**2 + f**2 - 2*y, (y - f)**2)
    'the cross term of (y - f)^2 is -2f·y; the claim has -2y'
    >>> identity_diagnosis((y - f)/2, (y - f)**2/2)
    'the square is missing: the claim is y/2 - f/2, the correct value (y - f)^2/2'
    >>> identity_diagnosis(-(y - f), y - f)
    'sign error: the claim is the negative of the correct value'
    """
    claimed, correct = sp.sympify(claimed), sp.sympify(correct)
    if max(depth(claimed), depth(correct)) > _DIAGNOSABLE_DEPTH:
        return None
    if correct != 0:
        ratio = sp.cancel(claimed / correct)
        if ratio.is_number and ratio.is_real:
            return constant_factor_diagnosis(float(ratio), "correct value")
    square = _squared_sum(correct)
    if square is not None:
        coefficient, base = square
        if sp.expand(coefficient * base - claimed) == 0:
            return (f"the square is missing: the claim is {printing.text(claimed)}, the correct value "
                    f"{printing.text(correct)}")
        terms = base.args
        squares = sp.expand(coefficient * sum(t**2 for t in terms))
        cross = sp.expand(correct - squares)
        claimed_cross = sp.expand(sp.expand(claimed) - squares)
        if cross != 0 and claimed_cross != cross:
            return (f"the cross term of {printing.text(base**2)} is {printing.text(cross)}; the claim has "
                    f"{printing.text(claimed_cross)}")
    difference = sp.expand(claimed - correct)
    if sp.count_ops(difference) <= 12:
        return f"the claim is off by {printing.text(difference)}"
    return None
