r"""The notation of notes, read on the text and on parsed expressions: what a statement looks like it says.

Regular expressions for shorthands that the parser does not take as they are
(``\\nabla w``, ``\\Delta w = …``, ``w' = …``, shapes, matrix products), and the
small judgements the checker makes about an expression's names (an index, a
bound of a sum, a time step ``w_{t+1}``, a letter before ``(`` that could be a
call or a factor).
"""
from __future__ import annotations

import re

import sympy as sp
from sympy import Indexed, Symbol

from .. import printing
from ..errors import SymgradError
from ..parsing.lexer import INDICATOR as TEX_INDICATOR

__all__ = ["euler_in_word", "prose_math", "kind_of", "is_name", "time_step", "ambiguous_call", "free_indices",
           "same_free_index", "is_bound",
           "is_index", "shown", "plain_matrix_text"]

_NAME = r"(?:[A-Za-z]|\\[A-Za-z]+)"
#: a function definition's head: ``f(x) = …``, ``\\sigma(z) = …``
FUNCTION_HEAD = re.compile(r"^\s*(" + _NAME + r")\s*(?:\\left)?\(([^()]*)(?:\\right)?\)\s*=(?!=)")
#: the next value of a parameter: ``w' = …``
PRIMED = re.compile(r"^\s*(" + _NAME + r"(?:_\{?[A-Za-z0-9]+\}?)?)\s*(?:'|′)\s*=(?!=)")
#: a step written as a change: ``\\Delta w = -\\alpha …``
DELTA = re.compile(r"^\s*\\Delta\s*(" + _NAME + r"(?:_\{?[A-Za-z0-9]+\}?)?)\s*=(?!=)(.*)$", re.S)
#: ``\\nabla w`` without a subscript: the gradient of the loss in scope by w
NABLA = re.compile(r"\\nabla\s*(?!_)(\{?" + _NAME + r"(?:_\{?[A-Za-z0-9]+\}?)?\}?)")
#: ``… = \\nabla w`` at the end of a chain: a name for what precedes, not a claim
NAMED_RESULT = re.compile(r"=\s*\\nabla\s*(?!_)\{?" + _NAME + r"(?:_\{?[A-Za-z0-9]+\}?)?\}?\s*$")
#: a matrix shape: ``W \\in \\mathbb{R}^{m \\times n}``
SHAPE = re.compile(r"^\s*(" + _NAME + r")\s*\\in\s*\\mathbb\{?R\}?\^\{(.+?)\\times(.+?)\}\s*$", re.S)
#: a backward rule for a matrix: ``dB = …``
MATRIX_RULE = re.compile(r"^\s*d([A-Za-z])\s*=")
_FACTOR = r"\s*(?:\\mathbf\{|\\boldsymbol\{)?([A-Za-z])\}?\s*"
#: a product of two matrices: ``C = AB``, ``AB = C``, ``h = W x``
PRODUCT_TEXT = re.compile(r"^" + _FACTOR + r"=" + _FACTOR + r"(?:\\times|\\cdot)?" + _FACTOR + r"$|^"
                           + _FACTOR + r"(?:\\times|\\cdot)?" + _FACTOR + r"=" + _FACTOR + r"$")
#: an indicator, whose braces may hold an inequality: ``\\mathbf{1}\\{x \\geq y\\}``, ``\\mathbb{1}[…]``, 𝟙
INDICATOR = re.compile(TEX_INDICATOR.pattern + "|𝟙")
#: built-in functions a document may "define" (``\sigma(z) = …``): then it is a claim about them
BUILTINS = {"sigma", "tanh", "exp", "log", "ln", "max", "min", "sin", "cos", "relu", "softplus"}
#: how a statement the parser could not read begins when it is a derivative or an update rule
_DERIVATIVE_TEXT = re.compile(r"^\s*(?:\\frac\s*\{\s*(?:\\partial|d)|\\nabla|d\w*\s*/\s*d|\\partial)")
_UPDATE_TEXT = re.compile(r"\\leftarrow|\\gets|←|:=|<-")


