"""Shared test helpers: exact symbolic equality; a matrix model's compiled loss and gradients at a point."""
from __future__ import annotations

import sympy as sp

import symgrad


def same(a, b) -> bool:
    """Exact equality: the difference of the two expressions simplifies to zero.

    Activations are rewritten as exponentials first, so ``sigmoid(a)`` and
    ``1/(1 + exp(-a))`` compare equal.
    """
    difference = sp.sympify(a) - sp.sympify(b)
    if difference == 0:
        return True
    return sp.simplify(difference.rewrite(sp.exp)) == 0


def compiled_at(model, values: dict):
    """``symgrad.compile(model)`` at ``values`` given by the model's own names: one sample's columns are
    handed over as a batch of one row, as the compiled function (always a batch) takes them."""
    f = symgrad.compile(model)
    arguments = dict(values)
    if model.batch is None:
        for mine, theirs in zip(model.inputs[:2], f.model.inputs[:2]):
            arguments[str(theirs)] = arguments.pop(str(mine)).T
    return f(arguments)
