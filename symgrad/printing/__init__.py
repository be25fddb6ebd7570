"""Printing derivatives the way a person writes them on a slide: text (``2x(b + w·x - y)``) and LaTeX."""
from __future__ import annotations

import re
import unicodedata

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, MatrixSymbol, Sum
from sympy.printing.latex import LatexPrinter as _SympyLatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..core.ops import op_for_function

__all__ = ["text", "latex", "aligned_latex", "name_text", "name_latex"]

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω",
}


def _greek(name: str) -> str:
    """``eta`` -> ``η``, ``theta0`` -> ``θ0``, ``delta_i`` -> ``δ_i``; a letter's hat as the math writes it:
    ``yhat`` -> ``ŷ``."""
    hatted = _HATTED.match(name)
    if hatted:  # as SymPy's LaTeX printer reads the name (\hat{y}), and as the parser reads ŷ back
        return unicodedata.normalize("NFC", _greek(hatted["letter"]) + "\u0302")
    for word, letter in _GREEK.items():
        if name == word or (name.startswith(word) and not name[len(word)].isalpha()):
            return letter + name[len(word):]
    return name


#: a one-letter (or Greek) name with a hat: yhat, thetahat; a longer word before "hat" stays a word, and so does
#: yhat2, whose ŷ2 would read back as 2·ŷ
_HATTED = re.compile(rf"^(?P<letter>[A-Za-z]|{'|'.join(_GREEK)})hat$")


#: a component's name: a letter name, its layer's number, then its 1-based indices (W1_1_2, W_1_2, x_1)
_COMPONENT = re.compile(r"^(?P<base>[A-Za-z]+)(?P<layer>\d*)(?P<indices>(?:_\d+){1,2})$")
_SUBSCRIPT_DIGITS = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉‚")


def _component(name: str) -> tuple[str, list[str]] | None:
    """``W1_1_2`` -> ``('W', ['1', '12'])``: the base, then the subscript's groups (the layer, the entry)."""
    match = _COMPONENT.match(name)
    if match is None:
        return None
    indices = match["indices"].split("_")[1:]
    entry = "".join(indices) if all(len(i) == 1 for i in indices) else ",".join(indices)
    return match["base"], [group for group in (match["layer"], entry) if group]


_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_SUPERSCRIPTS = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW",
                         "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ"))
#: a name with a short subscript after an underscore: x_i, delta_i, x_ij, y_2
_SUBSCRIPTED = re.compile(r"^(?P<base>[A-Za-z]+\d*)_(?P<sub>[a-z]{1,2}|\d+)$")


def _scripted(text: str, table: dict) -> str | None:
    """``text`` in Unicode sub- or superscript characters, or ``None`` if one of them has none."""
    text = text.replace(" ", "")
    return "".join(table[c] for c in text) if all(c in table for c in text) else None


def subscript(text: str) -> str | None:
    """``text`` as a Unicode subscript, or ``None`` where a character has no subscript form.

    >>> subscript('ij'), subscript('k=1'), subscript('N')
    ('ᵢⱼ', 'ₖ₌₁', None)
    """
    return _scripted(text, _SUBSCRIPTS)


def superscript(text: str) -> str | None:
    """``text`` as a Unicode superscript, or ``None`` where a character has no superscript form.

    >>> superscript('N'), superscript('m'), superscript('q')
    ('ᴺ', 'ᵐ', None)
    """
    return _scripted(text, _SUPERSCRIPTS)


def name_text(name: str) -> str:
    """A symbol's name as text: Greek letters, a component's indices as subscripts (the math's W₁,₁₂).

    >>> name_text('W1_1_2'), name_text('W_1_2'), name_text('x_1'), name_text('w1'), name_text('eta')
    ('W₁,₁₂', 'W₁₂', 'x₁', 'w1', 'η')
    >>> name_text('delta_i'), name_text('x_ij'), name_text('yhat'), name_text('y_hat')
    ('δᵢ', 'xᵢⱼ', 'ŷ', 'y_hat')
    """
    component = _component(name)
    if component is None:
        match = _SUBSCRIPTED.match(name)
        if match and subscript(match["sub"]):  # delta_i reads δᵢ
            return _greek(match["base"]) + subscript(match["sub"])
        return _greek(name)
    base, groups = component
    return _greek(base) + ",".join(group.translate(_SUBSCRIPT_DIGITS) for group in groups)


