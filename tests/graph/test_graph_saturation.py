"""The graph engine at saturated points: finite, right values and gradients where the maths has them.

σ(40) is 1 to double precision, so the slides' form log(1 - σ(40)) is log(0);
the engine computes it with the op table's fused stable forms. References:
mpmath with 50 digits beyond what the point needs (1 - σ(1000) = e^-1000 needs
435 more), for values, and derivatives by mpmath.diff or the hand derivation
written next to each; never the engine's own output.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from symgrad import networks, sigmoid
from symgrad.layers import mlp, softmax_classifier
from symgrad.cli import main
from symgrad.core.model import Model
from symgrad.graph.engine import Graph
from symgrad.graph import to_dot



@pytest.fixture(autouse=True)
def _precise():
    # 1 - σ(a) cancels about a/ln(10) digits: 435 at a = 1000, plus 50 significant ones
    with mpmath.workdps(500):
        yield

SATURATED = [40.0, -40.0, 100.0, -100.0, 745.0, -745.0, 1000.0, -1000.0]
w, x, y, u, v, t = sp.symbols("w x y u v t")


def close(value, reference) -> bool:
    """Equal to 1e-12 relative; a reference below the double range (e^-1000) is 0 or subnormal."""
    return value == pytest.approx(float(reference), rel=1e-12, abs=1e-300) and np.isfinite(value)


def m_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def run(expr, values, inputs=()):
    graph = Graph.from_expr(expr, inputs=inputs)
    loss = graph.forward(values)
    return loss, graph.backward()


# -- log(1 - σ(a)) and log σ(a), a = w x with w = 1 ----------------------------------------------

@pytest.mark.parametrize("a", SATURATED)
def test_log_one_minus_sigmoid(a):
    f = lambda weight: mpmath.log(1 - m_sigmoid(weight * mpmath.mpf(a)))
    loss, grads = run(sp.log(1 - sigmoid(w * x)), {w: 1.0, x: a}, inputs=[x])
    assert close(loss, f(1))
    assert close(grads[w], mpmath.diff(f, 1))  # = -x σ(w x)


@pytest.mark.parametrize("a", SATURATED)
def test_log_sigmoid(a):
    f = lambda weight: mpmath.log(m_sigmoid(weight * mpmath.mpf(a)))
    loss, grads = run(sp.log(sigmoid(w * x)), {w: 1.0, x: a}, inputs=[x])
    assert close(loss, f(1))
    assert close(grads[w], mpmath.diff(f, 1))  # = x σ(-w x)


# -- log-sum-exp of two and of three scores -----------------------------------------------------

def m_logsumexp(*scores):
    return mpmath.log(sum(mpmath.exp(s) for s in scores))


@pytest.mark.parametrize("a", SATURATED)
def test_logsumexp_of_two_scores(a):
    scores = (mpmath.mpf(a), mpmath.mpf(a) / 2)
    loss, grads = run(sp.log(sp.exp(u) + sp.exp(v)), {u: a, v: a / 2})
    assert close(loss, m_logsumexp(*scores))
    # d/du_i log Σ e^(u_j) = e^(u_i) / Σ e^(u_j)
    for symbol, score in zip((u, v), scores):
        assert close(grads[symbol], mpmath.exp(score) / sum(mpmath.exp(s) for s in scores))


@pytest.mark.parametrize("a", SATURATED)
def test_logsumexp_of_three_scores(a):
    point = {u: a, v: a - 3.0, t: 0.25 * a}
    scores = [mpmath.mpf(point[s]) for s in (u, v, t)]
    loss, grads = run(sp.log(sp.exp(u) + sp.exp(v) + sp.exp(t)), point)
    assert close(loss, m_logsumexp(*scores))
    for symbol, score in zip((u, v, t), scores):
        assert close(grads[symbol], mpmath.diff(lambda s: m_logsumexp(*[s if p == score else p for p in scores]),
                                                score))


# -- binary cross-entropy of a sigmoid, as one expression -----------------------------------------

@pytest.mark.parametrize("label", [0.0, 1.0])
@pytest.mark.parametrize("a", SATURATED)
def test_binary_cross_entropy_of_a_sigmoid(a, label):
    def f(weight):
        p = m_sigmoid(weight * mpmath.mpf(a))
        return -(label * mpmath.log(p) + (1 - label) * mpmath.log(1 - p))
    expr = -(y * sp.log(sigmoid(w * x)) + (1 - y) * sp.log(1 - sigmoid(w * x)))
    loss, grads = run(expr, {w: 1.0, x: a, y: label}, inputs=[x, y])
    assert close(loss, f(1))
    assert close(grads[w], mpmath.diff(f, 1))  # = x (σ(w x) - y)


def test_the_same_fused_from_named_stages_shows_the_stage_gradient():
    # a1 = w x, f1 = σ(a1), L = BCE: the fused nodes read a1; the stage f1 still shows dL/df1
    a1, f1, L = sp.symbols("a1 f1 L")
    model = Model([(a1, w * x), (f1, sigmoid(a1)), (L, -(y * sp.log(f1) + (1 - y) * sp.log(1 - f1)))],
                  inputs=[x, y], params=[w])
    graph = Graph.from_model(model)
    for a, label in ((40.0, 0.0), (-40.0, 1.0), (3.0, 0.0), (-2.0, 1.0)):
        loss = graph.forward({w: 1.0, x: a, y: label})
        grads = graph.backward()
        p = m_sigmoid(mpmath.mpf(a))
        assert close(loss, -(label * mpmath.log(p) + (1 - label) * mpmath.log(1 - p)))
        assert close(grads[w], a * (p - label))  # dL/dw = x (σ(a) - y)
        assert close(graph.grad("a1"), p - label)
        # dL/df1 = -(y/f1 - (1 - y)/(1 - f1)): e^40 at a = 40 with y = 0, finite though σ(40) rounds to 1
        assert close(graph.grad("f1"), -(label / p - (1 - label) / (1 - p)))


# -- the matrix forms: softmax and sigmoid outputs with cross-entropy over a batch -------------------

@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("a", SATURATED)
def test_softmax_cross_entropy_matrix(a, label):
    # one sample x = (1, 0), W1 = [[a, 0], [0, 0], [-a, 0]], b1 = (0, 1, 0): scores z = (a, 1, -a); the class
    # is the one of score a (p near 1 or near 0) or the middle one
    model = softmax_classifier(2, 3, batch=True)
    graph = Graph.from_model(model)
    target = [1.0 if k == label else 0.0 for k in range(3)]
    point = {"X": [[1.0, 0.0]], "Y": [target], "W1": [[a, 0.0], [0.0, 0.0], [-a, 0.0]], "b1": [0.0, 1.0, 0.0]}
    loss = graph.forward(point)
    grads = graph.backward()
    z = [mpmath.mpf(a), mpmath.mpf(1), -mpmath.mpf(a)]
    p = [mpmath.exp(s - m_logsumexp(*z)) for s in z]
    assert close(loss, -mpmath.log(p[label]))
    # by hand: dL/dz = p - y, dL/db1 = p - y, dL/dW1 = (p - y) xᵀ
    delta = [p[k] - target[k] for k in range(3)]
    for k in range(3):
        assert close(grads[model.symbol("b1")][k], delta[k])
        assert close(grads[model.symbol("W1")][k][0], delta[k])
        assert grads[model.symbol("W1")][k][1] == 0.0


@pytest.mark.parametrize("a", SATURATED)
def test_sigmoid_binary_cross_entropy_matrix(a):
    # two samples, two outputs: z = X W1ᵀ + b1 = [[a, -a], [-a, a]], targets [[1, 1], [0, 1]]
    model = mlp([2, 2], output="sigmoid", loss="binary_cross_entropy", batch=True)
    graph = Graph.from_model(model)
    point = {"X": [[1.0, 0.0], [0.0, 1.0]], "Y": [[1.0, 1.0], [0.0, 1.0]], "W1": [[a, -a], [-a, a]],
             "b1": [0.0, 0.0]}
    loss = graph.forward(point)
    grads = graph.backward()
    z = [[mpmath.mpf(a), -mpmath.mpf(a)], [-mpmath.mpf(a), mpmath.mpf(a)]]
    labels = point["Y"]
    total = 0
    for row, targets in zip(z, labels):
        for score, label in zip(row, targets):
            p = m_sigmoid(score)
            total -= label * mpmath.log(p) + (1 - label) * mpmath.log(1 - p)
    assert close(loss, total / 2)  # the mean over the 2 samples
    # by hand: dL/dz = (σ(z) - y)/N; dL/db1 = column sums; dL/dW1 = dZᵀ X
    dz = [[(m_sigmoid(s) - label) / 2 for s, label in zip(row, targets)] for row, targets in zip(z, labels)]
    for k in range(2):
        assert close(grads[model.symbol("b1")][k], dz[0][k] + dz[1][k])
        for j in range(2):
            assert close(grads[model.symbol("W1")][k][j], dz[j][k])


def test_the_matrix_stage_read_by_the_fused_loss_shows_its_gradient():
    # P = softmax(Z) is read by CE∘softmax; its gradient is still the slides' dL/dP = -Y/P (one sample)
    graph = Graph.from_model(softmax_classifier(2, 3, batch=True))
    graph.forward({"X": [[1.0, 0.0]], "Y": [[0.0, 1.0, 0.0]], "W1": [[2.0, 0.0], [0.0, 0.0], [-1.0, 0.0]],
                   "b1": [0.0, 1.0, 0.0]})
    graph.backward()
    z = [mpmath.mpf(2), mpmath.mpf(1), mpmath.mpf(-1)]
    p1 = mpmath.exp(z[1] - m_logsumexp(*z))
    assert graph.grad("P")[0].tolist() == pytest.approx([0.0, float(-1 / p1), 0.0], rel=1e-12)


# -- the command line and the drawing -------------------------------------------------------------

def test_cli_check_at_a_saturated_sigmoid_exits_0(capsys):
    assert main(["gradcheck", "log(1 - sigmoid(w*x))", "--at", "w=1", "x=40"]) == 0
    assert "all agree" in capsys.readouterr().out


def test_the_drawing_still_reads_log_of_one_minus_sigma():
    a = sp.Symbol("a")
    graph = Graph.from_expr(sp.log(1 - sigmoid(a)))
    assert graph.forward({a: 1000.0}) == -1000.0
    labels = [line for line in to_dot(graph).source.splitlines() if "label=" in line]
    assert any("log" in line and "σ" in line for line in labels)
    assert "log(1 − σ)" in to_dot(graph).source


def test_an_unsaturated_network_is_unchanged():
    # the fused forms agree with the slides' forms where both are finite (chain of 2 at ordinary values)
    model = networks.chain(2, loss=lambda target, p: -(target * sp.log(p) + (1 - target) * sp.log(1 - p)))
    graph = Graph.from_model(model)
    point = {"x": 0.7, "y": 1.0, "w1": 0.3, "w2": -1.2, "b": 0.1}
    graph.forward(point)
    grads = {str(k): g for k, g in graph.backward().items()}
    closed = model.closed_form()
    symbols = {model.symbol(k): v for k, v in point.items()}
    for name, value in grads.items():
        central = (float(closed.subs({**symbols, model.symbol(name): point[name] + 1e-6}))
                   - float(closed.subs({**symbols, model.symbol(name): point[name] - 1e-6}))) / 2e-6
        assert value == pytest.approx(central, rel=1e-6)
