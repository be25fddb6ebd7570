"""Draw the lectures' computational graphs into docs/images/ (SVG always; PNG, slide-sized, where dot is installed).

Run from a checkout: ``python scripts/make_images.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from symgrad import lectures, losses, networks  # noqa: E402
from symgrad.check import matrix_point  # noqa: E402
from symgrad.graph.engine import Graph  # noqa: E402
from symgrad.core.model import Model  # noqa: E402
from symgrad.graph import dot_available, render  # noqa: E402

IMAGES = ROOT / "docs" / "images"
#: a 16:9 slide of 1920×1080 pixels: 13.33×7.5 inches at 144 dots per inch
SLIDE_DPI, SLIDE_INCHES = 144, (1920 / 144, 1080 / 144)


def chain3() -> Graph:
    """The lectures' 3-layer chain f3(w3 f2(w2 f1(w1 x + b))) with half squared error."""
    graph = Graph.from_model(networks.chain(3, loss=losses.half_squared_error))
    graph.forward(x=1.0, y=0.5, w1=0.5, w2=-1.0, w3=2.0, b=0.1)
    graph.backward()
    return graph


def lecture_example() -> Graph:
    """x + y = q, q + 1 = z, z * r = f at x = -2, y = 5, r = -4."""
    x, y, r, q, z, f = sp.symbols("x y r q z f")
    graph = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
    graph.forward(x=-2.0, y=5.0, r=-4.0)
    graph.backward()
    return graph


def max_example(x3: float = 1.0) -> Graph:
    """F = max(w1*x1 + w2*x2, x3); x3 = 4 is the tie where each side gets half the gradient."""
    w1, w2, x1, x2, x3_, F = sp.symbols("w1 w2 x1 x2 x3 F")
    graph = Graph.from_model(Model([(F, sp.Max(w1 * x1 + w2 * x2, x3_))], inputs=[x1, x2, x3_]))
    graph.forward(w1=2.0, x1=3.0, w2=-1.0, x2=2.0, x3=x3)
    graph.backward()
    return graph


def lecture_matrix_example(name: str) -> Graph:
    """A matrix example of the lectures at its own point: the [3, 4, 2] MLP ("mlp"), the 3×3 layer ("dense-3x3")."""
    example = lectures.example(name)
    graph = Graph.from_model(example.model)
    graph.forward(matrix_point(example.model, example.values))
    graph.backward()
    return graph


def fork_example() -> Graph:
    """q = x + y feeds u = q·r and f = e^u + q: each edge out of q carries its share, q shows their sum."""
    x, y, r, q, u, f = sp.symbols("x y r q u f")
    graph = Graph.from_model(Model([(q, x + y), (u, q * r), (f, sp.exp(u) + q)], params=[x, y, r]))
    graph.forward(x=1.0, y=0.5, r=-2.0)
    graph.backward()
    return graph


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    drawings = {
        "chain3": (chain3(), dict(highlight="w1", edge_labels="symbolic")),
        "lecture_qzf": (lecture_example(), dict(edge_labels="symbolic")),
        "max": (max_example(), dict(highlight="w1")),
        "max_tie": (max_example(x3=4.0), dict(edge_labels="numeric")),
        "mlp": (lecture_matrix_example("mlp"), dict(highlight="W1", edge_labels="symbolic")),
        "dense_3x3": (lecture_matrix_example("dense-3x3"), dict(highlight="W1", edge_labels="symbolic")),
        "fork": (fork_example(), dict(edge_labels="symbolic")),
    }
    formats = ["svg", "png"] if dot_available() else ["svg"]
    for name, (graph, options) in drawings.items():
        for fmt in formats:
            # a PNG is a slide: fitted into 16:9 at 1920×1080 px (13.33×7.5 in at 144 dpi); an SVG scales itself
            resolution = dict(dpi=SLIDE_DPI, size=SLIDE_INCHES) if fmt == "png" else {}
            print("wrote", render(graph, IMAGES / f"{name}.{fmt}", **options, **resolution).relative_to(ROOT))
    if not dot_available():
        print("Graphviz's dot is not installed: wrote SVG only (install graphviz for PNG)")


if __name__ == "__main__":
    main()
