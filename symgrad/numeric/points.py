"""Evaluate SymPy expressions numerically at many points: the fast half of every check.

Points come from several scales and both signs, and from both sides of
every kink (where the argument of a ReLU, max, min, |·|, sign or Heaviside
changes sign), so that a term that is zero on part of the domain cannot
hide. Float64 answers are confirmed at high precision where they disagree.
Evaluation uses an explicit namespace (the op table's forwards and NumPy):
an undefined function is never looked up in Python's builtins.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from sympy import Indexed, Product, Sum
from sympy.core.function import AppliedUndef

from ..core.model import nodes_bottom_up, symbols_of
from .. import printing
from ..core.ops import OPS
from ..errors import ClaimError

__all__ = ["NUMPY_FUNCTIONS", "SIZES", "MAX_EXPANDED_TERMS", "SumTooLarge", "UndefinedFunction",
           "concrete", "evaluator", "random_points", "spread_points", "kink_arguments", "kink_points",
           "values_at", "magnitude", "precise_value", "undefined_functions"]

#: the op table's stable NumPy forwards, by the name lambdify prints for them
NUMPY_FUNCTIONS = {
    entry.sympy_function.__name__: entry.forward
    for entry in OPS.values()
    if entry.sympy_function is not None and entry.sympy_function.__module__.startswith("symgrad")
}
#: the generated code sees no Python builtins: ``exit(w)`` is a NameError, never a call of exit
_NO_BUILTINS = {"__builtins__": {}}

#: sizes given to summation bounds when a data-set expression is checked numerically
SIZES = (3, 2, 4)
#: most terms a sum (or product) may expand into for a numeric check, nested sums multiplied
MAX_EXPANDED_TERMS = 1000


class SumTooLarge(ValueError):
    """A sum or product with literal bounds too wide to expand term by term."""


class UndefinedFunction(ValueError):
    """An expression applies a function that has no numeric definition (``f(w)``)."""

    def __init__(self, names):
        self.names = sorted(names)
        super().__init__(f"{', '.join(self.names)} {'is' if len(self.names) == 1 else 'are'} not defined: "
                         "an undefined function has no values to compare")


def undefined_functions(expr: sp.Basic) -> set[str]:
    """Names of the undefined functions applied in ``expr`` (``{'f'}`` for ``f(w) + 1``).

    >>> from sympy import Function, Symbol
    >>> undefined_functions(Function('exit')(Symbol('w')) + 1)
    {'exit'}
    """
    return {type(node).__name__ for node in expr.atoms(AppliedUndef)}


def _expanded_terms(expr: sp.Basic) -> int:
    """How many terms expanding every sum and product of ``expr`` makes (nested ones multiply)."""
    def terms(node, factor: int) -> int:
        total = 0
        if isinstance(node, (Sum, Product)):
            for _, lower, upper in node.limits:
                count = upper - lower + 1
                if not count.is_Integer:
                    return 0  # a symbolic bound: doit() leaves it, nothing is expanded
                factor *= max(int(count), 0)
            total += factor
        for arg in node.args:
            total += terms(arg, factor)
            if total > MAX_EXPANDED_TERMS:
                return total
        return total
    return terms(expr, 1)


def concrete(exprs: list[sp.Expr], sizes=SIZES, fixed: dict | None = None) -> list[sp.Expr]:
    """Data-set expressions made concrete: summation bounds get small sizes, sums are expanded,
    and each array element ``x[i, k]`` becomes a plain symbol.

    Free indices (such as the ``j`` of ``dL/dw_j``) are set by ``fixed``, else to 1, 2, 3, …
    in turn: distinct, so that ``p_i`` and ``p_j`` are different entries (see
    :func:`index_assignments` for the other cases a claim must also hold in). Only
    symbolic bounds get sizes: a sum whose literal bounds would expand into more than
    :data:`MAX_EXPANDED_TERMS` terms raises :class:`SumTooLarge` instead of expanding.

    >>> from sympy import IndexedBase, Sum, symbols
    >>> x, i, n = IndexedBase('x'), *symbols('i n')
    >>> concrete([Sum(x[i], (i, 1, n))])
    [x[1] + x[2] + x[3]]
    >>> concrete([Sum(x[i], (i, 1, 10**12))])
    Traceback (most recent call last):
      ...
    symgrad.numeric.points.SumTooLarge: sum too large to expand: Sum(x[i], (i, 1, 1000000000000)) has more than 1000 terms
    """
    exprs = [sp.sympify(e) for e in exprs]
    if not any(e.has(Sum) or e.has(Product) or e.has(Indexed) for e in exprs):
        return exprs
    roles = [symbols_of(e) for e in exprs]
    size_symbols = sorted(set().union(*(r["sizes"] for r in roles)), key=sp.default_sort_key)
    index_symbols = sorted(set().union(*(r["indices"] for r in roles)), key=sp.default_sort_key)
    values = {s: sizes[k % len(sizes)] for k, s in enumerate(size_symbols)}
    values.update({i: k + 1 for k, i in enumerate(index_symbols)})
    values.update(fixed or {})
    out = []
    for e in exprs:
        e = e.subs(values)
        if _expanded_terms(e) > MAX_EXPANDED_TERMS:
            big = next(node for node in sp.preorder_traversal(e) if isinstance(node, (Sum, Product))
                       and _expanded_terms(node) > MAX_EXPANDED_TERMS)
            raise SumTooLarge(f"sum too large to expand: {big} has more than {MAX_EXPANDED_TERMS} terms")
        e = e.doit()
        elements = {node: sp.Symbol(f"{node.base}[{','.join(map(str, node.indices))}]")
                    for node in e.atoms(Indexed)}
        out.append(e.xreplace(elements))
    return out


def index_assignments(exprs: list) -> list[dict | None]:
    """The values of the free indices a claim is checked at: all distinct and all equal (one index: 1 and 2).

    ``∂p_i/∂z_j = p_i(δ_ij - p_i)`` is right when i = j and wrong otherwise;
    ``p_i(1 - p_j)`` the other way round: each must be tried.

    >>> from sympy import IndexedBase, symbols
    >>> p, i, j = IndexedBase('p'), *symbols('i j')
    >>> index_assignments([p[i] * p[j]])
    [{i: 1, j: 2}, {i: 1, j: 1}]
    >>> index_assignments([p[i]])
    [{i: 1}, {i: 2}]
    """
    indices = sorted(set().union(*(symbols_of(sp.sympify(e))["indices"] for e in exprs)), key=sp.default_sort_key)
    if not indices:
        return [None]
    distinct = {index: k + 1 for k, index in enumerate(indices)}
    if len(indices) == 1:  # 1 and 2: a claim that writes x_{i1} for x_{ij} agrees at j = 1 only
        return [distinct, {indices[0]: 2}]
    return [distinct, dict.fromkeys(indices, 1)]


def evaluator(expr: sp.Expr, symbols: list):
    """A vectorised NumPy function of ``symbols`` computing ``expr`` with the op table's forwards.

    Raises :class:`UndefinedFunction` for an expression applying an undefined function. The functions
    are kept (by expression and symbols): a verdict re-checks point after point with the same ones,
    and lambdify costs far more than one evaluation.
    """
    key = (sp.sympify(expr), tuple(symbols))
    try:
        hash(key)
    except TypeError:  # an unhashable expression (a list of them): made anew
        return _evaluator.__wrapped__(*key)
    return _evaluator(*key)


@functools.lru_cache(maxsize=512)
def _evaluator(expr, symbols: tuple):
    undefined = undefined_functions(expr)
    if undefined:
        raise UndefinedFunction(undefined)
    return sp.lambdify(symbols, expr, modules=[_NO_BUILTINS, NUMPY_FUNCTIONS, "numpy"], cse=True)


def random_points(symbols: list, count: int, rng: np.random.Generator,
                  positive: bool = False) -> dict:
    """``count`` random values per symbol, in [-2, 2] (or [0.1, 2] when ``positive``).

    The range keeps sigmoids away from saturation; a verdict draws from
    :func:`spread_points` instead, which also reaches far from zero.
    """
    low = 0.1 if positive else -2.0
    return {s: rng.uniform(low, 2.0, size=count) for s in symbols}


def spread_points(symbols: list, count: int, rng: np.random.Generator,
                  positive: bool = False) -> dict:
    """``count`` values per symbol from several scales and both signs (only positive when ``positive``).

    About a third are uniform in [-2, 2]; the rest have magnitudes spread
    log-uniformly over 10⁻³ … 10³ with a random sign, so that a term which
    only wakes up far from zero (``relu(x - 5)``) or a claim off by a tiny
    constant factor is reached.

    >>> import numpy as np
    >>> from sympy import Symbol
    >>> values = spread_points([Symbol('x')], 600, np.random.default_rng(0))[Symbol('x')]
    >>> bool(values.min() < -100 and values.max() > 100 and (np.abs(values) < 0.01).any())
    True
    """
    points = {}
    for s in symbols:
        near = rng.uniform(-2.0, 2.0, size=count)
        far = 10.0 ** rng.uniform(-3.0, 3.0, size=count) * rng.choice([-1.0, 1.0], size=count)
        values = np.where(rng.random(count) < 1 / 3, near, far)
        points[s] = np.abs(values) if positive else values
    return points


# -- kinks ---------------------------------------------------------------------------------

_KINKED = (sp.Abs, sp.sign, sp.Heaviside)


def kink_arguments(exprs) -> list[sp.Expr]:
    """The expressions whose sign switches a branch: arguments of ReLU, |·|, sign, Heaviside, max, min.

    >>> from sympy import Max, symbols
    >>> x, w = symbols('x w')
    >>> kink_arguments([Max(0, w*x - 5)])
    [-w*x + 5]
    """
    found = []
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            if isinstance(node, _KINKED) or type(node).__name__ == "relu":
                args = [node.args[0]]
            elif isinstance(node, (sp.Max, sp.Min)):
                args = [a - b for k, a in enumerate(node.args) for b in node.args[k + 1:]]
            else:
                continue
            for arg in args:
                if arg.free_symbols and arg not in found and -arg not in found:
                    found.append(arg)
    return found


#: values a variable is scanned over when a kink's root is looked for numerically
_SCAN = np.concatenate([-np.logspace(3, -3, 19), [0.0], np.logspace(-3, 3, 19)])


def _roots_along(g, symbols: list, variable, base: dict) -> np.ndarray:
    """For each base point, a value of ``variable`` where ``g`` changes sign (NaN where none is found).

    The variable is scanned over several scales and both signs; the first sign
    change is then narrowed by bisection.
    """
    count = len(base[symbols[0]])
    at = dict(base)

    def value(v):
        at[variable] = v
        with np.errstate(all="ignore"):
            return np.asarray(g(*[at[s] for s in symbols]), dtype=float) * np.ones(count)

    previous, low, high = value(np.full(count, _SCAN[0])), np.full(count, np.nan), np.full(count, np.nan)
    for left, right in zip(_SCAN, _SCAN[1:]):
        current = value(np.full(count, right))
        change = np.isnan(low) & (np.sign(previous) * np.sign(current) < 0)
        low[change], high[change] = left, right
        previous = current
    found = ~np.isnan(low)
    if not found.any():
        return low
    sign_low = np.sign(value(np.where(found, low, 0.0)))
    for _ in range(60):
        middle = (low + high) / 2
        same = np.sign(value(np.where(found, middle, 0.0))) == sign_low
        low, high = np.where(same, middle, low), np.where(same, high, middle)
    return np.where(found, (low + high) / 2, np.nan)


def kink_points(exprs, symbols: list, rng: np.random.Generator, per_kink: int = 8,
                max_kinks: int = 8) -> dict:
    """Points just on both sides of every kink of ``exprs`` (see :func:`kink_arguments`).

    For each kink argument ``g`` one variable is moved, the others drawn by
    :func:`spread_points`; where ``g`` is linear in it the root is solved
    exactly, otherwise found by scanning and bisection. Each root gives four
    points, at relative offsets ±10⁻⁶ and ±10⁻² from it.

    >>> import numpy as np
    >>> from sympy import Max, symbols
    >>> x = symbols('x')
    >>> xs = kink_points([Max(0, x - 5)], [x], np.random.default_rng(0))[x]
    >>> bool(((xs > 5) & (xs < 5.001)).any() and ((xs < 5) & (xs > 4.999)).any())
    True
    """
    chunks = {s: [] for s in symbols}
    for g in kink_arguments(exprs)[:max_kinks]:
        if not g.free_symbols <= set(symbols):
            continue
        candidates = sorted(g.free_symbols, key=sp.default_sort_key)
        linear = [v for v in candidates if sp.Poly(g, v).degree() == 1] if g.is_polynomial(*candidates) else []
        variable = linear[0] if linear else candidates[0]
        base = spread_points(symbols, per_kink, rng)
        try:
            if linear:
                root_expr = sp.solve(g, variable)[0]
                roots = np.asarray(evaluator(root_expr, symbols)(*[base[s] for s in symbols]),
                                   dtype=float) * np.ones(per_kink)
            else:
                roots = _roots_along(evaluator(g, symbols), symbols, variable, base)
        except (UndefinedFunction, ZeroDivisionError, IndexError, TypeError, ValueError):
            continue
        keep = np.isfinite(roots)
        for offset in (-1e-2, -1e-6, 1e-6, 1e-2):
            for s in symbols:
                values = roots + offset * (1 + np.abs(roots)) if s == variable else base[s]
                chunks[s].append(values[keep])
    return {s: np.concatenate(v) if v else np.zeros(0) for s, v in chunks.items()}


# -- values ----------------------------------------------------------------------------------

def values_at(expr: sp.Expr, symbols: list, points: dict) -> np.ndarray:
    """``expr`` at every point, as a float array (NaN where undefined or complex)."""
    count = len(points[symbols[0]]) if symbols else 1
    with np.errstate(all="ignore"):
        result = evaluator(expr, symbols)(*[points[s] for s in symbols])
        try:
            result = np.asarray(result, dtype=complex) * np.ones(count)
        except OverflowError:  # an exact number beyond float64 (1e308*10) cannot be sampled
            raise ClaimError(f"a number in {printing.text(expr)[:60]} is too large to compute with "
                             "in floating point (beyond 1.8e308)") from None
    real = np.where(np.abs(result.imag) > 1e-12 * (1 + np.abs(result.real)), np.nan, result.real)
    return real.astype(float)


def _magnitude_expr(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every sum replaced by the sum of its terms' sizes: the scale of its round-off."""
    if expr.is_Add:
        return sp.Add(*[_magnitude_expr(a) for a in expr.args])
    if expr.is_Mul:
        return sp.Mul(*[_magnitude_expr(a) for a in expr.args])
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return _magnitude_expr(expr.base) ** expr.exp
    return sp.Abs(expr)


