"""The gradients of one output by several parameters: a dict that prints as ``dL/dw = ...`` lines and LaTeX."""
from __future__ import annotations

import sympy as sp

from ..printing import aligned_latex, latex, text
from ..core.matrix_model import aligned

__all__ = ["Gradients"]


class Gradients(dict):
    """``{parameter: dL/dparameter}`` for a scalar or a matrix model, shown as the lectures write it.

    A ``dict`` (so ``grads[w]``, ``==`` and iteration work as on any dict)
    that knows the output ``of`` it differentiates: ``repr`` gives one line
    per parameter, ``latex()`` an ``aligned`` block, and Jupyter shows the
    LaTeX.

    >>> from sympy import symbols
    >>> w, b, L = symbols('w b L')
    >>> g = Gradients({w: 2*w, b: sp.S(3)}, of=L)
    >>> g
    dL/dw = 2w
    dL/db = 3
    >>> g == {w: 2*w, b: 3}, g[w]
    (True, 2*w)
    >>> g.latex()
    '\\\\begin{aligned}\\\\frac{\\\\partial L}{\\\\partial w} &= 2 w \\\\\\\\ \\\\frac{\\\\partial L}{\\\\partial b} &= 3\\\\end{aligned}'
    """

    def __init__(self, results=(), of: sp.Symbol | None = None):
        super().__init__(results)
        #: the differentiated output (``None``: an expression without a name)
        self.of = of

    def _name(self, param, printer) -> str:
        top = "" if self.of is None else printer(self.of)
        return f"d{top}/d{printer(param)}"

    def rows(self) -> list[tuple[str, str, tuple | None]]:
        """``(dL/dp, gradient, shape)`` per parameter; the shape is that of a matrix parameter, else None."""
        return [(self._name(p, text), text(g), getattr(p, "shape", None)) for p, g in self.items()]

    def text(self) -> str:
        if not self:
            return "(no parameters)"
        return aligned(self.rows())

    def latex(self) -> str:
        """The gradients as one LaTeX ``aligned`` block, ``\\frac{\\partial L}{\\partial w} &= ...`` per row."""
        top = "" if self.of is None else latex(self.of)
        rows = [rf"\frac{{\partial {top}}}{{\partial {latex(p)}}} &= {latex(g)}" for p, g in self.items()]
        return aligned_latex(rows)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"

    def __repr__(self) -> str:
        return self.text()

    __str__ = __repr__

    def __reduce__(self):
        # pickled and copied as a Gradients (dict's default would lose ``of``)
        return (Gradients, (dict(self), self.of))
