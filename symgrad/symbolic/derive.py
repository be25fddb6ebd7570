"""Closed-form gradients, derived stage by stage in reverse mode, as backprop does by hand."""
from __future__ import annotations

from bisect import insort
from collections import defaultdict
from collections.abc import Iterable
from itertools import chain, count

import sympy as sp
from sympy import Dummy, Indexed, IndexedBase, Symbol
from sympy.core.mul import _args_sortkey

from ..core.matrix_model import MatrixModel
from ..core.model import WIDE, Model, free_symbols, replace_symbols, split_deep, symbols_of
from ..errors import DerivationError, ModelError
from .matrix_rules import matrix_grad
from .gradients import Gradients
from .request import check_form, split_wrt
from .tidy import tidy

__all__ = ["grad", "adjoints", "component", "local_derivative", "local_derivatives", "real_model"]

# -- real-valued copies -----------------------------------------------------
# Model symbols carry no assumptions, but derivatives of |a| or max(a, b) are
# only tidy for real arguments (otherwise SymPy writes re() and im()). So the
# derivation runs on real copies of the symbols and maps the result back.

def _real_copy(s):
    if isinstance(s, IndexedBase):
        return s if s.is_real else IndexedBase(s.label, real=True)
    if s.is_real:
        return s
    assumptions = {k: v for k, v in s.assumptions0.items() if v is not None}
    assumptions.update(real=True)
    try:
        return Symbol(s.name, **assumptions)
    except Exception:  # contradictory assumptions: keep the symbol as it is
        return s


def _real_copies(model: Model) -> tuple[dict, dict]:
    names = set(model.inputs) | set(model.params) | set(model.stage_symbols)
    forward = {s: _real_copy(s) for s in names}
    forward = {k: v for k, v in forward.items() if k is not v}
    return forward, {v: k for k, v in forward.items()}


def _real_copy_of(model: Model, forward: dict) -> Model | None:
    """The model over the real copies; ``None`` if no input or parameter is left in it.

    For real symbols SymPy evaluates some expressions away (``relu(-relu(a))``
    is 0), and a parameter can vanish with them: it is no parameter of the
    copy, and its gradient is 0.
    """
    stages = [(forward.get(s, s), replace_symbols(e, forward)) for s, e in model.stages]
    used = set().union(*(symbols_of(e)["scalars"] | symbols_of(e)["bases"] for _, e in stages))
    inputs = [forward.get(s, s) for s in model.inputs]
    params = [p for p in (forward.get(s, s) for s in model.params) if p in used]
    if not params:  # which leaves are called parameters does not change a derivative
        params, inputs = [s for s in inputs if s in used], []
    if not params:
        return None
    return Model(stages, inputs=inputs, params=params, output=[forward.get(s, s) for s in model.outputs],
                 name=model.name)


def real_model(model: Model) -> tuple[Model, dict, dict]:
    """The model over real copies of its symbols, and the maps to and from them."""
    forward, backward = _real_copies(model)
    real = _real_copy_of(model, forward)
    if real is None:
        raise DerivationError(f"the output of {model.name or 'the model'} is a constant for real values of "
                              "its symbols: every derivative is 0")
    return real, forward, backward


# -- stage-by-stage reverse mode ----------------------------------------------

def local_derivative(stage_symbol: Symbol, stage_expr: sp.Expr, wrt) -> sp.Expr:
    """d(stage)/d(wrt), written with the stage's own symbol where its value reappears.

    >>> from sympy import symbols
    >>> from symgrad import sigmoid
    >>> a3, f3 = symbols('a3 f3')
    >>> local_derivative(f3, sigmoid(a3), a3)
    f3*(1 - f3)
    """
    derivative = sp.diff(stage_expr, wrt)
    # sigma'(a3) = sigma(a3)(1 - sigma(a3)) reads f3(1 - f3): reuse the forward value
    return derivative.xreplace({stage_expr: stage_symbol}) if stage_expr.free_symbols else derivative


