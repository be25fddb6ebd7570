"""leaky_relu, elu, gelu, min and binary cross-entropy in every view.

Expected values are derived by hand (written in each test) or by central
finite differences of a plain NumPy loss written here, never read off symgrad.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from matrix_by_hand import central_differences

import symgrad
from symgrad import elu, gelu, leaky_relu, matrix
from symgrad.graph import to_dot
from symgrad.graph.engine import Graph

w, x, y, b = sp.symbols("w x y b", real=True)
C = math.sqrt(2 / math.pi)


def gelu_by_hand(z):
    return 0.5 * z * (1 + np.tanh(C * (z + 0.044715 * z**3)))


def gelu_slope_by_hand(z):
    t = np.tanh(C * (z + 0.044715 * z**3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * C * (1 + 3 * 0.044715 * z * z)


@pytest.mark.parametrize("function, z, value, slope", [
    (leaky_relu, 2.0, 2.0, 1.0), (leaky_relu, -3.0, -0.03, 0.01),
    (elu, 1.5, 1.5, 1.0), (elu, -1.0, math.exp(-1) - 1, math.exp(-1)),
    (gelu, 0.0, 0.0, 0.5), (gelu, 1.0, gelu_by_hand(1.0), gelu_slope_by_hand(1.0)),
])
def test_values_and_slopes_by_hand(function, z, value, slope):
    assert float(function(sp.Float(z))) == pytest.approx(value, rel=1e-12, abs=1e-15)
    a = sp.Symbol("a", real=True)
    assert float(sp.diff(function(a), a).subs(a, z)) == pytest.approx(slope, rel=1e-12)


def test_grad_prints_the_derivatives_sensibly():
    assert symgrad.grad(leaky_relu(w * x), w) == x * sp.Piecewise((1, w * x > 0), (sp.Rational(1, 100), True))
    assert symgrad.grad(elu(w * x), w) == x * sp.Piecewise((1, w * x > 0), (sp.exp(w * x), True))
    text = symgrad.text(symgrad.grad(gelu(w * x), w))
    assert "tanh" in text and "gelu" not in text


@pytest.mark.parametrize("function, label", [(leaky_relu, "LReLU"), (elu, "ELU"), (gelu, "GELU")])
def test_graph_forward_backward_and_label(function, label):
    graph = Graph.from_expr((y - function(w * x)) ** 2, inputs=[x, y])
    xv, yv, wv = -1.3, 0.4, 0.9

    def loss(wi):
        return (yv - float(function(sp.Float(wi * xv)))) ** 2

    assert float(graph.forward({w: wv, x: xv, y: yv})) == pytest.approx(loss(wv), rel=1e-12)
    central = (loss(wv + 1e-6) - loss(wv - 1e-6)) / 2e-6
    assert float(graph.backward()[w]) == pytest.approx(central, rel=1e-7)
    assert label in to_dot(graph).source


@pytest.mark.parametrize("function", [leaky_relu, elu, gelu])
def test_compile_scalar_against_numpy_by_hand(function):
    forward = {leaky_relu: lambda z: np.where(z > 0, z, 0.01 * z), elu: lambda z: np.where(z > 0, z, np.expm1(z)),
               gelu: gelu_by_hand}[function]
    xs, ys = np.array([-2.0, -0.5, 0.7, 3.0]), np.array([0.1, -0.2, 0.5, 2.0])
    f = symgrad.compile((y - function(w * x + b)) ** 2, wrt=[w, b], inputs=[x, y])

    def loss(wv, bv):
        return np.mean((ys - forward(wv * xs + bv)) ** 2)

    value, grads = f(x=xs, y=ys, w=0.8, b=0.1)
    assert value == pytest.approx(loss(0.8, 0.1), rel=1e-12)
    assert grads["w"] == pytest.approx((loss(0.8 + 1e-6, 0.1) - loss(0.8 - 1e-6, 0.1)) / 2e-6, rel=1e-6)
    assert grads["b"] == pytest.approx((loss(0.8, 0.1 + 1e-6) - loss(0.8, 0.1 - 1e-6)) / 2e-6, rel=1e-6)


def test_leaky_relu_written_with_max_and_min_equals_the_entry():
    z = w * x
    written = sp.Max(0, z) + sp.Rational(1, 100) * sp.Min(0, z)
    for xv in (-2.0, 1.5):
        f = symgrad.compile(written, wrt=[w], inputs=[x])
        g = symgrad.compile(leaky_relu(z), wrt=[w], inputs=[x])
        assert f(x=[xv], w=0.7)[0] == pytest.approx(g(x=[xv], w=0.7)[0], rel=1e-12)
        assert f(x=[xv], w=0.7)[1]["w"] == pytest.approx(g(x=[xv], w=0.7)[1]["w"], rel=1e-12)


def test_min_graph_and_compile_with_the_tie_convention():
    # d min(a, b)/da = 1 where a < b, 0 where a > b, 1/2 at a tie (as max, SymPy's Heaviside(0) = 1/2)
    expr = sp.Min(w * x, b)
    graph = Graph.from_expr(expr, inputs=[x])
    for xv, dw, db in [(1.0, 1.0, 0.0), (3.0, 0.0, 1.0), (2.0, 0.5, 0.5)]:
        graph.forward({w: 1.0, b: 2.0, x: xv})
        grads = graph.backward()
        assert (float(grads[w]), float(grads[b])) == (dw * xv, db)
    f = symgrad.compile(expr, wrt=[w, b], inputs=[x])
    value, grads = f(x=[1.0, 3.0], w=1.0, b=2.0)
    assert value == pytest.approx(1.5) and grads["w"] == pytest.approx(0.5) and grads["b"] == pytest.approx(0.5)
    assert symgrad.parse("min(a, b)") == sp.Min(*sp.symbols("a b"))


def test_parse_new_functions():
    a = sp.Symbol("a")
    assert symgrad.parse("gelu(a)") == gelu(a)
    assert symgrad.parse("elu(a) + leaky_relu(a)") == elu(a) + leaky_relu(a)
    assert symgrad.parse(r"\operatorname{GELU}(a)") == gelu(a)


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "gelu"])
def test_matrix_mlp_compile_model_against_finite_differences(activation):
    model = matrix.mlp([3, 2, 2], activation, loss="squared_error", batch=True)
    compiled = symgrad.compile(model)
    rng = np.random.default_rng(4)
    values = {"X": rng.normal(size=(5, 3)), "Y": rng.normal(size=(5, 2)), "W1": rng.normal(size=(2, 3)),
              "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 2)), "b2": rng.normal(size=2)}
    _, grads = compiled(values)
    for name in ("W1", "b1", "W2"):
        numeric = central_differences(lambda value: compiled({**values, name: value})[0], values[name])
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9)
    assert symgrad.check_gradients(model).ok


def test_elu_and_gelu_matrix_views():
    model = matrix.mlp([3, 2, 1], activation="elu")
    assert "ELU(z1)" in str(model)
    assert r"\operatorname{ELU}" in matrix.latex(model.stages[1][1])
    assert "gelu(W1" in str(matrix.mlp([3, 2, 1], "gelu").closed_form())


def test_tanh_output_delta_is_parenthesised():
    # δ = (ŷ - y)/N ⊙ (1 - ŷ²): the template once read (ŷ - y)/N * 1.0 - ŷ*ŷ
    model = matrix.mlp([2, 2, 2], "tanh", output="tanh", loss="squared_error", batch=True)
    compiled = symgrad.compile(model)
    rng = np.random.default_rng(5)
    values = {"X": rng.normal(size=(3, 2)), "Y": rng.normal(size=(3, 2)), "W1": rng.normal(size=(2, 2)),
              "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 2)), "b2": rng.normal(size=2)}
    X, Y, W1, b1, W2, b2 = (values[k] for k in ("X", "Y", "W1", "b1", "W2", "b2"))
    H1 = np.tanh(X @ W1.T + b1)
    Yhat = np.tanh(H1 @ W2.T + b2)
    delta2 = (Yhat - Y) / 3 * (1 - Yhat**2)  # by hand
    _, grads = compiled(values)
    np.testing.assert_allclose(grads["W2"], delta2.T @ H1, rtol=1e-12)


# -- binary cross-entropy after a sigmoid -----------------------------------------------------

def bce_by_hand(X, Y, W1, b1, W2, b2):
    H1 = np.tanh(X @ W1.T + b1)
    P = 1 / (1 + np.exp(-(H1 @ W2.T + b2)))
    return -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / X.shape[0]


def test_bce_single_sample_views():
    model = matrix.mlp([2, 3, 1], "tanh", output="sigmoid", loss="binary_cross_entropy")
    assert "L = BCE(y, ŷ)" in str(model)
    derivation = matrix.backprop(model)
    assert "δ2 = ŷ - y" in str(derivation)  # p - y after a sigmoid, as softmax + cross-entropy
    assert str(symgrad.grad(model, "b2")) == "delta2"
    assert matrix.latex(model.stages[-1][1]) == r"\operatorname{BCE}\left(y, \hat{y}\right)" or \
        "BCE" in matrix.latex(model.stages[-1][1])
    result = symgrad.check_gradients(model)
    assert result.ok
    scalar = matrix.componentwise(model)
    assert "log(1 - ŷ₁)" in str(scalar)


def test_bce_batch_compile_model_against_numpy_by_hand():
    model = matrix.mlp([2, 3, 2], "tanh", output="sigmoid", loss="binary_cross_entropy", batch=True)
    compiled = symgrad.compile(model)
    rng = np.random.default_rng(6)
    values = {"X": rng.normal(size=(4, 2)), "Y": rng.integers(0, 2, size=(4, 2)).astype(float),
              "W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=3), "W2": rng.normal(size=(2, 3)),
              "b2": rng.normal(size=2)}
    loss, grads = compiled(values)
    assert loss == pytest.approx(bce_by_hand(**values), rel=1e-12)
    for name in ("W1", "b2"):
        numeric = np.zeros_like(values[name])
        for index in np.ndindex(numeric.shape):
            up, down = {**values, name: values[name].copy()}, {**values, name: values[name].copy()}
            up[name][index] += 1e-6
            down[name][index] -= 1e-6
            numeric[index] = (bce_by_hand(**up) - bce_by_hand(**down)) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-10)
    assert symgrad.check_gradients(model).ok


def test_bce_compiled_loss_is_stable_where_the_sigmoid_saturates():
    # z = ±800: σ(z) rounds to 1 or 0, but softplus(z) - y z is exact: loss 800 for a wrong label, 0 for a right one
    model = matrix.mlp([2, 2, 2], "tanh", output="sigmoid", loss="binary_cross_entropy", batch=True)
    compiled = symgrad.compile(model)
    values = {"X": np.ones((1, 2)), "Y": np.array([[0.0, 1.0]]), "W1": np.zeros((2, 2)), "b1": np.zeros(2),
              "W2": np.zeros((2, 2)), "b2": np.array([800.0, 800.0])}
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grads = compiled(values)
    assert loss == pytest.approx(800.0)
    np.testing.assert_allclose(grads["b2"], [1.0, 0.0])


def test_bce_graph_of_the_batch():
    model = matrix.mlp([2, 3, 2], "tanh", output="sigmoid", loss="binary_cross_entropy", batch=True)
    graph = Graph(model)
    rng = np.random.default_rng(7)
    values = {"X": rng.normal(size=(4, 2)), "Y": rng.uniform(0, 1, size=(4, 2)), "W1": rng.normal(size=(3, 2)),
              "b1": rng.normal(size=(3, 1)), "W2": rng.normal(size=(2, 3)), "b2": rng.normal(size=(2, 1))}
    loss = graph.forward({model.symbol(k): v for k, v in values.items()})
    flat = {**values, "b1": values["b1"].ravel(), "b2": values["b2"].ravel()}
    assert float(loss) == pytest.approx(bce_by_hand(**flat), rel=1e-12)
    assert "BCE" in to_dot(graph).source


def test_bce_needs_a_sigmoid_output():
    with pytest.raises(symgrad.ModelError, match="output='sigmoid'"):
        matrix.mlp([2, 2], "tanh", output="identity", loss="binary_cross_entropy")
