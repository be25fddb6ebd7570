"""Graph drawings for a lecture slide: gradient shares at forks, a layout that fits 16:9, resolution.

Expected shares are derived by hand and their sums checked against central finite
differences; the layout is measured from the SVG that Graphviz's ``dot`` writes.
"""
from __future__ import annotations

import html
import math
import re
import shutil
import struct

import numpy as np
import pytest
import sympy as sp
from sympy import symbols

from symgrad import Graph, lectures, losses, networks
from symgrad.check import matrix_point
from symgrad.core.model import Model
from symgrad.errors import GraphError
from symgrad.graph import pipe, to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def central_difference(f, h: float = 1e-6) -> float:
    return (f(h) - f(-h)) / (2 * h)


def label_of(source: str, line_start: str) -> str:
    """The unescaped attributes of the first DOT line that starts with ``line_start``."""
    line = next(line for line in source.splitlines() if line.strip().startswith(line_start))
    return html.unescape(line)


# -- gradients add at forks --------------------------------------------------------------------

@pytest.fixture
def leaf_fork():
    # L = w·x·(w + b): w feeds the product and the sum
    w, x, b = symbols("w x b")
    graph = Graph.from_expr(w * x * (w + b), inputs=[x])
    graph.forward(w=2.0, x=3.0, b=1.0)
    graph.backward()
    return graph


def test_a_leaf_used_twice_gets_one_share_per_edge_and_their_sum(leaf_fork):
    w = leaf_fork.node("w")
    product = next(c for c, _ in w.consumers if c.op.name == "mul")
    plus = next(c for c, _ in w.consumers if c.op.name == "add")
    # by hand at w = 2, x = 3, b = 1: through the product x·(w + b) = 9, through the sum w·x = 6
    assert leaf_fork.edge_grad(w, product) == pytest.approx(9.0)
    assert leaf_fork.edge_grad(w, plus) == pytest.approx(6.0)
    total = leaf_fork.grad(w)
    assert total == pytest.approx(15.0)
    f = lambda h: (2.0 + h) * 3.0 * (2.0 + h + 1.0)  # noqa: E731
    assert total == pytest.approx(central_difference(f), rel=1e-7)

    source = to_dot(leaf_fork).source
    assert "∂ 15" in label_of(source, f"n{w.index} [")  # the box: the sum
    assert "∂ 9" in label_of(source, f"n{w.index} -> n{product.index}")  # each edge: its share
    assert "∂ 6" in label_of(source, f"n{w.index} -> n{plus.index}")


@pytest.fixture
def stage_fork():
    # q = x + y feeds u = q·r and f = exp(u) + q
    x, y, r, q, u, f = symbols("x y r q u f")
    graph = Graph.from_model(Model([(q, x + y), (u, q * r), (f, sp.exp(u) + q)], params=[x, y, r]))
    graph.forward(x=1.0, y=0.5, r=-2.0)
    graph.backward()
    return graph


def test_a_stage_used_twice_shows_its_shares_on_the_edges_and_the_sum_beside_it(stage_fork):
    q, u, f = (stage_fork.node(name) for name in "quf")
    # by hand at q = 1.5, r = -2, u = -3: through u, df/du·du/dq = e^u·r; directly, df/dq = 1
    through_u, direct = math.exp(-3.0) * -2.0, 1.0
    assert stage_fork.edge_grad(q, u) == pytest.approx(through_u, rel=1e-12)
    assert stage_fork.edge_grad(q, f) == pytest.approx(direct)
    assert stage_fork.grad(q) == pytest.approx(through_u + direct, rel=1e-12)
    # df/dx = df/dq, by central differences of f(x) = exp((x + y)·r) + x + y
    fx = lambda h: math.exp((1.0 + h + 0.5) * -2.0) + 1.0 + h + 0.5  # noqa: E731
    assert stage_fork.grad("x") == pytest.approx(central_difference(fx), rel=1e-7)

    source = to_dot(stage_fork).source
    assert f"∂ {through_u:.4g}" in label_of(source, f"n{q.index} -> n{u.index}")
    assert "∂ 1<" in label_of(source, f"n{q.index} -> n{f.index}")
    assert f"Σ∂ {through_u + direct:.4g}" in label_of(source, f"n{q.index} [")  # beside the node: the sum
    # a plain-label drawing (the embedded renderer's) says the same
    plain = to_dot(stage_fork, html_labels=False).source
    assert f"Σ∂ {through_u + direct:.4g}" in label_of(plain, f"n{q.index} [")


def test_every_edge_share_of_the_lecture_mlp_adds_up_to_its_node_gradient():
    graph, _ = lecture_matrix_graph("mlp")
    forks = 0
    for node in graph.nodes:
        if not node.consumers:
            continue
        forks += len(node.consumers) > 1
        shares = sum(np.asarray(graph.edge_grad(node, c, p)) for c, p in node.consumers)
        np.testing.assert_allclose(shares, graph.grad(node), rtol=1e-12, atol=1e-15)
    assert forks >= 1  # z2 feeds the softmax output p and the fused cross-entropy


