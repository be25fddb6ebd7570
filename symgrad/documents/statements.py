r"""Split a math block's text into the statements a reader sees in it, before any parsing.

A block such as ``x = -2, y = 5, z = -4`` or ``\frac{\partial q}{\partial x} = 1
\quad \frac{\partial q}{\partial y} = 1`` holds several statements; an
``align`` derivation continues one chain over several rows (``&= …``); a
trailing ``\quad \text{just shorthand}`` is commentary. All of this is
decided on the text, at brace depth zero, so that the parser sees one
statement at a time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RELATION", "Statement", "statements", "split_sides", "split_top_level", "strip_commentary", "where_clause"]

_OPEN, _CLOSE = "({[", ")}]"
_ENV = re.compile(r"\\(begin|end)\{[^}]*\}")
_LEFT_RIGHT = re.compile(r"\\(left|right|big|Big|bigg|Bigg)[lr]?(?=[^A-Za-z])")
#: a spacing command that may separate two statements written side by side
_GAP = re.compile(r"\\q?quad(?![A-Za-z])|\\[,;:! ]|~")
#: commentary after a statement: ``\quad \text{…}``, ``\text{(…)}``, ``\qquad \mbox{…}``
_COMMENTARY = re.compile(r"(\\q?quad|\\[,;:]|\\hspace\{[^}]*\}|\s)*\\(text|mbox|textrm|textit|mathrm)\{")
#: what makes a statement: an equation, an update arrow, a membership
RELATION = re.compile(r"(?<![<>!:\\])=|\\leftarrow|\\gets|←|:=|<-|\\in(?![A-Za-z])")


@dataclass(frozen=True)
class Statement:
    r"""One statement of a block: its text, and the line of each of its sides.

    ``lines`` holds one line number per ``=``-separated side when the
    statement continues over rows (an ``align`` chain); else the block's.
    ``commentary`` is the prose written after it (``\quad \text{…}``).
    """

    text: str
    line: int
    end_line: int
    lines: tuple[int, ...] = ()
    commentary: str = ""


def _depths(text: str):
    r"""Yield (index, depth) for each character, depth counting brackets and environments."""
    depth, i = 0, 0
    while i < len(text):
        env = _ENV.match(text, i)
        if env:
            depth += 1 if env.group(1) == "begin" else -1
            for k in range(i, env.end()):
                yield k, depth + (1 if env.group(1) == "end" else 0)
            i = env.end()
            continue
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}[]()":
            # \{ \} are bracket-like for the reader; \[ \( are not inside a block
            if text[i + 1] in "{(":
                depth += 1
            elif text[i + 1] in "})":
                depth -= 1
            yield i, depth
            yield i + 1, depth
            i += 2
            continue
        if ch in _OPEN:
            depth += 1
        yield i, depth
        if ch in _CLOSE:
            depth -= 1
        i += 1


def split_top_level(text: str, separators: str = ",;") -> list[str]:
    r"""Split at separators outside every bracket and environment.

    >>> split_top_level(r"x = -2, y = f(a, b); z = \{1, 2\}")
    ['x = -2', ' y = f(a, b)', ' z = \\{1, 2\\}']
    """
    parts, start = [], 0
    for i, depth in _depths(text):
        if depth == 0 and text[i] in separators and not (i and text[i - 1] == "\\"):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _top_level_positions(text: str, pattern: re.Pattern) -> list[re.Match]:
    depth_at = dict(_depths(text))
    return [m for m in pattern.finditer(text) if depth_at.get(m.start(), 0) == 0]


def strip_commentary(text: str) -> tuple[str, str]:
    r"""The statement without a trailing ``\quad \text{…}`` remark, and the remark.

    >>> strip_commentary(r"w = w - \nabla w \quad \text{move downhill}")
    ('w = w - \\nabla w', '\\quad \\text{move downhill}')
    >>> strip_commentary(r"\text{softmax}(z) = p")
    ('\\text{softmax}(z) = p', '')
    """
    for match in _top_level_positions(text, _COMMENTARY):
        before = text[:match.start()].rstrip()
        # a remark follows a whole statement (``… = x \quad \text{…}``), not an operator or a bracket
        if RELATION.search(before) and before[-1:] not in "=(+-*/{,^_":
            return before, text[match.start():].strip()
    return text.strip(), ""


#: a remark that goes on to define something: ``\quad \text{where } \delta_i = y_i - \sigma_i``
_WHERE = re.compile(r"^(?:\\q?quad|\\[,;:]|\s)*\\(?:text|mbox|textrm|mathrm)"
                    r"\{\s*(?:where|with|and|and where)\b[^}]*\}(.*)$",
                    re.S)


def where_clause(remark: str) -> str:
    r"""The math a ``\text{where …}`` remark defines, or ``""``.

    >>> where_clause(r"\quad \text{where } \delta_i = y_i - \sigma_i")
    '\\delta_i = y_i - \\sigma_i'
    """
    match = _WHERE.match(remark)
    if match and RELATION.search(match.group(1)):
        return match.group(1).strip().rstrip(".").strip()
    return ""


def _split_side_by_side(text: str) -> list[str]:
    r"""``a = 1 \quad b = 2`` → two statements; a gap inside one statement stays."""
    pieces, start = [], 0
    for match in _top_level_positions(text, re.compile(r"\\q?quad(?![A-Za-z])")):
        left, right = text[start:match.start()], text[match.end():]
        if RELATION.search(left) and RELATION.search(right):
            pieces.append(left)
            start = match.end()
    pieces.append(text[start:])
    return pieces


#: words between two statements: ``A \Rightarrow B`` states A, then B
_THEREFORE = re.compile(r"\\(?:Rightarrow|Longrightarrow|implies|iff|therefore|because)(?![A-Za-z])")
#: what may come before a statement and says nothing about it: a bullet, ``\text{where}``, ``\text{and}``
_LEADING = re.compile(r"^\s*(?:\\(?:bullet|cdot|circ|star|therefore|quad|qquad)(?![A-Za-z])\s*"
                      r"|\\(?:text|mbox|textrm|mathrm)\{\s*(?:where|with|and|so|then|hence|thus|i\.e\.|if|let)"
                      r"\b[^}]*\}\s*)+")


def _pieces(text: str) -> list[str]:
    """A row's text cut at top-level commas and semicolons (when every part is a statement), implication
    arrows (the parts without a relation are remarks) and side-by-side gaps."""
    parts = split_top_level(text)
    if len(parts) > 1 and not all(RELATION.search(p) for p in parts):
        parts = [text]  # a list (``x_1, x_2``) or a call's arguments: one statement
    pieces = []
    for part in parts:
        arrows = _top_level_positions(part, _THEREFORE)
        bounds = [0] + [m.start() for m in arrows] + [len(part)]
        starts = [0] + [m.end() for m in arrows]
        cut = [part[a:b] for a, b in zip(starts, bounds[1:])]
        if len(cut) > 1:
            cut = [c for c in cut if RELATION.search(c)] or [part]
        for piece in cut:
            pieces += _split_side_by_side(piece)
    return [_LEADING.sub("", piece) for piece in pieces]


def _split(text: str) -> list[tuple[str, str]]:
    r"""(statement, commentary) pairs of one row's text."""
    out = []
    for piece in _pieces(text):
        body, remark = strip_commentary(piece)
        if body.strip().rstrip(".").strip():
            out.append((body.strip().rstrip(".").strip(), remark))
        defined = where_clause(remark)
        if defined:
            out.append((defined, ""))
    return out


