r"""Safe parsing of formula text and slide LaTeX into SymPy expressions, equations and update rules.

Text is tokenised by :mod:`symgrad.parsing.lexer`, parsed by a conflict-free
LALR grammar of our own (``grammar.lark``, run by ``lark``) and turned into
SymPy objects node by node by :mod:`symgrad.parsing.builder`. No user text
ever reaches ``eval``, ``exec`` or ``sympify``. The notation is described in
``docs/parsing.md``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.resources import files

import sympy as sp
from lark import Lark
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer
from sympy import IndexedBase, Symbol

from .builder import MAX_DEPTH, MAX_POWER_BITS, Builder, _check_depth
from ..errors import ParseError
from .lexer import MAX_LENGTH, MAX_NESTING, tokenize
from .models import read_model
from .results import Equation, Reading, UpdateRule

__all__ = [
    "parse", "parse_latex", "parse_model", "read", "ParseError", "Equation", "Reading", "UpdateRule",
    "MAX_LENGTH", "MAX_NESTING", "MAX_DEPTH", "MAX_POWER_BITS",
]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: how parse errors describe the grammar's terminals
_DESCRIBE = {
    "NUMBER": "a number", "NAME": "a name", "CONST": "a constant", "INFTY": "∞",
    "FUNC": "a function", "FUNCBARE": "a function", "PRIME": "'", "PARTIAL": "∂",
    "BIG": "a sum", "FRAC": "\\frac", "SQRT": "\\sqrt", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "POW": "'^'", "SUB": "'_'", "COMMA": "','",
    "EQ": "'='", "ARROW": "an arrow", "NEWROW": "\\\\", "LPAR": "'('", "RPAR": "')'",
    "LBRACE": "'{'", "RBRACE": "'}'", "LBRACK": "'['", "RBRACK": "']'", "ABSOPEN": "'|'",
    "ABSCLOSE": "'|'", "$END": "the end of the formula", "NORMOPEN": "'‖'",
    "NORMCLOSE": "'‖'", "INDICATOR": "an indicator", "REL": "an inequality",
    "MATBEGIN": "a matrix", "MATEND": "\\end of a matrix", "AMP": "'&'", "NABLA": "∇",
}


class _TokenList(Lexer):
    """Hands lark the tokens :func:`~symgrad.parsing.lexer.tokenize` already made."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, data):
        return iter(data)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_TokenList, propagate_positions=True,
                strict=True, maybe_placeholders=False)


def _symbol_table(symbols) -> dict:
    if symbols is None:
        return {}
    if isinstance(symbols, (str, Symbol, IndexedBase)):
        symbols = [symbols]
    if isinstance(symbols, Mapping) or not isinstance(symbols, Iterable):
        raise TypeError("symbols= must be a list of names, Symbols or IndexedBases")
    table = {}
    for item in symbols:
        if isinstance(item, str):
            name, obj = item, None
        elif isinstance(item, (Symbol, IndexedBase)):
            name, obj = item.name, item
        else:
            raise TypeError(f"symbols= holds names, Symbols or IndexedBases, not {item!r}")
        if not _NAME.fullmatch(name) or "__" in name:
            raise ValueError(f"{name!r} is not a valid symbol name (letters, digits and "
                             "single underscores, starting with a letter)")
        table[name] = obj
    return table


def _function_table(functions) -> dict:
    if functions is None:
        return {}
    if isinstance(functions, (str, sp.FunctionClass)):
        functions = [functions]
    table = {}
    for item in functions:
        if isinstance(item, str):
            name, obj = item, sp.Function(item)
        elif isinstance(item, sp.FunctionClass):
            name, obj = item.__name__, item
        else:
            raise TypeError(f"functions= holds names or SymPy functions, not {item!r}")
        if not _NAME.fullmatch(name) or "__" in name:
            raise ValueError(f"{name!r} is not a valid function name")
        table[name] = obj
    return table


def _check_numbers(result, text: str):
    """Refuse results holding numbers too long to print (Python limits int-to-str conversion)."""
    exprs = result.sides if isinstance(result, Equation) else \
        (result.param, result.new_value) if isinstance(result, UpdateRule) else (result,)
    for expr in exprs:
        for atom in expr.atoms(sp.Rational):
            if max(abs(atom.p), atom.q).bit_length() > MAX_POWER_BITS:
                raise ParseError(f"number too large: the result holds a number of about "
                                 f"{max(abs(atom.p), atom.q).bit_length()} bits (at most "
                                 f"{MAX_POWER_BITS})", text, None)
    return result


