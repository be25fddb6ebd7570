"""Turn formula text into grammar tokens, making the decisions an LALR grammar cannot make.

The grammar (``grammar.lark``) is LALR(1) and conflict-free; everything that
needs more context is settled here, deliberately and in one place:

* **Word splitting.** A run of letters is implicit multiplication of
  one-letter variables (``wx`` is ``w*x``), except for known names, matched
  greedily from the left, longest first: function names, Greek names, the
  constants ``e`` and ``pi``, ``sum``/``prod``, decorated names such as
  ``yhat``, and every name passed in ``symbols=``. Digits right after a name
  belong to it (``w1x`` is ``w1*x``, ``theta0`` one symbol).
* **Call or variable.** A function name followed by an opening parenthesis
  is a call (``FUNC``); a function name followed by anything else is applied
  to the next factor (``FUNCBARE``: ``\\log x``). ``sigma``/``\\sigma``/``σ``
  is a call only when a parenthesis follows; otherwise it is a variable, so
  ``\\sigma_i (1 - \\sigma_i)`` is a product.
* **LaTeX arguments.** ``x^23``, ``\\frac12`` and ``x_ij`` take one
  character in LaTeX, as TeX typesets them; the lexer wraps that character in
  (virtual) braces. In plain text ``x_ij`` takes the whole word.
* **Absolute value bars.** A ``|`` closes an open ``|`` when it follows an
  operand and opens one otherwise.
* **Safety.** Quotes, ``;``, ``.`` outside numbers, ``__``, unknown
  characters and unknown LaTeX commands are errors naming the culprit;
  nesting deeper than :data:`MAX_NESTING` is an error.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from lark import Token

from ..errors import ParseError
from . import vocabulary as words

__all__ = ["INDICATOR", "MAX_LENGTH", "MAX_NESTING", "tokenize"]

#: longest input accepted, in characters
MAX_LENGTH = 2000
#: deepest nesting of parentheses, braces, brackets and bars accepted
MAX_NESTING = 32

_FROM_SUPERSCRIPT = str.maketrans(words.SUPERSCRIPT_DIGITS, "0123456789")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
#: ``^{(i)}`` and ``^{(i)2}``: the i-th sample (and its square), as ML slides write it
_SAMPLE_INDEX = re.compile(r"\s*\{\s*\(\s*([A-Za-z])\s*\)\s*(\d?)\s*\}")
#: what an indicator's braces hold: \mathbb{1}, \mathbf{1}, \mathbb 1
INDICATOR = re.compile(r"\\(?:mathbb|mathbf|boldsymbol|mathds|bm)\s*(?:\{\s*1\s*\}|1)")
#: a norm's subscript that names the Euclidean/Frobenius norm: \|W\|_F, \|w\|_2
_NORM_SUBSCRIPT = re.compile(r"_\s*(?:\{\s*(?:F|2)\s*\}|F|2)")
_SIMPLE_NAME = re.compile(
    r"\s*(?:[A-Za-z][A-Za-z0-9]*|\\[A-Za-z]+|[" + "".join(words.UNICODE_GREEK) + r"])\s*\Z"
)

#: token types after which a ``|`` closes an absolute value
_OPERAND_END = {"NAME", "NUMBER", "CONST", "INFTY", "RPAR", "RBRACE", "ABSCLOSE", "NORMCLOSE",
                "MATEND"}
_OPENERS = {"LPAR": "RPAR", "LBRACE": "RBRACE", "LBRACK": "RBRACK", "ABSOPEN": "ABSCLOSE",
            "NORMOPEN": "NORMCLOSE"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_PAIRS = {"(": ")", "[": "]", "\\{": "\\}", "{": "}", "|": "|"}


@dataclass
class Tok:
    """A token before it is handed to lark: type, text, span and the lexer's notes."""

    type: str
    value: str
    pos: int
    end: int
    #: for names: "symbol", "func", "dual", "const", "word"; for delimiters: their kind
    role: str = ""
    virtual: bool = False


#: a letter or Greek name with a decoration written after it: yhat, xbar, thetatilde
_DECORATED = re.compile(
    "(" + "|".join(sorted(words.GREEK, key=len, reverse=True)) + "|[A-Za-z])(hat|bar|tilde)")


