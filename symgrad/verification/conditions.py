r"""Whether a claim that fails in general holds once an array is a probability distribution.

``∂L/∂z_k = p_k - y_k`` for the cross-entropy of a softmax is what every
slide writes, and it is right only because the label y sums to 1 (one-hot,
or a distribution): in general ∂L/∂z_k = p_k Σ_i y_i - y_k. Sampled points
with independent y_i find the difference; the same comparison with y drawn
from a Dirichlet distribution (entries ≥ 0, summing to 1) tells such a claim
from a wrong one.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import IndexedBase

from ..core.model import free_symbols
from ..numeric.points import SumTooLarge, UndefinedFunction, concrete, random_points, values_at

__all__ = ["distribution_needed"]

#: points compared with the array drawn as a distribution, and how many must be real on both sides
POINTS, VALID = 80, 20


def _entries(symbols, base: IndexedBase) -> list:
    """The entries of ``base`` among concrete symbols (``y[1]``, ``y[2]``, … once a sum is expanded)."""
    label = str(base.label)
    return [s for s in symbols if str(s).startswith(label + "[") or getattr(s, "base", None) == base]


def distribution_needed(claimed, correct, seed: int = 0) -> IndexedBase | None:
    """The array that, drawn as a probability distribution, makes ``claimed`` equal ``correct``; else ``None``.

    >>> from sympy import IndexedBase, Sum, exp, log, symbols
    >>> y, z, i, k, n = IndexedBase('y'), IndexedBase('z'), *symbols('i k n')
    >>> p = lambda m: exp(z[m]) / Sum(exp(z[i]), (i, 1, n))
    >>> truth = p(k) * Sum(y[i], (i, 1, n)) - y[k]          # ∂/∂z_k of -Σ y_i log p_i
    >>> distribution_needed(p(k) - y[k], truth)
    y
    >>> distribution_needed(p(k) + y[k], truth) is None      # wrong whatever y is
    True
    """
    claimed, correct = sp.sympify(claimed), sp.sympify(correct)
    bases = sorted(claimed.atoms(IndexedBase) | correct.atoms(IndexedBase), key=str)
    try:
        exprs = concrete([claimed, correct])
    except (SumTooLarge, UndefinedFunction):
        return None
    symbols = sorted(free_symbols(exprs[0]) | free_symbols(exprs[1]), key=sp.default_sort_key)
    rng = np.random.default_rng(seed)
    for base in bases:
        entries = _entries(symbols, base)
        if len(entries) < 2:
            continue
        points = random_points(symbols, POINTS, rng)
        drawn = rng.dirichlet(np.ones(len(entries)), size=POINTS)
        for column, entry in enumerate(entries):
            points[entry] = drawn[:, column]
        try:
            a, b = values_at(exprs[0], symbols, points), values_at(exprs[1], symbols, points)
        except (UndefinedFunction, ValueError, TypeError):
            return None
        valid = np.isfinite(a) & np.isfinite(b)
        if valid.sum() >= VALID and np.allclose(a[valid], b[valid], rtol=1e-9, atol=1e-12):
            return base
    return None
