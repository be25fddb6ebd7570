"""symgrad's errors, in one hierarchy: catch :class:`SymgradError` for any of them.

Each is also the built-in exception a Python user would expect (a bad model
is a ``ValueError``, a missing argument a ``TypeError``), and each message
names the culprit: the stage, the layer and both shapes, the symbol, the
column of the text.

>>> issubclass(ShapeError, ModelError) and issubclass(ModelError, ValueError)
True
"""
from __future__ import annotations

__all__ = [
    "SymgradError", "ModelError", "ShapeError", "DerivationError", "CompileError", "ArgumentError",
    "ClaimError", "ParseError", "GraphError", "RenderError", "GraphTooLargeError", "DivergenceError",
    "DocumentError",
]

#: characters of the offending line shown on each side of a parse error's caret
_WINDOW = 60


class SymgradError(Exception):
    """Any error symgrad raises on purpose (as opposed to a bug)."""


class ModelError(SymgradError, ValueError):
    """A model that is not well formed: an unknown symbol, a stage out of order, no parameters."""


class ShapeError(ModelError):
    """Matrices whose shapes do not fit; the message names the layer, the matrices and their shapes."""


class DerivationError(ModelError):
    """A derivative that cannot be taken as asked."""


class CompileError(ModelError):
    """A model that cannot be compiled to NumPy; the message says which part and why."""


class ArgumentError(CompileError, TypeError):
    """A compiled function called with a missing or an unknown argument; the message names it."""


class ClaimError(ModelError):
    """A claim that cannot be checked as written (which variable, which side, a formula that cannot be read)."""


class GraphError(SymgradError, ValueError):
    """A graph that cannot be built or evaluated as asked; the message names the node and the input."""


class RenderError(SymgradError, RuntimeError):
    """An image that cannot be produced here; the message says how to get it."""


class GraphTooLargeError(RenderError, ValueError):
    """A graph with too many nodes to draw legibly."""


class DocumentError(SymgradError, ValueError):
    """A document that cannot be read: missing, a directory, too large, binary; the message names the file."""


class DivergenceError(SymgradError, ArithmeticError):
    """Training diverged; ``history`` holds the losses up to that point."""

    def __init__(self, message: str, history):
        super().__init__(message)
        self.history = history


class ParseError(SymgradError, ValueError):
    """Text that is not a formula symgrad can read, or that is unsafe to read.

    ``position`` is the 0-based offset of the culprit in ``text`` (``None``
    when the error concerns the whole input); ``line`` and ``column`` are
    1-based. ``str(error)`` is the message, the position and a caret line:

    >>> err = ParseError("unexpected ';'", "2*x; 1", 3)
    >>> err.line, err.column
    (1, 4)
    >>> print(err)
    unexpected ';' (column 4)
        2*x; 1
           ^
    """

    def __init__(self, message: str, text: str = "", position: int | None = None):
        self.message = message
        self.text = text
        self.position = position
        if position is None:
            self.line = self.column = None
        else:
            position = max(0, min(position, len(text)))
            self.position = position
            self.line = text.count("\n", 0, position) + 1
            self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        super().__init__(self._render())

    def _render(self) -> str:
        if self.position is None:
            return self.message
        where = f"column {self.column}"
        if "\n" in self.text:
            where = f"line {self.line}, {where}"
        start = self.text.rfind("\n", 0, self.position) + 1
        stop = self.text.find("\n", self.position)
        stop = len(self.text) if stop < 0 else stop
        col = self.position - start
        lo = max(start, self.position - _WINDOW)
        hi = min(stop, self.position + _WINDOW)
        snippet = self.text[lo:hi]
        # tabs and other control characters would shift the caret
        snippet = "".join(c if c.isprintable() else " " for c in snippet)
        prefix = "..." if lo > start else ""
        suffix = "..." if hi < stop else ""
        caret = " " * (len(prefix) + col - (lo - start)) + "^"
        return f"{self.message} ({where})\n    {prefix}{snippet}{suffix}\n    {caret}"
