"""Regressions of matrix models on basic shapes: one output unit, width-1 layers, a tanh output, a vanished
parameter, layers without a bias, a symbolic weight-decay coefficient, and the messages of shape errors.

Expected values are worked by hand (in the comments), computed by the plain-NumPy backprop of
``matrix_by_hand`` (which does not call symgrad), by central finite differences, or by SymPy's own ``diff``.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from helpers import compiled_at
from matrix_by_hand import backprop as hand_backprop
from matrix_by_hand import central_differences
from matrix_by_hand import loss as hand_loss

import symgrad
from symgrad.errors import DerivationError
from symgrad.graph.engine import Graph
from symgrad.matrix import backprop, batched, dense, mlp, softmax_classifier, stack
from symgrad import compile, grad
from symgrad.errors import ShapeError

LAMBDA = sp.Symbol("lambda")


# -- helpers: every view of one network at one point ---------------------------------------------------

def point(model, rng, samples=3, decay_value=0.3):
    """Values for a model built by dense/mlp: a batch (samples × features) or one sample's columns."""
    rows = samples if model.batch is not None else 1
    n_in, n_out = model.layers[0].inputs, model.layers[-1].units
    X = rng.uniform(-1.5, 1.5, (rows, n_in))
    if model.spec["loss"] == "cross_entropy":
        Y = rng.dirichlet(np.ones(n_out), rows)
    else:
        Y = rng.uniform(-1.5, 1.5, (rows, n_out))
    values = {}
    for layer in model.layers:
        values[str(layer.weight)] = rng.uniform(-1.5, 1.5, (layer.units, layer.inputs))
        if layer.bias is not None:
            values[str(layer.bias)] = rng.uniform(-1.5, 1.5, (layer.units, 1))
    x, y = (str(s) for s in model.inputs[:2])
    values[x], values[y] = (X, Y) if model.batch is not None else (X.T, Y.T)
    for extra in model.inputs[2:]:  # the symbols of a weight-decay coefficient
        values[str(extra)] = decay_value
    return values


def by_hand(model, values):
    """The loss and gradients (by parameter name) of the plain-NumPy backprop."""
    batch = model.batch is not None
    x, y = (values[str(s)] for s in model.inputs[:2])
    X, Y = (x, y) if batch else (x.T, y.T)
    decay = model.spec["weight_decay"]
    if decay is not None:
        coefficient = sp.sympify(LAMBDA if decay == "lambda" else decay)
        decay = float(coefficient.subs({s: values[str(s)] for s in coefficient.free_symbols}))
    weights = [values[str(layer.weight)] for layer in model.layers]
    biases = [None if layer.bias is None else values[str(layer.bias)] for layer in model.layers]
    activations = [layer.activation for layer in model.layers]
    loss, gradients = hand_backprop(X, Y, weights, biases, activations, model.spec["loss"], decay or 0.0)
    named = {}
    for layer, (dW, db) in zip(model.layers, gradients):
        named[str(layer.weight)] = dW
        if layer.bias is not None:
            named[str(layer.bias)] = db
    return loss, named


def graph_view(model, values):
    graph = Graph.from_model(model)
    loss = graph.forward(values)
    return loss, {str(p): g for p, g in graph.backward().items()}


def assert_every_view_is(model, values, loss, gradients):
    """compiled, graph and check_gradients give ``loss`` and ``gradients``, each of its parameter's shape."""
    for view in (compiled_at, graph_view):
        got_loss, got = view(model, values)
        assert got_loss == pytest.approx(loss, rel=1e-12, abs=1e-15), view.__name__
        assert set(got) == set(gradients), view.__name__
        for name, expected in gradients.items():
            assert np.shape(got[name]) == np.shape(values[name]), (view.__name__, name)
            np.testing.assert_allclose(got[name], expected, rtol=1e-10, atol=1e-13, err_msg=name)
    check = symgrad.check_gradients(model, values)
    assert check.ok, str(check)
    for name, expected in gradients.items():
        np.testing.assert_allclose(check.values[name]["symbolic"], expected, rtol=1e-10, atol=1e-13)


# -- 1. one output unit in a batch: Y is N×1, never flattened against an N×1 prediction ----------------

ONE_OUTPUT = {"X": [[1.0, 0.0], [0.0, 1.0]], "Y": [[1.0], [2.0]], "W1": [[1.0, 1.0]], "b1": [0.0]}