def local_derivatives(stage_symbol: Symbol, stage_expr: sp.Expr, names: Iterable, derivative=None) -> dict:
    """d(stage)/d(name) for each name, by :func:`local_derivative` (or ``derivative``, if given).

    A wide sum is differentiated term by term: only the terms that contain a
    name add to its derivative, so n names of an n-term sum cost O(n) in
    all, not n differentiations of the whole sum.

    >>> from sympy import symbols
    >>> ws, xs = symbols('w1:41'), symbols('x1:41')
    >>> s = symbols('s')
    >>> local_derivatives(s, sum(w * x**2 for w, x in zip(ws, xs)), ws[:2] + xs[:1])
    {w1: x1**2, w2: x2**2, x1: 2*w1*x1}
    """
    derivative = derivative or local_derivative
    names = list(names)
    if not (isinstance(stage_expr, sp.Add) and len(stage_expr.args) > WIDE):
        return {name: derivative(stage_symbol, stage_expr, name) for name in names}
    terms_with: dict = defaultdict(list)  # symbol -> the terms it appears in, built once
    for term in stage_expr.args:
        for name in free_symbols(term):
            terms_with[name].append(term)
    return {name: sp.Add(*[derivative(stage_symbol, term, name) for term in terms_with.get(name, ())])
            for name in names}


# -- long products, extended one factor at a time --------------------------------------------------

#: a product this long is extended by inserting the new factors in SymPy's order (``Mul`` would sort
#: and compare all of its factors again, O(length) each time: O(depth²) over a chain)
_LONG_PRODUCT = 8


def _bases(factors) -> set:
    return {f.as_base_exp()[0] for f in factors}


def _times(product: sp.Expr, factor: sp.Expr) -> sp.Expr:
    """``product * factor``; a long product is extended without SymPy sorting all of its factors again.

    When the new factors share no base with the product's (so SymPy would
    combine nothing: no ``x*x = x**2``) and hold no number, they are inserted
    where SymPy's ``Mul`` puts them: the same expression, built in
    O(length) list work instead of O(length) comparisons of expressions.
    """
    new = factor.args if factor.is_Mul else (factor,)
    if (not product.is_Mul or len(product.args) < _LONG_PRODUCT
            or any(f.is_Number or not f.is_commutative for f in new)
            or not _bases(new).isdisjoint(_bases(product.args))):
        return sp.Mul(product, factor)
    coefficient, factors = (product.args[:1], list(product.args[1:])) if product.args[0].is_Number \
        else ((), list(product.args))
    for f in new:
        insort(factors, f, key=_args_sortkey)
    return sp.Mul._from_args([*coefficient, *factors], is_commutative=True)


class _Product:
    """A product of local derivatives kept as a link to its upstream product: extending one costs O(1).

    In a chain every adjoint is its consumer's times one factor; multiplying
    them out at every stage would cost O(depth) per stage, O(depth²) in all.
    The factors are multiplied once, when a result (or a sum) needs them.
    """

    __slots__ = ("upstream", "factor", "_value")

    def __init__(self, upstream: "_Product | None", factor: sp.Expr):
        self.upstream, self.factor, self._value = upstream, factor, None

    def value(self) -> sp.Expr:
        if self._value is None:
            factors, node = [], self
            while node is not None and node._value is None:
                factors.append(node.factor)
                node = node.upstream
            if node is not None:
                factors.append(node._value)
            self._value = sp.Mul(*factors)
        return self._value

    def shared_value(self) -> sp.Expr:
        """The value, with every upstream product's value kept too: all of a chain's cost O(its length) each.

        Many results that share a long upstream (every parameter of a deep
        chain) extend its one multiplied-out value by their own factors.
        """
        path, node = [], self
        while node is not None and node._value is None:
            path.append(node)
            node = node.upstream
        value = sp.S.One if node is None else node._value
        for node in reversed(path):
            value = node.factor if node.upstream is None else _times(value, node.factor)
            node._value = value
        return self._value