def _size_table(sizes) -> dict:
    if sizes is None:
        return {}
    if not isinstance(sizes, Mapping):
        raise TypeError("sizes= must map index names to upper bounds, e.g. {'i': 'N'}")
    table = {}
    for index, bound in sizes.items():
        if isinstance(bound, str):
            if not _NAME.fullmatch(bound) or "__" in bound:
                raise ValueError(f"{bound!r} is not a valid symbol name")
            bound = Symbol(bound)
        elif isinstance(bound, int):
            bound = sp.Integer(bound)
        elif not isinstance(bound, sp.Expr):
            raise TypeError(f"the size of index {index!r} must be a name, an int or a "
                            f"SymPy expression, not {bound!r}")
        table[str(index)] = bound
    return table


def _unexpected(err: UnexpectedToken, text: str, tokens) -> ParseError:
    token = err.token
    before = [t for t in tokens if t.end_pos <= (token.start_pos or 0)]
    if token.type != "$END" and before and before[-1].type == "NEWROW":
        return ParseError("several equations: after a line break \\\\ only '&=' may continue "
                          "the chain; parse one equation at a time", text, token.start_pos)
    if token.type == "REL":
        return ParseError("inequalities are only read inside an indicator, as in "
                          "\\mathbb{1}\\{x \\geq y\\}", text, token.start_pos)
    if token.type == "$END":
        what, pos = "unexpected end of the formula", len(text.rstrip())
    else:
        shown = str(token) or _DESCRIBE.get(token.type, token.type)
        what, pos = f"unexpected {shown!r}", token.start_pos
    expected = sorted({_DESCRIBE.get(name, name) for name in err.expected})
    if expected and len(expected) <= 8:
        what += "; expected " + ", ".join(expected)
    return ParseError(what, text, pos)


def _parse(text: str, symbols, sizes, functions, latex: bool):
    if not isinstance(text, str):
        raise TypeError(f"expected the formula as a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"formula too long ({len(text)} characters; at most {MAX_LENGTH})",
                         text, MAX_LENGTH)
    user = _symbol_table(symbols)
    size_table = _size_table(sizes)
    function_table = _function_table(functions)
    try:
        tokens = tokenize(text, latex, set(user), frozenset(function_table))
        if not tokens:
            raise ParseError("empty formula", text, 0)
        try:
            tree = _parser().parse(tokens)
        except UnexpectedToken as err:
            raise _unexpected(err, text, tokens) from None
        except UnexpectedInput as err:  # pragma: no cover - the lexer is ours
            raise ParseError(f"cannot parse: {err}", text, getattr(err, "pos_in_stream", 0)) \
                from None
        _check_depth(tree, text)
        builder = Builder(text, user, size_table, function_table)
        result = builder.build(tree)
        return Reading(_check_numbers(result, text), tuple(builder.notes))
    except RecursionError:
        raise ParseError("formula is nested too deeply", text, None) from None


