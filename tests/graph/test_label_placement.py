"""No label of a lecture drawing sits on an arrowhead, with either renderer (Graphviz's dot and the embedded one).

The geometry is read from the SVG each renderer writes: an arrowhead is an
edge's ``<polygon>``; a text line's box is estimated from its anchor point,
font size and Helvetica's published glyph widths (its AFM file, in
thousandths of an em; a glyph Helvetica lacks, such as ∂ or σ, counted
at 0.6 em), its ink from 0.75 em above the baseline to 0.2 em below. The drawings of the
lectures' deep models (chain(3), the 3×3 layer, the MLP) are the cases
where stage names and edge labels used to cover arrowheads.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from symgrad.graph import dot_available, to_svg

from helpers import drawn_chain3, drawn_lecture_example

SVG = "{http://www.w3.org/2000/svg}"
NO_BREAK_SPACE = "\u00a0"
#: Helvetica's advance widths (Adobe's Helvetica.afm), in em; anything else 0.6 em
HELVETICA = {**dict.fromkeys("0123456789", 0.556), " ": 0.278, NO_BREAK_SPACE: 0.278, "(": 0.333, ")": 0.333,
             "[": 0.278, "]": 0.278, "/": 0.278, "-": 0.333, "=": 0.584, "+": 0.584, ".": 0.278, ",": 0.278,
             "·": 0.278, "'": 0.191, "i": 0.222, "l": 0.222, "j": 0.222, "f": 0.278, "t": 0.278, "r": 0.333,
             "m": 0.833, "w": 0.722, "k": 0.5, "s": 0.5, "c": 0.5, "v": 0.5, "x": 0.5, "y": 0.5, "z": 0.5,
             **dict.fromkeys("abdeghnopqu", 0.556), **dict.fromkeys("ABCDEFGHKLNPRSTUVXYZ", 0.667),
             "M": 0.833, "W": 0.944, "I": 0.278, "J": 0.5, "O": 0.778, "Q": 0.778}


def text_width(text: str, size: float) -> float:
    return size * sum(HELVETICA.get(char, 0.6) for char in text)



def text_boxes(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (left, top, right, bottom)) of every line of text in the drawing, leading blanks left out."""
    boxes = []
    for element in ET.fromstring(svg).iter(f"{SVG}text"):
        full = "".join(element.itertext())
        size = float(element.get("font-size", "14"))
        x, y = float(element.get("x")), float(element.get("y"))
        width = text_width(full, size)
        left = {"middle": x - width / 2, "end": x - width}.get(element.get("text-anchor"), x)
        right = left + width
        visible = full.strip(f" {NO_BREAK_SPACE}")
        left += text_width(full[: len(full) - len(full.lstrip(f" {NO_BREAK_SPACE}"))], size)  # blanks have no ink
        if visible:
            boxes.append((visible, (left, y - 0.75 * size, right, y + 0.2 * size)))
    return boxes


def arrowheads(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(edge title, box) of every arrowhead: the polygons inside the edges' groups."""
    heads = []
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if group.get("class") != "edge":
            continue
        title = group.find(f"{SVG}title").text
        for polygon in group.iter(f"{SVG}polygon"):
            points = [tuple(map(float, p.split(","))) for p in polygon.get("points").split()]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            heads.append((title, (min(xs), min(ys), max(xs), max(ys))))
    return heads


def overlaps(a, b, slack: float = 0.5) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def covered_arrowheads(svg: str) -> list[str]:
    texts = text_boxes(svg)
    return [f"{text!r} over the arrowhead of {title}" for title, head in arrowheads(svg)
            for text, box in texts if overlaps(box, head)]


RENDERERS = ["embedded", pytest.param("dot", marks=pytest.mark.skipif(
    not dot_available(), reason="Graphviz's dot is not on the PATH"))]
DRAWINGS = {
    "chain3": lambda: (drawn_chain3(), dict(highlight="w1", edge_labels="symbolic")),
    "dense_3x3": lambda: (drawn_lecture_example("dense-3x3"), dict(highlight="W1", edge_labels="symbolic")),
    "mlp": lambda: (drawn_lecture_example("mlp"), dict(highlight="W1", edge_labels="symbolic")),
}


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_no_label_covers_an_arrowhead(name, renderer):
    graph, options = DRAWINGS[name]()
    svg = to_svg(graph, renderer=renderer, **options)
    assert re.search(r"rankdir|<svg", svg)
    assert len(arrowheads(svg)) >= len(graph.nodes) - 1  # the geometry was read: every edge has its head
    assert covered_arrowheads(svg) == []


def test_the_check_finds_a_label_on_an_arrowhead():
    # a hand-made drawing whose edge label is centred on the arrowhead itself: the check must see it
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><g class="edge"><title>a-&gt;b</title>'
           '<polygon points="10,10 14,20 6,20"/></g>'
           '<text text-anchor="middle" x="10" y="20" font-size="10">a1</text></svg>')
    assert covered_arrowheads(svg) == ["'a1' over the arrowhead of a->b"]
