"""The report's numeric part of an example: its graph drawn with values and gradients, and the four-way check."""
from __future__ import annotations

import html
from pathlib import Path

from .check import check_gradients
from .graph import Graph, GraphError
from .lectures import Example
from .render import RenderError

__all__ = ["graph_section"]


def _point(example: Example, model) -> dict:
    # the slide's own numbers where it gives them, otherwise a fixed readable point
    readable = (0.5, -1.0, 1.5, 2.0, -0.5, 1.0, 0.25, -2.0, 0.75, 1.25, -1.5)
    names = (*model.inputs, *model.params)
    defaults = {str(s): readable[k % len(readable)] for k, s in enumerate(names)}
    defaults.update(example.values)
    return defaults


def graph_section(example: Example, images: Path) -> tuple[str, list[Path]]:
    """HTML with the example's computational graph and gradient check, and the image files written."""
    model = example.model
    try:
        graph = Graph.from_model(model)
    except GraphError:  # data-set sums are derived symbolically only
        return ("<p class='source'>No computational graph: the graph engine runs concrete scalar "
                "models, and this loss sums over a symbolic data set (write it out, as in "
                "<code>perceptron(3)</code>, to draw it).</p>", [])
    point = _point(example, model)
    graph.forward(point)
    graph.backward()
    images.mkdir(parents=True, exist_ok=True)
    path = images / f"{example.name}.svg"
    highlight = example.wrt[0] if example.wrt else None
    try:
        graph.render(path, format="svg", highlight=highlight, edge_labels="symbolic")
    except RenderError as error:
        return f"<p class='wrong'>Could not draw the graph: {html.escape(str(error))}</p>", []
    check = check_gradients(model, point)
    at = ", ".join(f"{k} = {v:g}" for k, v in point.items())
    parts = [
        "<h3>Computational graph</h3>",
        f"<p>Forward values (blue) and gradients of {html.escape(str(model.output))} (red) at {html.escape(at)}"
        + (f"; the path to {html.escape(highlight)} is highlighted" if highlight else "") + ".</p>",
        f'<div class="graph"><img src="images/{path.name}" alt="computational graph of {example.name}"></div>',
        "<h3>Gradient check: symbolic, graph, compiled, finite differences</h3>",
        check._repr_html_(),
    ]
    return "\n".join(parts), [path]