def test_edge_grad_names_a_missing_edge_and_a_wrong_position(stage_fork):
    with pytest.raises(GraphError, match="is not an argument of"):
        stage_fork.edge_grad("x", "f")
    q, u = stage_fork.node("q"), stage_fork.node("u")
    used_at = u.args.index(q)
    assert stage_fork.edge_grad(q, u, used_at) == stage_fork.edge_grad(q, u)
    with pytest.raises(GraphError, match=f"positions \\[{used_at}\\], not {1 - used_at}"):
        stage_fork.edge_grad(q, u, 1 - used_at)


# -- one notation on every edge -----------------------------------------------------------------

def test_every_edge_label_is_a_partial_derivative_and_the_step_is_H():
    a, w, x = symbols("a w x")
    graph = Graph.from_expr(sp.Max(w * x, 0) * 2, inputs=[x])  # relu-like max, its local derivative a step
    source = html.unescape(to_dot(graph, edge_labels="symbolic").source)
    labels = re.findall(r"(∂[^<>\"]*? = [^<>\"]*)", source)
    assert labels and all(re.match(r"∂\S.*/∂\S", label) for label in labels)
    assert "local " not in source.replace("local derivative", "")
    assert "∂(w·x)/∂w = x" in source
    assert "Heaviside" not in source

    relu = Graph.from_model(networks.chain(1, "relu", loss=losses.half_squared_error))
    source = html.unescape(to_dot(relu, edge_labels="symbolic").source)
    assert "∂f1/∂a1 = H(a1)" in source and "Heaviside" not in source


# -- a layout that fits a slide -------------------------------------------------------------------

def lecture_matrix_graph(name: str):
    example = lectures.example(name)
    graph = Graph.from_model(example.model)
    graph.forward(matrix_point(example.model, example.values))
    graph.backward()
    return graph, example


def chain3():
    graph = Graph.from_model(networks.chain(3, "sigmoid", loss=losses.half_squared_error))
    graph.forward(x=1.0, y=0.5, w1=0.5, w2=-1.0, w3=2.0, b=0.1)
    graph.backward()
    return graph


def svg_measure(svg: str) -> tuple[float, float, float]:
    """Width and height in pt, and the smallest font size in pt, from the SVG that dot writes."""
    width, height = (float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    view_width = float(re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) ', svg).group(1))
    scale = float(re.search(r'transform="scale\(([\d.]+)', svg).group(1))
    # a font size is in the drawing's units; scale(·) and the viewBox map them onto the width in pt
    smallest = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)) * scale * width / view_width
    return width, height, smallest


SLIDE_WIDTH, SLIDE_HEIGHT, LEGIBLE_PX = 1920, 1080, 12


@needs_dot
@pytest.mark.parametrize("name", ["chain3", "mlp", "dense-3x3"])
def test_lecture_graphs_fit_a_16_by_9_slide_with_legible_labels(name):
    graph = chain3() if name == "chain3" else lecture_matrix_graph(name)[0]
    svg = pipe(graph, "svg", renderer="dot", edge_labels="symbolic", highlight=str(graph.params[0].symbol)).decode()
    width, height, smallest = svg_measure(svg)
    assert width / height <= 2.5, f"{name}: {width:.0f}×{height:.0f} pt is a staircase"
    assert smallest * SLIDE_WIDTH / width >= LEGIBLE_PX  # scaled to 1920 px wide
    fitted = min(SLIDE_WIDTH / width, SLIDE_HEIGHT / height)  # scaled to fit 1920×1080 whole
    assert smallest * fitted >= LEGIBLE_PX, f"{name}: smallest label {smallest * fitted:.1f} px on the slide"


def test_auto_direction_is_top_to_bottom_for_deep_graphs_and_left_to_right_for_small_ones():
    x, y, r, q, z, f = symbols("x y r q z f")
    small = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
    assert "rankdir=LR" in to_dot(small).source
    deep = to_dot(chain3()).source
    assert "rankdir=TB" in deep
    # the compact layout: a parameter on the rank of the product that uses it
    graph = chain3()
    w2 = graph.node("w2")
    pairs = re.findall(r"\{\s*rank=same\s*(n\d+)\s*(n\d+)\s*\}", deep)
    assert (f"n{w2.index}", f"n{w2.consumers[0][0].index}") in pairs
    assert "rankdir=LR" in to_dot(graph, rankdir="LR").source and "rank=same" not in to_dot(graph, rankdir="LR").source
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(graph, rankdir="BT")


def test_size_and_dpi_reach_graphviz_and_bad_values_are_refused():
    graph = chain3()
    source = to_dot(graph, size=(13.3, 7.5), dpi=200).source
    assert 'size="13.3,7.5"' in source and "dpi=200" in source
    for bad in (0, -1, (1, 2, 3), "big", math.inf):
        with pytest.raises(ValueError, match="size"):
            to_dot(graph, size=bad)
    for bad in (0, 5, math.nan, "high", True):
        with pytest.raises(ValueError, match="dpi"):
            to_dot(graph, dpi=bad)


def png_size(data: bytes) -> tuple[int, int]:
    # the PNG signature, then the IHDR chunk: its first two big-endian 4-byte fields are width and height
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@needs_dot
def test_a_png_at_200_dpi_has_more_pixels_than_at_96():
    graph = chain3()
    low = png_size(pipe(graph, "png", renderer="dot"))
    high = png_size(pipe(graph, "png", renderer="dot", dpi=200))
    assert high[0] > low[0] and high[1] > low[1]
    assert high[0] / low[0] == pytest.approx(200 / 96, rel=0.05)
