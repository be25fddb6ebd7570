"""The words formula text may use: Greek letters, function names (read from the op table), constants,
LaTeX decorations, wrappers and environments, and the hints given for characters that are not allowed.

The scanner (:mod:`symgrad.parsing.lexer`) decides what a piece of text is;
this module only says which words there are.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from ..core.ops import SPELLINGS

GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
    "rho sigma tau upsilon phi chi psi omega "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
#: LaTeX variants that name the same letter
GREEK_VARIANTS = {
    "varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi",
    "varrho": "rho", "varsigma": "sigma",
    "ell": "ell",  # the script l of a loss, ℓ(ŷ, y)
}
UNICODE_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon",
    "ϵ": "epsilon", "ζ": "zeta", "η": "eta", "θ": "theta", "ϑ": "theta",
    "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "µ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau",
    "υ": "upsilon", "φ": "phi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi",
    "Π": "Pi", "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega",
}


class _Functions(Mapping):
    """Names that are always functions, each with its canonical spelling: the op table's, and sqrt.

    A live view: a function registered in the table later (symgrad.extend) is a function here too.
    """

    _OWN = {"sqrt": "sqrt"}

    def __getitem__(self, name: str) -> str:
        return self._OWN[name] if name in self._OWN else SPELLINGS[name]

    def __iter__(self):
        yield from self._OWN
        yield from SPELLINGS

    def __len__(self) -> int:
        return len(self._OWN) + len(SPELLINGS)


#: names that are always functions (a canonical spelling for each)
FUNCTIONS: Mapping = _Functions()
#: functions of a whole vector (not in the element-wise op table): softmax of a column Matrix
VECTOR_FUNCTIONS = {"softmax"}
#: names that are a function when called and a variable otherwise
DUAL = {"sigma"}
CONSTANTS = {"e", "pi"}
BIG = {"sum": "sum", "prod": "prod"}
DECORATIONS = {
    "hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar",
    "tilde": "tilde", "widetilde": "tilde",
}
#: commands whose argument is shown in another font but means the same
WRAPPERS = {"mathbf", "boldsymbol", "bm", "mathcal", "mathsf", "mathit", "vec", "pmb", "mathbfit"}
#: commands whose argument is a word: a function name or a multi-letter symbol
TEXTLIKE = {"text", "textrm", "mathrm", "operatorname", "textit", "textsf"}
SPACES = {"quad", "qquad", "displaystyle", "textstyle", "limits", "nolimits", "enspace", "thinspace"}
ENVIRONMENTS = {"aligned", "align", "align*", "split", "gathered", "gather", "gather*",
                 "equation", "equation*", "alignedat"}
#: matrix environments read as SymPy matrices
MATRICES = {"pmatrix", "bmatrix", "matrix"}
#: inequalities, read only inside an indicator \mathbb{1}\{...\}
RELATIONS = {"geq": ">=", "ge": ">=", "geqslant": ">=", "leq": "<=", "le": "<=",
             "leqslant": "<=", "gt": ">", "lt": "<"}
#: the combining circumflex: y\u0302 is the name yhat too
COMBINING_HAT = "\u0302"


def hatted(character: str) -> str | None:
    """The name \\hat{...} gives for a Latin letter with a hat of its own (ŷ: ``yhat``, Ŷ: ``Yhat``), else None."""
    parts = unicodedata.normalize("NFD", character)
    if len(parts) == 2 and parts[1] == COMBINING_HAT and parts[0].isascii() and parts[0].isalpha():
        return parts[0] + "hat"
    return None
HINTS = {
    "intercal": "transposes are written W^\\top or W^T",
    "cdots": "an ellipsis cannot be parsed", "ldots": "an ellipsis cannot be parsed",
    "dots": "an ellipsis cannot be parsed", "vdots": "an ellipsis cannot be parsed",
    "pm": "± is not supported", "mp": "∓ is not supported",
    "int": "integrals are not supported", "lim": "limits are not supported",
    "approx": "only '=' relations are supported", "neq": "only '=' relations are supported",
    "le": "inequalities are only read inside an indicator \\mathbb{1}\\{x \\leq y\\}",
    "leq": "inequalities are only read inside an indicator \\mathbb{1}\\{x \\leq y\\}",
    "ge": "inequalities are only read inside an indicator \\mathbb{1}\\{x \\geq y\\}",
    "geq": "inequalities are only read inside an indicator \\mathbb{1}\\{x \\geq y\\}",
    "rightarrow": "use \\leftarrow for an update rule", "to": "use \\leftarrow for an update rule",
    "sin": "sin is not supported", "cos": "cos is not supported",
}
SYMBOL_CHARS = {
    "Σ": ("BIG", "sum"), "∑": ("BIG", "sum"), "∏": ("BIG", "prod"), "∂": ("PARTIAL", "∂"),
    "∞": ("INFTY", "∞"), "←": ("ARROW", "←"), "⟵": ("ARROW", "⟵"), "≔": ("ARROW", "≔"),
    "·": ("STAR", "·"), "⋅": ("STAR", "⋅"), "×": ("STAR", "×"), "∙": ("STAR", "∙"),
    "÷": ("SLASH", "÷"), "−": ("MINUS", "−"),
}
CHAR_ERRORS = {
    "'": "quotes (strings) are not allowed", '"': "quotes (strings) are not allowed",
    "`": "backquotes are not allowed", ";": "';' is not allowed: give one formula at a time",
    ".": "'.' is only allowed inside a number (no attribute access)",
    "!": "'!' is not allowed (factorials are not supported)",
    "#": "'#' is not allowed", "@": "'@' is not allowed", "%": "'%' is not allowed",
    "?": "'?' is not allowed", ">": "'>' is not allowed (inequalities are not supported)",
    "$": "'$' is only allowed around the whole formula",
    "~": "'~' is not allowed", "&": "'&' is only allowed in LaTeX alignments",
    ":": "':' is not allowed (use ':=' for an update rule)",
    "\\": "a lone backslash is not allowed",
}

#: superscript digits, each read as ^ and the digit
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
