"""What parsing a statement gives besides an expression: an equation (a derivative claim) or an update rule."""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy import Derivative, Indexed, IndexedBase, Symbol

__all__ = ["Equation", "Reading", "UpdateRule"]


@dataclass(frozen=True)
class Equation:
    r"""An equation ``lhs = rhs`` as written, e.g. the claim ``dL/dw = 2x(wx + b - y)``.

    A chain ``a = b = c`` (a LaTeX ``aligned`` derivation) keeps its middle
    sides in ``steps``; ``sides`` lists all of them in order. When the left
    side is a derivative, ``of`` is what is differentiated and ``wrt`` the
    variable:

    >>> from sympy import symbols, Derivative
    >>> L, w, x = symbols('L w x')
    >>> claim = Equation(Derivative(L, w), 2*x)
    >>> claim.of, claim.wrt
    (L, w)
    >>> print(claim)
    Derivative(L, w) = 2*x
    """

    lhs: sp.Expr
    rhs: sp.Expr
    #: the sides between ``lhs`` and ``rhs`` of a chain ``lhs = s1 = s2 = rhs``
    steps: tuple = ()

    @property
    def sides(self) -> tuple:
        """All sides in the order written: ``(lhs, *steps, rhs)``."""
        return (self.lhs, *self.steps, self.rhs)

    @property
    def derivative(self) -> Derivative | None:
        """The left side when it is a derivative, such as ``Derivative(L, w)``; else ``None``."""
        return self.lhs if isinstance(self.lhs, Derivative) else None

    @property
    def of(self) -> sp.Expr | None:
        """The expression the left side differentiates (``L`` in ``dL/dw``), or ``None``."""
        d = self.derivative
        return None if d is None else d.expr

    @property
    def variables(self) -> tuple:
        """The differentiation variables with repeats, ``(w, w)`` for ``d²L/dw²``; ``()`` if none."""
        d = self.derivative
        return () if d is None else tuple(d.variables)

    @property
    def wrt(self) -> Symbol | Indexed | None:
        """The variable of a first-order derivative claim (``w`` in ``dL/dw``); else ``None``."""
        variables = self.variables
        return variables[0] if len(variables) == 1 else None

    def as_eq(self) -> sp.Eq:
        """The equation as an unevaluated SymPy ``Eq(lhs, rhs)``."""
        return sp.Eq(self.lhs, self.rhs, evaluate=False)

    def __str__(self) -> str:
        return " = ".join(str(s) for s in self.sides)


@dataclass(frozen=True)
class UpdateRule:
    r"""An update rule ``param ← new_value``, e.g. ``w <- w - eta*2x(wx + b - y)``.

    >>> from sympy import symbols
    >>> w, eta, g = symbols('w eta g')
    >>> rule = UpdateRule(w, w - eta*g)
    >>> rule.step
    -eta*g
    >>> print(rule)
    w <- -eta*g + w
    """

    param: Symbol | Indexed | IndexedBase
    new_value: sp.Expr

    @property
    def step(self) -> sp.Expr:
        """The change the rule makes, ``new_value - param``."""
        return self.new_value - self.param

    def as_eq(self) -> sp.Eq:
        """The rule as an unevaluated SymPy ``Eq(param, new_value)``."""
        return sp.Eq(self.param, self.new_value, evaluate=False)

    def __str__(self) -> str:
        return f"{self.param} <- {self.new_value}"


@dataclass(frozen=True)
class Reading:
    r"""What :func:`symgrad.parsing.read` made of a formula: the ``result`` and ``notes`` on how it was read.

    Each note is a sentence about a place where a reader could take the text
    otherwise, such as ``1/2x``:

    >>> from sympy import Symbol
    >>> reading = Reading(Symbol("x") / 2, ("`1/2x` is read as x/2",))
    >>> reading.result, reading.ambiguous
    (x/2, True)
    """

    #: a SymPy expression, an :class:`Equation` or an :class:`UpdateRule`
    result: object
    #: sentences such as "`1/2x` is read as x/2 ((1/2)·x); write 1/(2x) or (1/2)x to be unambiguous"
    notes: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """Whether some part of the text could be read otherwise (then ``notes`` says which)."""
        return bool(self.notes)