def name_latex(name: str) -> str | None:
    r"""A component's name in LaTeX (``W1_1_2`` is ``W_{1,12}``), or ``None`` for any other name.

    >>> name_latex('W1_1_2'), name_latex('W_1_2'), name_latex('x_1'), name_latex('w1')
    ('W_{1,12}', 'W_{12}', 'x_{1}', None)
    """
    component = _component(name)
    if component is None:
        return None
    base, groups = component
    return f"{sp.latex(sp.Symbol(base))}_{{{','.join(groups)}}}"


def _positive_first(terms: list) -> list:
    """Terms of a sum with the positive ones first: yhat - y, not -y + yhat."""
    return sorted(terms, key=lambda t: t.could_extract_minus_sign())


def _is_data_loss(term) -> bool:
    # a loss of a target and a prediction (the matrix losses mark themselves), not a penalty
    return any(getattr(node, "is_data_loss", False) for node in sp.preorder_traversal(term))


def factor_text(printer, arg) -> str:
    """A factor of an element-wise product, parenthesised when it is a product or a sum: ``(W2ᵀ·δ2) ⊙ σ'(z1)``."""
    printed = printer._print(arg)
    return f"({printed})" if isinstance(arg, (MatMul, MatAdd, HadamardProduct)) else printed


class TextPrinter(StrPrinter):
    """Unicode text with implicit multiplication after numbers and before parentheses; ``·`` and ``ᵀ`` for matrices."""

    # our own print-method name, so SymPy objects' _sympystr (e.g. Indexed's) do not take over
    printmethod = "_symgrad_text"

    def _print_Add(self, expr, order=None):
        data = [t for t in expr.args if _is_data_loss(t)]
        if data and len(data) < len(expr.args):
            # the data loss first, then the penalty: CE(y, p) + λ(‖W1‖² + ‖W2‖²)
            rest = self._print_Add(sp.Add(*[t for t in expr.args if t not in data]), order)
            joined = " + ".join(self._print(t) for t in data)
            return f"{joined} - {rest[1:]}" if rest.startswith("-") else f"{joined} + {rest}"
        content, rest = expr.primitive()
        if content != 1 and content.is_Integer and isinstance(rest, sp.Add):
            # 2b + 2w·x - 2y reads 2(b + w·x - y): SymPy distributes the 2, a person does not
            return f"{self._print(content)}({self._print_Add(rest, order)})"
        terms = _positive_first(self._as_ordered_terms(expr, order=order))
        text = self._print(terms[0])
        for term in terms[1:]:
            printed = self._print(term)
            if printed.startswith("-"):
                text += " - " + printed[1:]
            else:
                text += " + " + printed
        return text

    def _print_Symbol(self, expr):
        return name_text(expr.name)

    def _print_IndexedBase(self, expr):
        return _greek(str(expr.label))

    def _print_Indexed(self, expr):
        # x_ij reads xᵢⱼ; an index with no subscript form (x_N) is written as NumPy does: x[N]
        indices = [self._print(i) for i in expr.indices]
        joined = "".join(indices) if all(len(i) == 1 for i in indices) else ",".join(indices)
        base = self._print(expr.base)
        lowered = subscript(joined.replace(",", ""))
        return f"{base}{lowered}" if lowered and "," not in joined else f"{base}[{', '.join(indices)}]"

    def _print_OpFunctionBase(self, expr):
        # an activation of the op table, by its text name when that is a symbol (σ); words stay as typed
        name = op_for_function(type(expr)).name_text
        name = name if not name.isalpha() or not name.isascii() else type(expr).__name__
        return f"{name}({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"H({self._print(expr.args[0])})"

    def _print_Sum(self, expr):
        body = self.parenthesize(expr.function, PRECEDENCE["Mul"])
        for index, low, high in expr.limits:
            # Σₖ₌₁ᵐ as a slide writes it; Σ[k=1..q] where a bound has no Unicode script form
            below, above = subscript(f"{self._print(index)}={self._print(low)}"), superscript(self._print(high))
            limits = f"{below}{above}" if below and above else \
                f"[{self._print(index)}={self._print(low)}..{self._print(high)}]"
            body = f"Σ{limits} {body}"
        return body

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        if exponent.is_Rational and exponent.is_negative:
            return f"1/{self.parenthesize(base ** -exponent, PRECEDENCE['Mul'])}"
        b = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if isinstance(base, Sum):
            b = f"({b})"  # (Σ x_i)^2, not Σ x_i^2
        e = self.parenthesize(exponent, PRECEDENCE["Pow"], strict=True)
        return f"{b}^{e}"

    def _print_Mul(self, expr):
        coeff, rest = expr.as_coeff_Mul()
        if coeff.is_negative:
            return "-" + self.parenthesize(-expr, PRECEDENCE["Mul"], strict=True)
        numer, denom = [], []
        # sums last, as a person writes 2x(b + w·x - y) and δ·σ(1 - σ)
        ordered = sorted(expr.as_ordered_factors(), key=lambda f: isinstance(f, sp.Add))
        for factor in ordered:
            base, exponent = factor.as_base_exp()
            if exponent.is_Rational and exponent.is_negative and not factor.is_Rational:
                denom.append(base ** -exponent)
            elif factor.is_Rational and factor.q != 1:
                if factor.p != 1:
                    numer.append(sp.Integer(factor.p))
                denom.append(sp.Integer(factor.q))
            else:
                numer.append(factor)
        text = self._join(numer) if numer else "1"
        if denom:
            bottom = self._join(denom)
            if len(denom) > 1:
                bottom = f"({bottom})"
            text = f"{text}/{bottom}"
        return text

    # -- matrices ---------------------------------------------------------------------------------

    def _print_MatrixSymbol(self, expr):
        return _greek(expr.name)

    def _print_OneMatrix(self, expr):
        return "1"

    def _print_ZeroMatrix(self, expr):
        return "0"

    def _print_Transpose(self, expr):
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, MatrixSymbol):
            inner = f"({inner})"
        return f"{inner}ᵀ"

    def _print_MatMul(self, expr):
        coefficient, matrices = expr.as_coeff_mmul()
        factors = matrices.args if isinstance(matrices, MatMul) else (matrices,)
        body = "·".join(f"({self._print(f)})" if isinstance(f, (MatAdd, HadamardProduct)) else self._print(f)
                        for f in factors)
        sign = "-" if coefficient.could_extract_minus_sign() else ""
        numerator, denominator = (-coefficient if sign else coefficient).as_numer_denom()
        if numerator != 1:  # 2λ·W: the scalar first, as a person writes it
            body = f"{self.parenthesize(numerator, PRECEDENCE['Mul'], strict=True)}·{body}"
        if denominator != 1:  # (p - y)/N
            body = f"{body}/{self.parenthesize(denominator, PRECEDENCE['Pow'])}"
        return sign + body

    def _print_MatAdd(self, expr):
        # positive terms first, and a penalty's scaled term (2λ·W) after the data term
        terms = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(),
                                                 isinstance(t, MatMul) and t.as_coeff_mmul()[0] != 1))
        text = self._print(terms[0])
        for term in terms[1:]:
            printed = self._print(term)
            text += f" - {printed[1:]}" if printed.startswith("-") else f" + {printed}"
        return text

    def _print_HadamardProduct(self, expr):
        return " ⊙ ".join(factor_text(self, a) for a in expr.args)

    def _print_MatrixElement(self, expr):
        return f"{self._print(expr.parent)}[{expr.i}, {expr.j}]"

    def _join(self, factors) -> str:
        prec = PRECEDENCE["Mul"]
        pieces = [self.parenthesize(f, prec) for f in factors]
        # a sum sign reaches to the end of the product, so only the last factor may be a bare Σ
        pieces = [f"({p})" if isinstance(f, Sum) and k < len(factors) - 1 else p
                  for k, (f, p) in enumerate(zip(factors, pieces))]
        out = pieces[0]
        for previous, piece in zip(factors, pieces[1:]):
            implicit = piece.startswith("(") or (previous.is_Number and not piece[0].isdigit())
            out += piece if implicit else "·" + piece
        return out


