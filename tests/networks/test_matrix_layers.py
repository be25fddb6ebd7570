"""Matrix models: the builders' stages and shapes, and shape errors that name the layer and the shapes."""
from __future__ import annotations

import numpy as np
import pytest
from sympy import MatrixSymbol, Symbol

from symgrad import networks
from symgrad.matrix import Elementwise, MatrixModel, batched, dense, mlp, softmax_classifier, stack
from symgrad.errors import ShapeError
from symgrad.errors import ModelError


def shapes(model) -> dict:
    return {str(s): model.shapes[s] for s in (*model.inputs, *model.params, *model.stage_symbols)}


def test_mlp_has_one_weight_matrix_and_bias_per_layer_with_the_lectures_shapes():
    # W of layer k is (units × inputs): z = W x + b maps n_(k-1) numbers to n_k
    m = mlp([4, 3, 2], "sigmoid", output="softmax", loss="cross_entropy")
    assert shapes(m) == {"x": (4, 1), "y": (2, 1), "W1": (3, 4), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1),
                         "z1": (3, 1), "h1": (3, 1), "z2": (2, 1), "p": (2, 1), "L": ()}
    assert [str(s) for s in m.params] == ["W1", "b1", "W2", "b2"]
    assert [str(s) for s in m.inputs] == ["x", "y"]
    assert str(m.closed_form()) == "cross_entropy(y, softmax(W2*sigmoid(W1*x + b1) + b2))"


def test_weight_matrix_quiz_32_inputs_8_classes():
    # lecture 004's poll: a 32-dimensional input, a distribution over 8 classes: W is 8×32 (answer B)
    m = softmax_classifier(32, 8)
    assert m.shapes[m.symbol("W1")] == (8, 32)
    assert m.shapes[m.symbol("b1")] == (8, 1)


def test_parameter_count_matches_the_scalar_count():
    m = mlp([3, 4, 2])
    total = sum(int(np.prod(m.shapes[p])) for p in m.params)
    assert total == networks.parameter_count([3, 4, 2]) == 26


def test_batch_form_has_samples_as_rows():
    m = mlp([784, 128, 10], "relu", output="softmax", loss="cross_entropy", batch=True)
    N = m.sizes[0]
    assert str(N) == "N"
    assert shapes(m)["X"] == (N, 784) and shapes(m)["Y"] == (N, 10)
    assert shapes(m)["Z1"] == (N, 128) and shapes(m)["W1"] == (128, 784)
    assert str(m.definition("Z1")) == "X*W1.T + 1*b1.T"
    assert m.batch == N
    assert batched(mlp([784, 128, 10], "relu", output="softmax", loss="cross_entropy")) == m


def test_weight_decay_adds_lambda_times_the_squared_norms():
    m = mlp([2, 2, 2], output="softmax", loss="cross_entropy", weight_decay="lambda")
    assert Symbol("lambda") in m.inputs
    assert str(m.definition("L")) == "lambda*(squared_norm(W1) + squared_norm(W2)) + cross_entropy(y, p)"


def test_networks_wrappers_build_the_same_models():
    assert networks.mlp([3, 2], "tanh", loss="squared_error") == mlp([3, 2], "tanh", loss="squared_error")
    assert networks.dense(3, 2, "relu") == dense(3, 2, "relu")


def test_stacked_layers_that_do_not_fit_name_the_layer_and_the_shapes():
    with pytest.raises(ShapeError, match=r"layer 2 takes 5 inputs but layer 1 gives 3 units: W2·h1 is undefined: "
                                         r"W2 is 2×5 and h1 is 3×1"):
        stack(dense(4, 3, "tanh"), dense(5, 2))
    assert stack(dense(4, 3, "tanh"), dense(3, 2)) == mlp([4, 3, 2], "tanh")


def test_a_stage_declared_with_the_wrong_shape_is_named():
    W, x = MatrixSymbol("W", 2, 3), MatrixSymbol("x", 3, 1)
    with pytest.raises(ShapeError, match=r"stage h is declared 3×1 but σ\(W·x\) is 2×1"):
        MatrixModel([(MatrixSymbol("h", 3, 1), Elementwise("sigmoid", W * x))], inputs=[x])
    with pytest.raises(ShapeError, match=r"stage L is a scalar but W·x is 2×1"):
        MatrixModel([(Symbol("L"), W * x)], inputs=[x])


def test_values_of_the_wrong_shape_name_the_layer():
    m = mlp([3, 4, 2], "sigmoid", output="softmax", loss="cross_entropy", batch=True)
    values = {"X": np.ones((5, 3)), "Y": np.ones((5, 2)), "W1": np.ones((4, 3)), "b1": np.ones(4),
              "W2": np.ones((4, 2)), "b2": np.ones(2)}
    with pytest.raises(ShapeError, match=r"W2 has shape 4×2 but the weights of layer 2 \(4 inputs → 2 units\) "
                                         r"must be 2×4"):
        m.bind(values)
    with pytest.raises(ShapeError, match=r"Y has 6 rows but X has 5: both must be N"):
        m.bind({**values, "W2": np.ones((2, 4)), "Y": np.ones((6, 2))})
    with pytest.raises(ShapeError, match=r"missing value for b2 \(the biases of layer 2 \(2 units\)\)"):
        m.bind({k: v for k, v in {**values, "W2": np.ones((2, 4))}.items() if k != "b2"})


def test_builders_reject_what_cannot_be_built():
    with pytest.raises(ValueError, match="at least two sizes"):
        mlp([3])
    with pytest.raises(ValueError, match="layer size 1 must be a positive integer"):
        mlp([3, 0, 2])
    with pytest.raises(ModelError, match="cross-entropy needs probabilities"):
        mlp([3, 2], loss="cross_entropy")
    with pytest.raises(ValueError, match="unknown activation 'sigmod'"):
        mlp([3, 2], "sigmod")
    with pytest.raises(ModelError, match="weight decay is added to a loss"):
        mlp([3, 2], weight_decay=0.1)
    with pytest.raises(ModelError, match="is not one scalar; add a loss"):
        _ = mlp([3, 2]).output
