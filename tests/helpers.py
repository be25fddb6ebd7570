"""Shared test helpers: exact symbolic equality."""
from __future__ import annotations

import sympy as sp


def same(a, b) -> bool:
    """Exact equality: the difference of the two expressions simplifies to zero.

    Activations are rewritten as exponentials first, so ``sigmoid(a)`` and
    ``1/(1 + exp(-a))`` compare equal.
    """
    difference = sp.sympify(a) - sp.sympify(b)
    if difference == 0:
        return True
    return sp.simplify(difference.rewrite(sp.exp)) == 0
