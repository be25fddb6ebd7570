"""Deep models derive and compile without hitting Python's recursion limit, and the numbers stay right.

References: the graph engine (its own op table, an iterative walk), a
forward-mode recurrence written by hand, and central finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad import networks
from symgrad.graph.engine import Graph
from symgrad.core.model import Model, free_symbols

DEPTH = 300


def _nested_sine(depth: int):
    """e_0 = x, e_k = sin(w e_(k-1)): one expression ``depth`` functions deep."""
    x, w = sp.symbols("x w")
    e = x
    for _ in range(depth):
        e = sp.sin(w * e)
    return e, x, w


@pytest.fixture(scope="module")
def nested():
    # built once: SymPy itself cannot build a second, equal copy of an expression this deep (its cache
    # compares the new one with the old one recursively), so every test shares this one
    return _nested_sine(DEPTH)


def nested_sine_by_hand(depth: int, x: float, w: float) -> tuple[float, float]:
    """e_depth and de_depth/dw by forward mode: e_k' = cos(w e_(k-1)) (e_(k-1) + w e_(k-1)')."""
    e, de = x, 0.0
    for _ in range(depth):
        e, de = math.sin(w * e), math.cos(w * e) * (e + w * de)
    return e, de


_FLOAT_FUNCTIONS = {sp.sin: math.sin, sp.cos: math.cos, symgrad.sigmoid: lambda a: 1 / (1 + math.exp(-a))}


def evaluate(expr, values: dict) -> float:
    """``expr`` at a point by an iterative walk (SymPy's evalf and lambdify recurse)."""
    out: dict[int, float] = {}
    stack = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in out:
            continue
        if not node.args:
            out[id(node)] = values[node] if node.is_Symbol else float(node)
        elif not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
        else:
            args = [out[id(a)] for a in node.args]
            if node.is_Add:
                out[id(node)] = math.fsum(args)
            elif node.is_Mul:
                out[id(node)] = math.prod(args)
            elif node.is_Pow:
                out[id(node)] = args[0] ** args[1]
            else:
                out[id(node)] = _FLOAT_FUNCTIONS[node.func](*args)
    return out[id(expr)]


def chain_stage_values(model: Model, values: dict) -> dict:
    """Every stage's value at a point, stage by stage (each stage is shallow)."""
    known = dict(values)
    for symbol, expr in model.stages:
        known[symbol] = evaluate(expr, known)
    return known


def test_a_deep_expression_is_a_model(nested):
    e, x, w = nested
    model = Model.from_expr(e, inputs=[x])  # the stage-order check walks it without recursion
    assert model.params == (w,) and free_symbols(e) == {x, w}


def test_grad_of_a_deep_expression_matches_forward_mode(nested):
    e, x, w = nested
    derivative = symgrad.grad(e, w)
    point = {x: 0.7, w: 1.3}
    assert evaluate(derivative, point) == pytest.approx(nested_sine_by_hand(DEPTH, 0.7, 1.3)[1], rel=1e-10)


def test_compile_of_a_deep_expression_matches_forward_mode(nested):
    e, x, w = nested
    compiled = symgrad.compile(e, inputs=[x])
    xs = np.array([0.7, -0.4, 1.1])
    loss, grads = compiled(x=xs, w=1.3)
    by_hand = [nested_sine_by_hand(DEPTH, float(v), 1.3) for v in xs]
    assert loss == pytest.approx(np.mean([v for v, _ in by_hand]), rel=1e-10)
    assert grads["w"] == pytest.approx(np.mean([d for _, d in by_hand]), rel=1e-10)


def test_grad_of_a_deep_chain_matches_the_graph_and_finite_differences():
    model = networks.chain(DEPTH)
    rng = np.random.default_rng(0)
    point = {p: float(rng.uniform(0.5, 1.5)) for p in model.params}
    point[sp.Symbol("x")] = 0.8
    last, middle = sp.Symbol(f"w{DEPTH}"), sp.Symbol(f"w{DEPTH // 2}")
    derivatives = symgrad.grad(model, [last, middle])
    stages = chain_stage_values(model, point)
    graph = Graph.from_model(model)
    graph.forward(point)
    expected = graph.backward()
    for param in (last, middle):
        assert evaluate(derivatives[param], stages) == pytest.approx(float(expected[param]), rel=1e-9)

    def output(value):
        return chain_stage_values(model, {**point, last: value})[model.output]

    h = 1e-6
    finite_difference = (output(point[last] + h) - output(point[last] - h)) / (2 * h)
    assert evaluate(derivatives[last], stages) == pytest.approx(finite_difference, rel=1e-6)


def test_every_gradient_of_a_deep_chain_stays_in_stage_symbols():
    model = networks.chain(120)
    gradients = symgrad.grad(model)
    # dL/dw1 is the product of the 2·120 local derivatives along the chain, written with stage symbols
    first = gradients[sp.Symbol("w1")]
    assert free_symbols(first) <= set(model.stage_symbols) | set(model.params) | set(model.inputs)
    assert len(gradients) == len(model.params)


def test_a_closed_form_too_deep_for_sympy_says_so_or_is_right():
    model = networks.chain(DEPTH)
    try:
        closed = symgrad.grad(model, f"w{DEPTH}", form="closed")
    except symgrad.errors.DerivationError as error:
        assert "form='stages'" in str(error)
    else:
        point = {p: 1.0 for p in model.params} | {sp.Symbol("x"): 0.8}
        stages = chain_stage_values(model, point)
        stage_form = symgrad.grad(model, f"w{DEPTH}")
        assert evaluate(closed, point) == pytest.approx(evaluate(stage_form, stages), rel=1e-10)
