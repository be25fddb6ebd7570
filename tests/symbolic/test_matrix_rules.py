"""Matrix gradients by the layer rules, against the component-wise derivation of the scalar core.

Two independent derivations meet here: the matrix rules (``dW = δ xᵀ``,
``δ1 = W2ᵀ δ2 ⊙ σ'(z1)``) and symgrad's scalar stage-by-stage derivation of
the same network written out component by component, at small concrete
sizes. They must agree entry by entry: exactly (SymPy proves the
difference is 0) where that is quick, in 30-digit arithmetic at random
points otherwise.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy import MatrixSymbol, Symbol

from helpers import same
from symgrad import losses, networks
from symgrad.symbolic.derive import grad as scalar_grad
from symgrad.core.functions import sigmoid
from symgrad.matrix import backprop, backward_rule, component_symbols, componentwise, dense, explicit, mlp, softmax_classifier, text
from symgrad import grad


def one_hot_substitution(model):
    """Targets of a cross-entropy sum to 1: write each sample's last target as 1 minus the others."""
    target = model.inputs[1].subs({s: 2 for s in model.sizes})
    columns = component_symbols(target)
    samples = [list(columns[:, 0])] if model.batch is None else [list(columns[i, :]) for i in range(columns.rows)]
    return {row[-1]: 1 - sp.Add(*row[:-1]) for row in samples}


def componentwise_pairs(model):
    """(scalar-core gradient, matrix-rule gradient) for every component of every parameter, both closed."""
    scalar = componentwise(model)
    for param in model.params:
        matrix = explicit(grad(model, param, form="closed"), model=model)
        components = component_symbols(param)
        by_scalar = scalar_grad(scalar, list(components), form="closed")
        for symbol, value in zip(components, matrix):
            yield symbol, by_scalar[symbol], value


def at_random_points(a, b, rng, count=3) -> bool:
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    for _ in range(count):
        point = {s: sp.Float(rng.uniform(-1.5, 1.5), 30) for s in symbols}
        if abs(float((a - b).xreplace(point).evalf(30))) > 1e-20 * (1 + abs(float(b.xreplace(point).evalf(30)))):
            return False
    return True


# -- matrix gradients = component-wise gradients ----------------------------------------------------

@pytest.mark.parametrize("model", [
    dense(3, 2, "sigmoid", loss="squared_error"),
    mlp([2, 2, 2], "tanh", loss="squared_error", weight_decay="lambda"),
    mlp([2, 2, 1], "relu", output="sigmoid", loss="squared_error", batch=True),
    softmax_classifier(3, 2),
    softmax_classifier(2, 2, batch=True),
], ids=lambda m: f"{m.name}{'-batch' if m.batch else ''}")
def test_matrix_gradient_equals_the_componentwise_derivation_exactly(model):
    substitution = one_hot_substitution(model) if model.spec["loss"] == "cross_entropy" else {}
    for symbol, by_scalar, by_matrix in componentwise_pairs(model):
        assert same(by_scalar.xreplace(substitution), by_matrix.xreplace(substitution)), symbol


@pytest.mark.parametrize("model", [
    mlp([2, 2, 2], "sigmoid", output="softmax", loss="cross_entropy", weight_decay=sp.Rational(1, 10)),
    mlp([2, 3, 2], "softplus", output="softmax", loss="cross_entropy", batch=True),
], ids=["softmax-mlp", "softmax-mlp-batch"])
def test_deeper_softmax_networks_agree_component_by_component_in_30_digits(model):
    substitution = one_hot_substitution(model)
    rng = np.random.default_rng(7)
    for symbol, by_scalar, by_matrix in componentwise_pairs(model):
        assert at_random_points(by_scalar.xreplace(substitution), by_matrix.xreplace(substitution), rng), symbol


def test_the_other_way_the_scalar_fully_connected_layer_gives_the_matrix_gradient():
    # start from the lectures' scalar layer l_j = Σ_k W_j_k x_k + b_j, f_j = σ(l_j), L = Σ ½(y_j - f_j)²
    scalar = networks.fully_connected(3, 2, sigmoid, loss=losses.half_squared_error)
    model = dense(3, 2, "sigmoid", loss="squared_error")
    rename = {Symbol(f"W1_{j}_{k}"): Symbol(f"W_{j}_{k}") for j in (1, 2) for k in (1, 2, 3)}
    rename.update({Symbol(f"b1_{j}"): Symbol(f"b_{j}") for j in (1, 2)})
    for param, names in (("W1", "W_{}_{}"), ("b1", "b_{}")):
        matrix = explicit(grad(model, param, form="closed")).xreplace(rename)
        for (j, k), value in np.ndenumerate(np.array(matrix.tolist(), dtype=object)):
            component = Symbol(names.format(j + 1, k + 1))
            assert same(scalar_grad(scalar, component, form="closed"), value), component