def kind_of(text: str) -> str:
    """What a statement the checker could not read looks like it claims, from its text alone."""
    if _UPDATE_TEXT.search(text):
        return "update_rule"
    if "=" in text and _DERIVATIVE_TEXT.match(text):
        return "derivative"
    return "other"


def is_name(expr) -> bool:
    return isinstance(expr, (Symbol, Indexed))


#: the subscripts that mark a parameter's next and current value: w_{new} = w_{old} - …, w_{t+1} = w_t - …
_NEXT = {"new": "old", "next": "old"}


def time_step(name, value):
    """``(w, w_old)`` when ``name = value`` steps a parameter (``w_{t+1} = w_t - …``); else ``None``."""
    if not isinstance(name, Indexed) or len(name.indices) != 1:
        return None
    (index,) = name.indices
    current = None
    for node in value.atoms(Indexed):
        if node.base != name.base or len(node.indices) != 1:
            continue
        (other,) = node.indices
        if sp.simplify(index - other) == 1 or _NEXT.get(str(index)) == str(other):
            current = node
    if current is None:
        return None
    return Symbol(str(name.base)), current


_CALL = re.compile(r"(?<![A-Za-z\\_^{])((?:\\(?:hat|bar|tilde)\s*\{?\s*)?[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?\}?)\s*\(")
_DECORATION = re.compile(r"\\(hat|bar|tilde)\s*\{?\s*([A-Za-z])\}?")


def ambiguous_call(text: str, scope) -> str | None:
    """A letter right before ``(`` that the scope knows neither as a function nor as a variable.

    ``s(x)`` with no ``s`` anywhere in scope could be a call or a product; ``x(wx + b)``
    where x is a variable of the model is a product, and ``f(x)`` with ``f(x) = …`` a call.
    """
    known = None
    for match in _CALL.finditer(text):
        name = match.group(1)
        plain = _DECORATION.sub(lambda m: m.group(2) + m.group(1), name)
        plain = plain.replace("_", "").replace("{", "").replace("}", "")
        if plain in scope.functions or name in scope.functions:
            continue
        if known is None:
            known = scope.known_names()
        array = _DECORATION.sub(lambda m: m.group(2) + m.group(1), name).split("_")[0]
        if plain in known or ("_" in name and array in known):  # p_i(…) with p_i defined: an entry times (…)
            continue
        return (f"{name}(…) could be a call or a product: define {name} first ({name}(z) = … for a function) "
                f"or write {name} \\cdot (…)")
    return None


def free_indices(expr) -> set:
    """Index symbols of arrays in ``expr`` that no sum binds (the ``n`` of ``y_n x_n``)."""
    bound = {limit[0] for node in expr.atoms(sp.Sum) for limit in node.limits}
    return {i for node in expr.atoms(Indexed) for i in node.indices if isinstance(i, Symbol)} - bound


def same_free_index(claims, truth, keep=None):
    """Claims about sample n of a model written for sample i, read with the model's index.

    ``w = w + (y_n - ŷ)x_n`` inside "for n = 1…N" is the rule for one sample;
    when the claim and the model each have exactly one free sample index,
    and they differ, the claim's is renamed to the model's.
    """
    model_index = free_indices(truth)
    kept = free_indices(keep) if isinstance(keep, sp.Basic) else set()
    claim_index = set().union(*(free_indices(c) for c in claims)) - kept
    if len(model_index) == 1 and len(claim_index) == 1 and model_index != claim_index:
        rename = {claim_index.pop(): model_index.pop()}
        return [c.xreplace(rename) for c in claims]
    return claims


def is_bound(symbol, expr) -> bool:
    """Whether ``symbol`` is only the upper bound of a sum in ``expr`` (the ``N`` of Σ_{i=1}^{N})."""
    return any(symbol in limit[2].free_symbols or symbol in limit[1].free_symbols
               for node in expr.atoms(sp.Sum) for limit in node.limits)