def parse(text: str, symbols=None, *, sizes=None, functions=None):
    r"""Parse a formula as people type it, or as slide LaTeX when it contains a backslash.

    Returns a SymPy expression; an :class:`Equation` when the text has ``=``
    (``dL/dw = 2x(wx+b-y)``: ``.of`` and ``.wrt`` tell the derivative
    claimed); an :class:`UpdateRule` for ``<-``, ``←``, ``:=`` or
    ``\leftarrow``. ``symbols`` lists multi-letter names to keep whole
    (``"yhat"``) or SymPy ``Symbol``/``IndexedBase`` objects to use for
    their names; ``sizes`` maps an index to the upper bound of sums written
    without one (default ``n_i`` for index ``i``); ``functions`` names
    undefined functions, so ``f(x)`` is a call instead of ``f*x``. Raises
    :class:`ParseError` (a ``ValueError``) with the position of the problem.

    >>> parse("2x(wx + b - y)")
    2*x*(b + w*x - y)
    >>> parse("sigma(a)*(1 - sigma(a))")
    sigmoid(a)*(1 - sigmoid(a))
    >>> parse("sum_k w_k x_k")
    Sum(w[k]*x[k], (k, 1, n_k))
    >>> claim = parse("dL/dw = 2x(wx+b-y)")
    >>> claim.of, claim.wrt, claim.rhs
    (L, w, 2*x*(b + w*x - y))
    >>> parse("w <- w - eta*2x(wx+b-y)")
    UpdateRule(param=w, new_value=-2*eta*x*(b + w*x - y) + w)
    >>> parse("(y - yhat)^2", symbols=["yhat"])
    (y - yhat)**2
    >>> parse("f(x) - f x", functions=["f"])
    -f*x + f(x)
    >>> parse("__import__('os')")
    Traceback (most recent call last):
      ...
    symgrad.errors.ParseError: double underscores (dunder names) are not allowed (column 1)
        __import__('os')
        ^
    """
    return _parse(text, symbols, sizes, functions, latex="\\" in text).result


def parse_latex(text: str, symbols=None, *, sizes=None, functions=None):
    r"""Parse slide LaTeX: like :func:`parse`, with TeX's one-character arguments (``x^23`` is x²·3).

    >>> parse_latex(r"\frac{\partial L}{\partial w_1} = -(y - \hat{y}) x_1").wrt
    w1
    >>> parse_latex(r"w_j \leftarrow w_j + 2\alpha \sum_{k=1}^N \delta_k x_{kj}")
    UpdateRule(param=w[j], new_value=2*alpha*Sum(delta[k]*x[k, j], (k, 1, N)) + w[j])
    >>> parse_latex(r"\sigma_i (1 - \sigma_i)")
    (1 - sigma[i])*sigma[i]
    >>> parse_latex(r"\frac{1}{2} x^{2}")
    x**2/2
    """
    return _parse(text, symbols, sizes, functions, latex=True).result


def read(text: str, *, latex: bool | None = None, symbols=None, sizes=None,
         functions=None) -> Reading:
    r"""Parse like :func:`parse` and say where the text could be read otherwise.

    ``latex=None`` reads the text as LaTeX when it holds a backslash (as
    :func:`parse` does); ``True``/``False`` choose. The :class:`Reading` has
    the ``result`` and ``notes``: one sentence per juxtaposition after ``/``
    written touching its denominator (``1/2x``, ``a/bc``), which is read as
    ``(1/2)·x`` but some readers take as ``1/(2x)``.

    >>> reading = read("1/2x")
    >>> reading.result
    x/2
    >>> print(reading.notes[0])
    `1/2x` is read as x/2 ((1/2)·x); write 1/(2x) or (1/2)x to be unambiguous
    >>> read(r"\frac{1}{2} (y - w x)^2").notes
    ()
    """
    if latex is None:
        latex = "\\" in text if isinstance(text, str) else False
    return _parse(text, symbols, sizes, functions, latex=latex)


def parse_model(text: str, inputs=None, *, functions=None):
    r"""A :class:`~symgrad.core.model.Model` from stages written one equation each; the last is the loss.

    Stages are separated by ``;`` or new lines (blank lines and ``#`` comment
    lines are skipped); each is ``name = expression``, and a stage's name is
    kept whole wherever it is used (``yhat``, ``out``). ``inputs`` names the
    data symbols (not parameters), as ``--inputs`` does on the command line;
    with none given every free symbol that is not a stage is a parameter, as
    for a one-line expression. Raises :class:`ParseError` for a stage that is
    not an equation ``name = expression``, a stage defined twice, a stage used
    before it is defined, or an empty stage.

    >>> m = parse_model("z = w*x + b; p = sigmoid(z); L = -(y*log(p) + (1-y)*log(1-p))",
    ...                 inputs=["x", "y"])
    >>> [str(s) for s, _ in m.stages], m.params
    (['z', 'p', 'L'], (b, w))
    >>> parse_model("z = w*x; z = 2*z")
    Traceback (most recent call last):
      ...
    symgrad.errors.ParseError: stage 2: z is defined twice (first in stage 1) (column 10)
        z = w*x; z = 2*z
                 ^
    """
    return read_model(text, inputs, functions, parse)