# -- the form a person writes ---------------------------------------------------------------------

def test_dense_layer_gradient_is_delta_x_transpose():
    b = backprop(dense(3, 2, "sigmoid", loss="squared_error"))
    assert [(text(d), text(e)) for d, e, _ in b.deltas] == [("δ1", "(ŷ - y) ⊙ σ'(z1)")]
    assert text(b.gradient("W1")) == "δ1·xᵀ"
    assert text(b.gradient("b1")) == "δ1"


def test_softmax_with_cross_entropy_gives_p_minus_y_and_the_recurrence_of_the_layers():
    m = softmax_classifier(4, 3, hidden=[5])
    b = backprop(m)
    assert [(text(d), text(e)) for d, e, _ in b.deltas] == [
        ("δ2", "p - y"),                       # dL/dz2 = p - y
        ("δ1", "(W2ᵀ·δ2) ⊙ σ'(z1)"),           # δ1 = W2ᵀ δ2 ⊙ σ'(z1)
    ]
    assert {str(p): text(g) for p, g in b.gradients.items()} == {
        "W1": "δ1·xᵀ", "b1": "δ1", "W2": "δ2·h1ᵀ", "b2": "δ2"}
    assert b.notes and "sums to 1" in b.notes[0]
    assert grad(m, "W1") == MatrixSymbol("delta1", 5, 1) * MatrixSymbol("x", 4, 1).T


def test_batch_form_transposes_the_deltas_and_sums_the_bias_over_the_samples():
    b = backprop(softmax_classifier(4, 3, hidden=[5], batch=True, weight_decay="lambda"))
    assert [(text(d), text(e)) for d, e, _ in b.deltas] == [("δ2", "(P - Y)/N"), ("δ1", "(δ2·W2) ⊙ σ'(Z1)")]
    assert {str(p): text(g) for p, g in b.gradients.items()} == {
        "W1": "δ1ᵀ·X + 2λ·W1", "b1": "δ1ᵀ·1", "W2": "δ2ᵀ·H1 + 2λ·W2", "b2": "δ2ᵀ·1"}


def test_every_gradient_has_its_parameters_shape():
    m = mlp([5, 4, 3, 2], "relu", output="softmax", loss="cross_entropy", batch=True)
    for param, gradient in grad(m).items():
        assert gradient.shape == param.shape
        assert grad(m, param, form="closed").shape == param.shape


def test_the_derivation_grows_linearly_with_depth():
    # one delta per layer, each written with the one above it: the text grows by the same amount per layer
    lengths = [sum(len(text(e)) for _, e, _ in backprop(mlp([3] * (d + 1), "tanh", loss="squared_error")).deltas)
               for d in (2, 4, 8)]
    assert lengths[2] - lengths[1] == 2 * (lengths[1] - lengths[0])


def test_matmul_rule_of_the_lecture():
    # AB = C: dA = dC Bᵀ, dB = Aᵀ dC (the slide's dB = dC Aᵀ does not even have a shape)
    A, B, dC = MatrixSymbol("A", 2, 3), MatrixSymbol("B", 3, 4), MatrixSymbol("dC", 2, 4)
    assert backward_rule(A * B, dC, A) == dC * B.T
    assert backward_rule(A * B, dC, B) == A.T * dC
    a, b, g = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4) - 5, np.linspace(-1, 1, 8).reshape(2, 4)
    # by the definition, for L = Σ G ⊙ (A B): dL/dA_ij = Σ_k G_ik B_jk and dL/dB_jk = Σ_i A_ij G_ik
    dA = np.array([[sum(g[i, k] * b[j, k] for k in range(4)) for j in range(3)] for i in range(2)])
    dB = np.array([[sum(a[i, j] * g[i, k] for i in range(2)) for k in range(4)] for j in range(3)])
    assert np.allclose(g @ b.T, dA) and np.allclose(a.T @ g, dB)


def test_least_squares_gradient_is_a_matrix_not_a_rank_4_array():
    # SymPy's own diff of (y - W x)ᵀ(y - W x) by W is a rank-4 array; the layer rules give (W x + b - y) xᵀ
    gradient = grad(dense(3, 2, loss="squared_error"), "W1", form="closed")
    assert gradient.shape == (2, 3)
    assert text(gradient) == "(W1·x + b1 - y)·xᵀ"
