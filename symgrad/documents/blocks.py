r"""Finds a document's math blocks, symgrad annotations and unclosed delimiters, in order, with line numbers.

Pure text processing: no formula is parsed here. :func:`extract` scans a
:class:`~symgrad.documents.source.Source` once, left to right, and returns
:class:`MathBlock`, :class:`Annotation` and :class:`Unclosed` items in
document order. Every search for a closing delimiter is a binary search in a
list of positions computed once per document, so the scan is linear (up to a
logarithm) whatever the text; an opening delimiter never closes across a blank
line (TeX forbids a paragraph break in math, and Markdown ends the paragraph),
so a missing ``$$`` costs one paragraph, never the rest of the document.

>>> from symgrad.documents.source import source_from_text
>>> [block] = extract(source_from_text("where $x = 2$.", "markdown"))
>>> block.line, block.math, block.context
(1, 'x = 2', 'where')
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace

from .source import Source

__all__ = ["Row", "MathBlock", "Annotation", "Unclosed", "Item", "extract", "MATH_ENVIRONMENTS"]

#: LaTeX environments whose body is math; the value says whether it is displayed
MATH_ENVIRONMENTS = {
    "equation": True, "equation*": True, "align": True, "align*": True, "gather": True, "gather*": True,
    "multline": True, "multline*": True, "eqnarray": True, "eqnarray*": True, "flalign": True,
    "flalign*": True, "alignat": True, "alignat*": True, "displaymath": True, "math": False,
}
#: environments that, wrapping a whole block, only lay it out in rows
_WRAPPERS = ("aligned", "gathered", "split", "alignedat", "multlined")
#: LaTeX environments whose body is not math (``comment`` is the comment package's)
_VERBATIM = ("verbatim", "verbatim*", "lstlisting", "minted", "comment")
#: characters of preceding prose kept as a block's context
CONTEXT_CHARS = 80


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a block (or one statement of an annotation) and the 1-based line it starts on."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class MathBlock:
    """A math block: ``source`` is the exact text with delimiters, ``math`` the inside, ``rows`` its rows."""

    line: int
    end_line: int
    source: str
    math: str
    display: bool
    environment: str | None
    rows: tuple[Row, ...]
    context: str
    ignored: bool


@dataclass(frozen=True, slots=True)
class Annotation:
    """A ``symgrad:`` comment: its statements, or the directive ``"ignore"``/``"reset"``."""

    line: int
    end_line: int
    source: str
    statements: tuple[Row, ...]
    directive: str | None


@dataclass(frozen=True, slots=True)
class Unclosed:
    """A math delimiter (or a comment, a code fence, a verbatim environment) that never closes."""

    line: int
    source: str
    reason: str


Item = MathBlock | Annotation | Unclosed

# a LaTeX token for row splitting: a control word, a control symbol (``\\``, ``\{``, ``\&``), a brace, an ``&``
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)|[{}&;\n]", re.S)
#: numbering markup a reader does not read as math: \\label{…}, \\tag{…}, \\nonumber, \\notag
NUMBERING = re.compile(r"\\(?:label|tag\*?)[ \t]*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z])")
# what may follow a row break: a star and a vertical space such as [2pt]
_BREAK_ARGS = re.compile(r"\*?[ \t]*(?:\[[ \t]*-?[\d.]+[ \t]*(?:pt|em|ex|mm|cm|in|bp|mu|pc|sp)[ \t]*\])?")
# spacing that may open a row (``&\quad = c``): dropped so a continuation row starts with its ``=``
_LEADING_SPACE = re.compile(r"(?:\s|\\(?:quad|qquad)(?![A-Za-z])|\\[,;:! ])*")
_BEGIN = re.compile(r"\\begin[ \t]*\{([^{}\n]*)\}")
_ENV_ARG = re.compile(r"[ \t]*(?:\[[^\]\n]*\]|\{[^{}\n]*\})")
_LINE_LEADERS = re.compile(rf"\s*(?:{NUMBERING.pattern})*\s*")
_SYMGRAD = re.compile(r"\s*symgrad:")
# an unescaped delimiter: an even run of backslashes (possibly none) before it
_UNESCAPED = r"(?<!\\)(?:\\\\)*"


class _Positions:
    """Sorted start positions of each pattern in a text, computed on first use; ``next`` is a binary search."""

    def __init__(self, text: str):
        self.text = text
        self.lists: dict[str, list[int]] = {}

    def positions(self, key: str) -> list[int]:
        found = self.lists.get(key)
        if found is None:
            found = self.lists[key] = self._compute(key)
        return found

    def _compute(self, key: str) -> list[int]:
        text = self.text
        if key == "$":  # an unescaped dollar
            return [m.end() - 1 for m in re.finditer(_UNESCAPED + r"\$", text)]
        if key == "$$":
            return [m.end() - 2 for m in re.finditer(_UNESCAPED + r"\$\$", text)]
        if key == "pandoc$":
            # pandoc's closing $: a non-space just before it, no digit just after
            return [p for p in self.positions("$")
                    if p > 0 and not text[p - 1].isspace() and not text[p + 1:p + 2].isdigit()]
        if key in (r"\)", r"\]"):
            return [m.end() - 2 for m in re.finditer(_UNESCAPED + re.escape(key), text)]
        if key == "any`":
            return [m.start() for m in re.finditer("`", text)]
        if key.startswith("`"):  # a run of exactly that many backticks; every length's runs found in one pass
            if "runs`" not in self.lists:
                runs: dict[int, list[int]] = {}
                for m in re.finditer(r"`+", text):
                    runs.setdefault(m.end() - m.start(), []).append(m.start())
                self.lists["runs`"] = []
                self.lists.update(("`" * k, starts) for k, starts in runs.items())
                if key in self.lists:
                    return self.lists[key]
            return []
        return [m.start() for m in re.finditer(re.escape(key), text)]

    def next(self, key: str, start: int, limit: int) -> int:
        """The first position of ``key`` at or after ``start`` and before ``limit``, or -1."""
        found = self.positions(key)
        i = bisect_left(found, start)
        return found[i] if i < len(found) and found[i] < limit else -1


class _Lines:
    """Offsets to 1-based line numbers, and paragraphs (runs of lines between whitespace-only lines)."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        lines = text.split("\n")
        self.blank = [not line.strip() for line in lines]
        self.blank_starts = [s for s, b in zip(self.starts, self.blank) if b]

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset)

    def line_end(self, offset: int) -> int:
        """The offset of the newline ending ``offset``'s line (a search would make a long line quadratic)."""
        line = self.line_of(offset)
        return self.starts[line] - 1 if line < len(self.starts) else len(self.text)

    def next_line(self, offset: int) -> int:
        line = self.line_of(offset)
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def paragraph_end(self, offset: int) -> int:
        i = bisect_right(self.blank_starts, offset)
        return self.blank_starts[i] if i < len(self.blank_starts) else len(self.text)

    def paragraph_start(self, offset: int) -> int:
        i = bisect_right(self.blank_starts, offset) - 1
        return self.next_line(self.blank_starts[i]) if i >= 0 else 0


