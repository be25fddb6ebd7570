"""Evaluate SymPy expressions numerically at many random points: the fast half of every check."""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import Indexed, Sum

from ..core.ops import OPS

__all__ = ["NUMPY_FUNCTIONS", "concrete", "evaluator", "random_points"]

#: the op table's stable NumPy forwards, by the name lambdify prints for them
NUMPY_FUNCTIONS = {
    entry.sympy_function.__name__: entry.forward
    for entry in OPS.values()
    if entry.sympy_function is not None and entry.sympy_function.__module__.startswith("symgrad")
}

#: sizes given to summation bounds when a data-set expression is checked numerically
SIZES = (3, 2, 4)


def concrete(exprs: list[sp.Expr], sizes=SIZES, fixed: dict | None = None) -> list[sp.Expr]:
    """Data-set expressions made concrete: summation bounds get small sizes, sums are expanded,
    and each array element ``x[i, k]`` becomes a plain symbol.

    Free indices (such as the ``j`` of ``dL/dw_j``) are set by ``fixed`` or to 1.
    """
    exprs = [sp.sympify(e) for e in exprs]
    if not any(e.has(Sum) or e.has(Indexed) for e in exprs):
        return exprs
    from ..core.model import symbols_of  # the roles of names: sizes, indices

    roles = [symbols_of(e) for e in exprs]
    size_symbols = sorted(set().union(*(r["sizes"] for r in roles)), key=sp.default_sort_key)
    index_symbols = sorted(set().union(*(r["indices"] for r in roles)), key=sp.default_sort_key)
    values = {s: sizes[k % len(sizes)] for k, s in enumerate(size_symbols)}
    values.update({i: 1 for i in index_symbols})
    values.update(fixed or {})
    out = []
    for e in exprs:
        e = e.subs(values).doit()
        elements = {node: sp.Symbol(f"{node.base}[{','.join(map(str, node.indices))}]")
                    for node in e.atoms(Indexed)}
        out.append(e.xreplace(elements))
    return out


def evaluator(expr: sp.Expr, symbols: list):
    """A vectorised NumPy function of ``symbols`` computing ``expr`` with the op table's forwards."""
    return sp.lambdify(symbols, expr, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True)


def random_points(symbols: list, count: int, rng: np.random.Generator,
                  positive: bool = False) -> dict:
    """``count`` random values per symbol, in [-2, 2] (or [0.1, 2] when ``positive``).

    The range keeps sigmoids away from saturation, where a wrong claim could
    hide behind round-off.
    """
    low = 0.1 if positive else -2.0
    return {s: rng.uniform(low, 2.0, size=count) for s in symbols}


def values_at(expr: sp.Expr, symbols: list, points: dict) -> np.ndarray:
    """``expr`` at every point, as a float array (NaN where undefined or complex)."""
    with np.errstate(all="ignore"):
        result = evaluator(expr, symbols)(*[points[s] for s in symbols])
        result = np.asarray(result, dtype=complex) * np.ones(len(points[symbols[0]]) if symbols else 1)
    real = np.where(np.abs(result.imag) > 1e-12 * (1 + np.abs(result.real)), np.nan, result.real)
    return real.astype(float)
