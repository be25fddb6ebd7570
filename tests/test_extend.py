"""An op registered at run time through symgrad.extend works in every view: softsign(z) = z/(1 + |z|).

Expected values: softsign'(z) = 1/(1 + |z|)² by hand, and central finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from matrix_by_hand import central_differences

import symgrad
from symgrad import matrix
from symgrad.extend import register_activation, unregister
from symgrad.graph import to_dot
from symgrad.graph.engine import Graph


def softsign_forward(a, out=None):
    """a/(1 + |a|)."""
    return np.divide(a, 1.0 + np.abs(a), out=out)


@pytest.fixture(scope="module")
def softsign():
    function = register_activation(
        "softsign", definition=lambda z: z / (1 + sp.Abs(z)), derivative=lambda z: 1 / (1 + sp.Abs(z)) ** 2,
        forward=softsign_forward, backward=lambda g, out, a: (g / (1.0 + np.abs(a)) ** 2,),
        label="softsign", latex=r"\operatorname{softsign}")
    yield function
    unregister("softsign")


w, x, y = sp.symbols("w x y", real=True)


def by_hand(wv, xv, yv):
    """L = (y - softsign(w x))², dL/dw = -2 (y - s) x / (1 + |w x|)², per sample."""
    a = wv * xv
    s = a / (1 + abs(a))
    return (yv - s) ** 2, -2 * (yv - s) * xv / (1 + abs(a)) ** 2


def test_grad_reads_with_the_hand_written_derivative(softsign):
    derivative = symgrad.grad(softsign(w * x), w)
    assert sp.simplify(derivative - x / (1 + sp.Abs(w * x)) ** 2) == 0
    assert "softsign" in symgrad.text(softsign(w * x))


def test_graph_forward_backward_and_label(softsign):
    graph = Graph.from_expr((y - softsign(w * x)) ** 2, inputs=[x, y])
    loss = graph.forward({w: 0.7, x: -1.5, y: 0.2})
    expected_loss, expected_grad = by_hand(0.7, -1.5, 0.2)
    assert float(loss) == pytest.approx(expected_loss, rel=1e-12)
    assert float(graph.backward()[w]) == pytest.approx(expected_grad, rel=1e-12)
    assert "softsign" in to_dot(graph).source


def test_compile_scalar(softsign):
    f = symgrad.compile((y - softsign(w * x)) ** 2, wrt=[w], inputs=[x, y])
    xs, ys = np.array([-1.5, 0.3, 2.0]), np.array([0.2, -0.4, 0.9])
    loss, grads = f(x=xs, y=ys, w=0.7)
    expected_loss, expected_grad = by_hand(0.7, xs, ys)
    assert loss == pytest.approx(expected_loss.mean(), rel=1e-12)
    assert grads["w"] == pytest.approx(expected_grad.mean(), rel=1e-12)
    assert "def softsign(" in f.source


def test_matrix_mlp_compile_model_against_finite_differences(softsign):
    model = matrix.mlp([3, 2, 2], "softsign", loss="squared_error", batch=True)
    assert "softsign(Z1)" in matrix.text(model.stages[1][1]) or "softsign" in str(model)
    compiled = symgrad.compile(model)
    rng = np.random.default_rng(3)
    values = {"X": rng.normal(size=(4, 3)), "Y": rng.normal(size=(4, 2)), "W1": rng.normal(size=(2, 3)),
              "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 2)), "b2": rng.normal(size=2)}
    loss, grads = compiled(values)
    for name in ("W1", "b1"):
        numeric = central_differences(lambda value: compiled({**values, name: value})[0], values[name])
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9)
    assert symgrad.check_gradients(model).ok


def test_verify_and_parse(softsign):
    assert symgrad.parse("softsign(w*x)") == softsign(sp.Symbol("w") * sp.Symbol("x"))
    loss = softsign(w * x)
    assert symgrad.verify(x / (1 + sp.Abs(w * x)) ** 2, loss, wrt=w).ok
    assert symgrad.verify("x/(1 + abs(w*x))**2", symgrad.parse("softsign(w*x)"), wrt="w").ok
    assert not symgrad.verify(x / (1 + sp.Abs(w * x)), loss, wrt=w).ok


def test_registering_a_taken_name_is_refused(softsign):
    with pytest.raises(ValueError, match="already in the table"):
        register_activation("softsign", lambda z: z, lambda z: 1, softsign_forward, lambda g, out, a: (g,))
