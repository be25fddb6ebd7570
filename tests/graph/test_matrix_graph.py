"""Matrix-valued graph nodes: the matrix ops, the lectures' numeric matrix examples, MLPs drawn one node per layer op.

References are the lectures' numbers (worked by hand in the comments),
SymPy's explicit matrices, and central finite differences.
"""
from __future__ import annotations

import html
import math
import shutil

import numpy as np
import pytest
import sympy as sp
from matrix_by_hand import central_differences
from sympy import MatrixSymbol

from symgrad import compile
from symgrad.core.expressions import Elementwise, Softmax
from symgrad.core.ops import MATRIX_OPS, OPS
from symgrad.graph import render, to_dot
from symgrad.graph.engine import Graph, GraphError
from symgrad.matrix import (
    BinaryCrossEntropy,
    CrossEntropy,
    HalfSquaredError,
    SquaredNorm,
    dense,
    mlp,
    softmax_classifier,
    stack,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")




# -- the matrix entries of the op table -------------------------------------------------------------

def matrix_op_cases(rng):
    """(op, arguments as arrays, the op's SymPy form over matrix symbols of the same shapes)."""
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    y = np.eye(3)[[0, 2]]
    raw = rng.uniform(0.2, 1.0, (2, 3))
    p = raw / raw.sum(axis=1, keepdims=True)
    A, B, Y, P = (MatrixSymbol(n, *v.shape) for n, v in (("A", a), ("B", b), ("Y", y), ("P", p)))
    return [
        ("matmul", [a, b], A * B, [A, B]),
        ("transpose", [a], A.T, [A]),
        ("cross_entropy", [y, p], CrossEntropy(Y, P, axis=1), [Y, P]),
        ("binary_cross_entropy", [y, p], BinaryCrossEntropy(Y, P, axis=1), [Y, P]),
        ("half_squared_error", [y, p], HalfSquaredError(Y, P, axis=1), [Y, P]),
        ("squared_norm", [a], SquaredNorm(A), [A]),
        # the fused stable forms read the scores z of the softmax or sigmoid
        ("softmax_cross_entropy", [y, a], CrossEntropy(Y, Softmax(A, axis=1), axis=1), [Y, A]),
        ("sigmoid_binary_cross_entropy", [p, a], BinaryCrossEntropy(P, Elementwise("sigmoid", A), axis=1), [P, A]),
    ]


def sympy_value(expr, symbols, arrays):
    from symgrad.matrix import explicit
    from symgrad.symbolic.components import component_symbols
    point = {}
    for s, v in zip(symbols, arrays):
        point.update({c: sp.Float(x, 30) for c, x in zip(component_symbols(s), v.ravel())})
    value = explicit(expr).xreplace(point)
    return np.array(value.tolist(), dtype=float) if hasattr(value, "tolist") else float(value)


def test_every_matrix_op_is_tested_here():
    assert {case[0] for case in matrix_op_cases(np.random.default_rng(0))} == set(MATRIX_OPS)


@pytest.mark.parametrize("index", range(len(MATRIX_OPS)), ids=lambda i: sorted(MATRIX_OPS)[i])
def test_matrix_op_forward_equals_its_sympy_form_and_backward_equals_finite_differences(index):
    rng = np.random.default_rng(index)
    name, arrays, expr, symbols = sorted(matrix_op_cases(rng))[index]
    entry = OPS[name]
    out = entry.forward(*arrays)
    assert np.allclose(out, sympy_value(expr, symbols, arrays), rtol=1e-12)
    upstream = rng.normal(size=np.shape(out)) if np.ndim(out) else 0.7
    grads = entry.backward(upstream, out, *arrays)
    for position, value in enumerate(arrays):
        def contracted(v, position=position):
            args = list(arrays)
            args[position] = v
            return float(np.sum(upstream * entry.forward(*args)))
        assert np.allclose(grads[position], central_differences(contracted, value), rtol=1e-6, atol=1e-8), name
    assert entry.label and all(f"a_{i}" in entry.latex(*[f"a_{j}" for j in range(len(arrays))])
                               for i in range(len(arrays)))


def test_matmul_backward_is_dA_dC_Bt_and_dB_At_dC():
    rng = np.random.default_rng(1)
    a, b, dc = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    da, db = OPS["matmul"].backward(dc, a @ b, a, b)
    assert np.array_equal(da, dc @ b.T) and np.array_equal(db, a.T @ dc)
    # a 1-D right factor is a column: W x, with dW = dz xᵀ (an outer product) and dx = Wᵀ dz
    x, dz = rng.normal(size=3), rng.normal(size=2)
    dw, dx = OPS["matmul"].backward(dz, a @ x, a, x)
    assert np.allclose(dw, np.outer(dz, x)) and np.allclose(dx, a.T @ dz)


# -- the lectures' numbers ---------------------------------------------------------------------------

def test_lecture_g_of_W_x_plus_b():
    # lecture 004: W = [[2,4,2],[1,3,7],[0,7,3]], x = (1,3,2), b = (-3,0,2)
    # W x = (2+12+4, 1+9+14, 0+21+6) = (18, 24, 27); + b = (15, 24, 29), then g
    g = Graph.from_model(dense(3, 3, "sigmoid"))
    g.forward(x=[1, 3, 2], W1=[[2, 4, 2], [1, 3, 7], [0, 7, 3]], b1=[-3, 0, 2])
    assert g.value("z1").tolist() == [[15.0], [24.0], [29.0]]  # a 3×1 column, as declared
    assert np.allclose(g.value("yhat"), 1 / (1 + np.exp(-np.array([15.0, 24.0, 29.0]))))
    assert g.node("z1").shape == (3, 1)


@pytest.mark.parametrize("weights, shown", [
    # softmax(W (1, 1)): W1 = [[2, 1], [-1, 0]] gives z = (3, -1), p1 = 1/(1 + e^-4) = 0.982
    ([[2, 1], [-1, 0]], (0.98, 0.02)),
    # W2 = [[0, -1], [1, 0]] gives z = (-1, 1), p1 = 1/(1 + e^2) = 0.119
    ([[0, -1], [1, 0]], (0.12, 0.88)),
])
def test_lecture_softmax_networks(weights, shown):
    g = Graph.from_model(mlp([2, 2], output="softmax"))
    p = g.forward(x=[1, 1], W1=weights, b1=[0, 0])
    assert tuple(np.round(p, 2)) == shown
    assert p.sum() == pytest.approx(1.0)


def test_lecture_cross_entropy_values_and_the_preferred_network():
    # CE of y = (0, 1, 0): -log 0.7 = 0.357 (the slide truncates to 0.35), -log 0.1 = 2.303
    y = np.array([0.0, 1.0, 0.0])
    assert OPS["cross_entropy"].forward(y, np.array([0.2, 0.7, 0.1])) == pytest.approx(-math.log(0.7))
    assert OPS["cross_entropy"].forward(y, np.array([0.6, 0.1, 0.3])) == pytest.approx(-math.log(0.1))
    # with the true label y = (1, 0), network #1 (p1 = 0.98) has the smaller loss, so it is preferred
    g = Graph.from_model(softmax_classifier(2, 2))
    first = g.forward(x=[1, 1], y=[1, 0], W1=[[2, 1], [-1, 0]], b1=[0, 0])
    second = g.forward(x=[1, 1], y=[1, 0], W1=[[0, -1], [1, 0]], b1=[0, 0])
    assert first == pytest.approx(math.log(1 + math.exp(-4)))  # -log(e^3/(e^3 + e^-1))
    assert second == pytest.approx(math.log(1 + math.exp(2)))
    assert first < second


# -- graph = compiled = finite differences -----------------------------------------------------------

def random_values(model, rng, samples=6):
    sizes = {s: samples for s in model.sizes}
    values = {}
    for s in (*model.inputs, *model.params):
        shape = tuple(int(sp.sympify(n).xreplace(sizes)) for n in model.shapes[s])
        values[str(s)] = rng.normal(size=shape) * 0.8 if shape else 0.05
    if model.spec.get("loss") == "cross_entropy":
        target = str(model.inputs[1])
        rows = values[target].shape[0] if model.batch else 1
        labels = rng.integers(0, model.layers[-1].units, rows)
        one_hot = np.eye(model.layers[-1].units)[labels]
        values[target] = one_hot if model.batch else one_hot[0]
    return values


MODELS = [
    mlp([4, 5, 3], "sigmoid", output="softmax", loss="cross_entropy", weight_decay="lambda", batch=True),
    mlp([3, 4, 4, 2], "tanh", loss="squared_error", weight_decay=0.01, batch=True),
    mlp([3, 4, 2], "relu", output="softmax", loss="squared_error", batch=True),
    mlp([3, 4, 2], "softplus", output="sigmoid", loss="squared_error", batch=True),
    softmax_classifier(4, 3, hidden=[5]),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.name}-{m.layers[0].activation}-{m.spec['loss']}")
def test_graph_compiled_and_finite_differences_agree_on_mlps(model):
    rng = np.random.default_rng(3)
    values = random_values(model, rng)
    graph = Graph.from_model(model)
    loss = graph.forward(values)
    by_graph = {str(k): v for k, v in graph.backward().items()}
    # a model of one sample compiles as its batched twin: the sample is a batch of one row, X and Y
    as_batch = {({"x": "X", "y": "Y"}.get(k, k)): (np.reshape(v, (1, -1)) if k in ("x", "y") else v)
                for k, v in values.items()}
    compiled_loss, by_compiled = compile(model)(as_batch)
    assert compiled_loss == pytest.approx(loss, rel=1e-12)
    for name in by_graph:
        def loss_at(v, name=name):
            return graph.forward({**values, name: v})
        fd = central_differences(loss_at, np.asarray(values[name], dtype=float))
        assert np.allclose(by_graph[name], fd.reshape(np.shape(by_graph[name])), rtol=1e-5, atol=1e-7), name
        assert np.allclose(by_compiled[name], by_graph[name], rtol=1e-10, atol=1e-13), name


def test_graph_of_a_matrix_model_rejects_values_of_the_wrong_shape():
    g = Graph.from_model(mlp([3, 2], loss="squared_error"))
    with pytest.raises(GraphError, match=r"W1 has shape 3×2 but the weights of layer 1 \(3 inputs → 2 units\) "
                                         r"must be 2×3"):
        g.forward(x=[1, 2, 3], y=[0, 1], W1=np.ones((3, 2)), b1=[0, 0])
    g.forward(x=[1, 2, 3], y=[0, 1], W1=np.ones((2, 3)), b1=[0, 0])
    with pytest.raises(GraphError, match="its local derivative is a Jacobian"):
        g.local_derivatives("z1")


# -- drawings -------------------------------------------------------------------------------------------

def test_an_mlp_is_drawn_one_node_per_layer_operation_with_shapes():
    model = mlp([784, 128, 10], "relu", output="softmax", loss="cross_entropy", batch=True)
    g = Graph.from_model(model)
    operations = [n.op.name for n in g.nodes if n.op]
    # X·W1ᵀ + 1·b1ᵀ: the row b1ᵀ is added to every row of the batch
    assert operations == ["transpose", "matmul", "transpose", "add", "relu", "transpose", "matmul", "transpose",
                          "add", "softmax", "softmax_cross_entropy"]
    source = to_dot(g).source
    assert "W1  128×784" in source and "Z1 N×128" in source and "P N×10" in source


def test_small_matrix_nodes_show_their_values_and_edges_their_backward_rule():
    g = Graph.from_model(stack(dense(3, 3, "sigmoid")))
    g.forward(x=[1, 3, 2], W1=[[2, 4, 2], [1, 3, 7], [0, 7, 3]], b1=[-3, 0, 2])
    source = to_dot(g, edge_labels="symbolic").source
    assert "[15, 24, 29]" in source and "[2, 4, 2]" in source
    assert "dW1 = d(W1·x)·xᵀ" in source and "dx = W1ᵀ·d(W1·x)" in source
    with pytest.raises(ValueError, match="Jacobian"):
        to_dot(g, edge_labels="numeric")


@needs_dot
def test_mlp_drawing_renders_to_png(tmp_path):
    model = softmax_classifier(4, 3, hidden=[5])
    g = Graph.from_model(model)
    g.forward(random_values(model, np.random.default_rng(0)))
    g.backward()
    path = render(g, tmp_path / "mlp.png", edge_labels="symbolic")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_matrix_edge_rules_read_as_written_by_hand():
    # Z1 = X·W1ᵀ + 1·b1ᵀ: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC, with B = W1ᵀ, so dX = d(X·W1ᵀ)·W1
    # ((W1ᵀ)ᵀ = W1, never W1ᵀᵀ); a transposed leaf's adjoint is transposed back: dW1 = d(W1ᵀ)ᵀ
    import re
    source = html.unescape(Graph.from_model(mlp([2, 2, 1], "relu", loss="squared_error", batch=True))
                           .to_dot(edge_labels="symbolic").source)
    rules = set(re.findall(r'555555">([^<]*)<', source))
    assert {"dX = d(X·W1ᵀ)·W1", "d(W1ᵀ) = Xᵀ·d(X·W1ᵀ)", "dW1 = d(W1ᵀ)ᵀ", "d(b1ᵀ) = Σ_rows dZ1",
            "dZ1 = dH1 ⊙ ReLU'(Z1)"} <= rules
    assert not any("ᵀᵀ" in rule for rule in rules)
