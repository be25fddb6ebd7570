"""The report's numeric part of an example: its graph drawn with values and gradients, and the four-way check."""
from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import sympy as sp

from .. import printing
from ..check import check_gradients, matrix_point
from ..errors import GraphError, RenderError
from ..graph import Graph
from .catalog import Example
from ..core.matrix_model import MatrixModel
from .report import math_html

__all__ = ["graph_section"]


def _point(example: Example, model) -> dict:
    # the slide's own numbers where it gives them, otherwise a fixed readable point
    if isinstance(model, MatrixModel):
        return matrix_point(model, example.values)
    readable = (0.5, -1.0, 1.5, 2.0, -0.5, 1.0, 0.25, -2.0, 0.75, 1.25, -1.5)
    names = (*model.inputs, *model.params)
    defaults = {str(s): readable[k % len(readable)] for k, s in enumerate(names)}
    defaults.update(example.values)
    return defaults


def _shown(value) -> str:
    """A number, a column vector as ``(1, 3, 2)``, a matrix row by row as ``[[2, 4], [1, 3]]``."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):g}"
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim == 1:
        return "(" + ", ".join(f"{v:g}" for v in array) + ")"
    return "[" + ", ".join(_shown(row).replace("(", "[").replace(")", "]") for row in array) + "]"


#: the report's column is about this many CSS pixels wide; below this scale a drawing's labels are unreadable
COLUMN_PX, LEGIBLE_SCALE = 1120, 0.75


def _image(path: Path, alt: str) -> str:
    """The drawing as an ``<img>`` (``images/NAME``, which the report inlines): fitted to the column, or, if that
    would shrink its labels past legibility, at three quarters of its size in a box that scrolls sideways."""
    match = re.search(r'<svg[^>]*\bwidth="([\d.]+)(pt|px)?"', path.read_text(encoding="utf-8", errors="replace"))
    natural = float(match.group(1)) * (4 / 3 if match.group(2) == "pt" else 1) if match else 0.0
    tag = f'<img src="images/{path.name}" alt="{html.escape(alt)}"'
    if natural * LEGIBLE_SCALE <= COLUMN_PX:
        return f'<div class="graph">{tag}></div>'
    width = round(natural * LEGIBLE_SCALE)
    return (f'<div class="graph wide">{tag} class="wide" width="{width}"></div>'
            f'<p class="source">A wide drawing: scroll sideways to follow it.</p>')


def _name(name: str) -> str:
    """A symbol's name typeset as inline math: ``W1_1_2`` is W_{1,12}, ``theta0`` is θ_0."""
    return math_html(printing.latex(sp.Symbol(name)), display=False)


def graph_section(example: Example, images: Path) -> tuple[str, list[Path]]:
    """HTML with the example's computational graph and gradient check, and the image files written."""
    model = example.model
    matrix = isinstance(model, MatrixModel)
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
    # a network of matrices: the path back to the first layer's weights is the longest one
    highlight = example.wrt[0] if example.wrt else str(model.params[0]) if matrix else None
    try:
        graph.render(path, format="svg", highlight=highlight, edge_labels="symbolic")
    except RenderError as error:
        return f"<p class='wrong'>Could not draw the graph: {html.escape(str(error))}</p>", []
    check = check_gradients(model, point)
    at = ", ".join(f"{_name(k)} = {html.escape(_shown(v))}" for k, v in point.items())
    what = ("Each node shows its shape, small matrices their entries, larger ones their mean and norm; forward "
            "values (blue) and gradients" if matrix else "Forward values (blue) and gradients")
    methods = ("symbolic (the layer rules evaluated), graph, compiled, finite differences entry by entry" if matrix
               else "symbolic, graph, compiled, finite differences")
    parts = [
        "<h4>Computational graph</h4>",
        f"<p>{what} of {_name(str(model.output))} (red) at {at}"
        + (f"; the path to {_name(highlight)} is highlighted" if highlight else "") + ".</p>",
        _image(path, f"computational graph of {example.name}"),
        f"<h4>Gradient check: {methods}</h4>",
        check._repr_html_(),
    ]
    return "\n".join(parts), [path]