def is_index(symbol, expr) -> bool:
    """Whether ``symbol`` only subscripts an array in ``expr`` (the ``j`` of ``w_j``)."""
    return any(symbol in node.indices for node in expr.atoms(Indexed)) or any(
        symbol in [limit[0] for limit in node.limits] for node in expr.atoms(sp.Sum))


def shown(expr) -> str:
    if isinstance(expr, sp.MatrixBase):  # one line: a column as a tuple, a matrix row by row
        rows = [", ".join(shown(v) for v in expr.row(i)) for i in range(expr.rows)]
        return "(" + "; ".join(rows) + ")" if expr.cols > 1 else "(" + ", ".join(shown(v) for v in expr) + ")"
    try:
        return printing.text(expr)
    except (SymgradError, RecursionError, TypeError, ValueError):
        return str(expr)


def plain_matrix_text(text: str) -> str:
    text = re.sub(r"\^\{?\\top\}?|\^\{T\}|\^\\intercal", "^T", text)
    text = re.sub(r"\\times|\\cdot", " ", text)
    return text.replace("{", "").replace("}", "")


#: math that states no equation to check, and what it is instead
_PROSE = [
    (re.compile(r"\\(?:approx|simeq|sim|propto)(?![A-Za-z])"), "an approximation, not an equation"),
    (re.compile(r"\\(?:leq?|geq?|le|ge|neq|ne)(?![A-Za-z])|(?<![<\\-])[<>](?![-=])"), "an inequality"),
    (re.compile(r"\\(?:in|notin|subset|subseteq|forall|exists)(?![A-Za-z])"), "a membership or a quantifier"),
    (re.compile(r"\\arg\s*\\?(?:min|max)|\\operatorname\*?\{arg\s*(?:min|max)\}|\\(?:min|max)\s*_"),
     "an optimisation problem"),
    (re.compile(r"\\rightarrow|\\to(?![A-Za-z])|\\mapsto"), "a mapping"),
]


def prose_math(text: str) -> str | None:
    """Why a statement is no claim to check (``L \\approx …``, ``x \\in \\mathbb{R}``, ``\\min_\\theta J``).

    >>> prose_math(r"F(x + \\Delta x) \\approx F(x) + F_x \\Delta x")
    'not a claim: an approximation, not an equation'
    >>> prose_math(r"\\frac{\\partial L}{\\partial w} = 2x") is None
    True
    """
    for pattern, what in _PROSE:
        if pattern.search(text):
            return f"not a claim: {what}"
    return None


#: a run of letters with an e in it, outside a command or a \\text{…}: ``net``, ``err``, ``pred``
_WORD_WITH_E = re.compile(r"(?<![\\A-Za-z{])([A-Za-z]*e[A-Za-z]*)(?![A-Za-z])")
_TEXT_GROUP = re.compile(r"\\(?:text|mathrm|operatorname|mathit|textit|mbox)\{[^}]*\}|\\[A-Za-z]+")


def euler_in_word(text: str) -> str | None:
    """A word such as ``net_k`` that reads as a product with Euler's e (n·e·t_k), if the text has one.

    >>> print(euler_in_word(r"o_k = \\sigma(net_k)"))
    net reads as n·e·t, a product with Euler's e; write \\text{net} (or \\mathrm{net}) for a name
    >>> euler_in_word(r"L = e^{-z} + \\text{net}") is None
    True
    """
    bare = _TEXT_GROUP.sub(" ", text)
    for match in _WORD_WITH_E.finditer(bare):
        word = match.group(1)
        if len(word) >= 2:
            return (f"{word} reads as {'·'.join(word)}, a product with Euler's e; write \\text{{{word}}} "
                    f"(or \\mathrm{{{word}}}) for a name")
    return None
