"""The four-way gradient check: the methods agree on the lectures' examples, and a broken method is reported.

The expected numbers are the lectures' own (worked out by hand in the
comments) or independent NumPy computations, never the check's output.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from sympy import MatrixSymbol, Symbol

import symgrad.check as check_module
from symgrad import lectures
from symgrad.check import TOLERANCES, check_gradients, matrix_point
from symgrad.matrix import Elementwise, HalfSquaredError, MatrixModel, mlp, softmax_classifier

METHODS = ("symbolic", "graph", "compiled", "finite differences")


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


# -- scalar models -----------------------------------------------------------------------------

def test_scalar_lecture_graph_q_z_f_agrees_with_the_slide():
    # lecture 004: x = -2, y = 5, r = -4: q = 3, z = 4, f = z r; df/dx = df/dy = r = -4, df/dr = z = 4
    example = lectures.example("graph-qzf")
    table = check_gradients(example.model, example.values)
    assert table.ok and not table.matrix
    for name, slide in {"x": -4.0, "y": -4.0, "r": 4.0}.items():
        for method in METHODS:
            assert table.values[name][method] == pytest.approx(slide, abs=1e-6)
    text = str(table)
    assert text.splitlines()[0].split() == ["parameter", "symbolic", "graph", "compiled", "finite", "differences"]
    assert "all agree" in text


def test_scalar_chain3_at_the_lectures_point_agrees_four_ways():
    example = lectures.example("chain3")
    table = check_gradients(example.model, example.values)
    assert table.ok
    assert table.max_relative_error < TOLERANCES["finite differences"]
    assert set(table.values) == {"w1", "w2", "w3", "b"}


def test_scalar_broken_method_is_reported(monkeypatch):
    example = lectures.example("graph-qzf")
    honest = check_module._compiled

    def off_by_a_little(model, point):
        grads = honest(model, point)
        grads["r"] += 1e-3
        return grads

    monkeypatch.setattr(check_module, "_compiled", off_by_a_little)
    table = check_gradients(example.model, example.values)
    assert not table.ok and not bool(table)
    assert table.disagreements() == ["r: compiled gives 4.001, symbolic 4"]
    assert "DISAGREE: r: compiled gives 4.001" in str(table)
    assert "<b>" not in table._repr_html_() and "disagree" in table._repr_html_()


def test_scalar_nan_from_a_method_is_a_disagreement_not_a_pass(monkeypatch):
    monkeypatch.setattr(check_module, "_compiled", lambda model, point: {"x": np.nan, "y": -4.0, "r": 4.0})
    table = check_gradients(lectures.model("graph-qzf"), lectures.example("graph-qzf").values)
    assert not table.ok
    assert table.max_relative_error == np.inf
    assert table.disagreements() == ["x: compiled gives nan, symbolic -4"]


def test_scalar_check_refuses_an_array_for_a_point():
    with pytest.raises(ValueError, match="x must be a number"):
        check_gradients(lectures.model("graph-qzf"), {"x": [1.0, 2.0]})


# -- matrix models -----------------------------------------------------------------------------

def test_softmax_network_1_of_the_lecture():
    # lecture 004, network #1: z = W x = (3, -1), p = softmax(z) = (0.98, 0.02), y = (1, 0)
    example = lectures.example("softmax-classifier")
    table = check_gradients(example.model, example.values)
    assert table.ok and table.matrix
    p = softmax(np.array([3.0, -1.0]))
    assert p[0] == pytest.approx(0.98, abs=0.005)
    delta = (p - np.array([1.0, 0.0])).reshape(2, 1)  # dL/dz = p - y
    for method in METHODS:
        np.testing.assert_allclose(table.values["b1"][method], delta, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(table.values["W1"][method], delta @ np.ones((1, 2)), rtol=1e-6, atol=1e-9)
    assert table.shapes == {"W1": (2, 2), "b1": (2, 1)}


def test_dense_3x3_with_the_slides_numbers():
    # lecture 004: W x = (18, 24, 27), + b = (15, 24, 29); the sigmoid saturates
    example = lectures.example("dense-3x3")
    table = check_gradients(example.model, example.values)
    assert table.ok
    W = np.array([[2, 4, 2], [1, 3, 7], [0, 7, 3]], dtype=float)
    x, b, y = np.array([1.0, 3.0, 2.0]), np.array([-3.0, 0.0, 2.0]), np.array([0.0, 1.0, 0.0])
    z = W @ x + b
    assert z.tolist() == [15.0, 24.0, 29.0]
    slope = np.exp(-z) / (1 + np.exp(-z)) ** 2  # σ'(z) = σ(z)(1 - σ(z)), without cancelling near σ = 1
    delta = (sigmoid(z) - y) * slope  # half squared error after σ
    np.testing.assert_allclose(table.values["W1"]["symbolic"], np.outer(delta, x), rtol=1e-9, atol=1e-25)
    # the graph and the compiled code read σ'(z) off the forward value as h(1 - h), which near h = 1
    # keeps about 1e-16 absolute precision: enough, as the check's max(1, |g|) scale says
    for method in ("graph", "compiled", "finite differences"):
        np.testing.assert_allclose(table.values["W1"][method], np.outer(delta, x), rtol=1e-6, atol=1e-10)
    assert np.abs(table.values["W1"]["symbolic"]).max() < 1e-5  # vanishing gradients


def test_mlp_example_and_random_points_agree():
    example = lectures.example("mlp")
    assert check_gradients(example.model, example.values).ok
    for seed in range(3):
        table = check_gradients(example.model, seed=seed)
        assert table.ok, str(table)
        # a cross-entropy target drawn at random is a distribution, as the p - y rule assumes
        assert table.point["y"].sum() == pytest.approx(1.0)


def test_batched_model_with_weight_decay_symbol_and_a_given_batch():
    model = mlp([3, 4, 2], "tanh", loss="squared_error", weight_decay="lambda", batch=True)
    X = np.random.default_rng(1).normal(size=(5, 3))
    table = check_gradients(model, {"X": X, "lambda": 0.1})
    assert table.ok
    assert table.point["Y"].shape == (5, 2)  # the batch size comes from the given X
    classifier = softmax_classifier(3, 2, hidden=[4], activation="relu", weight_decay=0.01, batch=4)
    assert check_gradients(classifier, seed=2).ok


def test_a_model_that_cannot_be_compiled_shows_the_compiled_column_as_unavailable():
    W, x, y = MatrixSymbol("W", 2, 3), MatrixSymbol("x", 3, 1), MatrixSymbol("y", 2, 1)
    h = MatrixSymbol("h", 2, 1)
    model = MatrixModel([(h, Elementwise("tanh", W * x)), (Symbol("L"), HalfSquaredError(y, h))], inputs=[x, y])
    table = check_gradients(model, seed=3)
    assert table.ok
    assert table.values["W"]["compiled"] is None
    assert any(note.startswith("compiled: not available") for note in table.notes)
    assert "—" in str(table)


def test_matrix_table_is_labelled():
    example = lectures.example("mlp")
    text = str(check_gradients(example.model, example.values))
    header = text.splitlines()[0]
    for label in ("parameter", "shape", "symbolic ‖g‖", "graph max|Δ|", "compiled max|Δ|",
                  "finite differences max|Δ|", "max rel. error"):
        assert label in header
    assert "Frobenius norm" in text and "all agree" in text
    rows = {line.split()[0]: line.split()[1] for line in text.splitlines()[1:5]}
    assert rows == {"W1": "4×3", "b1": "4×1", "W2": "2×4", "b2": "2×1"}


def _perturbed(method, change):
    honest = getattr(check_module, method)

    def broken(*args):
        result = honest(*args)
        grads = result[0] if isinstance(result, tuple) else result
        change(grads)
        return result
    return broken


def test_one_wrong_matrix_entry_from_the_graph_is_reported(monkeypatch):
    def nudge(grads):
        grads["W1"] = grads["W1"].copy()
        grads["W1"][1, 2] += 1e-4
    monkeypatch.setattr(check_module, "_graph_matrix", _perturbed("_graph_matrix", nudge))
    example = lectures.example("mlp")
    table = check_gradients(example.model, example.values)
    assert not table.ok
    [message] = table.disagreements()
    assert message.startswith("W1: graph gives") and "at entry (1, 2)" in message
    assert table.errors["W1"]["graph"] == pytest.approx(1e-4, rel=1e-3)
    assert table.errors["W1"]["compiled"] < TOLERANCES["compiled"]
    assert "DISAGREE" in str(table)
    assert "disagree" in table._repr_html_()


def test_nan_missing_or_misshapen_gradients_are_reported(monkeypatch):
    example = lectures.example("softmax-classifier")

    def nan(grads):
        grads["b1"] = np.full_like(grads["b1"], np.nan)
    monkeypatch.setattr(check_module, "_compiled_matrix", _perturbed("_compiled_matrix", nan))
    table = check_gradients(example.model, example.values)
    assert not table.ok and table.max_relative_error == np.inf
    assert table.disagreements()[0].startswith("b1: compiled gives nan")
    monkeypatch.undo()

    monkeypatch.setattr(check_module, "_graph_matrix", _perturbed("_graph_matrix", lambda g: g.pop("W1")))
    table = check_gradients(example.model, example.values)
    assert [m.split(" gives")[0] for m in table.disagreements()] == ["W1: graph"]
    monkeypatch.undo()

    def transposed(grads):
        grads["W1"] = np.array([[1.0, 2.0, 3.0]])
    monkeypatch.setattr(check_module, "_finite_differences_matrix",
                        _perturbed("_finite_differences_matrix", transposed))
    table = check_gradients(example.model, example.values)
    assert table.disagreements() == ["W1: finite differences gives a 1×3 gradient, symbolic 2×2"]


def test_a_target_that_is_not_a_distribution_breaks_p_minus_y_and_the_check_says_so():
    # dL/dz = p - y needs sum(y) = 1; with y = (1, 1) the graph and the differences give p·sum(y) - y
    values = dict(lectures.example("softmax-classifier").values, y=(1.0, 1.0))
    table = check_gradients(lectures.model("softmax-classifier"), values)
    assert not table.ok
    flagged = {message.split(" gives")[0] for message in table.disagreements()}
    assert flagged == {"W1: graph", "W1: finite differences", "b1: graph", "b1: finite differences"}
    p = softmax(np.array([3.0, -1.0]))
    np.testing.assert_allclose(table.values["b1"]["graph"].ravel(), 2 * p - 1, rtol=1e-9)
    assert any("each target sums to 1" in note for note in table.notes)


def test_matrix_check_as_json():
    example = lectures.example("softmax-classifier")
    data = json.loads(json.dumps(check_gradients(example.model, example.values).to_dict()))
    assert data["ok"] is True
    assert data["point"]["W1"] == [[2.0, 1.0], [-1.0, 0.0]]
    assert data["shapes"] == {"W1": [2, 2], "b1": [2, 1]}
    assert set(data["relative_errors"]["b1"]) == {"graph", "compiled", "finite differences"}


def test_matrix_point_keeps_given_values_and_checks_shapes():
    model = lectures.model("dense-3x3")
    point = matrix_point(model, {"x": [1, 3, 2]}, seed=0)
    assert point["x"].tolist() == [[1.0], [3.0], [2.0]]
    assert point["W1"].shape == (3, 3) and list(point) == ["x", "y", "W1", "b1"]
    with pytest.raises(Exception, match="x has shape 2×1 but the input"):
        matrix_point(model, {"x": [1, 3]})