def test_one_output_unit_in_a_batch_by_hand():
    # Z = X W1ᵀ + b1 = (1, 1); Z - Y = (0, -1); L = ½(0² + 1²)/2 = 0.25
    # δ = (Z - Y)/N = (0, -0.5); dW1 = δᵀX = [[0, -0.5]]; db1 = Σ δ = -0.5
    model = dense(2, 1, loss="squared_error", batch=True)
    loss, grads = compile(model)(ONE_OUTPUT)
    assert loss == 0.25
    np.testing.assert_array_equal(grads["W1"], [[0.0, -0.5]])
    np.testing.assert_array_equal(grads["b1"], [-0.5])  # given flat, returned flat
    graph_loss, graph_grads = graph_view(model, ONE_OUTPUT)
    assert graph_loss == 0.25
    np.testing.assert_array_equal(graph_grads["W1"], [[0.0, -0.5]])
    np.testing.assert_array_equal(graph_grads["b1"], [-0.5])
    check = symgrad.check_gradients(model, ONE_OUTPUT)
    assert check.ok, str(check)
    np.testing.assert_allclose(check.values["W1"]["symbolic"], [[0.0, -0.5]])


def test_a_flat_target_of_one_output_is_read_as_the_column_it_is_declared():
    model = dense(2, 1, loss="squared_error", batch=True)
    f = compile(model)
    flat = f({**ONE_OUTPUT, "Y": [1.0, 2.0]})
    assert flat[0] == 0.25
    np.testing.assert_array_equal(flat[1]["W1"], [[0.0, -0.5]])


def xor_values():
    # Goodfellow et al., Deep Learning §6.1: the XOR data, with the book's solution W = [[1, 1], [1, 1]],
    # c = (0, -1), w = (1, -2), b = 0 moved off the ReLU kinks (c = (0.1, -0.9), b = 0.05) and an
    # off-target Y so that the gradients are not zero
    return {"X": np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
            "Y": np.array([[0.0], [1.0], [1.0], [1.0]]),
            "W1": np.array([[1.0, 1.0], [1.0, 1.0]]), "b1": np.array([[0.1], [-0.9]]),
            "W2": np.array([[1.0, -2.0]]), "b2": np.array([[0.05]])}


def test_goodfellows_xor_network():
    model = mlp([2, 2, 1], "relu", loss="squared_error", batch=True)
    values = xor_values()
    # f = relu(s + 0.1) - 2 relu(s - 0.9) + 0.05 with s = x1 + x2: 0.15, 0.95, 0.95, -0.05, near XOR (0, 1, 1, 0)
    Z1 = values["X"] @ values["W1"].T + values["b1"].T
    assert np.allclose(np.maximum(Z1, 0) @ values["W2"].T + 0.05, [[0.15], [0.95], [0.95], [-0.05]])
    loss, gradients = by_hand(model, values)
    assert loss == pytest.approx(0.5 * (0.15**2 + 0.05**2 + 0.05**2 + 1.05**2) / 4)  # f - Y = 0.15, -0.05, -0.05, -1.05
    assert_every_view_is(model, values, loss, gradients)


# -- 2. width-1 layers are ordinary layers -----------------------------------------------------------

WIDTH_ONE = [
    lambda batch: dense(1, 2, loss="squared_error", batch=batch),
    lambda batch: dense(1, 1, "sigmoid", loss="squared_error", batch=batch),
    lambda batch: mlp([2, 1, 2], "tanh", loss="squared_error", batch=batch),
    lambda batch: mlp([1, 1, 1], "softplus", output="sigmoid", loss="squared_error", batch=batch),
    lambda batch: mlp([3, 1, 2], "sigmoid", output="softmax", loss="cross_entropy", batch=batch),
]


@pytest.mark.parametrize("batch", [None, True], ids=["one-sample", "batch"])
@pytest.mark.parametrize("build", WIDTH_ONE, ids=["dense(1,2)", "dense(1,1)", "mlp[2,1,2]", "mlp[1,1,1]",
                                                 "mlp[3,1,2]-softmax"])
def test_width_one_layers_in_every_view(build, batch):
    model = build(batch)
    values = point(model, np.random.default_rng(2))
    loss, gradients = by_hand(model, values)
    assert_every_view_is(model, values, loss, gradients)


def test_width_one_batch_of_one_sample():
    model = mlp([1, 1, 1], "tanh", loss="squared_error", batch=True)
    values = point(model, np.random.default_rng(4), samples=1)
    loss, gradients = by_hand(model, values)
    assert_every_view_is(model, values, loss, gradients)


# -- 3. a tanh output layer: f'(Z) = 1 - YHAT², parenthesised in the compiled code --------------------

@pytest.mark.parametrize("output", ["tanh", "sigmoid", "softplus", "relu"])
def test_an_activated_output_layer_in_the_compiled_code(output):
    model = mlp([2, 3, 2], "sigmoid", output=output, loss="squared_error", batch=True)
    values = point(model, np.random.default_rng(5), samples=4)
    loss, gradients = by_hand(model, values)
    assert_every_view_is(model, values, loss, gradients)


