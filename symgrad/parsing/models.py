r"""Read a multi-stage model from text: one equation per stage (``z = w*x + b; p = sigmoid(z); L = ...``).

:func:`symgrad.parsing.parse_model` is the entry point. Stages are separated by ``;`` or new lines; each is an equation whose left
side names the stage; the last stage is the loss. The names of the stages
are kept whole (``yhat``, ``out``), so the chain rule and the graph name
them. Every stage is parsed by :func:`symgrad.parsing.parse`, so the same
safety rules apply; the errors say which stage is wrong and where.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import sympy as sp
from sympy import Symbol

from ..core.model import Model
from ..errors import ParseError
from .results import Equation

__all__ = ["read_model", "looks_like_stages", "MAX_STAGES"]

#: most stages one model text may hold
MAX_STAGES = 200

#: a stage's left side written as one name: ``yhat =``, ``h_1 =``, ``out =``
_STAGE_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)")
#: a stage separator: ';' (not LaTeX's spacing \;) or a line break
_SEPARATOR = re.compile(r"(?<!\\);|\n")


def looks_like_stages(text: str) -> bool:
    r"""Whether ``text`` is written as stages: a ``;`` or line break, or an ``=`` outside brackets.

    >>> looks_like_stages("z = w*x; L = z^2"), looks_like_stages(r"\sum_{i=1}^{3} w_i")
    (True, False)
    """
    if _SEPARATOR.search(text.strip()):
        return True
    depth = 0
    for k, c in enumerate(text):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "=" and depth == 0 and text[k - 1:k] not in ("<", ":", "=", ">", "!") \
                and text[k + 1:k + 2] != "=":
            return True
    return False


def _pieces(text: str) -> list[tuple[int, str]]:
    """``(offset, stage text)`` for each stage; blank lines and ``#`` comment lines are skipped."""
    pieces, start = [], 0
    for match in [*_SEPARATOR.finditer(text), None]:
        stop = len(text) if match is None else match.start()
        piece = text[start:stop]
        ends_line = match is None or match.group() == "\n"
        began_line = start == 0 or text[start - 1] == "\n"
        if piece.strip().startswith("#") and began_line:
            pass  # a comment line in a model file
        elif piece.strip():
            pieces.append((start, piece))
        elif not (ends_line and began_line) and text.strip():
            raise ParseError("empty stage: a ';' with no equation before or after it", text, start)
        if match is not None:
            start = match.end()
    return pieces


def _error(text: str, offset: int, number: int, error: ParseError) -> ParseError:
    position = None if error.position is None else offset + error.position
    return ParseError(f"stage {number}: {error.message}", text, position)


def read_model(text: str, inputs: Iterable[str] | None, functions, parse: Callable) -> Model:
    """The model of ``text``, each stage read by ``parse`` (``symgrad.parsing.parse``): see ``parse_model``."""
    if not isinstance(text, str):
        raise TypeError(f"expected the model as a str, not {type(text).__name__}")
    input_names = list(inputs or [])
    pieces = _pieces(text)
    if not pieces:
        raise ParseError("empty model: write one equation per stage, as in z = w*x + b; L = z^2",
                         text, 0)
    if len(pieces) > MAX_STAGES:
        raise ParseError(f"too many stages ({len(pieces)}; at most {MAX_STAGES})", text, None)
    names = [m.group(1) for _, piece in pieces if (m := _STAGE_NAME.match(piece))]
    known = sorted({*input_names, *names} - {"e", "pi"})
    defined: dict[Symbol, int] = {}
    stages = []
    for number, (offset, piece) in enumerate(pieces, start=1):
        try:
            parsed = _parse_stage(parse(piece, symbols=known, functions=functions), piece)
        except ParseError as error:
            raise _error(text, offset, number, error) from None
        target, value = parsed
        if target in defined:
            raise ParseError(f"stage {number}: {target} is defined twice (first in stage "
                             f"{defined[target]})", text, offset + len(piece) - len(piece.lstrip()))
        later = sorted((s for s in value.free_symbols if s in _later_names(pieces, number, names)),
                       key=str)
        if later:
            raise ParseError(f"stage {number}: {target} uses {later[0]} before it is defined; "
                             "stages must come in order", text, offset)
        defined[target] = number
        stages.append((target, value))
    return Model(stages, inputs=[Symbol(n) for n in input_names])


def _later_names(pieces, number: int, names: list[str]) -> set[Symbol]:
    """The stage names defined at stage ``number`` or after it."""
    later = set()
    for _, piece in pieces[number - 1:]:
        match = _STAGE_NAME.match(piece)
        if match:
            later.add(Symbol(match.group(1)))
    return later


def _parse_stage(parsed, piece: str) -> tuple[Symbol, sp.Expr]:
    start = len(piece) - len(piece.lstrip())  # where the stage's text begins
    if not isinstance(parsed, Equation):
        raise ParseError("not an equation: each stage is written name = expression, as in "
                         "z = w*x + b", piece, start)
    if parsed.steps:
        raise ParseError("a stage is one equation name = expression, not a chain a = b = c",
                         piece, start)
    if not isinstance(parsed.lhs, Symbol):
        raise ParseError(f"the left side of a stage must be one name such as z or yhat, "
                         f"not {parsed.lhs}", piece, start)
    if not isinstance(parsed.rhs, sp.Expr) or isinstance(parsed.rhs, sp.MatrixBase):
        raise ParseError("a stage's value must be a scalar expression", piece, start)
    return parsed.lhs, parsed.rhs
