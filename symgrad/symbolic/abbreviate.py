"""Naming the per-sample pieces of a data-set loss the way slides do: ``σ_i``, ``δ_i``."""
from __future__ import annotations

import sympy as sp
from sympy import Add, Function, Indexed, IndexedBase, Sum

from ..core.model import symbols_of
from ..core.ops import OPS

__all__ = ["abbreviate"]


def _sample_index(node):
    indices = symbols_of(node)["indices"]
    return next(iter(indices)) if len(indices) == 1 else None


def abbreviate(expr) -> tuple[sp.Expr, dict]:
    """Name the per-sample pieces the way slides do: ``σ_i = σ(Σ_k w_k x_ik)``, ``δ_i = y_i - σ_i``.

    Returns the shortened expression and the definitions, in order.

    >>> from symgrad.core.functions import sigmoid
    >>> from sympy import IndexedBase, symbols
    >>> w, x, y = IndexedBase('w'), IndexedBase('x'), IndexedBase('y')
    >>> i, k, m = symbols('i k m')
    >>> short, names = abbreviate((y[i] - sigmoid(Sum(w[k]*x[i, k], (k, 1, m)))) * x[i, 0])
    >>> short
    delta[i]*x[i, 0]
    >>> names
    {sigma[i]: sigmoid(Sum(w[k]*x[i, k], (k, 1, m))), delta[i]: -sigma[i] + y[i]}
    """
    definitions: dict = {}
    for node in sp.preorder_traversal(expr):
        short = OPS[type(node).__name__].short if isinstance(node, Function) and type(node).__name__ in OPS else ""
        if short and node.args[0].has(Sum) and node not in definitions.values():
            index = _sample_index(node)
            if index is not None:
                definitions[IndexedBase(short)[index]] = node
    expr = expr.xreplace({v: k for k, v in definitions.items()})
    # the residual: target minus prediction, y_i - σ_i or y_i - Σ_k w_k x_ik
    for node in sp.preorder_traversal(expr):
        if isinstance(node, Add) and len(node.args) == 2 and node.has(Indexed):
            positive = [a for a in node.args if isinstance(a, Indexed)]
            negative = [a for a in node.args if a.could_extract_minus_sign()]
            if len(positive) == 1 and len(negative) == 1 and _sample_index(node) is not None:
                delta = IndexedBase("delta")[_sample_index(node)]
                if negative[0].has(Sum) or (-negative[0]) in definitions:
                    definitions[delta] = node
                    expr = expr.xreplace({node: delta})
                    break
    return expr, definitions