def test_a_tanh_output_by_hand():
    # one sample, W = 0, b = atanh(0.5): yhat = 0.5, y = 0; δ = (yhat - y)(1 - yhat²) = 0.5 · 0.75 = 0.375
    model = dense(1, 1, "tanh", loss="squared_error", batch=True)
    _, grads = compile(model)({"X": [[2.0]], "Y": [[0.0]], "W1": [[0.0]], "b1": [np.arctanh(0.5)]})
    np.testing.assert_allclose(grads["b1"], [0.375], rtol=1e-14)
    np.testing.assert_allclose(grads["W1"], [[0.75]], rtol=1e-14)  # δ x = 0.375 · 2


# -- 4. a parameter SymPy evaluates away has gradient 0 -------------------------------------------------

p0, p1, x = sp.symbols("p0 p1 x")


def test_a_parameter_simplified_away_has_gradient_zero():
    # relu(-relu(p0 p1)) is 0 for every real p0, p1 (relu of a non-positive number)
    expr = symgrad.relu(-symgrad.relu(p0 * p1))
    assert symgrad.grad(expr, p0) == 0
    assert symgrad.grad(expr, [p0, "p1"]) == {p0: 0, p1: 0}
    assert symgrad.grad(expr + x * p0, [p0, p1]) == {p0: x, p1: 0}
    # SymPy's diff agrees once it knows the symbols are real
    real = {s: sp.Symbol(s.name, real=True) for s in (p0, p1)}
    assert sp.diff(expr.xreplace(real), real[p0]) == 0


def test_an_absent_symbol_has_gradient_zero_but_a_misspelled_name_is_an_error():
    assert symgrad.grad(p1**2, p0) == sp.diff(p1**2, p0) == 0
    assert symgrad.grad(sp.Integer(0), [p0]) == {p0: 0}
    with pytest.raises(DerivationError, match=r"cannot differentiate with respect to p2: 'p2' is not a symbol"):
        symgrad.grad(p1**2, "p2")
    with pytest.raises(DerivationError, match=r"'p0': the expression is a constant"):
        symgrad.grad(sp.Integer(0), "p0")
    with pytest.raises(DerivationError, match="w9 is not a symbol of this model"):
        symgrad.grad(symgrad.networks.chain(2), sp.Symbol("w9"))  # a model's symbols are declared


# -- 5. layers without a bias ---------------------------------------------------------------------------

def test_layers_without_a_bias_print_and_derive():
    model = mlp([3, 2, 1], "tanh", loss="squared_error", bias=False)
    assert str(model) == ("z1 = W1·x       (2×1)\n"
                          "h1 = tanh(z1)   (2×1)\n"
                          "z2 = W2·h1      (1×1)\n"
                          "L = ½‖z2 - y‖²")
    assert [str(p) for p in model.params] == ["W1", "W2"]
    rules = str(backprop(model))
    assert "dL/dW1 = ((W2ᵀ·δ2) ⊙ tanh'(z1))·xᵀ" in rules and "db" not in rules
    assert str(grad(model, "W2")) == "delta2*h1.T"
    with pytest.raises(DerivationError, match="'b1' is not a symbol of this model"):
        grad(model, "b1")
    assert "b1" not in model.latex()


NO_BIAS = [
    lambda batch: dense(2, 3, "sigmoid", loss="squared_error", batch=batch, bias=False),
    lambda batch: mlp([3, 2, 2], "relu", output="softmax", loss="cross_entropy", batch=batch, bias=False),
    lambda batch: softmax_classifier(3, 2, hidden=[2], batch=batch, bias=False),
    lambda batch: stack(dense(2, 3, "tanh", bias=False), dense(3, 1), loss="squared_error", batch=batch),
]


@pytest.mark.parametrize("batch", [None, True], ids=["one-sample", "batch"])
@pytest.mark.parametrize("build", NO_BIAS, ids=["dense", "mlp", "softmax_classifier", "stack"])
def test_layers_without_a_bias_in_every_view(build, batch):
    model = build(batch)
    values = point(model, np.random.default_rng(6))
    loss, gradients = by_hand(model, values)
    assert_every_view_is(model, values, loss, gradients)


def test_stack_and_batched_keep_each_layers_bias():
    model = stack(dense(2, 3, "tanh", bias=False), dense(3, 1))
    assert [str(p) for p in model.params] == ["W1", "W2", "b2"]
    assert [str(p) for p in batched(model).params] == ["W1", "W2", "b2"]
    assert [str(p) for p in batched(mlp([2, 2], bias=False)).params] == ["W1"]
    with pytest.raises(ValueError, match="bias must be True or False"):
        dense(2, 2, bias="no")