def magnitude(expr: sp.Expr, symbols: list, points: dict) -> np.ndarray:
    """The size of the terms ``expr`` adds up at each point (|a| + |b| for a + b, recursively).

    Round-off in computing ``expr`` is a small multiple of this, however much
    the terms cancel:

    >>> import numpy as np
    >>> from sympy import symbols
    >>> w, x = symbols('w x')
    >>> magnitude(w - x, [w, x], {w: np.array([3.0]), x: np.array([3.0])})
    array([6.])
    """
    return values_at(_magnitude_expr(sp.sympify(expr)), symbols, points)


class StagedExpression:
    """An expression of any depth, evaluated node by node from the leaves up, each shared node once.

    lambdify prints an expression and evalf evaluates it by recursion, several
    frames per level of nesting; this walk does not recurse. Each function is
    evaluated by the same NumPy forwards as :func:`evaluator` uses.

    >>> import numpy as np
    >>> from sympy import sin, symbols
    >>> x, w = symbols('x w')
    >>> e = x
    >>> for _ in range(1000): e = sin(w*e)
    >>> staged = StagedExpression(e)
    >>> staged.values([x, w], {x: np.array([0.0, 2.0]), w: np.array([0.5, 0.5])}).tolist()[0]
    0.0
    >>> staged.precise({x: 0.0, w: 0.5})
    0j
    """

    def __init__(self, expr: sp.Expr):
        self.expr = expr
        self.nodes = list(nodes_bottom_up(expr))
        self._functions: dict = {}

    def _function(self, node):
        """The NumPy function of a function node's head (``sin``, ``sigmoid``, ``Heaviside``)."""
        key = (node.func, len(node.args))
        if key not in self._functions:
            arguments = [sp.Dummy(f"a{k}") for k in range(len(node.args))]
            self._functions[key] = evaluator(node.func(*arguments), arguments)
        return self._functions[key]

    @staticmethod
    def _whole(node, known: dict):
        """A node the walk does not take apart (a Sum, a Piecewise, ``I``), by its own (shallow) code."""
        used = sorted(node.free_symbols, key=sp.default_sort_key)
        return evaluator(node, used)(*[known[s] for s in used])

    def values(self, symbols: list, points: dict) -> np.ndarray:
        """:func:`values_at` of the whole expression."""
        count = len(points[symbols[0]]) if symbols else 1
        out: dict[int, object] = {}
        known = {s: np.asarray(points[s], dtype=float) for s in symbols}
        with np.errstate(all="ignore"):
            for node in self.nodes:
                if not isinstance(node, sp.Expr):
                    continue  # a part of a node (a Piecewise's branch): that node is evaluated whole
                args = [out.get(id(a)) for a in node.args]
                taken_apart = node.args and all(a is not None for a in args)
                if node.is_Symbol:
                    value = known[node]
                elif node.is_Number or node.is_NumberSymbol:
                    value = complex(node)
                    value = value.real if value.imag == 0 else value
                elif node.is_Add and taken_apart:
                    value = sum(args[1:], args[0])
                elif node.is_Mul and taken_apart:
                    value = np.prod(np.broadcast_arrays(*args), axis=0)
                elif node.is_Pow and taken_apart:
                    value = np.power(*args)
                elif node.is_Function and taken_apart:
                    value = self._function(node)(*args)
                else:
                    value = self._whole(node, known)
                out[id(node)] = value
            result = np.asarray(out[id(self.expr)], dtype=complex) * np.ones(count)
        real = np.where(np.abs(result.imag) > 1e-12 * (1 + np.abs(result.real)), np.nan, result.real)
        return real.astype(float)

    def precise(self, point: dict, digits: int = 50) -> complex | None:
        """:func:`precise_value` of the whole expression, each node evaluated at ``digits`` digits."""
        exact = {s: sp.Float(float(v), digits) for s, v in point.items()}
        out: dict[int, sp.Expr] = {}
        try:
            for node in self.nodes:
                if not isinstance(node, sp.Expr):
                    continue  # a part of a node (a Piecewise's branch): that node is evaluated whole
                args = [out.get(id(a)) for a in node.args]
                if node.is_Atom:
                    value = exact.get(node, node)
                elif (node.is_Add or node.is_Mul or node.is_Pow or node.is_Function) and \
                        all(a is not None for a in args):
                    value = node.func(*args).evalf(digits)
                else:
                    value = node.xreplace(exact).evalf(digits)
                if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                    return None
                out[id(node)] = value
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        return _precise(out[id(self.expr)], digits)


def precise_value(expr: sp.Expr, point: dict, digits: int = 50) -> complex | None:
    """``expr`` at one point, evaluated by SymPy to ``digits`` digits; ``None`` where it is undefined.

    A value with an imaginary part is returned as a complex number: off the
    real line, as ``sqrt(-1)``; NaN or an infinity gives ``None``.

    >>> from sympy import exp, symbols
    >>> w = symbols('w')
    >>> precise_value(exp(w) / exp(w), {w: 800.0})
    (1+0j)
    >>> precise_value(1 / w, {w: 0.0}) is None
    True
    """
    exact = {s: sp.Float(float(v), digits) for s, v in point.items()}
    return _precise(sp.sympify(expr).xreplace(exact), digits)


def _precise(expr: sp.Expr, digits: int) -> complex | None:
    """A number's value to ``digits`` digits, as :func:`precise_value` gives it."""
    try:
        value = expr.evalf(digits)
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or value.free_symbols:
            return None
        result = complex(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not (np.isfinite(result.real) and np.isfinite(result.imag)):
        return None
    if abs(result.imag) <= 1e-30 * max(1.0, abs(result.real)):
        return complex(result.real, 0.0)
    return result
