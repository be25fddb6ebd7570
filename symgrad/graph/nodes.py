"""The nodes of a computational graph: what each computes, from which arguments, and who uses it."""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy import MatrixSymbol, Symbol
from sympy.matrices.expressions import MatrixExpr

from ..core.ops import Op

__all__ = ["Node", "INPUT", "PARAMETER", "CONSTANT", "OPERATION"]

INPUT, PARAMETER, CONSTANT, OPERATION = "input", "parameter", "constant", "operation"


@dataclass(eq=False)
class Node:
    """One node of a computational graph: an input, a parameter, a constant or an operation."""

    #: position in topological order (arguments always come first)
    index: int
    #: ``"input"``, ``"parameter"``, ``"constant"`` or ``"operation"``
    kind: str
    #: the SymPy expression this node computes, written with stage symbols
    expr: sp.Expr
    #: the table entry of an operation node
    op: Op | None = None
    #: argument nodes of an operation, in the op's order
    args: tuple["Node", ...] = ()
    #: the symbol of an input or parameter
    symbol: Symbol | None = None
    #: the value of a constant
    constant: float | None = None
    #: names of the model stages this node computes (usually zero or one)
    names: list[str] = field(default_factory=list)
    #: ``(consumer, argument position)`` for every use of this node
    consumers: list[tuple["Node", int]] = field(default_factory=list)
    #: a softmax or loss whose samples are the columns of its arguments (the class axis is 0, as for one
    #: sample's column ``z``): the op table's rule, written for samples as rows, runs on the transposes
    samples_as_columns: bool = False
    #: a fused node (``log(1 − σ)`` computed from ``a``): the node holding the value the slides' form reads
    #: (``σ(a)``), if the graph has one; its gradient shows what the slides' form sends it
    reads: "Node | None" = None

    @property
    def name(self) -> str | None:
        """The stage name, or the symbol of a leaf; ``None`` for an unnamed operation or constant."""
        if self.names:
            return self.names[0]
        return str(self.symbol) if self.symbol is not None else None

    @property
    def shape(self) -> tuple:
        """The node's shape as the model declares it (``(3, 1)``, ``(N, 128)``); ``()`` for a scalar."""
        return tuple(self.expr.shape) if isinstance(self.expr, MatrixExpr) else ()

    @property
    def reference(self) -> sp.Expr:
        """How consumers refer to this node in SymPy: its stage or leaf symbol, else its expression."""
        if self.names:
            return MatrixSymbol(self.names[0], *self.shape) if self.shape else Symbol(self.names[0])
        return self.expr

    def describe(self) -> str:
        """A short description for messages, e.g. ``stage a1 = b + w1*x (add)``."""
        if self.kind == OPERATION:
            where = f"stage {' = '.join(self.names)} = " if self.names else "node "
            return f"{where}{self.expr} ({self.op.name})"
        if self.kind == CONSTANT:
            return f"constant {self.expr}"
        return f"{self.kind} {self.symbol}"

    def __repr__(self) -> str:
        what = self.op.name if self.op else self.kind
        name = f", name={self.name!r}" if self.name else ""
        return f"Node({self.index}, {what}{name})"