# -- 6. a symbolic weight-decay coefficient ------------------------------------------------------------

@pytest.mark.parametrize("decay", [LAMBDA / 2, "lambda", 0.05], ids=["λ/2", "'lambda'", "0.05"])
@pytest.mark.parametrize("batch", [None, True], ids=["one-sample", "batch"])
def test_weight_decay_in_every_view(decay, batch):
    model = mlp([2, 3, 1], "tanh", loss="squared_error", weight_decay=decay, batch=batch)
    if decay == 0.05:
        assert len(model.inputs) == 2
    else:
        assert [str(s) for s in model.inputs[2:]] == ["lambda"]
    values = point(model, np.random.default_rng(7))
    loss, gradients = by_hand(model, values)
    assert_every_view_is(model, values, loss, gradients)


def test_weight_decay_coefficient_prints_and_derives():
    model = mlp([2, 1], loss="squared_error", weight_decay=LAMBDA / 2)
    assert str(model).splitlines()[-1] == "L = ½‖z1 - y‖² + λ·‖W1‖²/2"
    assert "dL/dW1 = δ1·xᵀ + λ·W1" in str(backprop(model))  # d(λ/2 ‖W‖²)/dW = λ W
    # the gradient changes with λ as 2 · (λ/2) · W: compare two values of λ
    values = point(model, np.random.default_rng(8))
    f = compile(model)
    as_batch = {**values, "X": values["x"].T, "Y": values["y"].T}
    del as_batch["x"], as_batch["y"]
    at_0 = f({**as_batch, "lambda": 0.0})[1]["W1"]
    at_1 = f({**as_batch, "lambda": 1.0})[1]["W1"]
    np.testing.assert_allclose(at_1 - at_0, values["W1"], rtol=1e-12)


def test_weight_decay_errors_name_the_coefficient():
    with pytest.raises(symgrad.ModelError, match=r"W1, the weight-decay strength, is already a name"):
        mlp([2, 1], loss="squared_error", weight_decay="W1")
    with pytest.raises(symgrad.ModelError, match=r"N, a symbol of the weight-decay coefficient N/2, is already"):
        mlp([2, 1], loss="squared_error", weight_decay=sp.Symbol("N") / 2, batch=True)
    with pytest.raises(ValueError, match="neither a number nor a symbol name"):
        mlp([2, 1], loss="squared_error", weight_decay="lambda/2")
    with pytest.raises(ValueError, match="real scalar"):
        mlp([2, 1], loss="squared_error", weight_decay=sp.I)
    with pytest.raises(ShapeError, match="missing value for lambda"):
        compile(mlp([2, 1], loss="squared_error", weight_decay="lambda", batch=True))(
            X=[[1.0, 2.0]], Y=[[1.0]], W1=[[1.0, 1.0]], b1=[0.0])


# -- 7. shape errors name the layer and both shapes -------------------------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("W1", np.ones((1, 2)), r"W1 has shape 1×2 but the weights of layer 1 \(1 input → 2 units\) must be 2×1"),
    ("b1", np.ones(3), r"b1 has shape 3×1 but the biases of layer 1 \(2 units\) must be 2×1"),
    ("Y", np.ones((4, 2)), r"Y has 4 rows but X has 3: both must be N"),
])
def test_shape_errors_name_the_layer_and_both_shapes(name, value, message):
    model = dense(1, 2, loss="squared_error", batch=True)
    values = point(model, np.random.default_rng(9))
    with pytest.raises(ShapeError, match=message):
        compile(model)({**values, name: value})
    with pytest.raises(symgrad.GraphError, match=message):
        Graph.from_model(model).forward({**values, name: value})


def test_a_stack_mismatch_names_both_layers_in_the_singular():
    with pytest.raises(ShapeError, match=r"layer 2 takes 1 input but layer 1 gives 3 units: W2·h1 is undefined: "
                                         r"W2 is 2×1 and h1 is 3×1"):
        stack(dense(4, 3, "tanh"), dense(1, 2))


def test_finite_differences_agree_with_the_hand_backprop():
    # the reference itself, checked once: the hand backprop against central differences of the hand loss
    values = xor_values()
    weights, biases = [values["W1"], values["W2"]], [values["b1"], values["b2"]]
    _, gradients = hand_backprop(values["X"], values["Y"], weights, biases, ["relu", "identity"],
                                 "squared_error", 0.1)
    for k in range(2):
        def at(W, k=k):
            changed = list(weights)
            changed[k] = W
            return hand_loss(values["X"], values["Y"], changed, biases, ["relu", "identity"], "squared_error", 0.1)
        np.testing.assert_allclose(gradients[k][0], central_differences(at, weights[k]), rtol=1e-6, atol=1e-9)
