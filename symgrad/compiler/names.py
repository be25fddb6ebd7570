"""Python identifiers in the generated code: the names it keeps for itself, and safe unique names for the rest.

Generated code never contains a model's own names as code: every symbol
gets an ASCII identifier here (``x``, ``y_1``, ``v_1``), and its original
name appears in the source only as data, through ``repr()``. ASCII matters:
Python folds identifiers under NFKC, so a fullwidth ``ｙ`` pasted as an
identifier *is* ``y``.
"""
from __future__ import annotations

import ast
import builtins
import keyword
import re
import unicodedata

from sympy import Symbol

__all__ = ["FUNCTION_NAME", "RESERVED", "Names", "ascii_identifier", "defined_names", "real_symbol", "safe_text"]

#: name of the generated function
FUNCTION_NAME = "loss_and_grad"

#: names the generated code uses for itself; model symbols are renamed around them
RESERVED = frozenset({
    "np", "BLOCK", "DATA", "PARAMETERS", "GRADIENTS", "KEYWORDS", "REDUCTION", FUNCTION_NAME,
    "loss", "lo", "m", "n", "scale", "size", "work", "sigmoid", "logsumexp", "_batch", "_scalars",
    "_describe", "__debug__", "ForeignArray", "_FLOAT", "_NDARRAY", "_floats", "_ones", "_ONES",
    "_buffers", "_WORK", "_threading",
    # the fused (numba) module's own names
    "_numba", "_i", "_n", "_exp", "_from_bits", "_to_bits", "_ROUND", "EXACT", "_ir", "_types", "_intrinsic", "_serial_kernel", "_parallel_kernel", "_contiguous", "_heaviside", "FASTMATH",
    "_wide_vectors", "_sigmoid", "_leaky_relu", "_elu", "_gelu", "_logsumexp",
    "PARALLEL_FROM", "ARRAYS", "kernel", "threading", "_MAIN",
}) | frozenset(dir(builtins))


def ascii_identifier(wanted: str) -> str:
    """An ASCII identifier that reads like ``wanted``: NFKC-folded, other characters as ``_``.

    Not yet unique and maybe a keyword: :meth:`Names.fresh` sees to both.

    >>> ascii_identifier("w1"), ascii_identifier("ｙ"), ascii_identifier('a"b'), ascii_identifier("2x")
    ('w1', 'y', 'a_b', 'v2x')
    >>> ascii_identifier(""), ascii_identifier("__class__"), ascii_identifier("σ")
    ('v', 'v__class__', 'v_')
    """
    folded = unicodedata.normalize("NFKC", str(wanted))
    base = re.sub(r"[^0-9A-Za-z_]", "_", folded)
    if not base or base[0].isdigit() or base.startswith("__") or not re.search(r"[0-9A-Za-z]", base):
        base = "v" + base
    return base


def safe_text(text: str) -> str:
    """``text`` as it may stand in a comment or a docstring of generated code: one line, escaped.

    Backslashes and quotes are escaped and every unprintable character
    (a newline, a NUL, a line separator) is written as its escape, so no
    name can end a comment or a string early.

    >>> print(safe_text('a"b\\\\c\\nd'))
    a\\"b\\\\c\\nd
    """
    out = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


class Names:
    """Unique ASCII Python identifiers for symbols, temporaries and adjoints.

    >>> names = Names()
    >>> names.fresh("w"), names.fresh("w"), names.fresh("lambda"), names.fresh("loss")
    ('w', 'w_1', 'lambda_', 'loss_1')
    >>> names.fresh("ｗ"), names.fresh("sum"), names.fresh('q": 0, "r')
    ('w_2', 'sum_1', 'q___0___r')
    >>> names.temporary(), names.temporary()
    (t1, t2)
    """

    def __init__(self):
        self.taken = set(RESERVED)

    def fresh(self, wanted: str) -> str:
        base = ascii_identifier(wanted)
        name, k = base, 0
        while name in self.taken or keyword.iskeyword(name):
            k += 1
            name = f"{base}_" if k == 1 and keyword.iskeyword(base) else f"{base}_{k}"
        self.taken.add(name)
        return name

    def temporary(self) -> Symbol:
        k = 1
        while f"t{k}" in self.taken:
            k += 1
        self.taken.add(f"t{k}")
        return Symbol(f"t{k}", real=True)


def real_symbol(symbol: Symbol, name: str) -> Symbol:
    """A real copy of ``symbol`` named ``name``, with its other assumptions."""
    # derivatives of |a| and max(a, b) are only tidy for real arguments
    # not derive.real_model: it keeps names, so x and a real x would merge; here each needs its own name
    assumptions = {k: v for k, v in symbol.assumptions0.items() if v is not None}
    assumptions["real"] = True
    try:
        return Symbol(name, **assumptions)
    except Exception:  # contradictory assumptions (an imaginary symbol): keep them
        return Symbol(name, **symbol.assumptions0)


def defined_names(source: str) -> set[str]:
    """The names a module's source defines at its top level: its functions, classes, assignments and imports."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names
