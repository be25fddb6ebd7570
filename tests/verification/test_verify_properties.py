"""Property: a derivative with a mistake put into it is never said to hold.

Random expressions E of w, x, b, y (+ - * /, powers, exp, log, σ, tanh, ReLU)
are differentiated by SymPy's own ``diff`` (the reference), then broken by one
perturbation P: a dropped factor, a flipped sign, a term that is zero on part
of the domain (``relu(x - 3)``, a Heaviside step) or a relative change of
1e-6. Whatever the verifier answers, it must not be "proved" or "observed".
An example is kept only where an independent evaluation (plain NumPy, the
activations written out here) shows the broken claim really differs from dE
at a point where both are real, so every kept claim is wrong.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sympy import Heaviside, symbols

from symgrad import Model, relu, sigmoid, verify
from symgrad.errors import ModelError

w, x, b, y = symbols("w x b y")

# log and division are given arguments that are real and nonzero everywhere, so that a claim
# broken where E is undefined (and so not wrong there) is not generated
_leaves = st.sampled_from([w, x, b, y, w, w, sp.Integer(2), sp.Integer(3), sp.Rational(1, 2)])
_unary = [sp.exp, lambda u: sp.log(1 + u ** 2), sigmoid, sp.tanh, relu, lambda u: u ** 2, lambda u: u ** 3,
          lambda u: -u]
_binary = [lambda u, v: u + v, lambda u, v: u - v, lambda u, v: u * v, lambda u, v: u / (1 + v ** 2)]


def _grow(children):
    unary = st.tuples(st.sampled_from(_unary), children).map(lambda t: t[0](t[1]))
    binary = st.tuples(st.sampled_from(_binary), children, children).map(lambda t: t[0](t[1], t[2]))
    return st.one_of(unary, binary)


expressions = st.recursive(_leaves, _grow, max_leaves=8)


def _drop_factor(d, k):
    term = d if d.is_Mul else next((t for t in sp.Add.make_args(d) if t.is_Mul), None)
    if term is None:
        return None
    factors = term.args
    return d.xreplace({term: sp.Mul(*(factors[:k % len(factors)] + factors[k % len(factors) + 1:]))})


PERTURBATIONS = {
    "dropped factor": _drop_factor,
    "flipped sign": lambda d, k: -d,
    "relu(x - 3)": lambda d, k: d + relu(x - 3),
    "Heaviside step": lambda d, k: d + Heaviside(w - 1 - k % 3, 0),
    "relative 1e-6": lambda d, k: (1 + sp.Float(1e-6)) * d,
}


def _plain(expr):
    """The expression with σ and ReLU written out, for NumPy alone (independent of symgrad's evaluator)."""
    return expr.replace(lambda n: isinstance(n, sigmoid), lambda n: 1 / (1 + sp.exp(-n.args[0]))).replace(
        lambda n: isinstance(n, relu), lambda n: sp.Max(0, n.args[0]))


def _really_differs(claim, truth) -> bool:
    rng = np.random.default_rng(7)
    points = {s: rng.uniform(-6, 6, 400) for s in (w, x, b, y)}
    values = []
    for expr in (claim, truth):
        f = sp.lambdify([w, x, b, y], _plain(expr), modules="numpy")
        with np.errstate(all="ignore"):
            values.append(np.asarray(f(*points.values()), dtype=float) * np.ones(400))
    c, t = values
    both = np.isfinite(c) & np.isfinite(t)
    c, t = c[both], t[both]
    return bool((np.abs(c - t) > 1e-6 * (1 + np.abs(t))).any())


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions, st.sampled_from(sorted(PERTURBATIONS)), st.integers(0, 5))
def test_a_perturbed_derivative_never_holds(expr, kind, k):
    try:  # relu(relu(w)) - relu(w) is 0 once evaluated: no model of w
        model = Model.from_expr(expr)
    except ModelError:
        model = None
    assume(model is not None and w in model.params)
    # nor for real w (the derivation's symbols are real): relu(2/(w² + 1)) = 2/(w² + 1)
    real = {s: sp.Symbol(s.name, real=True) for s in (w, x, b, y)}
    assume(real[w] in expr.xreplace(real).free_symbols)
    truth = sp.diff(expr, w)
    claim = PERTURBATIONS[kind](truth, k)
    assume(claim is not None and _really_differs(claim, truth))
    verdict = verify(claim, model, w, time_limit=0.5, deadline=10)
    assert verdict.status in ("wrong", "unchecked"), (kind, expr, claim, verdict.summary())
    assert not verdict.ok