def _strip_range(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _matching_end(text: str, start: int, end: int) -> int:
    """Where the environment begun at ``start`` ends (the offset after its ``\\end{…}``), or -1."""
    depth = 0
    for token in _TOKEN.finditer(text, start, end):
        word = token.group()
        if word == "\\begin":
            depth += 1
        elif word == "\\end":
            depth -= 1
            if depth == 0:
                close = re.compile(r"[ \t]*\{[^{}\n]*\}").match(text, token.end(), end)
                return close.end() if close else -1
    return -1


def _unwrap(text: str, start: int, end: int) -> tuple[int, int, str | None]:
    """The range inside an ``aligned``/``gathered``/``split`` environment that wraps the whole range."""
    if "\\begin" not in text[start:end]:
        return start, end, None
    start = _LINE_LEADERS.match(text, start, end).end()
    start, end = _strip_range(text, start, end)
    begin = _BEGIN.match(text, start, end)
    if not begin or begin.group(1) not in _WRAPPERS:
        return start, end, None
    name = begin.group(1)
    closing = _matching_end(text, start, end)
    if closing < 0:
        return start, end, None
    tail = _LINE_LEADERS.match(text, closing, end).end()
    if tail != end:
        return start, end, None
    inner = begin.end()
    argument = _ENV_ARG.match(text, inner, end)  # [t] placement or {n} columns
    if argument:
        inner = argument.end()
    inner_end = text.rfind("\\end", inner, closing)
    return inner, max(inner, inner_end), name


def _clean_row(text: str, start: int, end: int, cuts: list[tuple[int, int]]) -> str:
    pieces, cursor = [], start
    for cut_start, cut_end in cuts:
        pieces.append(text[cursor:cut_start])
        pieces.append(" " if cut_end - cut_start > 1 else "")  # a joined line break becomes a space
        cursor = cut_end
    pieces.append(text[cursor:end])
    row = NUMBERING.sub("", "".join(pieces))
    row = _BREAK_ARGS.sub("", row, count=1) if row[:1] in "*[" else row
    return row[_LEADING_SPACE.match(row).end():].rstrip()


def split_rows(text: str, start: int, end: int, lines: _Lines, one_row: bool = False) -> tuple[Row, ...]:
    r"""The rows of ``text[start:end]`` split at top-level ``\\`` (not inside braces, ``\left…\right`` or an
    inner environment); top-level ``&`` removed; labels, tags, ``\nonumber``/``\notag`` and leading
    spacing dropped. With ``one_row`` (``multline``: one equation broken over lines) the breaks are joined.

    >>> text = "a &= b \\\\\n &= \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} \\label{x}"
    >>> split_rows(text, 0, len(text), _Lines(text))
    (Row(line=1, text='a = b'), Row(line=2, text='= \\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}'))
    """
    segment = text[start:end]
    if "\\" not in segment and "&" not in segment:  # one row, nothing to drop: the common inline case
        first, last = _strip_range(text, start, end)
        return (Row(lines.line_of(first), text[first:last]),) if first < last else ()
    rows, cuts = [], []
    braces = environments = lefts = 0
    row_start = start

    def close_row(row_end: int) -> None:
        cleaned = _clean_row(text, row_start, row_end, cuts)
        if cleaned:
            first, _ = _strip_range(text, row_start, row_end)
            rows.append(Row(lines.line_of(first), cleaned))

    for token in _TOKEN.finditer(text, start, end):
        word = token.group()
        nested = braces or environments or lefts
        if word == "\\\\" and not nested and one_row:
            cuts.append((token.start(), token.end()))
        elif word == "\\\\" and not nested:
            close_row(token.start())
            cuts = []
            row_start = token.end()
        elif word == "&" and not nested:
            cuts.append((token.start(), token.end()))
        elif word == "{":
            braces += 1
        elif word == "}":
            braces = max(0, braces - 1)
        elif word == "\\begin":
            environments += 1
        elif word == "\\end":
            environments = max(0, environments - 1)
        elif word == "\\left":
            lefts += 1
        elif word == "\\right":
            lefts = max(0, lefts - 1)
    close_row(end)
    return tuple(rows)


def split_statements(text: str, start: int, end: int, lines: _Lines) -> tuple[Row, ...]:
    r"""An annotation's statements: ``text[start:end]`` split at top-level ``;`` and line ends (``\;`` is a space).

    >>> text = "a = 1; b = \\frac{1;2}{3}\n c = 2"
    >>> split_statements(text, 0, len(text), _Lines(text))
    (Row(line=1, text='a = 1'), Row(line=1, text='b = \\frac{1;2}{3}'), Row(line=2, text='c = 2'))
    """
    statements, braces, piece_start = [], 0, start

    def close(piece_end: int) -> None:
        first, last = _strip_range(text, piece_start, piece_end)
        if first < last:
            statements.append(Row(lines.line_of(first), text[first:last]))

    for token in _TOKEN.finditer(text, start, end):
        word = token.group()
        if word == "{":
            braces += 1
        elif word == "}":
            braces = max(0, braces - 1)
        elif word in (";", "\n") and not braces:
            close(token.start())
            piece_start = token.end()
    close(end)
    return tuple(statements)


class _Scanner:
    """What every format shares: the positions, the lines, the items found, and how to build them."""

    def __init__(self, original: str, math_text: str):
        self.original = original  # blocks' ``source`` comes from here
        self.text = math_text  # the text scanned (LaTeX comments and verbatim blanked out)
        self.n = len(math_text)
        self.lines = _Lines(original)
        self.positions = _Positions(math_text)
        self.items: list[tuple[int, Item]] = []
        self.last_end = 0  # where the previous item ended, so context is prose only
        self.markdown = False
        self.no_dollars_before = -1  # an unclosed inline $ silences the rest of its paragraph's dollars

    # -- building items --------------------------------------------------------------------------------
    def context(self, start: int, line: int) -> str:
        """The prose before ``start`` on its line, else the last prose of its paragraph (never earlier items)."""
        text = self.text
        line_start = self.lines.starts[line - 1]
        if self.last_end >= line_start:  # an earlier item on this line: the prose since it
            return " ".join(text[self.last_end:start].split())[-CONTEXT_CHARS:]
        same_line = " ".join(text[line_start:start].split())
        if same_line:
            return same_line[-CONTEXT_CHARS:]
        prose_start = max(self.lines.paragraph_start(start), self.last_end)
        before = text[max(prose_start, start - 4 * CONTEXT_CHARS):start]
        return " ".join(before.split())[-CONTEXT_CHARS:]

    def block(self, start: int, inner: int, inner_end: int, end: int, display: bool,
              environment: str | None) -> None:
        text = self.text
        math_start, math_end, wrapper = _unwrap(text, inner, inner_end)
        one_row = (environment or "").startswith("multline") or wrapper == "multlined"
        rows = split_rows(text, math_start, math_end, self.lines, one_row)
        line = self.lines.line_of(start)
        source = self.original[start:end]
        block = MathBlock(
            line=line, end_line=line + source.count("\n", 0, len(source) - 1), source=source,
            math=text[math_start:math_end].strip(), display=display, environment=environment or wrapper,
            rows=rows, context=self.context(start, line), ignored=False)
        self.items.append((start, block))
        self.last_end = end

    def annotation(self, start: int, end: int, content_start: int, content_end: int) -> None:
        content = self.original[content_start:content_end].strip()
        directive = content.lower() if content.lower() in ("ignore", "reset") else None
        statements = () if directive else split_statements(self.original, content_start, content_end, self.lines)
        self.items.append((start, Annotation(
            line=self.lines.line_of(start), end_line=self.lines.line_of(max(start, end - 1)),
            source=self.original[start:end], statements=statements, directive=directive)))
        self.last_end = end

    def unclosed(self, start: int, what: str, reason: str) -> None:
        line_end = self.lines.line_end(start)
        source = self.original[start:min(line_end, start + 200)]
        self.items.append((start, Unclosed(line=self.lines.line_of(start), source=source,
                                           reason=f"{what} never closes: {reason}")))

    # -- delimiters shared by every format ------------------------------------------------------------
    def inline_dollar(self, start: int, close: int, limit: int, report: bool = True) -> int:
        """An inline ``$…$`` that closes at ``close``; one that does not (``close < 0``) makes the rest of
        its paragraph prose, reported unless it is a price."""
        if close < 0:
            if report:
                self.unclosed(start, "the inline math delimiter $",
                              "no closing $ in its paragraph; the rest of the paragraph is read as prose")
                self.no_dollars_before = limit
            return start + 1
        self.block(start, start + 1, close, close + 1, False, None)
        return close + 1

    def backslash_math(self, pos: int) -> int:
        """Math opened by a backslash, in every format: ``\\(…\\)``, ``\\[…\\]`` or a math environment."""
        text = self.text
        if text.startswith(("\\(", "\\["), pos):
            bracket = text[pos + 1]
            return self.delimited(pos, "\\" + bracket, "\\" + ")]"[bracket == "["], bracket == "[")
        if text.startswith("\\begin", pos):
            after = self.environment(pos)
            if after is not None:
                return after
        return pos + 2

    def delimited(self, start: int, opener: str, closer: str, display: bool, same_paragraph: bool = True) -> int:
        """A block from ``opener`` at ``start`` to the next ``closer``; returns where to go on reading."""
        limit = self.lines.paragraph_end(start) if same_paragraph else self.n
        inner = start + len(opener)
        close = self.positions.next(closer, inner, limit)
        if close < 0:
            self.unclosed(start, f"the math delimiter {opener}",
                          f"no {closer} before the paragraph ends (a blank line or the end of the text)")
            return self.lines.next_line(start) if display else inner
        self.block(start, inner, close, close + len(closer), display, None)
        return close + len(closer)

    def environment(self, start: int) -> int | None:
        """A math environment begun at ``start``; ``None`` when the ``\\begin`` is of another environment."""
        begin = _BEGIN.match(self.text, start)
        if not begin or begin.group(1).strip() not in MATH_ENVIRONMENTS:
            return None
        name = begin.group(1).strip()
        inner = begin.end()
        if name.startswith("alignat"):
            argument = _ENV_ARG.match(self.text, inner)
            inner = argument.end() if argument else inner
        closer = "\\end{" + name + "}"
        close = self.positions.next(closer, inner, self.lines.paragraph_end(start))
        if close < 0:
            self.unclosed(start, f"the environment {name}",
                          f"no {closer} before the paragraph ends (a blank line or the end of the text)")
            return self.lines.next_line(start)
        self.block(start, inner, close, close + len(closer), MATH_ENVIRONMENTS[name], name)
        return close + len(closer)

    def pandoc_dollar(self, start: int) -> int:
        """An inline ``$`` by pandoc's rule: a non-space after the opener, a closer with a non-space before it
        and no digit after it; an opener that never closes is prose (currency when a digit follows)."""
        text = self.text
        after = text[start + 1:start + 2]
        if not after or after.isspace() or start < self.no_dollars_before:
            return start + 1
        limit = self.lines.paragraph_end(start)
        if self.markdown:  # a backtick starts a code span, never math
            tick = self.positions.next("any`", start, limit)
            limit = limit if tick < 0 else tick
        close = self.positions.next("pandoc$", start + 2, limit)
        if close >= 0 and after.isdigit() and self.positions.next("$", start + 1, close) >= 0:
            close = -1  # "$5 and $10 or $20": prices, not math that holds a dollar sign
        return self.inline_dollar(start, close, limit, report=not after.isdigit())

    def html_comment(self, start: int, skip_others: bool) -> int:
        """A ``<!-- … -->`` comment: a symgrad annotation, or skipped (Markdown) or prose (plain text)."""
        symgrad = _SYMGRAD.match(self.text, start + 4)
        if not symgrad and not skip_others:
            return start + 1
        close = self.positions.next("-->", start + 4, self.n)
        if close < 0:
            self.unclosed(start, "the comment <!--", "no --> after it")
            return start + 4
        if symgrad:
            self.annotation(start, close + 3, symgrad.end(), close)
        return close + 3

    def sorted_items(self) -> list[Item]:
        self.items.sort(key=lambda pair: pair[0])
        return [item for _, item in self.items]


class _MarkdownScanner(_Scanner):
    """Markdown (and plain text, with ``markdown=False``: no code spans, fences or Jekyll delimiters)."""

    _SPECIAL = re.compile(r"[\\$`<\n]")
    _TEXT_SPECIAL = re.compile(r"[\\$<\n]")
    _FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})([^\n]*)")
    _LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")

    def __init__(self, text: str, markdown: bool):
        super().__init__(text, text)
        self.markdown = markdown
        self.in_list: list[bool] | None = None

    def scan(self) -> list[Item]:
        text, pos = self.text, 0
        special = self._SPECIAL if self.markdown else self._TEXT_SPECIAL
        while pos < self.n:
            if self.markdown and (pos == 0 or text[pos - 1] == "\n"):
                skipped = self.code_block(pos)
                if skipped is not None:
                    pos = skipped
                    continue
            found = special.search(text, pos)
            if not found:
                break
            pos = self.dispatch(found.start())
        return self.sorted_items()

    def dispatch(self, pos: int) -> int:
        text, char = self.text, self.text[pos]
        if char == "\n":
            return pos + 1
        if char == "\\":
            if self.markdown and text.startswith(("\\\\(", "\\\\["), pos):  # Jekyll/kramdown
                bracket = text[pos + 2]
                return self.delimited(pos, "\\\\" + bracket, "\\\\" + ")]"[bracket == "["], bracket == "[")
            return self.backslash_math(pos)
        if char == "$":
            if text.startswith("$$", pos):
                return self.delimited(pos, "$$", "$$", True)
            return self.pandoc_dollar(pos)
        if char == "`":
            return self.code_span(pos)
        if text.startswith("<!--", pos):
            return self.html_comment(pos, skip_others=self.markdown)
        return pos + 1

    def code_span(self, start: int) -> int:
        run_end = start
        while run_end < self.n and self.text[run_end] == "`":
            run_end += 1
        ticks = self.text[start:run_end]
        close = self.positions.next(ticks, run_end, self.lines.paragraph_end(start))
        return close + len(ticks) if close >= 0 else run_end

    # -- line-level Markdown: fenced and indented code -----------------------------------------------
    def code_block(self, line_start: int) -> int | None:
        """At a line start: skip an indented code block or a fenced one (a ``math`` fence is a block);
        ``None`` when the line starts neither."""
        line = self.lines.line_of(line_start) - 1  # 0-based
        if self.lines.blank[line]:
            return None
        if self.is_indented_code(line):
            while line < len(self.lines.blank) and (self.lines.blank[line] or self.indent(line) >= 4):
                line += 1
            return self.lines.starts[line] if line < len(self.lines.starts) else self.n
        fence = self._FENCE.match(self.text, line_start, self.lines.line_end(line_start))
        if not fence or (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            return None
        return self.fenced(line_start, line, fence)

    def indent(self, line: int) -> int:
        start = self.lines.starts[line]
        width = 0
        for char in self.text[start:start + 8]:
            if char == " ":
                width += 1
            elif char == "\t":
                width += 4 - width % 4
            else:
                break
        return width

    def is_indented_code(self, line: int) -> bool:
        blank = self.lines.blank
        if blank[line] or self.indent(line) < 4 or (line > 0 and not blank[line - 1]):
            return False
        # after a list item (and its blank or indented lines) an indented line continues the item
        return line == 0 or not self.list_context()[line - 1]

    def list_context(self) -> list[bool]:
        """Per line: whether the last non-blank line indented less than 2 before it (or it) is a list item."""
        if self.in_list is None:
            self.in_list, inside = [], False
            for line, start in enumerate(self.lines.starts):
                if not self.lines.blank[line] and self.indent(line) < 2:
                    inside = bool(self._LIST_ITEM.match(self.text, start))
                self.in_list.append(inside)
        return self.in_list

    def closing_fence(self, after_line: int, marker: str) -> int:
        """The 0-based line of the fence closing ``marker`` (same character, at least as long), or -1."""
        candidates = self.positions.positions("fence" + marker[0])
        i = bisect_right(candidates, after_line)
        while i < len(candidates):
            line = candidates[i]
            start = self.lines.starts[line]
            run = self.text[start:self.lines.line_end(start)].strip()
            if len(run) >= len(marker):
                return line
            i += 1
        return -1

    def fenced(self, line_start: int, line: int, fence: re.Match) -> int:
        marker, info = fence.group(1), fence.group(2).strip()
        self.fence_lines()
        close_line = self.closing_fence(line, marker)
        is_math = info.split()[0].lower() == "math" if info else False
        if close_line < 0:
            self.unclosed(line_start + fence.start(1) - fence.start(), f"the code fence {marker}",
                          f"no closing {marker}; the lines after it are read as text")
            return self.lines.next_line(line_start)
        close_start = self.lines.starts[close_line]
        close_end = self.lines.line_end(close_start)
        if is_math:
            inner = self.lines.starts[line + 1]
            self.block(line_start, inner, close_start, close_end, True, None)
        self.last_end = close_end
        return self.lines.next_line(close_end) if close_end < self.n else self.n

    def fence_lines(self) -> None:
        """Record, once, the 0-based lines that are a bare fence (only backticks or only tildes)."""
        if "fence`" in self.positions.lists:
            return
        bare = {"`": [], "~": []}
        for m in re.finditer(r"^[ \t]*(`{3,}|~{3,})[ \t]*$", self.text, re.M):
            bare[m.group(1)[0]].append(self.lines.line_of(m.start()) - 1)
        self.positions.lists["fence`"], self.positions.lists["fence~"] = bare["`"], bare["~"]


class _LatexScanner(_Scanner):
    """LaTeX: comments (``% symgrad:`` annotations aside) and verbatim text are blanked first, keeping offsets;
    then the body (inside ``\\begin{document}`` when present) is scanned for math."""

    _SPECIAL = re.compile(r"[\\$]")
    _HIDDEN = re.compile(_UNESCAPED + r"(%|\\verb\*?|\\begin\{(" + "|".join(
        re.escape(name) for name in _VERBATIM) + r")\})")

    def __init__(self, text: str):
        self.pending: list[tuple[int, Item]] = []
        spans, annotations = self.hidden_spans(text)
        blanked = self.blank(text, spans)
        super().__init__(text, blanked)
        for start, end in annotations:
            self.annotation(start, end, _SYMGRAD.match(text, start + 1).end(), end)
        for start, what, reason in self.pending:
            self.unclosed(start, what, reason)

    def hidden_spans(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        spans, annotations, pos = [], [], 0
        lines = _Lines(text)
        missing: set[str] = set()  # verbatim environments known never to close from here on
        while True:
            found = self._HIDDEN.search(text, pos)
            if not found:
                return spans, annotations
            start, token = found.start(1), found.group(1)
            line_end = lines.line_end(start)
            if token == "%":
                if _SYMGRAD.match(text, start + 1):
                    annotations.append((start, line_end))
                spans.append((start, line_end))
                pos = line_end
            elif token.startswith("\\verb"):
                pos = self.verb(text, found.end(1), line_end, start, spans)
            else:
                name = found.group(2)
                closer = "\\end{" + name + "}"
                close = -1 if name in missing else text.find(closer, found.end())
                if close < 0:
                    missing.add(name)
                    self.pending.append((start, f"the environment {name}", f"no {closer} after it"))
                    pos = found.end()
                else:
                    spans.append((start, close + len(closer)))
                    pos = close + len(closer)

    @staticmethod
    def verb(text: str, after: int, line_end: int, start: int, spans: list[tuple[int, int]]) -> int:
        if after >= line_end or text[after].isalpha() or text[after].isspace():
            return after  # \verbatim or similar: a command, not \verb
        close = text.find(text[after], after + 1, line_end)
        end = line_end if close < 0 else close + 1
        spans.append((start, end))
        return end

    @staticmethod
    def blank(text: str, spans: list[tuple[int, int]]) -> str:
        pieces, cursor = [], 0
        for start, end in spans:
            pieces.append(text[cursor:start])
            pieces.append(re.sub(r"[^\n]", " ", text[start:end]))
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def body(self) -> tuple[int, int]:
        begin = self.text.find("\\begin{document}")
        if begin < 0:
            return 0, self.n
        start = begin + len("\\begin{document}")
        end = self.text.find("\\end{document}", start)
        return start, (self.n if end < 0 else end)

    def scan(self) -> list[Item]:
        start, end = self.body()
        self.items = [(offset, item) for offset, item in self.items if start <= offset < end]
        text, pos = self.text, start
        self.last_end = start
        while pos < end:
            found = self._SPECIAL.search(text, pos, end)
            if not found:
                break
            pos = self.dispatch(found.start())
        return self.sorted_items()

    def dispatch(self, pos: int) -> int:
        text = self.text
        if text[pos] == "$":
            if text.startswith("$$", pos):
                return self.delimited(pos, "$$", "$$", True)
            return self.tex_dollar(pos)
        return self.backslash_math(pos)

    def tex_dollar(self, start: int) -> int:
        """TeX's inline ``$``: the next unescaped ``$`` in the paragraph closes it."""
        if start < self.no_dollars_before:
            return start + 1
        limit = self.lines.paragraph_end(start)
        return self.inline_dollar(start, self.positions.next("$", start + 1, limit), limit)


def _mark_ignored(items: list[Item]) -> list[Item]:
    """An ``ignore`` annotation marks the next math block (another annotation in between cancels it)."""
    marked, pending = [], False
    for item in items:
        if isinstance(item, Annotation):
            pending = item.directive == "ignore"
        elif isinstance(item, MathBlock) and pending:
            item, pending = replace(item, ignored=True), False
        marked.append(item)
    return marked


def extract(source: Source) -> list[Item]:
    r"""Every math block, ``symgrad:`` annotation and unclosed delimiter of ``source``, in document order.

    >>> from symgrad.documents.source import source_from_text
    >>> items = extract(source_from_text("<!-- symgrad: ignore -->\n$$\na &= b \\\\\n  &= c\n$$", "markdown"))
    >>> items[0].directive, items[1].ignored, items[1].rows
    ('ignore', True, (Row(line=3, text='a = b'), Row(line=4, text='= c')))
    """
    if source.format == "latex":
        scanner = _LatexScanner(source.text)
    else:
        scanner = _MarkdownScanner(source.text, markdown=source.format == "markdown")
    return _mark_ignored(scanner.scan())