class LatexPrinter(_SympyLatexPrinter):
    """SymPy's LaTeX with ``x_{ij}`` subscripts, positive terms first, common factors outside, ``\\odot``."""

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(factor_text(self, a) for a in expr.args)

    def _print_Heaviside(self, expr, exp=None):
        # the step as the text and the drawings write it, H(x) (SymPy's θ(x) would be a second name for it);
        # its value at 0, SymPy's second argument, is the op's convention, not part of the formula
        step = rf"H\left({self._print(expr.args[0])}\right)"
        return f"{step}^{{{exp}}}" if exp else step

    def _print_Symbol(self, expr, style="plain"):
        # a component W1_1_2 is W_{1,12} (SymPy would run its indices together: W_{1 1 2})
        return name_latex(expr.name) or super()._print_Symbol(expr, style)

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"

    def _print_Add(self, expr, order=None):
        content, rest = expr.primitive()
        if content != 1 and content.is_Integer and isinstance(rest, sp.Add):
            return rf"{self._print(content)} \left({self._print_Add(rest, order)}\right)"
        terms = _positive_first(self._as_ordered_terms(expr, order=order))
        text = self._print(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                text += " - " + self.parenthesize(-term, PRECEDENCE["Add"])
            else:
                text += " + " + self.parenthesize(term, PRECEDENCE["Add"])
        return text

    def _print_Indexed(self, expr):
        indices = [self._print(i) for i in expr.indices]
        joined = "".join(indices) if all(len(i) == 1 for i in indices) else ",".join(indices)
        return f"{self._print(expr.base)}_{{{joined}}}"


def text(expr) -> str:
    """An expression as a person types it: unicode Greek, σ, implicit multiplication.

    >>> from sympy import symbols
    >>> w, x, b, y, eta = symbols('w x b y eta')
    >>> text(2*x*(w*x + b - y))
    '2x(b + w·x - y)'
    >>> text(eta * x / 2)
    'η·x/2'
    >>> from sympy import MatrixSymbol
    >>> W, h, b = MatrixSymbol('W2', 3, 2), MatrixSymbol('h1', 2, 1), MatrixSymbol('b2', 3, 1)
    >>> text(W*h + b), text(MatrixSymbol('delta1', 3, 1) * h.T)
    ('W2·h1 + b2', 'δ1·h1ᵀ')
    """
    return TextPrinter().doprint(sp.sympify(expr))


def latex(expr) -> str:
    r"""LaTeX of an expression, with indexed data written ``x_{ij}``.

    >>> from sympy import IndexedBase, symbols
    >>> x = IndexedBase('x'); i, j = symbols('i j')
    >>> latex(x[i, j])
    'x_{ij}'
    """
    return LatexPrinter().doprint(sp.sympify(expr))


def aligned_latex(rows) -> str:
    r"""LaTeX rows (``left &= right``) as one ``aligned`` block, the form every multi-line result uses.

    >>> aligned_latex([r"a &= b", r"c &= d"])
    '\\begin{aligned}a &= b \\\\ c &= d\\end{aligned}'
    """
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