class _Scanner:
    def __init__(self, text: str, latex: bool, user: set[str], functions: set[str]):
        self.text = text
        self.latex = latex
        self.user = user
        self.functions = functions
        self.toks: list[Tok] = []
        known = set(words.GREEK) | set(words.FUNCTIONS) | words.DUAL | words.CONSTANTS | \
            set(words.BIG) | words.VECTOR_FUNCTIONS
        self.known = sorted(known | user | functions, key=len, reverse=True)
        self.sub_known = sorted(set(words.GREEK) | user, key=len, reverse=True)
        self.user_sorted = sorted(user, key=len, reverse=True)
        #: inside \mathbb{1}\{...\}, where inequalities are read
        self.in_indicator = 0
        #: inside \begin{pmatrix} ... \end{pmatrix}, where & separates cells
        self.matrix_depth = 0

    # -- helpers ----------------------------------------------------------
    def error(self, message: str, pos: int):
        raise ParseError(message, self.text, pos)

    def emit(self, type_: str, value: str, pos: int, end: int, role: str = "", virtual=False):
        self.toks.append(Tok(type_, value, pos, end, role, virtual))

    def name(self, name: str, role: str, pos: int, end: int):
        if role == "index":  # a name inside a subscript is always a variable
            role = "symbol"
        elif name in self.functions:
            role = "dual"
        elif name in self.user:
            role = "symbol"
        self.emit("NAME", name, pos, end, role)

    def skip_space(self, pos: int, end: int) -> int:
        while pos < end and (self.text[pos].isspace() or (self.latex and self.text[pos] == "~")):
            pos += 1
        return pos

    def match_brace(self, pos: int, end: int) -> int:
        """Index of the ``}`` closing the ``{`` at ``pos``."""
        depth, i = 0, pos
        while i < end:
            c = self.text[i]
            if c == "\\":
                i += 2
                continue
            if c == "{":
                depth += 1
                if depth > MAX_NESTING:
                    self.error(f"nested too deeply (more than {MAX_NESTING} levels)", i)
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        self.error("'{' is never closed", pos)

    def check_depth(self, depth: int, pos: int):
        if depth > MAX_NESTING:
            self.error(f"nested too deeply (more than {MAX_NESTING} levels)", pos)

    # -- scanning ---------------------------------------------------------
    def scan(self, start: int, end: int, sub: bool = False, depth: int = 0):
        pos = start
        while pos < end:
            pos = self.unit(pos, end, sub, depth)

    def group(self, pos: int, end: int, sub: bool, depth: int, transparent=False) -> int:
        """Scan the braced group opening at ``pos``; return the position after it."""
        self.check_depth(depth + 1, pos)
        close = self.match_brace(pos, end)
        if not transparent:
            self.emit("LBRACE", "{", pos, pos + 1, "{")
        self.scan(pos + 1, close, sub, depth + 1)
        if not transparent:
            self.emit("RBRACE", "}", close, close + 1, "}")
        return close + 1

    def script(self, pos: int, end: int, sub: bool, depth: int, what: str) -> int:
        """The argument of ``^``, ``_``, ``\\frac``, ``\\sqrt``: braced, or one unit in LaTeX."""
        start = pos
        pos = self.skip_space(pos, end)
        if pos >= end:
            self.error(f"'{what}' needs an argument", start)
        if self.text[pos] == "{":
            return self.group(pos, end, sub, depth)
        if self.text[pos] in "+-−" and self.latex:
            self.error(f"in LaTeX write {what}{{{self.text[pos]}...}} with braces: "
                       "an unbraced argument is one character", pos)
        self.emit("LBRACE", "{", pos, pos, "{", virtual=True)
        if self.latex:
            after = self.unit(pos, end, sub, depth, single=True)
        else:  # a plain-text subscript: the whole word
            after = self.plain_subscript(pos, end, depth)
        self.emit("RBRACE", "}", after, after, "}", virtual=True)
        return after

    def plain_subscript(self, pos: int, end: int, depth: int) -> int:
        m = re.compile(r"[A-Za-z0-9]+").match(self.text, pos, end)
        if m:
            self.word(m.start(), m.end(), sub=True)
            return m.end()
        c = self.text[pos]
        if c in words.UNICODE_GREEK or c == "\\":
            return self.unit(pos, end, True, depth, single=True)
        self.error("'_' must be followed by a subscript such as x_i or x_{ij}", pos)

    def unit(self, pos: int, end: int, sub: bool, depth: int, single: bool = False) -> int:
        """Scan one lexical unit at ``pos`` and return the position after it."""
        text = self.text
        c = text[pos]
        if c.isspace() or (self.latex and c == "~"):
            return pos + 1
        if c in words.SUPERSCRIPT_DIGITS:  # ∂²L/∂w², x³: a power written with superscript digits
            stop = pos
            while stop < end and text[stop] in words.SUPERSCRIPT_DIGITS:
                stop += 1
            self.emit("POW", c, pos, pos)
            self.emit("NUMBER", text[pos:stop].translate(_FROM_SUPERSCRIPT), pos, stop)
            return stop
        if c.isdigit() or (c == "." and pos + 1 < end and text[pos + 1].isdigit()):
            if single:
                m = re.compile(r"\d").match(text, pos, end)
            elif sub:
                m = _DIGITS.match(text, pos, end)
            else:
                m = _NUMBER.match(text, pos, end)
            if m is None:
                self.error("malformed number", pos)
            self.emit("NUMBER", m.group(), pos, m.end())
            return m.end()
        if c.isascii() and c.isalpha():
            if not sub and not single:
                for name in self.user_sorted:  # names with underscores, e.g. w_1
                    if "_" in name and text.startswith(name, pos):
                        after = pos + len(name)
                        if after >= end or not (text[after].isalnum() or text[after] == "_"):
                            self.name(name, "symbol", pos, after)
                            return after
                for name in words.FUNCTIONS:  # function names with underscores, e.g. leaky_relu
                    if "_" in name and text.startswith(name, pos):
                        after = pos + len(name)
                        if after >= end or not (text[after].isalnum() or text[after] == "_"):
                            self.name(words.FUNCTIONS[name], "func", pos, after)
                            return after
            m = _WORD.match(text, pos, end)
            stop = pos + 1 if single else m.end()
            self.word(pos, stop, sub)
            return stop
        if c == "Δ" and not sub:
            merged = self.delta_name(pos, pos + 1, end)
            if merged:
                return merged
        if c in words.UNICODE_GREEK:
            name = words.UNICODE_GREEK[c]
            role = "dual" if name in words.DUAL else "const" if name in words.CONSTANTS else "symbol"
            self.name(name, "index" if sub else role, pos, pos + 1)
            return pos + 1
        if c == words.COMBINING_HAT and self.toks and self.toks[-1].type == "NAME" \
                and self.toks[-1].end == pos and not self.toks[-1].value.endswith("hat"):
            self.toks[-1].value += "hat"  # y followed by a combining ^: yhat
            self.toks[-1].end = pos + 1
            return pos + 1
        if c == "ᵀ":  # Wᵀ: a transpose
            return self.transpose(pos, pos + 1)
        hatted = words.hatted(c)
        if hatted:  # ŷ: the same name as \hat{y}
            self.name(hatted, "index" if sub else "symbol", pos, pos + 1)
            return pos + 1
        if c == "‖":
            return self.norm_bar(pos, pos + 1, end)
        if c == "𝟙":
            return self.indicator(pos, pos + 1, end)
        if c in "≤≥":
            return self.operator(pos, end, sub, depth)
        if c in words.SYMBOL_CHARS:
            type_, value = words.SYMBOL_CHARS[c]
            if type_ == "BIG":
                self.emit("BIG", words.BIG[value], pos, pos + 1)
            else:
                self.emit(type_, value, pos, pos + 1)
            return pos + 1
        if c == "√":
            self.name("sqrt", "func", pos, pos + 1)
            return pos + 1
        if c == "\\":
            return self.command(pos, end, sub, depth)
        if c == "{":
            return self.group(pos, end, sub, depth)
        if c == "}":
            self.error("'}' has no matching '{'", pos)
        return self.operator(pos, end, sub, depth)

    def sample_index(self, match, pos: int) -> int:
        """``x^{(i)}`` is the i-th sample ``x[i]``; ``x^{(i)2}`` its square, as slides write them."""
        index, power = match.group(1), match.group(2)
        at = match.start(1)
        self.emit("SUB", "_", pos, pos + 1)
        self.emit("LBRACE", "{", at, at, "{", virtual=True)
        self.name(index, "index", at, at + 1)
        self.emit("RBRACE", "}", at + 1, at + 1, "}", virtual=True)
        if power:
            at = match.start(2)
            self.emit("POW", "^", at, at)
            self.emit("LBRACE", "{", at, at, "{", virtual=True)
            self.emit("NUMBER", power, at, at + 1)
            self.emit("RBRACE", "}", at + 1, at + 1, "}", virtual=True)
        return match.end()

    def transpose(self, pos: int, after: int) -> int:
        r"""``Wᵀ``, ``W^\top``: the exponent ⊤, which the builder reads as a transpose."""
        self.emit("POW", "^", pos, pos)
        self.emit("LBRACE", "{", pos, pos, "{", virtual=True)
        self.emit("NAME", "⊤", pos, after, "symbol")
        self.emit("RBRACE", "}", after, after, "}", virtual=True)
        return after

    def norm_bar(self, pos: int, after: int, end: int) -> int:
        """``\\|w\\|`` or ``‖w‖``: a norm bar; ``_F`` or ``_2`` after a closing bar names the same norm."""
        prev = self.toks[-1] if self.toks else None
        closing = prev is not None and prev.type in _OPERAND_END and any(
            t.type == "NORM" and t.role == "open?" for t in self.toks)
        self.emit("NORM", "‖", pos, after, "close" if closing else "open?")
        if closing:
            for t in reversed(self.toks[:-1]):
                if t.type == "NORM" and t.role == "open?":
                    t.role = "open"
                    break
            m = _NORM_SUBSCRIPT.match(self.text, after, end)
            if m:
                return m.end()
        return after

    def indicator(self, pos: int, after: int, end: int) -> int:
        r"""``\mathbb{1}\{x \geq y\}``: an indicator, read as a Heaviside step of the inequality."""
        nxt = self.skip_space(after, end)
        if not (self.text.startswith(("\\{", "\\left", "\\big", "\\Big", "[", "("), nxt)):
            self.error("an indicator \\mathbb{1} must be followed by its condition in "
                       "braces, as in \\mathbb{1}\\{x \\geq y\\}", pos)
        self.in_indicator += 1
        self.emit("INDICATOR", "1", pos, after)
        return after

    def delta_name(self, pos: int, after: int, end: int) -> int | None:
        r"""``\Delta w`` / ``Δw``: the change of w, one symbol ``Delta_w``; None if no letter follows."""
        text = self.text
        nxt = self.skip_space(after, end)
        m = re.compile(r"[A-Za-z](?![A-Za-z])").match(text, nxt, end)
        if m:
            self.name("Delta_" + m.group(), "symbol", pos, m.end())
            return m.end()
        m = _COMMAND.match(text, nxt, end)
        if m and (m.group(1) in words.GREEK or m.group(1) in words.GREEK_VARIANTS):
            self.name("Delta_" + words.GREEK_VARIANTS.get(m.group(1), m.group(1)), "symbol",
                      pos, m.end())
            return m.end()
        if nxt < end and text[nxt] in words.UNICODE_GREEK and text[nxt] != "Δ":
            self.name("Delta_" + words.UNICODE_GREEK[text[nxt]], "symbol", pos, nxt + 1)
            return nxt + 1
        return None

    def nabla(self, pos: int, after: int, end: int, depth: int) -> int:
        r"""``\nabla_w L`` (an operator, like ∂/∂w) or ``\nabla w`` (the gradient for w: ``nabla_w``)."""
        text = self.text
        nxt = self.skip_space(after, end)
        if nxt < end and text[nxt] == "_":
            self.emit("NABLA", "\\nabla", pos, after)
            self.emit("SUB", "_", nxt, nxt + 1)
            return self.script(nxt + 1, end, True, depth, "_")
        m = re.compile(r"[A-Za-z](?![A-Za-z])").match(text, nxt, end)
        if m:
            self.name("nabla_" + m.group(), "symbol", pos, m.end())
            return m.end()
        self.error("write \\nabla_w L for the gradient of L with respect to w", pos)

    def matrix(self, pos: int, after: int, end: int, env: str, depth: int) -> int:
        r"""``\begin{pmatrix} a & b \\ c & d \end{pmatrix}``: rows of cells, read as a SymPy Matrix."""
        close = self.text.find("\\end{" + env + "}", after, end)
        if close < 0:
            self.error(f"\\begin{{{env}}} is never closed", pos)
        self.check_depth(depth + 1, pos)
        self.emit("MATBEGIN", env, pos, after)
        self.matrix_depth += 1
        self.scan(after, close, False, depth + 1)
        self.matrix_depth -= 1
        if self.toks[-1].type == "NEWROW":  # a trailing \\ before \end
            self.toks.pop()
        stop = close + len("\\end{" + env + "}")
        self.emit("MATEND", env, close, stop)
        return stop

    def operator(self, pos: int, end: int, sub: bool, depth: int) -> int:
        text, c = self.text, self.text[pos]
        two = text[pos:pos + 2]
        simple = {"+": "PLUS", "-": "MINUS", "/": "SLASH", ",": "COMMA", "(": "LPAR", ")": "RPAR"}
        if c in simple:
            self.emit(simple[c], c, pos, pos + 1, c)
            return pos + 1
        if two == "**":
            self.emit("POW", "**", pos, pos + 2)
            return pos + 2
        if c == "*":
            self.emit("STAR", "*", pos, pos + 1)
            return pos + 1
        if c == "^":
            sample = _SAMPLE_INDEX.match(text, pos + 1, end)
            if sample and self.toks and self.toks[-1].type in ("NAME", "RBRACE"):
                return self.sample_index(sample, pos)
            self.emit("POW", "^", pos, pos + 1)
            nxt = self.skip_space(pos + 1, end)
            if self.latex or (nxt < end and text[nxt] == "{"):
                return self.script(pos + 1, end, sub, depth, "^")
            return pos + 1
        if c == "_":
            if two == "__":
                self.error("double underscores (dunder names) are not allowed", pos)
            prev = self.toks[-1] if self.toks else None
            if prev is None or prev.type not in ("NAME", "BIG", "RBRACE"):
                self.error("'_' must follow a variable name, as in x_i", pos)
            self.emit("SUB", "_", pos, pos + 1)
            return self.script(pos + 1, end, True, depth, "_")
        if c in "[]":
            if not self.latex:
                self.error("square brackets are not allowed in plain text: write x_i for an "
                           "indexed variable and ( ) for grouping", pos)
            prev = self.toks[-1] if self.toks else None
            if c == "[" and prev is not None and prev.end == pos \
                    and prev.type in ("NAME", "NUMBER") and not prev.virtual:
                self.error("'[' right after a name looks like indexing: write x_{0} for an "
                           "indexed variable", pos)
            self.emit("LPAR" if c == "[" else "RPAR", c, pos, pos + 1, c)
            return pos + 1
        if c == "|":
            self.emit("BAR", "|", pos, pos + 1, "|")
            return pos + 1
        if c == "=":
            if two == "==":
                self.error("use a single '=' in an equation", pos)
            self.emit("EQ", "=", pos, pos + 1)
            return pos + 1
        if two == "<-":
            self.emit("ARROW", "<-", pos, pos + 2)
            return pos + 2
        if two == ":=":
            self.emit("ARROW", ":=", pos, pos + 2)
            return pos + 2
        if c in "<>≤≥" and self.in_indicator:
            rel = {"<": "<", ">": ">", "≤": "<=", "≥": ">="}[c]
            if c in "<>" and text.startswith("=", pos + 1):
                self.emit("REL", rel + "=", pos, pos + 2)
                return pos + 2
            self.emit("REL", rel, pos, pos + 1)
            return pos + 1
        if c == "<":
            self.error("'<' is not allowed (inequalities are not supported; '<-' is an update)", pos)
        if c == "&" and self.latex:
            if self.matrix_depth:
                self.emit("AMP", "&", pos, pos + 1)
            return pos + 1
        if c in "'′":
            prev = self.toks[-1] if self.toks else None
            if prev is not None and prev.type == "NAME" and prev.role in ("func", "dual") \
                    and prev.end == pos:
                self.emit("PRIME", "'", pos, pos + 1)
                return pos + 1
            after = pos + 1
            if prev is not None and prev.type == "NAME" and prev.role == "symbol" \
                    and prev.end == pos and "'" not in prev.value \
                    and (after >= end or not (text[after].isalnum() or text[after] in "'′\"_")):
                # w' (a new value of w, as in w' = w - αg): its own symbol named w'
                prev.value, prev.end = prev.value + "'", after
                return after
        if c in words.CHAR_ERRORS:
            self.error(words.CHAR_ERRORS[c], pos)
        if not c.isprintable():
            self.error(f"unexpected control character U+{ord(c):04X}", pos)
        self.error(f"unexpected character {c!r} (U+{ord(c):04X})", pos)

    def word(self, start: int, stop: int, sub: bool):
        """Split the letters and digits in ``text[start:stop]`` into names."""
        text = self.text
        word = text[start:stop]
        if not sub and word in self.user:
            self.name(word, "symbol", start, stop)
            return
        known = self.sub_known if sub else self.known
        first = len(self.toks)
        i = start
        while i < stop:
            if text[i].isdigit():  # only in subscripts: digits are indices of their own
                m = _DIGITS.match(text, i, stop)
                self.emit("NUMBER", m.group(), i, m.end())
                i = m.end()
                continue
            name = next((k for k in known if text.startswith(k, i, stop)), text[i])
            if not sub:
                m = _DECORATED.match(text, i, stop)
                if m and len(m.group()) > len(name):
                    name = m.group()
            j = i + len(name)
            if sub:
                role = "index"
            elif name in self.user:
                role = "symbol"
            elif name in words.FUNCTIONS or name in words.VECTOR_FUNCTIONS:
                role = "func"
            elif name in words.DUAL:
                role = "dual"
            elif name in words.CONSTANTS:
                role = "const"
            elif name in words.BIG:
                role = "big"
            else:
                role = "symbol"
            if not sub:
                m = _DIGITS.match(text, j, stop)
                if m:
                    if role in ("func", "big"):
                        self.error(f"digits right after the function name {name!r}", j)
                    name, role, j = name + m.group(), "symbol", m.end()
            if role == "big":
                self.emit("BIG", words.BIG[name], i, j)
            else:
                self.name(name, role, i, j)
            i = j
        if not sub:
            self.check_word(word, self.toks[first:], start, stop)

    def check_word(self, word: str, names: list[Tok], start: int, stop: int):
        """Refuse words that split into nothing but single letters and look like unknown names.

        ``wx`` and ``wxb`` are products, but ``sin(x)`` or ``softmax`` read as
        s*i*n*x would silently be something else than what was meant.
        """
        def single(t):
            return t.type == "NAME" and len(t.value.rstrip("0123456789")) == 1

        nxt = self.skip_space(stop, len(self.text))
        called = nxt < len(self.text) and self.text[nxt] == "("
        letters = sum(ch.isalpha() for ch in word)
        if called and len(names) >= 3 and all(single(t) for t in names[:-1]):
            pass  # softmax(z) is not s*o*f*t*max(z)
        elif not all(single(t) for t in names):
            return
        if letters >= 4 or (letters >= 3 and called):
            what = "function" if called else "name"
            hint = (f"functions=[{word!r}]" if called else f"symbols=[{word!r}]")
            self.error(f"unknown {what} {word!r}: pass {hint} to declare it, or write a "
                       f"product of single letters with spaces or *", start)

    # -- LaTeX commands ---------------------------------------------------
    def raw_argument(self, pos: int, end: int, command: str) -> tuple[str, int, int]:
        """The text of a command's argument: ``(content, content_start, position_after)``."""
        pos = self.skip_space(pos, end)
        if pos >= end:
            self.error(f"\\{command} needs an argument", pos)
        if self.text[pos] == "{":
            close = self.match_brace(pos, end)
            return self.text[pos + 1:close], pos + 1, close + 1
        m = _COMMAND.match(self.text, pos, end)
        if m:
            return m.group(), pos, m.end()
        return self.text[pos], pos, pos + 1

    def single_name(self, content: str, start: int, command: str) -> str:
        """The one name a decoration such as ``\\hat`` applies to."""
        stripped = content.strip()
        wrapped = re.fullmatch(r"\\(?:" + "|".join(sorted(words.WRAPPERS)) + r")\s*\{([^{}]*)\}",
                               stripped)
        if wrapped:  # \hat{\mathbf{y}}: the font does not change the name
            stripped = wrapped.group(1).strip()
        if re.fullmatch(r"[A-Za-z]", stripped):
            return stripped
        if stripped in words.UNICODE_GREEK:
            return words.UNICODE_GREEK[stripped]
        m = re.fullmatch(r"\\([A-Za-z]+)", stripped)
        if m and (m.group(1) in words.GREEK or m.group(1) in words.GREEK_VARIANTS):
            return words.GREEK_VARIANTS.get(m.group(1), m.group(1))
        self.error(f"\\{command} must decorate a single letter, as in \\{command}{{y}}", start)

    def delimiter(self, pos: int, end: int, command: str, side: str) -> int:
        """The delimiter after ``\\left``, ``\\right``, ``\\bigl`` ...; ``side`` is l, r or ''."""
        pos = self.skip_space(pos, end)
        text = self.text
        m = _COMMAND.match(text, pos, end)
        if m:
            word, after = m.group(1), m.end()
            mapping = {"lvert": ("ABSOPEN", "|"), "rvert": ("ABSCLOSE", "|"), "vert": ("BAR", "|"),
                       "mid": ("BAR", "|"),
                       "lbrace": ("LPAR", "\\{"), "rbrace": ("RPAR", "\\}"),
                       "lbrack": ("LPAR", "["), "rbrack": ("RPAR", "]"),
                       "lparen": ("LPAR", "("), "rparen": ("RPAR", ")")}
            if word not in mapping:
                self.error(f"\\{command} \\{word}: this delimiter is not supported", pos)
            type_, kind = mapping[word]
        elif text.startswith("\\{", pos) or text.startswith("\\}", pos):
            type_, kind, after = ("LPAR" if text[pos + 1] == "{" else "RPAR"), text[pos:pos + 2], pos + 2
        elif pos < end and text[pos] in "()[]|":
            c = text[pos]
            after = pos + 1
            type_ = {"(": "LPAR", "[": "LPAR", ")": "RPAR", "]": "RPAR", "|": "BAR"}[c]
            kind = c
        elif pos < end and text[pos] == ".":
            self.error(f"\\{command}. (an invisible delimiter) is not supported", pos)
        else:
            self.error(f"\\{command} must be followed by a delimiter such as ( or |", pos)
        if type_ == "BAR":
            if command == "left" or side == "l":
                type_ = "ABSOPEN"
            elif command == "right" or side == "r":
                type_ = "ABSCLOSE"
        self.emit(type_, kind, pos, after, kind)
        return after

    def command(self, pos: int, end: int, sub: bool, depth: int) -> int:
        text = self.text
        if text.startswith("\\\\", pos):
            self.emit("NEWROW", "\\\\", pos, pos + 2)
            return pos + 2
        m = _COMMAND.match(text, pos, end)
        if not m:
            nxt = text[pos + 1] if pos + 1 < end else ""
            if nxt in (",", ";", ":", "!", " ", ">") and nxt:
                return pos + 2
            if nxt in ("{", "}"):
                self.emit("LPAR" if nxt == "{" else "RPAR", "\\" + nxt, pos, pos + 2, "\\" + nxt)
                return pos + 2
            if nxt == "|":
                return self.norm_bar(pos, pos + 2, end)
            self.error(f"unexpected escaped character {text[pos:pos + 2]!r}", pos)
        word, after = m.group(1), m.end()
        if word == "Delta" and not sub:
            merged = self.delta_name(pos, after, end)
            if merged:
                return merged
        indicator = INDICATOR.match(text, pos, end)
        if indicator:
            return self.indicator(pos, indicator.end(), end)
        if word == "top":
            if not self.toks or self.toks[-1].type != "POW" and not (
                    self.toks[-1].type == "LBRACE" and len(self.toks) > 1
                    and self.toks[-2].type == "POW"):
                self.error("\\top is a transpose: write it as an exponent, W^\\top", pos)
            self.emit("NAME", "⊤", pos, after, "symbol")
            return after
        if word == "nabla":
            return self.nabla(pos, after, end, depth)
        if word in words.RELATIONS and self.in_indicator:
            self.emit("REL", words.RELATIONS[word], pos, after)
            return after
        if word == "odot":
            self.emit("STAR", "\\odot", pos, after)
            return after
        if word in words.GREEK or word in words.GREEK_VARIANTS or word == "pi":
            name = words.GREEK_VARIANTS.get(word, word)
            role = "dual" if name in words.DUAL else "const" if name in words.CONSTANTS else "symbol"
            self.name(name, role, pos, after)
            return after
        if word in ("sum", "prod"):
            self.emit("BIG", word, pos, after)
            return after
        if word in ("log", "ln", "exp", "tanh", "max", "min"):
            self.name(words.FUNCTIONS[word], "func", pos, after)
            return after
        if word in ("frac", "dfrac", "tfrac", "cfrac"):
            self.emit("FRAC", "\\" + word, pos, after)
            after = self.script(after, end, False, depth, "\\" + word)
            return self.script(after, end, False, depth, "\\" + word)
        if word == "sqrt":
            self.emit("SQRT", "\\sqrt", pos, after)
            nxt = self.skip_space(after, end)
            if nxt < end and text[nxt] == "[":
                close = text.find("]", nxt, end)
                if close < 0:
                    self.error("'[' is never closed", nxt)
                self.check_depth(depth + 1, nxt)
                self.emit("LBRACK", "[", nxt, nxt + 1, "[")
                self.scan(nxt + 1, close, False, depth + 1)
                self.emit("RBRACK", "]", close, close + 1, "]")
                after = close + 1
            return self.script(after, end, False, depth, "\\sqrt")
        if word == "partial":
            self.emit("PARTIAL", "\\partial", pos, after)
            return after
        if word == "infty":
            self.emit("INFTY", "\\infty", pos, after)
            return after
        if word in ("cdot", "times", "ast"):
            self.emit("STAR", "\\" + word, pos, after)
            return after
        if word == "div":
            self.emit("SLASH", "\\div", pos, after)
            return after
        if word in ("leftarrow", "gets", "longleftarrow", "coloneqq"):
            self.emit("ARROW", "\\" + word, pos, after)
            return after
        if word in ("left", "right"):
            return self.delimiter(after, end, word, "")
        size = re.fullmatch(r"(big|Big|bigg|Bigg)([lrm]?)", word)
        if size:
            return self.delimiter(after, end, word, size.group(2))
        if word in ("lvert", "rvert", "vert", "mid", "lbrace", "rbrace", "lbrack", "rbrack",
                    "lparen", "rparen"):
            return self.delimiter(pos, end, "", "")
        if word in words.SPACES:
            return after
        if word in ("begin", "end"):
            content, start, after = self.raw_argument(after, end, word)
            if word == "begin" and content.strip() in words.MATRICES:
                return self.matrix(pos, after, end, content.strip(), depth)
            if content.strip() not in words.ENVIRONMENTS:
                self.error(f"\\{word}{{{content}}}: this environment is not supported "
                           "(matrices are written pmatrix, bmatrix or matrix)", pos)
            if content.strip() == "alignedat":  # \begin{alignedat}{2}
                nxt = self.skip_space(after, end)
                if word == "begin" and nxt < end and text[nxt] == "{":
                    _, _, after = self.raw_argument(nxt, end, word)
            return after
        if word in words.DECORATIONS:
            content, start, after = self.raw_argument(after, end, word)
            base = self.single_name(content, start, word)
            self.name(base + words.DECORATIONS[word], "symbol", pos, after)
            return after
        if word in words.WRAPPERS:
            nxt = self.skip_space(after, end)
            if nxt < end and text[nxt] == "{":
                close = self.match_brace(nxt, end)
                simple = _SIMPLE_NAME.match(text[nxt + 1:close]) is not None
                return self.group(nxt, end, sub, depth, transparent=simple)
            if nxt >= end:
                self.error(f"\\{word} needs an argument", pos)
            return self.unit(self.skip_space(nxt, end), end, sub, depth, single=True)
        if word in words.TEXTLIKE:
            content, start, after = self.raw_argument(after, end, word)
            return self.text_name(content.strip(), word, pos, start, after)
        if word in words.HINTS:
            self.error(f"\\{word}: {words.HINTS[word]}", pos)
        self.error(f"unknown LaTeX command \\{word}", pos)

    def text_name(self, content: str, command: str, pos: int, start: int, after: int) -> int:
        """``\\operatorname{ReLU}``, ``\\text{lr}``, ``\\mathrm{d}``: one name, never dropped text."""
        if content.replace("\\_", "_") in words.FUNCTIONS:  # \operatorname{leaky\_relu}
            self.name(words.FUNCTIONS[content.replace("\\_", "_")], "func", pos, after)
            return after
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", content):
            self.error(f"\\{command}{{{content}}} is not a name; words cannot be parsed", start)
        low = content.lower()
        if low in words.VECTOR_FUNCTIONS:
            self.name(low, "func", pos, after)
        elif content in words.FUNCTIONS or low in words.FUNCTIONS:
            self.name(words.FUNCTIONS.get(content) or words.FUNCTIONS[low], "func", pos, after)
        elif low == "sigma":
            self.name("sigma", "dual", pos, after)
        elif content in ("e", "pi"):
            self.name(content, "const", pos, after)
        elif len(content) == 1 or content in self.user:
            self.name(content, "symbol", pos, after)
        else:
            self.name(content, "word", pos, after)
        return after

    # -- passes over the token list --------------------------------------
    def finish(self) -> list[Tok]:
        toks = self.toks
        for t in toks:
            if t.type == "NORM":
                if t.role == "open?":
                    self.error("the norm bar ‖ is never closed", t.pos)
                t.type = "NORMOPEN" if t.role == "open" else "NORMCLOSE"
        toks = self.powers_of_calls(toks)
        self.classify(toks)
        self.pair(toks)
        for a, b in zip(toks, toks[1:]):
            if a.type == "NUMBER" and b.type == "NUMBER":
                self.error(f"two numbers side by side ({a.value} {b.value}): "
                           "write * between them", b.pos)
        return toks

    @staticmethod
    def _group_end(toks: list[Tok], i: int, open_: str, close: str) -> int | None:
        """The index just past the group opened at ``toks[i]`` (``{…}`` or ``(…)``); ``None`` if unclosed."""
        depth = 0
        for k in range(i, len(toks)):
            depth += (toks[k].type == open_) - (toks[k].type == close)
            if depth == 0:
                return k + 1
        return None

    def braced_arguments(self, toks: list[Tok]) -> list[Tok]:
        """``\\tanh{\\left(w \\right)}``, as SymPy's LaTeX printer writes a call: the braces around the
        argument's parentheses dropped (at every depth), so symgrad reads back what it and SymPy print."""
        dropped: set[int] = set()
        for i, t in enumerate(toks):
            if not (t.type == "NAME" and t.role in ("func", "dual")):
                continue
            k = i + 1
            if k + 1 < len(toks) and toks[k].type == "POW":  # a power first: \tanh^{2}{\left(w\right)}
                k = self._group_end(toks, k + 1, "LBRACE", "RBRACE") if toks[k + 1].type == "LBRACE" else k + 2
                if k is None:
                    continue
            if k + 1 < len(toks) and toks[k].type == "LBRACE" and toks[k + 1].type == "LPAR":
                close = self._group_end(toks, k + 1, "LPAR", "RPAR")
                if close is not None and close < len(toks) and toks[close].type == "RBRACE":
                    dropped |= {k, close}
        return [t for i, t in enumerate(toks) if i not in dropped]

    def powers_of_calls(self, toks: list[Tok]) -> list[Tok]:
        """``\\tanh^2(u)`` as the slides mean it, ``tanh(u)^2``: the power moved after the call's argument."""
        return self._moved_powers(self.braced_arguments(toks))

    def _moved_powers(self, toks: list[Tok]) -> list[Tok]:
        out, i = [], 0
        while i < len(toks):
            t = toks[i]
            if (t.type == "NAME" and t.role == "func" and i + 2 < len(toks) and toks[i + 1].type == "POW"):
                start = i + 2
                end = self._group_end(toks, start, "LBRACE", "RBRACE") if toks[start].type == "LBRACE" else start + 1
                if end is not None and end < len(toks) and toks[end].type == "LPAR":
                    close = self._group_end(toks, end, "LPAR", "RPAR")
                    if close is not None:
                        out += [t, *self._moved_powers(toks[end:close]), toks[i + 1], *toks[start:end]]
                        i = close
                        continue
            out.append(t)
            i += 1
        return out

    def classify(self, toks: list[Tok]):
        """Decide for each name whether it is a call, a bare function application or a variable."""
        def opens(i):
            return i < len(toks) and toks[i].type == "LPAR"

        for i, t in enumerate(toks):
            if t.type == "BIG":
                continue
            if t.type != "NAME":
                continue
            nxt = toks[i + 1].type if i + 1 < len(toks) else None
            if t.role in ("func", "dual"):
                if opens(i + 1) or (nxt == "PRIME" and opens(i + 2)):
                    t.type = "FUNC"
                elif nxt == "PRIME":
                    self.error(f"write {t.value}'(...) with parentheses", toks[i + 1].pos)
                elif t.role == "func":
                    if t.value in ("max", "min"):
                        self.error(f"{t.value} needs parentheses: {t.value}(a, b)", t.pos)
                    t.type = "FUNCBARE"
            elif t.role == "const" and nxt != "SUB":
                t.type = "CONST"
            elif t.role == "word" and opens(i + 1):
                self.error(f"unknown function {t.value!r}", t.pos)

    def pair(self, toks: list[Tok]):
        """Match delimiters, resolve ``|`` into opening and closing bars, limit the nesting."""
        stack: list[Tok] = []
        for i, t in enumerate(toks):
            if t.type == "BAR":
                prev = toks[i - 1] if i else None
                closing = (stack and stack[-1].type == "ABSOPEN" and prev is not None
                           and prev.type in _OPERAND_END)
                t.type = "ABSCLOSE" if closing else "ABSOPEN"
            if t.type in _OPENERS:
                stack.append(t)
                if len(stack) > MAX_NESTING:
                    self.error(f"nested too deeply (more than {MAX_NESTING} levels)", t.pos)
            elif t.type in _CLOSERS:
                shown = "|" if t.type == "ABSCLOSE" else t.value
                if not stack:
                    self.error(f"{shown!r} has no matching opening delimiter", t.pos)
                top = stack.pop()
                expected = _OPENERS[top.type]
                if t.type != expected or (t.type == "RPAR" and _PAIRS.get(top.role) != t.role):
                    opened = "|" if top.type == "ABSOPEN" else top.value
                    self.error(f"{shown!r} does not match the {opened!r} opened at column "
                               f"{top.pos + 1}", t.pos)
        if stack:
            top = stack[-1]
            opened = "|" if top.type == "ABSOPEN" else top.value
            self.error(f"{opened!r} is never closed", top.pos)


