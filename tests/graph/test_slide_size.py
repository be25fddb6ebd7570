"""The lectures' deep drawings fit a 16:9 slide at a readable size, with either renderer.

A slide is 1920×1080 CSS pixels. The drawing (its SVG size in points, 96/72 px each) is scaled to fit
inside it; every text of the drawing (its ``font-size``, in points) must then be at least 12 px high.
"""
from __future__ import annotations

import re

import pytest

from symgrad.graph import dot_available, to_svg

from helpers import drawn_chain3, drawn_lecture_example

SLIDE_PX = (1920, 1080)
READABLE_PX = 12
PX_PER_PT = 96 / 72


def slide_fit(svg: str) -> tuple[float, float]:
    """The scale that fits the drawing into the slide, and its smallest text's height on the slide in px."""
    width, height = (float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    scale = min(SLIDE_PX[0] / (width * PX_PER_PT), SLIDE_PX[1] / (height * PX_PER_PT))
    smallest = min(float(size) for size in re.findall(r'font-size="([\d.]+)"', svg))
    return scale, smallest * PX_PER_PT * scale



RENDERERS = ["embedded", pytest.param("dot", marks=pytest.mark.skipif(
    not dot_available(), reason="Graphviz's dot is not on the PATH"))]


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("name, make, highlight", [("chain3", drawn_chain3, "w1"),
                                                   ("mlp", lambda: drawn_lecture_example("mlp"), "W1"),
                                                   ("dense_3x3", lambda: drawn_lecture_example("dense-3x3"), "W1")])
def test_a_deep_drawing_is_readable_on_a_slide(name, make, highlight, renderer):
    svg = to_svg(make(), renderer=renderer, highlight=highlight, edge_labels="symbolic")
    scale, smallest_px = slide_fit(svg)
    assert smallest_px >= READABLE_PX, f"{name}: its smallest label is {smallest_px:.1f} px on a 1920×1080 slide"


def test_the_measure_itself():
    # a 1440×810 pt drawing (1920×1080 px) fills the slide at scale 1: 9 pt is 12 px
    svg = '<svg width="1440pt" height="810pt"><text font-size="9.00">a</text></svg>'
    assert slide_fit(svg) == pytest.approx((1.0, 12.0))
    # twice as tall: halved, 9 pt is 6 px
    svg = '<svg width="100pt" height="1620pt"><text font-size="9.00">a</text></svg>'
    assert slide_fit(svg) == pytest.approx((0.5, 6.0))