def _lazy_adjoints(model: Model, wrt: Iterable, back: dict | None = None) -> dict:
    """The adjoints of :func:`adjoints`, each a :class:`_Product` not yet multiplied out.

    With ``back`` (a map of symbols), each local derivative is mapped by it
    as soon as it is found (small), so that no result needs mapping later,
    and products are multiplied out sharing their upstream values.
    """
    wanted = set(wrt)
    stages = set(model.stage_symbols)
    contributions: dict = {model.output: [_Product(None, sp.S.One)]}
    adjoint: dict = {}
    value = _Product.value if back is None else _Product.shared_value
    for symbol, expr in reversed(model.stages):
        parts = contributions.pop(symbol, None)
        if not parts:
            continue
        # one consumer: its product, extended; several: their sum (the multivariable chain rule)
        upstream = parts[0] if len(parts) == 1 else _Product(None, sp.Add(*[value(p) for p in parts]))
        adjoint[symbol] = upstream
        names = sorted(free_symbols(expr) & (stages | wanted), key=sp.default_sort_key)
        for name, local in local_derivatives(symbol, expr, names).items():
            if local != 0:
                local = local if back is None else replace_symbols(local, back)
                contributions.setdefault(name, []).append(_Product(upstream, local))
    for name, parts in contributions.items():  # the wanted symbols that are not stages
        adjoint[name] = parts[0] if len(parts) == 1 else _Product(None, sp.Add(*[value(p) for p in parts]))
    return adjoint


def adjoints(model: Model, wrt: Iterable) -> dict[Symbol, sp.Expr]:
    """d(output)/d(s) for every stage ``s`` and every symbol in ``wrt``, in stage symbols.

    Gradients add over every use of a symbol (the multivariable chain rule);
    each stage's adjoint is built once from its consumers', as backprop does,
    so the work and the size of the result grow linearly with depth.

    >>> from sympy import symbols
    >>> from symgrad import networks
    >>> adjoints(networks.chain(2), symbols('w1 w2'))[symbols('w2')]
    f1*f2*(1 - f2)
    """
    return {name: product.value() for name, product in _lazy_adjoints(model, wrt).items()}


def _shallow(model: Model) -> tuple[Model, dict]:
    """The model with each deep stage split into sub-stages, and the part of the model each new symbol stands for.

    SymPy differentiates, compares and prints by recursion, several frames
    per level of nesting; sub-stages a few levels deep keep every step
    shallow. A wide sum inside a stage becomes a sub-stage of its own too,
    which is differentiated term by term. A model without deep stages or
    wide sums comes back as it is.
    """
    stages, pieces = [], {}
    for symbol, expr in model.stages:
        origins = {}
        parts, top = split_deep(expr, lambda: Dummy("s", real=True), origins=origins, width=WIDE)
        pieces.update(origins)
        stages += parts
        stages.append((symbol, top))
    if not pieces:
        return model, {}
    return Model(stages, inputs=model.inputs, params=model.params, output=list(model.outputs),
                 name=model.name), pieces


# -- indexed parameters ----------------------------------------------------------

def _index_rank(expr: sp.Expr, base: IndexedBase) -> int:
    ranks = {node.rank for node in sp.preorder_traversal(expr)
             if isinstance(node, Indexed) and node.base == base}
    if not ranks:
        raise DerivationError(f"{base} does not appear in the expression")
    if len(ranks) > 1:
        raise DerivationError(f"{base} is used with different numbers of indices: {sorted(ranks)}")
    return ranks.pop()


_INDEX_NAMES = ("j", "l", "p", "q", "r", "s", "t", "u", "v")


def _fresh_indices(expr: sp.Expr, rank: int) -> list[Symbol]:
    """Index symbols not used anywhere in ``expr``, bound or free (sympy issue #21891)."""
    taken = {str(s) for s in sp.preorder_traversal(expr) if isinstance(s, Symbol)}
    candidates = chain(_INDEX_NAMES, (f"j{i}" for i in count(1)))
    names = (n for n in candidates if n not in taken)
    return [Symbol(next(names)) for _ in range(rank)]


def _rename_bound(expr: sp.Expr, avoid: set) -> sp.Expr:
    """Rename summation indices that clash with ``avoid`` so a free index keeps its meaning."""
    def rename(s):
        new = s
        for limit in s.limits:
            if limit[0] in avoid:
                fresh = _fresh_indices(expr, 1)[0]
                new = new.change_index(limit[0], limit[0], fresh)
        return new
    return expr.replace(lambda e: isinstance(e, sp.Sum) and any(l[0] in avoid for l in e.limits), rename)


