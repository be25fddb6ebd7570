"""Python identifiers in the generated code: the names it keeps for itself, and unique names for the rest."""
from __future__ import annotations

import keyword
import re

from sympy import Symbol

__all__ = ["FUNCTION_NAME", "RESERVED", "Names", "real_symbol"]

#: name of the generated function
FUNCTION_NAME = "loss_and_grad"

#: names the generated code uses for itself; model symbols are renamed around them
RESERVED = frozenset({
    "np", "BLOCK", "DATA", "PARAMETERS", "GRADIENTS", "REDUCTION", FUNCTION_NAME,
    "loss", "lo", "m", "n", "scale", "size", "work", "sigmoid", "logsumexp", "_batch", "_scalars",
    "_describe",
    "float", "min", "range", "len", "isinstance", "dict", "tuple",
})


class Names:
    """Unique Python identifiers for symbols, temporaries and adjoints.

    >>> names = Names()
    >>> names.fresh("w"), names.fresh("w"), names.fresh("lambda"), names.fresh("loss")
    ('w', 'w_1', 'lambda_', 'loss_1')
    >>> names.temporary(), names.temporary()
    (t1, t2)
    """

    def __init__(self):
        self.taken = set(RESERVED)

    def fresh(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted) or "v"
        if base[0].isdigit():
            base = "v" + base
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
