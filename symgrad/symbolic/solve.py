"""Closed-form minimisers: set every partial derivative to zero and solve (least squares)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp
from sympy import Add, IndexedBase, Sum, Symbol
from sympy.simplify.simplify import factor_sum

from .derive import grad
from ..printing import aligned_latex
from ..errors import DerivationError
from ..core.model import Model
from ..printing import text

__all__ = ["StationaryPoint", "stationary_point", "least_squares", "expand_sums"]


def _expand_one(s: Sum) -> sp.Expr:
    terms = []
    for term in Add.make_args(sp.expand(s.function)):
        inner = factor_sum(Sum(term, *s.limits))
        # Sum(c, (i, 1, m)) with c free of i is m*c
        inner = inner.replace(
            lambda e: isinstance(e, Sum) and not (e.function.free_symbols & set(e.variables)),
            lambda e: e.doit())
        terms.append(inner)
    return Add(*terms)


def expand_sums(expr: sp.Expr) -> sp.Expr:
    """Split sums of sums and pull constants out: ``Sum(a*x[i] + b, i)`` -> ``a*Sum(x[i], i) + m*b``.

    >>> from sympy import IndexedBase, symbols
    >>> x = IndexedBase('x'); a, b, i, m = symbols('a b i m')
    >>> expand_sums(Sum(a*x[i] + b, (i, 1, m)))
    a*Sum(x[i], (i, 1, m)) + b*m
    """
    return expr.replace(lambda e: isinstance(e, Sum), _expand_one)


@dataclass(frozen=True)
class StationaryPoint:
    """The equations ``dL/dp = 0`` and their solution for the parameters."""

    equations: dict
    solution: dict

    def __str__(self) -> str:
        lines = [f"dL/d{text(p)} = 0 = {text(eq)}" for p, eq in self.equations.items()]
        lines += [f"{text(p)} = {text(value)}" for p, value in self.solution.items()]
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        rows = [rf"0 &= {sp.latex(eq)}" for eq in self.equations.values()]
        rows += [rf"{sp.latex(p)} &= {sp.latex(v)}" for p, v in self.solution.items()]
        return f"$\\displaystyle {aligned_latex(rows)}$"


def stationary_point(model_or_expr, params: Iterable | None = None,
                     inputs: Iterable = ()) -> StationaryPoint:
    """Solve ``dL/dp = 0`` for the parameters, when those equations are linear in them.

    Sums over the data are treated as known numbers (``Sum(x[i])`` and the like).

    >>> from sympy import symbols
    >>> w, x, y = symbols('w x y')
    >>> stationary_point((y - w*x)**2, [w], inputs=[x, y]).solution
    {w: y/x}
    """
    model = Model.coerce(model_or_expr, inputs=inputs)
    wanted = list(model.params if params is None else params)
    gradients = grad(model, wanted, form="closed")
    equations = {p: expand_sums(g) for p, g in gradients.items()}
    sums = sorted({s for eq in equations.values() for s in eq.atoms(Sum)}, key=sp.default_sort_key)
    stand_ins = {s: sp.Dummy(f"sum{k}") for k, s in enumerate(sums)}
    unknowns = [model.symbol(p) for p in wanted]
    if any(isinstance(u, IndexedBase) for u in unknowns):
        raise DerivationError("stationary_point solves for scalar parameters only")
    linear = [eq.xreplace(stand_ins) for eq in equations.values()]
    try:
        solutions = sp.solve(linear, unknowns, dict=True)
    except NotImplementedError as error:
        raise DerivationError(f"could not solve dL/dp = 0 in closed form: {error}") from None
    if len(solutions) != 1:
        raise DerivationError(
            f"dL/dp = 0 has {len(solutions)} solutions for {unknowns}; expected exactly one")
    back = {v: k for k, v in stand_ins.items()}
    solution = {p: sp.factor(solutions[0][p]).xreplace(back) for p in unknowns if p in solutions[0]}
    return StationaryPoint(equations=equations, solution=solution)


def least_squares(samples=Symbol("m")) -> StationaryPoint:
    r"""The lecture's least-squares line: minimise :math:`\sum_i (y_i - \theta_0 - \theta_1 x_i)^2`.

    >>> result = least_squares()
    >>> print(result.solution[Symbol('theta1')])
    (m*Sum(x[i]*y[i], (i, 1, m)) - Sum(x[i], (i, 1, m))*Sum(y[i], (i, 1, m)))/(m*Sum(x[i]**2, (i, 1, m)) - Sum(x[i], (i, 1, m))**2)
    """
    x, y = IndexedBase("x"), IndexedBase("y")
    i = Symbol("i")
    theta0, theta1 = sp.symbols("theta0 theta1")
    loss = Sum((y[i] - theta0 - theta1 * x[i]) ** 2, (i, 1, samples))
    return stationary_point(Model.from_expr(loss, inputs=[x, y]), [theta0, theta1])