def statements(rows) -> list[Statement]:
    r"""The statements of a block's rows (objects with ``.line`` and ``.text``), chains joined.

    A row that starts with ``=`` continues the last statement of the row
    before it, so an ``align`` derivation is one chain whose sides keep their
    rows' lines.

    >>> from types import SimpleNamespace as Row
    >>> rows = [Row(line=3, text=r"\frac{dL}{dw} = a"), Row(line=4, text="= b \\quad \\text{so}")]
    >>> [(s.text, s.lines) for s in statements(rows)]
    [('\\frac{dL}{dw} = a = b', (3, 3, 4))]
    """
    result: list[Statement] = []
    for row in rows:
        text = row.text.strip()
        if not text:
            continue
        continues = text.startswith("=") and result
        pairs = _split(text)
        if not pairs:
            continue
        if continues:
            last = result.pop()
            first, remark = pairs[0]
            first = first.lstrip("= ")
            sides = len(split_sides(first))
            result.append(Statement(f"{last.text} = {first}", last.line, row.line,
                                    last.lines + (row.line,) * sides,
                                    " ".join(x for x in (last.commentary, remark) if x)))
            pairs = pairs[1:]
        for body, remark in pairs:
            result.append(Statement(body, row.line, row.line, (row.line,) * len(split_sides(body)), remark))
    return result


def split_sides(text: str) -> list[str]:
    r"""The ``=``-separated sides of a statement, at depth zero.

    >>> split_sides(r"a = \\frac{b}{c} = f(x = 1)")
    ['a ', ' \\\\frac{b}{c} ', ' f(x = 1)']
    """
    parts, start = [], 0
    for match in _top_level_positions(text, re.compile(r"(?<![<>!:\\])=(?!=)")):
        if match.start() and text[match.start() - 1] == ":":
            continue
        parts.append(text[start:match.start()])
        start = match.end()
    parts.append(text[start:])
    return parts
