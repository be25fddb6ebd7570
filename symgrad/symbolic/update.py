"""Gradient-descent update rules ``w <- w - eta * dL/dw``, printable as text and LaTeX."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import sympy as sp
from sympy import IndexedBase, Symbol

from .. import printing
from . import abbreviate as per_sample
from ..core.matrix_model import MatrixModel
from ..core.model import Model
from .derive import component, grad
from .matrix_updates import MatrixUpdateRules, matrix_update_rules

__all__ = ["UpdateRules", "update_rules"]

ETA = Symbol("eta")


class UpdateRules(Mapping):
    """Each parameter mapped to its new value after one gradient-descent step.

    Keys are the parameters (an array parameter ``w`` appears as its generic
    component ``w[j]``); values are SymPy expressions ``w - eta*dL/dw``.
    ``gradients`` holds the ``dL/dw`` themselves and ``lr`` the step size.
    """

    def __init__(self, gradients: Mapping, lr=ETA):
        self.gradients = dict(gradients)
        self.lr = sp.sympify(lr, strict=True)
        self._rules = {p: p - self.lr * g for p, g in self.gradients.items()}

    def __getitem__(self, param):
        return self._rules[param]

    def __iter__(self):
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def _sign_and_step(self, param):
        # w <- w + eta*2(...) reads better than w <- w - eta*(-2(...)): descent, written as slides do
        g = self.gradients[param]
        if isinstance(g, sp.Mul) and g.as_coeff_Mul()[0].is_negative:
            return "+", -g
        return "-", g

    def _steps(self, abbreviate: bool):
        """``(param, sign, step)`` per rule, and the names that abbreviating introduced."""
        steps, where = [], {}
        for p in self:
            sign, step = self._sign_and_step(p)
            if abbreviate:
                step, names = per_sample.abbreviate(step)
                where.update(names)
            steps.append((p, sign, step))
        return steps, where

    def text(self, abbreviate: bool = True) -> str:
        """One line per parameter: ``w ← w - η·2x(b + w·x - y)``.

        With ``abbreviate``, per-sample pieces of a data-set loss are named as
        on the slides (``σ_i``, ``δ_i``) and defined after the rules.
        """
        lr = printing.text(self.lr)
        lines = []
        steps, where = self._steps(abbreviate)
        for p, sign, step in steps:
            name = printing.text(p)
            body = printing.text(step)
            if isinstance(step, sp.Add) and not body.endswith(")"):
                body = f"({body})"
            lines.append(f"{name} ← {name} {sign} {lr}·{body}")
        for k, (name, value) in enumerate(where.items()):
            lines.append(f"  {'where' if k == 0 else '     '} {printing.text(name)} = {printing.text(value)}")
        return "\n".join(lines)

    def latex(self, abbreviate: bool = True) -> str:
        r"""The rules as a LaTeX ``aligned`` block with ``\leftarrow``."""
        lr = printing.latex(self.lr)
        rows = []
        steps, where = self._steps(abbreviate)
        for p, sign, step in steps:
            name = printing.latex(p)
            body = printing.latex(step)
            if isinstance(step, sp.Add):
                body = rf"\left({body}\right)"
            rows.append(rf"{name} &\leftarrow {name} {sign} {lr} \, {body}")
        rows += [rf"{printing.latex(k)} &= {printing.latex(v)}" for k, v in where.items()]
        return printing.aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        # the rules as the slides write them: one readable line per parameter
        return self.text()


def update_rules(model_or_expr, wrt: Iterable | None = None, lr=ETA, *, form: str = "stages",
                 inputs: Iterable = ()) -> UpdateRules | MatrixUpdateRules:
    """The gradient-descent rules ``p <- p - lr * dL/dp`` for each parameter (or those in ``wrt``).

    A matrix model's rules are written with its backprop deltas, after them
    (a :class:`~symgrad.symbolic.matrix_updates.MatrixUpdateRules`).

    >>> from sympy import symbols
    >>> w, x, b, y = symbols('w x b y')
    >>> rules = update_rules((y - (w*x + b))**2, [w])
    >>> rules[w]
    -2*eta*x*(b + w*x - y) + w
    >>> print(rules)
    w ← w - η·2x(b + w·x - y)
    >>> from symgrad import networks
    >>> print(update_rules(networks.softmax_classifier(3, 2)))
    δ1 = p - y            (2×1)
    W1 ← W1 - η·δ1·xᵀ     (2×3)
    b1 ← b1 - η·δ1        (2×1)
    """
    if isinstance(model_or_expr, MatrixModel):
        return matrix_update_rules(model_or_expr, wrt, lr=lr, form=form)
    model = Model.coerce(model_or_expr, inputs=inputs)
    params = model.params if wrt is None else (
        [wrt] if not isinstance(wrt, (list, tuple)) else list(wrt))
    targets = []
    for p in params:
        p = model.symbol(p)
        targets.append(component(model, p) if isinstance(p, IndexedBase) else p)
    gradients = grad(model, targets, form=form)
    return UpdateRules(gradients, lr)
