"""Cheap, bounded tidying of derivatives into the form a person writes.

``simplify`` does not scale (seconds at depth 4, minutes at depth 8) and
rarely shrinks a gradient, so symgrad never calls it by default. Instead:
collapse Kronecker-delta sums, pull constants out of sums, ``factor`` small
results, and put the sign where a person would.
"""
from __future__ import annotations

import sympy as sp
from sympy import Add, KroneckerDelta, Mul, Sum
from sympy.simplify.simplify import factor_sum

from ..core.model import contains, size_exceeds

__all__ = ["tidy", "collapse_kronecker_sums"]

#: results larger than this (in ``count_ops``) are not factored: factoring
#: is the one step here whose cost grows quickly with size
FACTOR_LIMIT = 120

#: results with more nodes than this are only given their sign: comparing candidates prints
#: and counts them, which is linear in their size per call (quadratic over a deep model's gradients)
#: and recursive in their depth
SMALL_LIMIT = 400


def _split_limits(s: Sum) -> sp.Expr:
    """``Sum(f, l1, l2)`` as ``Sum(Sum(f, l1), l2)``, so each limit can be collapsed alone."""
    inner = s.function
    for limit in s.limits:
        inner = Sum(inner, limit)
    return inner


def _collapse_one(s: Sum) -> sp.Expr:
    """Sum over i of ``KroneckerDelta(i, j) * f(i)`` is ``f(j)``.

    The free index ``j`` runs over the same range as the summation (it is
    the index of the parameter being differentiated), so the delta always
    fires once; this is the step ``.doit()`` turns into a ``Piecewise``.
    """
    if len(s.limits) != 1:
        return s
    index, low, high = s.limits[0]
    terms = Add.make_args(s.function)
    if not any(t.has(KroneckerDelta) for t in terms):
        return s
    out = []
    for term in terms:
        factors = Mul.make_args(term)
        delta = next(
            (f for f in factors if isinstance(f, KroneckerDelta) and index in f.free_symbols
             and any(a != index and index not in a.free_symbols for a in f.args)),
            None,
        )
        if delta is None:
            out.append(Sum(term, (index, low, high)))
            continue
        value = _delta_root(delta, index)
        if value is None:
            out.append(Sum(term, (index, low, high)))
            continue
        rest = Mul(*[f for f in factors if f is not delta])
        out.append(rest.xreplace({index: value}))
    return Add(*out)


def _delta_root(delta: KroneckerDelta, index: sp.Symbol) -> sp.Expr | None:
    """The ``index`` at which ``delta`` fires: ``j - 1`` for ``KroneckerDelta(i + 1, j)``; ``None`` if not one.

    >>> from sympy import symbols
    >>> i, j = symbols('i j')
    >>> _delta_root(KroneckerDelta(i + 1, j), i), _delta_root(KroneckerDelta(2*i, j), i)
    (j - 1, None)
    """
    inner, other = delta.args if index in delta.args[0].free_symbols else delta.args[::-1]
    if index in other.free_symbols or not inner.is_polynomial(index):
        return None
    slope = inner.diff(index)
    if slope not in (1, -1) or index in slope.free_symbols:
        return None  # 2i = j fires only for even j: the sum stays
    return (other - inner.subs(index, 0)) / slope


def collapse_kronecker_sums(expr: sp.Expr) -> sp.Expr:
    """Replace every sum over a Kronecker delta by the term it selects.

    >>> from sympy import IndexedBase, KroneckerDelta, Sum, symbols
    >>> x = IndexedBase('x'); i, j, k, m = symbols('i j k m')
    >>> collapse_kronecker_sums(Sum(KroneckerDelta(i, j) * x[k, i], (i, 1, m)))
    x[k, j]
    """
    if not contains(expr, KroneckerDelta):
        return expr
    expr = expr.replace(lambda e: isinstance(e, Sum) and len(e.limits) > 1, _split_limits)
    return expr.replace(lambda e: isinstance(e, Sum), _collapse_one)


def _pull_constants(expr: sp.Expr) -> sp.Expr:
    # Sum(-2*c*f(k), k) -> -2*c*Sum(f(k), k): the form the slides write
    if not contains(expr, Sum):
        return expr
    return expr.replace(lambda e: isinstance(e, Sum), lambda e: factor_sum(e))


def _sign_first(expr: sp.Expr) -> sp.Expr:
    """``-2*x*(y - w*x)`` -> ``2*x*(w*x - y)``: a negative coefficient moves into a sum factor."""
    if not isinstance(expr, Mul):
        return expr
    coeff, factors = expr.as_coeff_mul()
    if not coeff.is_negative:
        return expr
    for k, factor in enumerate(factors):
        if isinstance(factor, Add):
            flipped = list(factors)
            flipped[k] = -factor
            return Mul(-coeff, *flipped)
    return expr


def _minus_signs(expr: sp.Expr) -> int:
    return str(expr).count("-")


def tidy(expr: sp.Expr, factor_limit: int = FACTOR_LIMIT) -> sp.Expr:
    """A derivative in a tidy, equal form, in bounded time.

    >>> from sympy import symbols, diff
    >>> w, x, b, y = symbols('w x b y')
    >>> tidy(diff((y - (w*x + b))**2, w))
    2*x*(b + w*x - y)
    """
    expr = _pull_constants(collapse_kronecker_sums(expr))
    if size_exceeds(expr, SMALL_LIMIT):
        return _sign_first(expr)
    candidates = [expr]
    if expr.has(Sum, sp.Piecewise):
        # factor() expands inside sums and can run out of memory there
        candidates.append(sp.factor_terms(expr))
    elif sp.count_ops(expr) <= factor_limit:
        candidates.append(sp.factor(expr, deep=False))
    candidates = [_sign_first(c) for c in candidates]
    return min(candidates, key=lambda c: (sp.count_ops(c), _minus_signs(c)))
