"""Gradient-descent steps of a matrix model, written with its backprop deltas: ``W1 ← W1 - η·δ1·xᵀ``."""
from __future__ import annotations

import sympy as sp
from sympy import MatAdd, Symbol

from .request import check_form
from .. import printing
from ..core.expressions import latex, text
from ..core.matrix_model import MatrixModel
from .matrix_rules import Backprop, backprop
from ..core.shapes import shape_text

__all__ = ["MatrixUpdateRules", "matrix_update_rules"]


def _grouped(expr, printed: str) -> str:
    # η multiplies the whole gradient: a sum needs parentheses
    return f"({printed})" if isinstance(expr, (MatAdd, sp.Add)) else printed


class MatrixUpdateRules:
    """One gradient-descent step for every parameter, after the deltas it uses.

    >>> from symgrad.matrix import softmax_classifier
    >>> print(matrix_update_rules(softmax_classifier(3, 2)))
    δ1 = p - y            (2×1)
    W1 ← W1 - η·δ1·xᵀ     (2×3)
    b1 ← b1 - η·δ1        (2×1)
    """

    def __init__(self, derivation: Backprop, lr, form: str):
        self.derivation = derivation
        self.lr = lr
        self.form = form
        self.gradients = {p: derivation.gradient(p, form) for p in derivation.gradients}

    @property
    def deltas(self) -> tuple:
        """The named deltas the rules use (none in closed form)."""
        return self.derivation.deltas if self.form == "stages" else ()

    def rows(self) -> list[tuple[str, tuple]]:
        """Each line (a delta, then each step) with the shape of what it computes."""
        rows = [(f"{text(d)} = {text(e)}", d.shape) for d, e, _ in self.deltas]
        rows += [(f"{text(p)} ← {text(p)} - {text(self.lr)}·{_grouped(g, text(g))}", p.shape)
                 for p, g in self.gradients.items()]
        return rows

    def text(self) -> str:
        rows = self.rows()
        width = max(len(line) for line, _ in rows)
        return "\n".join(f"{line.ljust(width)}   ({shape_text(shape)})" for line, shape in rows)

    def __str__(self) -> str:
        return self.text()

    def latex(self) -> str:
        """The deltas and the steps as one LaTeX ``aligned`` block."""
        rows = [rf"{latex(d)} &= {latex(e)}" for d, e, _ in self.deltas]
        rows += [rf"{latex(p)} &\leftarrow {latex(p)} - {latex(self.lr)} {_grouped(g, latex(g))}"
                 for p, g in self.gradients.items()]
        return printing.aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __repr__(self) -> str:
        return self.text()

    def to_dict(self) -> dict:
        """Each parameter's new value, as text, by name."""
        return {str(p): f"{text(p)} - {text(self.lr)}·{_grouped(g, text(g))}" for p, g in self.gradients.items()}


def matrix_update_rules(model: MatrixModel, wrt=None, lr="eta", form: str = "stages") -> MatrixUpdateRules:
    """Gradient descent on a matrix model: ``P ← P - η·dL/dP`` for each parameter, by the layer rules.

    ``form="stages"`` writes the gradients with the deltas of
    :func:`~symgrad.matrix.backprop`; ``form="closed"`` substitutes them.
    """
    check_form(form)
    derivation = backprop(model, wrt)
    return MatrixUpdateRules(derivation, Symbol(lr) if isinstance(lr, str) else lr, form)