def _indexed_derivative(expr: sp.Expr, target) -> sp.Expr:
    if isinstance(target, IndexedBase):
        base, requested = target, None
    else:
        base, requested = target.base, list(target.indices)
    rank = _index_rank(expr, base)
    if requested is not None and len(requested) != rank:
        raise DerivationError(f"{target} has {len(requested)} indices but {base} is used with {rank}")
    fresh = _fresh_indices(expr, rank)
    derivative = tidy(sp.diff(expr, base[tuple(fresh)]))
    if requested is None:
        return derivative
    derivative = _rename_bound(derivative, {i for r in requested for i in r.free_symbols})
    return derivative.xreplace(dict(zip(fresh, requested)))


# -- the public entry point ------------------------------------------------------

def _resolve_targets(model: Model | None, wrt, bare: bool = False) -> tuple[list, bool]:
    """The symbols ``wrt`` asks for; with ``bare`` (a bare expression), a Symbol it lacks is kept.

    d/dp of an expression without p is 0, as ``sympy.diff`` says, for a
    Symbol the user made; a name that is no symbol of the expression is
    more likely misspelled, and is an error. ``model`` is ``None`` for a
    constant expression, which has no symbols.
    """
    items, single = split_wrt(model, wrt)
    if wrt is None:
        return items, single
    targets = []
    for item in items:
        if isinstance(item, sp.Basic) and not isinstance(item, (Symbol, Indexed, IndexedBase)):
            raise DerivationError(f"cannot differentiate with respect to {item}: it is not a symbol")
        if bare and isinstance(item, Symbol) and (model is None or str(item) not in model.symbols):
            targets.append(item)
            continue
        if model is None:
            raise DerivationError(f"cannot differentiate with respect to {item!r}: the expression is a "
                                  "constant and has no symbols")
        try:
            targets.append(model.symbol(item))
        except ModelError as error:
            raise DerivationError(f"cannot differentiate with respect to {item!s}: {error}") from None
    return targets, single


def _is_constant(expr) -> bool:
    # free_symbols walks iteratively: SymPy's own recursion fails on a deep expression;
    # zoo and nan are no constants to differentiate: the Model they become refuses them by name
    if not isinstance(expr, (int, float, sp.Basic)):
        return False
    expr = sp.sympify(expr, strict=True)
    return not free_symbols(expr) and not expr.has(sp.S.ComplexInfinity, sp.S.NaN)