def _strip_math_delimiters(text: str) -> tuple[int, int]:
    """The span of ``text`` inside an outer ``$...$``, ``$$...$$``, ``\\[...\\]`` or ``\\(...\\)``."""
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    for left, right in (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)")):
        if text.startswith(left, start) and text.endswith(right, 0, end) \
                and end - start >= len(left) + len(right):
            return start + len(left), end - len(right)
    return start, end


def tokenize(text: str, latex: bool, user: set[str], functions: frozenset = frozenset()) -> list[Token]:
    """The lark tokens of ``text``; ``latex`` selects LaTeX's one-character arguments.

    >>> [(t.type, str(t)) for t in tokenize("2x(wx+b)", False, set())]  # doctest: +NORMALIZE_WHITESPACE
    [('NUMBER', '2'), ('NAME', 'x'), ('LPAR', '('), ('NAME', 'w'), ('NAME', 'x'),
     ('PLUS', '+'), ('NAME', 'b'), ('RPAR', ')')]
    >>> [t.type for t in tokenize(r"\\sigma_i (1-\\sigma_i)", True, set())][:3]
    ['NAME', 'SUB', 'LBRACE']
    >>> [t.type for t in tokenize(r"\\sigma(a)", True, set())][0]
    'FUNC'
    """
    start, end = _strip_math_delimiters(text)
    scanner = _Scanner(text, latex, user, set(functions))
    scanner.scan(start, end)
    toks = scanner.finish()
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def where(pos):
        line = bisect_right(line_starts, pos)
        return line, pos - line_starts[line - 1] + 1

    return [Token(t.type, t.value, t.pos, *where(t.pos), *where(t.end), t.end) for t in toks]
