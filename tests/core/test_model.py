"""Model construction, losses and networks builders, and the errors a user meets."""
from __future__ import annotations

import pytest
import sympy as sp
from sympy import IndexedBase, symbols

from helpers import same
from symgrad import Model, grad, losses, networks, sigmoid
from symgrad.errors import DerivationError, ModelError

w, x, b, y, a, f, L, z = symbols("w x b y a f L z")


def test_params_default_to_free_symbols_that_are_not_inputs():
    model = Model([(a, w * x + b), (f, sigmoid(a)), (L, (y - f) ** 2)], inputs=[x, y])
    assert set(model.params) == {w, b}
    assert model.output == L
    assert same(model.closed_form(), (y - sigmoid(w * x + b)) ** 2)
    assert same(model.closed_form(a), w * x + b)


def test_indexed_model_params_exclude_indices_and_sizes():
    model = networks.perceptron(indexed=True, loss=losses.squared_error)
    assert model.params == (IndexedBase("w"),)
    assert set(map(str, model.inputs)) == {"x", "y"}


def test_stage_referring_to_undefined_name_is_named():
    with pytest.raises(ModelError, match=r"stage a = w\*z refers to undefined name z"):
        Model([(a, w * z)], inputs=[x], params=[w])


def test_stage_used_before_it_is_defined_is_named():
    with pytest.raises(ModelError, match="stage a = f.*uses stage f, which is defined later"):
        Model([(a, f * w), (f, sigmoid(x))], inputs=[x])
    with pytest.raises(ModelError, match="uses itself"):
        Model([(a, a * w)])


def test_model_without_parameters_is_refused():
    with pytest.raises(ModelError, match=r"model has no parameters: its free symbols \(x, y\)"):
        Model.from_expr((y - x) ** 2, inputs=[x, y])


def test_other_construction_errors():
    with pytest.raises(ModelError, match="defined twice"):
        Model([(a, w * x), (a, w)])
    with pytest.raises(ModelError, match="both an input and a parameter"):
        Model([(a, w * x)], inputs=[x], params=[x])
    with pytest.raises(ModelError, match="parameter v does not appear"):
        Model([(a, w * x)], inputs=[x], params=[w, "v"])
    with pytest.raises(ModelError, match="symgrad.parse"):
        Model([(a, "w*x")])
    with pytest.raises(ModelError, match="output q is not a stage"):
        Model([(a, w * x)], output="q")


def test_grad_with_respect_to_a_stranger_is_refused():
    with pytest.raises(DerivationError, match="'z' is not a symbol of this model.*b, w, x"):
        grad(w * x + b, "z")
    with pytest.raises(DerivationError, match="not a symbol"):
        grad(w * x + b, w + b)
    with pytest.raises(DerivationError, match="unknown form"):
        grad(w * x + b, w, form="expanded")


def test_grad_accepts_names_inputs_and_stages():
    model = networks.chain(2, loss=losses.half_squared_error)
    assert grad(model, "w2") == grad(model, symbols("w2"))
    f2 = symbols("f2")
    assert same(grad(model, f2), f2 - y)  # dL/df2, a stage's adjoint
    assert grad(model, "x") != 0  # inputs can be differentiated too (saliency)


def test_model_with_several_outputs_needs_a_loss():
    layer = networks.fully_connected(2, 2)
    with pytest.raises(ModelError, match="model has 2 outputs"):
        grad(layer, "W_1_1")
    with_loss = layer.with_loss(losses.squared_error)
    grads = grad(with_loss, ["W_1_2", "b_2"], form="closed")
    x1, x2, y1, y2 = symbols("x_1 x_2 y_1 y_2")
    w11, w12, w21, w22, b1, b2 = symbols("W_1_1 W_1_2 W_2_1 W_2_2 b_1 b_2")
    # L = (y1 - l1)^2 + (y2 - l2)^2: dL/dW_12 = -2 (y1 - l1) x2, dL/db2 = -2 (y2 - l2)
    assert same(grads[w12], -2 * (y1 - (w11 * x1 + w12 * x2 + b1)) * x2)
    assert same(grads[b2], -2 * (y2 - (w21 * x1 + w22 * x2 + b2)))


def test_losses_are_the_lectures_formulas():
    yhat = symbols("yhat")
    assert losses.l1(y, yhat) == sp.Abs(y - yhat)
    assert losses.squared_error(y, yhat) == (y - yhat) ** 2
    assert losses.hinge(y, yhat) == sp.Max(0, 1 - y * yhat)
    assert losses.zero_one(1, 1) == 0 and losses.zero_one(1, -1) == 1
    # lecture 004: -log(0.7) = 0.357 (the slide rounds it down to 0.35), -log(0.1) = 2.3
    assert float(losses.cross_entropy([0, 1, 0], [0.2, 0.7, 0.1])) == pytest.approx(0.35667, abs=1e-5)
    assert float(losses.cross_entropy([0, 1, 0], [0.6, 0.1, 0.3])) == pytest.approx(2.302585, abs=1e-6)
    assert same(losses.mse([1, 3], [w, w]), ((1 - w) ** 2 + (3 - w) ** 2) / 2)
    ys, i, n = IndexedBase("y"), *symbols("i n")
    assert same(losses.mse(ys[i], w, over=(i, 1, n)), sp.Sum((ys[i] - w) ** 2, (i, 1, n)) / n)
    assert same(losses.l2_regularization([w, b], 3), 3 * (w**2 + b**2))
    with pytest.raises(ValueError, match="target has 2 components but prediction has 3"):
        losses.squared_error([1, 2], [w, b, x])


def test_hinge_and_l1_gradients_with_their_conventions():
    # hinge: d/dw max(0, 1 - y w x) = -y x where the margin is violated, 0 where it is met
    g = grad(losses.hinge(y, w * x), w)
    assert g.subs({y: 1, w: 0.1, x: 1}) == -1
    assert g.subs({y: 1, w: 2, x: 1}) == 0
    # L1: d/dw |y - w x| = x sign(w x - y)
    assert same(grad(losses.l1(y, w * x), w), x * sp.sign(w * x - y))


def test_networks_builders_stage_names():
    chain3 = networks.chain(3, sigmoid)
    assert [str(s) for s in chain3.stage_symbols] == ["a1", "f1", "a2", "f2", "a3", "f3"]
    assert set(map(str, chain3.params)) == {"w1", "w2", "w3", "b"}
    theta = networks.linear(weight="theta1", bias="theta0")
    assert same(theta.closed_form(), symbols("theta0") + symbols("theta1") * x)
    relu_chain = networks.chain(2, "relu")
    assert "relu" in str(relu_chain)
    with pytest.raises(ValueError, match="unknown activation 'sigmoidd'"):
        networks.chain(2, "sigmoidd")
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        networks.chain(0)
    with pytest.raises(ValueError, match="layer sizes"):
        networks.parameter_count([3])


def test_deep_chain_derivative_grows_linearly():
    # stage by stage, dL/dw1 of chain(D) has O(D) factors: doubling D at most doubles it (+ slack)
    sizes = {}
    for depth in (8, 16, 32):
        model = networks.chain(depth, loss=losses.half_squared_error)
        sizes[depth] = sp.count_ops(grad(model, "w1"))
    assert sizes[32] <= 2.2 * sizes[16] <= 2.2 * 2.2 * sizes[8]
    assert len(grad(networks.chain(32, loss=losses.half_squared_error))) == 33
