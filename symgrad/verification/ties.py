r"""Claimed partials of a max or min at a tie, checked against the rate the function really has there.

Away from a tie, ``∂max(x, y)/∂x = 𝟙{x ≥ y}`` holds, so sampled points
cannot tell a good convention from a bad one; at the tie ``x = y`` they can.
There max is not differentiable, but along every direction that keeps the
tie (``x`` and ``y`` moved together) it changes smoothly:
``max(x + t, y + t) = max(x, y) + t``. A gradient convention is a
subgradient only if its partials give that rate along such directions; the
indicators 𝟙{x ≥ y} and 𝟙{y ≥ x} give 2, so they are not one (½ each, or
1 and 0, are).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import Max, Min

from .. import printing
from ..numeric.points import precise_value

__all__ = ["tie_mistake"]

#: points on the tie tried, and the step of the one-sided rates
_POINTS, _STEP = 5, 1e-6


def _tie_point(a, b, variables, rng) -> dict | None:
    """A point where ``a = b``: random values, one variable solved for (a linear tie: SymPy's solve)."""
    difference = sp.expand(a - b)
    for unknown in variables:
        if not difference.has(unknown) or sp.degree(difference, unknown) != 1:
            continue
        point = {v: sp.Float(rng.uniform(-2, 2), 30) for v in variables if v != unknown}
        root = sp.solve(difference.xreplace(point), unknown)
        if len(root) == 1 and root[0].is_real:
            point[unknown] = sp.Float(root[0], 30)
            return point
    return None


def _value(expr, point) -> float | None:
    value = precise_value(expr, point)
    return None if value is None or value.imag else float(value.real)


def tie_mistake(function, partials: dict) -> str | None:
    r"""Why claimed partials of a max/min are no subgradient at a tie, or ``None`` if they are (or no tie).

    ``partials`` maps each variable to the claimed ∂function/∂variable.

    >>> from sympy import symbols, Heaviside
    >>> x, y = symbols('x y')
    >>> print(tie_mistake(sp.Max(x, y), {x: Heaviside(x - y, 1), y: Heaviside(y - x, 1)}))  # doctest: +ELLIPSIS
    at a tie x = y the claimed partials give max(x, y) a rate of 2 along (1, 1), but it changes at rate 1 there ...
    >>> tie_mistake(sp.Max(x, y), {x: Heaviside(x - y), y: Heaviside(y - x)}) is None  # ½ each at the tie
    True
    """
    kinks = [node for node in sp.preorder_traversal(function) if isinstance(node, (Max, Min)) and len(node.args) == 2]
    variables = sorted(partials, key=sp.default_sort_key)
    rng = np.random.default_rng(0)
    for kink in kinks:
        a, b = kink.args
        if not (a.free_symbols | b.free_symbols) <= set(variables):
            continue
        normal = [sp.diff(a - b, v) for v in variables]
        for _ in range(_POINTS):
            point = _tie_point(a, b, variables, rng)
            if point is None:
                break
            n = np.array([_value(c, point) or 0.0 for c in normal])
            ones = np.ones(len(variables))
            direction = ones - (ones @ n) / (n @ n) * n if n @ n else ones
            if np.linalg.norm(direction) < 1e-9:
                continue
            direction = direction / np.abs(direction).max()
            moved = {v: point[v] + _STEP * d for v, d in zip(variables, direction)}
            back = {v: point[v] - _STEP * d for v, d in zip(variables, direction)}
            f_plus, f_minus = _value(function, moved), _value(function, back)
            claimed = [_value(partials[v], point) for v in variables]
            if f_plus is None or f_minus is None or None in claimed:
                continue
            rate = (f_plus - f_minus) / (2 * _STEP)
            claimed_rate = float(np.dot(claimed, direction))
            if abs(claimed_rate - rate) > 1e-6 * max(1.0, abs(rate)):
                shown = ", ".join(f"{d:.3g}" for d in direction)
                tie = f"{printing.text(a)} = {printing.text(b)}"
                step = {v: v + sp.nsimplify(d) * sp.Symbol("t") for v, d in zip(variables, direction)}
                name = "max" if isinstance(kink, Max) else "min"
                shown_kink = f"{name}({printing.text(a)}, {printing.text(b)})"
                moved_kink = f"{name}({printing.text(a.xreplace(step))}, {printing.text(b.xreplace(step))})"
                return (f"at a tie {tie} the claimed partials give {shown_kink} a rate of "
                        f"{claimed_rate:.3g} along ({shown}), but it changes at rate {rate:.3g} there "
                        f"({moved_kink} = {shown_kink} + t): the partials at a tie must add up to "
                        f"that rate, e.g. 1/2 each")
    return None