def grad(model_or_expr, wrt=None, *, form: str = "stages", inputs: Iterable = ()):
    """Closed-form partial derivatives of a model's output (or of an expression).

    ``wrt`` is one symbol (the result is one expression), a list of symbols
    (the result is a dict keyed by symbol), or ``None`` for every parameter.
    Names are accepted in place of symbols. An ``IndexedBase`` parameter
    ``w`` is differentiated by a component ``w[j]`` with a fresh index.

    For a model with several stages the result is written in stage symbols
    (``form="stages"``, the default, as the lectures write backprop);
    ``form="closed"`` substitutes the stages.

    >>> from sympy import symbols
    >>> w, x, b, y = symbols('w x b y')
    >>> grad(w*x + b, w)
    x
    >>> grad((y - (w*x + b))**2, [w, b])   # a Gradients dict, by parameter
    dL/dw = 2x(b + w·x - y)
    dL/db = 2(b + w·x - y)

    A symbol an expression does not contain, or that SymPy evaluates away
    (``relu(-relu(w))`` is 0 for real ``w``), has gradient 0; a name that
    is no symbol of the expression is an error (it is likely misspelled).

    >>> from symgrad import relu
    >>> grad(relu(-relu(w*x)), w), grad(x**2, w)
    (0, 0)
    """
    check_form(form)
    if isinstance(model_or_expr, MatrixModel):  # layers differentiate by the layer rules
        return matrix_grad(model_or_expr, wrt, form=form)
    bare = not isinstance(model_or_expr, Model)
    if bare and wrt is not None and _is_constant(model_or_expr):
        targets, single = _resolve_targets(None, wrt, bare)
        return sp.S.Zero if single else Gradients({t: sp.S.Zero for t in targets})
    model = Model.coerce(model_or_expr, inputs=inputs)
    targets, single = _resolve_targets(model, wrt, bare)
    # deep stages become shallow sub-stages; ``pieces`` maps each new symbol to the very part of the
    # model it stands for, so putting them back rebuilds only the shallow top of a result
    shallow, pieces = _shallow(model)
    forward, backward = _real_copies(shallow)
    real = _real_copy_of(shallow, forward)
    if real is None:  # the output is a constant for real values of its symbols
        return sp.S.Zero if single else Gradients({t: sp.S.Zero for t in targets}, of=model.output)
    real_targets = [t.xreplace(forward) if isinstance(t, Indexed) else forward.get(t, t)
                    for t in targets]

    scalar = [t for t in real_targets if isinstance(t, Symbol)]
    # a large model (deep, wide or long) takes the linear route: local derivatives mapped back to the
    # model's symbols at once, adjoints multiplied out once and shared, and no tidying (a large result
    # is for computing, not reading: tidying compares it all the way down, for every result)
    large = bool(pieces) or len(real.stages) > LARGE_MODEL
    adjoint = (_lazy_adjoints(real, scalar, back=backward if large else None) if scalar else {})
    closed = _ClosedForms(model) if large else _ClosedForms(real)
    in_closed_form = form == "closed" or len(model.stages) == 1
    final = _final_forms(pieces, closed, in_closed_form) if large else None

    results = {}
    for target, real_target in zip(targets, real_targets):
        if isinstance(real_target, Symbol):
            product = adjoint.get(real_target)
            if large:
                derivative = sp.S.Zero if product is None else product.shared_value()
                # put back unsorted: sorting would compare deep parts all the way down
                derivative = replace_symbols(derivative, final, evaluate=False)
            else:
                derivative = sp.S.Zero if product is None else product.value()
                if in_closed_form:
                    derivative = replace_symbols(derivative, closed.all())
                derivative = replace_symbols(tidy(derivative), backward)
        else:
            real_closed = _ClosedForms(real).all()[real.output]
            derivative = replace_symbols(_indexed_derivative(real_closed, real_target), backward)
        results[target] = derivative
    return results[targets[0]] if single else Gradients(results, of=model.output)


#: models with more stages than this (after splitting) take the linear route of :func:`grad`
LARGE_MODEL = 64


def _final_forms(pieces: dict, closed: "_ClosedForms", in_closed_form: bool) -> dict:
    """What each symbol of a stage-form result becomes: its part of the model, or its closed form.

    All closed forms are built in one walk that shares what they share, so
    nested parts are not rebuilt once per part that contains them.
    """
    if not in_closed_form:
        return pieces
    stages = closed.all()
    memo: dict = {}
    return {**stages, **{symbol: replace_symbols(part, stages, memo=memo) for symbol, part in pieces.items()}}


class _ClosedForms:
    """The stages' closed forms, built only when asked for (the stage form never needs them)."""

    def __init__(self, model: Model):
        self.model, self._closed = model, None

    def all(self) -> dict:
        if self._closed is None:
            try:
                self._closed = self.model.substitutions()
            except RecursionError:
                raise DerivationError(
                    f"the closed form of this {len(self.model.stages)}-stage model is nested too deeply "
                    "for SymPy to build; use form='stages' (the default), which stays linear in depth"
                ) from None
        return self._closed


def component(model_or_expr, base: IndexedBase) -> Indexed:
    """A generic component ``w[j]`` of an array parameter, with indices unused in the model.

    >>> from sympy import IndexedBase, Sum, symbols
    >>> w, x = IndexedBase('w'), IndexedBase('x')
    >>> k, m = symbols('k m')
    >>> component(Sum(w[k] * x[k], (k, 1, m)), w)
    w[j]
    """
    model = Model.coerce(model_or_expr)
    expr = model.closed_form()
    return base[tuple(_fresh_indices(expr, _index_rank(expr, base)))]
