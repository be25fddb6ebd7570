"""Wide sums derive and compile in linear time and size; deep claims are verified; two numeric edge cases.

References: hand derivatives (d/dw_k of Σ w_k x_k is x_k; of (Σ w_k x_k - y)² it is 2 x_k (w·x - y)),
NumPy computing those by hand, a forward-mode recurrence written out as an expression, and math.log1p.
The growth checks count operations and nodes, never seconds.
"""
from __future__ import annotations

import ast
import math

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad import networks
from symgrad.core.model import nodes_bottom_up
from symgrad.graph.engine import Graph

TERMS = 2000


def _weighted_sum(terms: int):
    ws, xs = sp.symbols(f"w1:{terms + 1}"), sp.symbols(f"x1:{terms + 1}")
    return sp.Add(*[w * x for w, x in zip(ws, xs)]), ws, xs


def _squared_error(terms: int):
    total, ws, xs = _weighted_sum(terms)
    y = sp.Symbol("y")
    return (total - y) ** 2, ws, xs, y


def _operations(source: str) -> int:
    """Arithmetic operations, calls and in-place updates in generated code."""
    kinds = (ast.BinOp, ast.UnaryOp, ast.Call, ast.AugAssign)
    return sum(isinstance(node, kinds) for node in ast.walk(ast.parse(source)))


def _distinct_nodes(exprs) -> int:
    """Distinct nodes (by identity) over all the expressions: the memory they take together."""
    seen = set()
    for expr in exprs:
        seen |= {id(node) for node in nodes_bottom_up(expr)}
    return len(seen)


# -- wide sums -------------------------------------------------------------------------------------

def test_every_gradient_of_a_wide_weighted_sum_is_its_input():
    total, ws, xs = _weighted_sum(TERMS)
    gradients = symgrad.grad(total, inputs=xs)
    assert set(gradients) == set(ws)
    assert all(gradients[w] == x for w, x in zip(ws, xs))


