"""Compiled batched gradients of matrix models: equal to the graph's, readable source, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from symgrad.graph.engine import Graph
from symgrad.matrix import mlp, softmax_classifier
from symgrad import compile
from symgrad.errors import ModelError, ShapeError
from symgrad.errors import CompileError


@pytest.fixture
def classifier():
    return mlp([6, 5, 3], "sigmoid", output="softmax", loss="cross_entropy", weight_decay=0.01, batch=True)


def values_for(model, rng, samples=8, dtype=float):
    values = {"X": rng.normal(size=(samples, model.layers[0].inputs)).astype(dtype)}
    values["Y"] = np.eye(model.layers[-1].units, dtype=dtype)[rng.integers(0, model.layers[-1].units, samples)]
    for layer in model.layers:
        values[str(layer.weight)] = rng.normal(size=(layer.units, layer.inputs)).astype(dtype)
        values[str(layer.bias)] = rng.normal(size=layer.units).astype(dtype)
    return values


def test_compiled_equals_the_graph(classifier):
    values = values_for(classifier, np.random.default_rng(0))
    loss, grads = compile(classifier)(values)
    graph = Graph.from_model(classifier)
    assert loss == pytest.approx(graph.forward(values), rel=1e-12)
    for param, gradient in graph.backward().items():
        assert np.allclose(grads[str(param)], gradient, rtol=1e-10, atol=1e-13)
        assert grads[str(param)].shape == gradient.shape


def test_class_labels_are_taken_as_one_hot_rows(classifier):
    rng = np.random.default_rng(1)
    values = values_for(classifier, rng)
    labels = np.argmax(values["Y"], axis=1)
    f = compile(classifier)
    by_one_hot, by_labels = f(values), f({**values, "Y": labels})
    assert by_labels[0] == by_one_hot[0]
    with pytest.raises(ShapeError, match="class labels from 0 to 7, but the model has classes 0 to 2"):
        f({**values, "Y": np.arange(8)})


def test_the_source_reads_as_backprop_by_hand(classifier):
    source = compile(classifier).source
    body = source.split("def loss_and_grad")[1]
    for line in ["Z1 = X @ W1.T", "Z1 += b1.T", "H1 = sigmoid(Z1, out=Z1)",  # the activation overwrites Z1
                 "log_P = log_softmax_(Z2)", "delta2 = P - Y", "delta2 /= N",
                 "grad_W2 = delta2.T @ H1", "grad_b2 = delta2.sum(axis=0, keepdims=True).T", "delta1 = delta2 @ W2",
                 "delta1 *= H1*(1 - H1)",  # σ'(Z1) read off the forward value H1
                 "grad_W1 = delta1.T @ X", "grad_W1 += 0.02 * W1"]:
        assert f"    {line}\n" in body, line
    assert "@ W1\n" not in body  # the input's gradient δ1 W1 is never computed


def test_float32_stays_float32():
    model = softmax_classifier(4, 3, batch=True)
    values = values_for(model, np.random.default_rng(2), dtype=np.float32)
    _, grads = compile(model)(values)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_wrong_arguments_are_named(classifier):
    f = compile(classifier)
    values = values_for(classifier, np.random.default_rng(3))
    with pytest.raises(ShapeError, match=r"W1 has shape 6×5 but the weights of layer 1 \(6 inputs → 5 units\) "
                                         r"must be 5×6"):
        f({**values, "W1": values["W1"].T})
    with pytest.raises(ShapeError, match="missing value for b2"):
        f({k: v for k, v in values.items() if k != "b2"})
    with pytest.raises(ShapeError, match="got a value for 'W3'"):
        f({**values, "W3": 1.0})


def test_a_model_without_a_loss_is_not_compiled():
    with pytest.raises(Exception, match="add a loss"):
        compile(mlp([3, 2]))
    with pytest.raises(ModelError, match="parse text safely with symgrad.parse"):
        compile("z = W x")  # text is never evaluated
    assert issubclass(CompileError, ValueError)
