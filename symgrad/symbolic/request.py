"""What a derivation is asked for, the same for scalar and matrix models: the form, and which parameters."""
from __future__ import annotations

from ..errors import DerivationError

__all__ = ["FORMS", "check_form", "split_wrt"]

#: ``"stages"``: written with the model's named stages, linear in depth, as the slides write
#: dL/dw3 = (f3 - y) f3 (1 - f3) f2; ``"closed"``: the stages substituted
FORMS = ("stages", "closed")


def check_form(form: str) -> None:
    """Refuse a form that is not one of :data:`FORMS`, naming the ones there are.

    >>> check_form("expanded")
    Traceback (most recent call last):
    ...
    symgrad.errors.DerivationError: unknown form 'expanded' (must be one of ['stages', 'closed'])
    """
    if form not in FORMS:
        raise DerivationError(f"unknown form {form!r} (must be one of {list(FORMS)})")


def split_wrt(model, wrt) -> tuple[list, bool]:
    """The names ``wrt`` asks for (every parameter for ``None``), and whether it asked for one."""
    if wrt is None:
        return list(model.params), False
    single = not isinstance(wrt, (list, tuple, set, frozenset))
    return ([wrt] if single else list(wrt)), single