def test_a_wide_squared_error_matches_numpy_by_hand():
    loss, ws, xs, y = _squared_error(TERMS)
    gradients = symgrad.grad(loss, inputs=[*xs, y])
    rng = np.random.default_rng(3)
    w_values, x_values, y_value = rng.normal(size=TERMS), rng.normal(size=TERMS), 0.4
    residual = w_values @ x_values - y_value
    point = {**dict(zip(ws, w_values)), **dict(zip(xs, x_values)), y: y_value}
    for k in (0, 1, TERMS // 2, TERMS - 1):
        # 2 x_k (w·x - y), by hand
        derivative = gradients[ws[k]].xreplace(point)
        assert float(derivative) == pytest.approx(2 * x_values[k] * residual, rel=1e-12)


def test_a_compiled_wide_squared_error_matches_numpy_by_hand():
    loss, ws, xs, y = _squared_error(TERMS)
    compiled = symgrad.compile(loss, inputs=[*xs, y])
    rng = np.random.default_rng(4)
    samples = 6
    data = rng.normal(size=(TERMS, samples))
    targets = rng.normal(size=samples)
    weights = rng.normal(size=TERMS)
    values = {str(x): data[k] for k, x in enumerate(xs)}
    values.update({str(w): float(weights[k]) for k, w in enumerate(ws)})
    value, gradients = compiled(**values, y=targets)
    residuals = weights @ data - targets  # one per sample
    assert value == pytest.approx(np.mean(residuals ** 2), rel=1e-12)
    by_hand = 2 * (data * residuals).mean(axis=1)  # mean over the samples of 2 x_k (w·x - y)
    for k in (0, 7, TERMS - 1):
        assert gradients[str(ws[k])] == pytest.approx(by_hand[k], rel=1e-10, abs=1e-12)


def test_generated_code_for_a_wide_sum_grows_linearly():
    sizes = (400, 800)
    counts = [_operations(symgrad.compile(_squared_error(n)[0], inputs=[*_squared_error(n)[2],
                                                                       sp.Symbol("y")]).source)
              for n in sizes]
    assert counts[1] <= 2 * counts[0] + 50, counts


def test_derived_gradients_of_a_wide_sum_grow_linearly_in_memory():
    sizes = (250, 500)
    nodes = []
    for n in sizes:
        loss, _, xs, y = _squared_error(n)
        nodes.append(_distinct_nodes(symgrad.grad(loss, inputs=[*xs, y]).values()))
    # n results each written out would be n² nodes; sharing the sum keeps them O(n)
    assert nodes[1] <= 2 * nodes[0] + 50, nodes


def _differentiated_nodes(monkeypatch, task) -> int:
    """How many nodes ``task()`` hands to ``sympy.diff`` in all: the work of differentiating, counted."""
    counted = [0]
    diff = sp.diff

    def counting_diff(expr, *args, **kwargs):
        counted[0] += sum(1 for _ in nodes_bottom_up(expr))
        return diff(expr, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sp, "diff", counting_diff)
        task()
    return counted[0]


@pytest.mark.parametrize("derive", [lambda loss, inputs: symgrad.grad(loss, inputs=inputs),
                                    lambda loss, inputs: symgrad.compile(loss, inputs=inputs)],
                         ids=["grad", "compile"])
def test_differentiating_a_wide_sum_is_linear_work(monkeypatch, derive):
    # differentiating the whole n-term sum once per parameter would hand diff n² nodes
    work = []
    for n in (100, 200):
        loss, _, xs, y = _squared_error(n)
        work.append(_differentiated_nodes(monkeypatch, lambda: derive(loss, [*xs, y])))
    assert 0 < work[1] <= 2 * work[0] + 50, work


def test_generated_code_for_a_deep_chain_grows_linearly():
    counts = [_operations(symgrad.compile(networks.chain(depth)).source) for depth in (40, 80)]
    assert counts[1] <= 2 * counts[0] + 50, counts


def test_all_gradients_of_a_long_chain_match_the_graph_engine():
    # chain(40) has 81 stages: it takes the linear route (adjoints multiplied out once, shared)
    model = networks.chain(40)
    gradients = symgrad.grad(model)
    rng = np.random.default_rng(5)
    point = {s: float(rng.uniform(0.5, 1.5)) for s in (*model.inputs, *model.params)}
    graph = Graph.from_model(model)  # the reference: its own op table, hand-written backward rules
    graph.forward(point)
    expected = graph.backward()
    for symbol, expr in model.stages:  # the stage values, stage by stage
        point[symbol] = float(expr.xreplace(point))
    for param in model.params:
        assert float(gradients[param].xreplace(point)) == pytest.approx(float(expected[param]), rel=1e-9)


# -- verify on a deep expression -------------------------------------------------------------------

DEPTH = 300


@pytest.fixture(scope="module")
def nested_with_derivative():
    """e = sin(w sin(w ... sin(w x))) 300 deep, and de/dw by forward mode written out as an expression.

    Forward mode: e_k = sin(w e_(k-1)), e_k' = cos(w e_(k-1)) (e_(k-1) + w e_(k-1)'). The derivative is
    built from the very nodes of e (SymPy cannot build a second, equal copy of something this deep).
    """
    x, w = sp.symbols("x w")
    levels, e = [], x
    for _ in range(DEPTH):
        e = sp.sin(w * e)
        levels.append(e)
    derivative, previous = sp.S.Zero, x
    for level in levels:
        derivative = sp.cos(level.args[0]) * (previous + w * derivative)
        previous = level
    return e, derivative, x, w


def test_verify_accepts_a_right_claim_on_a_deep_expression(nested_with_derivative):
    e, derivative, x, w = nested_with_derivative
    verdict = symgrad.verify(derivative, e, w, points=60)
    assert verdict.status == "observed", verdict.diagnosis


def test_verify_rejects_a_wrong_claim_on_a_deep_expression(nested_with_derivative):
    e, derivative, x, w = nested_with_derivative
    verdict = symgrad.verify(sp.Rational(1001, 1000) * derivative, e, w, points=60)
    assert verdict.status == "wrong"
    point, claimed, correct = (verdict.counterexample[k] for k in ("point", "claimed", "correct"))
    assert claimed == pytest.approx(1.001 * correct, rel=1e-9)
    assert "too deep to print" in str(verdict)  # the verdict prints, without the expressions


# -- numeric edge cases ----------------------------------------------------------------------------

@pytest.mark.parametrize("power, expected", [(2, 0.0), (1, 1.0)])
def test_check_gradients_of_a_power_at_base_zero(power, expected):
    # d(E^x)/dE = x E^(x - 1): 0 at x = 2 and 1 at x = 1, where x E^x / E would divide 0 by 0
    E, x = sp.symbols("E x")
    table = symgrad.check_gradients(E ** x, {"E": 0, "x": power}, inputs=[x])
    assert table.values["E"]["symbolic"] == expected
    assert table.ok, str(table)


def test_compiled_logsumexp_keeps_a_result_near_zero_accurate():
    a, b = sp.symbols("a b")
    expected = math.log1p(math.exp(-40.0))  # log(e^0 + e^-40) = log1p(e^-40) = 4.248e-18
    compiled = symgrad.compile(sp.log(sp.exp(a) + sp.exp(b)), inputs=[b])
    assert "logsumexp" in compiled.source
    for a_value, b_value in ((0.0, -40.0), (-40.0, 0.0)):
        compiled_b = symgrad.compile(sp.log(sp.exp(a) + sp.exp(b)), inputs=[b])
        value, _ = compiled_b(a=a_value, b=np.array([b_value]))
        assert value == pytest.approx(expected, rel=1e-15, abs=0)
    value, _ = compiled(a=1000.0, b=np.array([1000.0]))  # no overflow: 1000 + log 2
    assert value == pytest.approx(1000 + math.log(2), rel=1e-15)
