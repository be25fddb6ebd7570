"""The op table's conventions: softmax, the kinks, extremes, lookup errors (every entry's own rules: test_op_table.py)."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symgrad import OPS, op, relu, sigmoid, softplus
from symgrad.core.ops import op_for_function

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
