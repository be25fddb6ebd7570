"""Reading matrix formulas as slides write them (``dW1 = δ1 xᵀ``, ``W2ᵀ δ2 ⊙ σ'(z1)``) into syntax trees.

A small tokenizer and recursive-descent parser of its own, beside the
scalar grammar: juxtaposition is the matrix product, ``ᵀ``/``^T``/``.T`` a
transpose, ``⊙`` the element-wise product, ``σ'`` a derivative. Nothing is
evaluated; the trees are plain tuples.
"""
from __future__ import annotations

import re

from ..core.ops import OPS
from ..errors import ClaimError
from .vocabulary import FUNCTIONS

__all__ = ["parse_matrix", "names_in", "show"]


_GREEK = {"δ": "delta", "σ": "sigmoid", "λ": "lambda", "η": "eta", "Δ": "Delta", "α": "alpha"}


def _function(name: str) -> str | None:
    """The op a name calls in a matrix formula: an element-wise op of the table (a live view), or softmax."""
    if name == "softmax":
        return name
    canonical = FUNCTIONS.get(name)
    return canonical if canonical is not None and OPS[canonical].elementwise else None

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<transpose>\^\s*\{?\s*(?:T|\\top)\s*\}?|ᵀ|\.T(?![A-Za-z0-9_]))
  | (?P<name>[A-Za-z_\u0370-\u03ff][A-Za-z0-9_\u0370-\u03ff]*)
  | (?P<prime>')
  | (?P<op>[-+*/·@⊙∘()=])
""", re.VERBOSE)


def _tokens(source: str) -> list[tuple[str, str, int]]:
    out, position = [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ClaimError(f"cannot read {source[position:position + 10]!r} at position {position} of {source!r}")
        kind = match.lastgroup
        if kind != "space":
            value = match.group(kind)
            if kind == "name":
                for letter, word in _GREEK.items():
                    value = value.replace(letter, word)
            out.append((kind, value, position))
        position = match.end()
    return out


class _Parser:
    """expr := term (±term)*; term := product (⊙ product)*; product := unary ((·|*|@|juxtaposition|/) unary)*."""

    def __init__(self, source: str):
        self.source = source
        self.tokens = _tokens(source)
        self.i = 0

    def peek(self, offset: int = 0):
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else (None, None, len(self.source))

    def take(self, value=None):
        token = self.peek()
        if value is not None and token[1] != value:
            found = "the end" if token[0] is None else repr(token[1])
            raise ClaimError(f"expected {value!r} at position {token[2]} of {self.source!r}, found {found}")
        self.i += 1
        return token

    def parse(self):
        tree = self.expr()
        if self.peek()[0] is not None:
            kind, value, position = self.peek()
            raise ClaimError(f"unexpected {value!r} at position {position} of {self.source!r}")
        return tree

    def expr(self):
        tree = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            tree = ("add" if op == "+" else "sub", tree, self.term())
        return tree

    def term(self):
        tree = self.product()
        while self.peek()[1] in ("⊙", "∘"):
            self.take()
            tree = ("had", tree, self.product())
        return tree

    def product(self):
        tree = self.unary()
        while True:
            kind, value, _ = self.peek()
            if value in ("*", "·", "@"):
                self.take()
                tree = ("mul", tree, self.unary())
            elif value == "/":
                self.take()
                tree = ("div", tree, self.unary())
            elif kind in ("name", "number") or value == "(":  # juxtaposition: A B
                tree = ("mul", tree, self.unary())
            else:
                return tree

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.unary())
        tree = self.atom()
        while self.peek()[0] == "transpose":
            self.take()
            tree = ("T", tree)
        return tree

    def atom(self):
        kind, value, position = self.take()
        if kind == "number":
            return ("num", value)
        if value == "(":
            tree = self.expr()
            self.take(")")
            return tree
        if kind == "name":
            if _function(value) and (self.peek()[1] == "(" or self.peek()[0] == "prime"):
                order = 0
                while self.peek()[0] == "prime":
                    self.take()
                    order += 1
                self.take("(")
                argument = self.expr()
                self.take(")")
                return ("call", _function(value), order, argument)
            return ("sym", value)
        found = "the end" if kind is None else repr(value)
        raise ClaimError(f"expected a name, a number or '(' at position {position} of {self.source!r}, "
                         f"found {found}")


def parse_matrix(source: str):
    """The syntax tree of a matrix formula (nested tuples), read without evaluating anything.

    >>> parse_matrix("dC B^T")
    ('mul', ('sym', 'dC'), ('T', ('sym', 'B')))
    >>> parse_matrix("W2ᵀ δ2 ⊙ σ'(z1)")
    ('had', ('mul', ('T', ('sym', 'W2')), ('sym', 'delta2')), ('call', 'sigmoid', 1, ('sym', 'z1')))
    """
    if not isinstance(source, str):
        raise TypeError(f"expected text, not {type(source).__name__}")
    return _Parser(source).parse()


def names_in(tree) -> set:
    """The names a syntax tree uses."""
    if tree[0] == "sym":
        return {tree[1]}
    return set().union(*(names_in(t) for t in tree[1:] if isinstance(t, tuple)))


def show(tree) -> str:
    """A syntax tree written as the slides write it: ``W2ᵀ·δ2 ⊙ σ'(z1)``."""
    kind = tree[0]
    if kind in ("sym", "num"):
        return tree[1].replace("delta", "δ") if kind == "sym" else tree[1]
    if kind == "T":
        inner = show(tree[1])
        return f"{inner}ᵀ" if tree[1][0] == "sym" else f"({inner})ᵀ"
    if kind == "neg":
        return f"-{show(tree[1])}"
    if kind == "call":
        name = OPS[tree[1]].text or tree[1]  # σ, ReLU: the table's text name
        return f"{name}{chr(39) * tree[2]}({show(tree[3])})"
    joiner = {"mul": "·", "had": " ⊙ ", "add": " + ", "sub": " - ", "div": "/"}[kind]
    parts = []
    for sub in tree[1:]:
        shown = show(sub)
        parts.append(f"({shown})" if sub[0] in ("add", "sub") or (kind == "mul" and sub[0] == "had") else shown)
    return joiner.join(parts)
