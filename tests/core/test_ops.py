"""Every entry of the operations table: NumPy forward = SymPy form, backward = sympy.diff = finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symgrad import OPS, op, relu, sigmoid, softplus
from symgrad.core.ops import MATRIX_OPS, op_for_function

# the matrix operations have their own tests, over matrices (tests/test_matrix_ops.py)
SCALAR_OPS = [o for o in OPS.values() if o.name != "softmax" and o.name not in MATRIX_OPS]


def _arity(entry):
    return 3 if entry.arity is None else entry.arity


def _points(entry, rng, count=5):
    """Random argument tuples inside the op's domain, away from kinks and ties."""
    n = _arity(entry)
    for _ in range(count):
        values = rng.uniform(-2.0, 2.0, size=n)
        if entry.domain == "positive":
            values[0] = rng.uniform(0.3, 3.0)
        if entry.domain == "nonzero":
            values[-1] = rng.choice([-1, 1]) * rng.uniform(0.5, 2.0)
        if entry.name in ("abs", "relu"):
            values[0] = rng.choice([-1, 1]) * rng.uniform(0.2, 2.0)
        yield values


def _sympy_value(expr, symbols, values):
    return float(expr.subs(dict(zip(symbols, values))).rewrite(sp.exp).evalf(30))


@pytest.mark.parametrize("entry", SCALAR_OPS, ids=lambda o: o.name)
def test_forward_matches_sympy_form(entry):
    rng = np.random.default_rng(1)
    symbols = sp.symbols(f"a0:{_arity(entry)}", real=True)
    expr = entry.sympy(*symbols)
    for values in _points(entry, rng):
        assert entry.forward(*values) == pytest.approx(_sympy_value(expr, symbols, values), rel=1e-12)


@pytest.mark.parametrize("entry", SCALAR_OPS, ids=lambda o: o.name)
def test_backward_matches_sympy_diff_and_finite_differences(entry):
    rng = np.random.default_rng(2)
    symbols = sp.symbols(f"a0:{_arity(entry)}", real=True)
    expr = entry.sympy(*symbols)
    for values in _points(entry, rng):
        out = entry.forward(*values)
        grads = entry.backward(1.0, out, *values)
        assert len(grads) == len(values)
        for i, symbol in enumerate(symbols):
            symbolic = _sympy_value(sp.diff(expr, symbol), symbols, values)
            assert float(grads[i]) == pytest.approx(symbolic, rel=1e-10, abs=1e-12)
            h = 1e-6
            up, down = values.copy(), values.copy()
            up[i] += h
            down[i] -= h
            central = (entry.forward(*up) - entry.forward(*down)) / (2 * h)
            assert float(grads[i]) == pytest.approx(central, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("entry", OPS.values(), ids=lambda o: o.name)
def test_every_op_has_a_label_and_latex(entry):
    assert entry.label
    args = [f"a_{i}" for i in range(_arity(entry))]
    assert all(a in entry.latex(*args) for a in args)


def test_softmax_forward_and_backward_match_sympy():
    z = sp.symbols("z0:3", real=True)
    probabilities = [sp.exp(zi) / sum(sp.exp(zj) for zj in z) for zi in z]
    values = np.array([0.3, -1.2, 2.0])
    subs = dict(zip(z, values))
    out = OPS["softmax"].forward(values)
    assert out == pytest.approx([float(p.subs(subs)) for p in probabilities], rel=1e-12)
    g = np.array([0.5, -1.0, 2.0])
    (vjp,) = OPS["softmax"].backward(g, out, values)
    jacobian = np.array([[float(sp.diff(p, zj).subs(subs)) for zj in z] for p in probabilities])
    assert vjp == pytest.approx(g @ jacobian, rel=1e-10)


def test_conventions_at_kinks_match_the_symbolic_side():
    a, b = sp.symbols("a b", real=True)
    # relu'(0) = 0
    assert sp.diff(relu(a), a).subs(a, 0) == 0
    assert OPS["relu"].backward(1.0, 0.0, 0.0)[0] == 0
    # abs'(0) = 0
    assert sp.diff(sp.Abs(a), a).subs(a, 0) == 0
    assert OPS["abs"].backward(1.0, 0.0, 0.0)[0] == 0
    # max at a tie: half to each side, as SymPy's Heaviside(0) = 1/2
    assert sp.diff(sp.Max(a, b), a).subs({a: 1, b: 1}) == sp.Rational(1, 2)
    assert OPS["max"].backward(1.0, 1.0, 1.0, 1.0) == (0.5, 0.5)


def test_stable_numpy_forward_at_extremes():
    # overflow, 0/0 and log(0) are errors here; underflow to 0 is the right answer
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert OPS["sigmoid"].forward(np.array([1000.0, -1000.0])).tolist() == [1.0, 0.0]
        assert OPS["softplus"].forward(np.array([1000.0]))[0] == 1000.0
        assert OPS["softmax"].forward(np.array([1000.0, 0.0])).tolist() == [1.0, 0.0]


def test_lookup_errors_name_the_known_ops():
    with pytest.raises(KeyError, match="unknown operation 'sigmod'.*sigmoid"):
        op("sigmod")
    assert op_for_function(sigmoid) is OPS["sigmoid"]
    assert op_for_function(softplus) is OPS["softplus"]
