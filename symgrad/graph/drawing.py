"""Draw a computational graph like a lecture slide: the DOT source, as a ``graphviz.Digraph``.

Drawing and rendering are two layers, as in the ``graphviz`` package:
:func:`to_dot` here turns a :class:`~symgrad.graph.Graph` into DOT (pure
Python, no program needed); :mod:`symgrad.graph.backend` turns DOT into an
image.

>>> from symgrad import networks, losses
>>> from symgrad import Graph
>>> g = Graph.from_model(networks.chain(1, loss=losses.half_squared_error))
>>> _ = g.forward(x=1.0, y=0.5, w1=0.5, b=0.1)
>>> _ = g.backward()
>>> 'rankdir=TB' in to_dot(g).source  # six operations deep: top to bottom, for a slide
True
>>> 'rankdir=LR' in to_dot(g, rankdir="LR").source
True
"""
from __future__ import annotations

import html
import math
import re
from typing import TYPE_CHECKING

import graphviz
import numpy as np
import sympy as sp

from .. import printing
from ..core.ops import OPS
from ..errors import GraphTooLargeError
from .nodes import CONSTANT, INPUT, OPERATION, PARAMETER, Node

if TYPE_CHECKING:  # for annotations only: the engine draws itself through this module
    from .engine import Graph

__all__ = ["to_dot", "draw", "Drawing", "symbolic_local_derivative", "EDGE_LABELS", "MAX_NODES", "LEGEND"]

#: what an edge's label shows besides the numbers: the local derivative, symbolic or numeric
EDGE_LABELS = frozenset({"symbolic", "numeric"})
#: more nodes than this cannot be read on one page; drawing them is refused
MAX_NODES = 300

VALUE_COLOUR = "#1f5fa8"
GRADIENT_COLOUR = "#c0392b"
DERIVATIVE_COLOUR = "#555555"
HIGHLIGHT_COLOUR = "#e67e22"
PARAMETER_FILL = "#fff4d6"
INPUT_FILL = "#eef3f8"
FONT = "Helvetica"
#: what starts each line of an edge's label: a gap between the edge and its text
EDGE_MARGIN = "\u00a0\u00a0"

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
    """A short one-line formula for a drawing: ``f3·(1 - f3)``, ``σ`` for sigmoid, ``H`` for the step.

    >>> a = sp.Symbol('a1')
    >>> _formula(sp.Heaviside(a, 0) * 2)  # the printers' H(a), not SymPy's Heaviside(a1, 0)
    '2·H(a1)'
    """
    # the Heaviside step as symgrad.printing writes it: H(a), its value at 0 left to the op's docs
    expr = expr.replace(sp.Heaviside, lambda *args: _STEP(args[0])) if isinstance(expr, sp.Basic) else expr
    text = str(expr).replace("**", "^").replace("*", "·")
    # each activation by its drawing label from the op table: σ for sigmoid, GELU for gelu
    text = re.sub(r"\b[A-Za-z_]\w*(?=\()", lambda m: _label(m.group()), text)
    return _shorten(text, limit)


_STEP = sp.Function("H")


def _label(name: str) -> str:
    entry = OPS.get(name)
    return entry.label if entry is not None and entry.kind == "activation" else name


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def symbolic_local_derivative(node: Node, position: int, names: dict | None = None) -> sp.Expr:
    """d(node)/d(argument ``position``) in SymPy, written with stage names as the slides write it.

    ``names`` may map argument nodes to the SymPy symbols to write them as
    (by default a named node is its name and an unnamed one its expression).

    >>> from symgrad import Graph, networks
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
#: how tightly an operation's written form binds: a sum 1, a product 2, anything else (a call, a power) 3
_BINDING = {"add": 1, "sub": 1, "neg": 1, "mul": 2, "div": 2}


def _put_argument(text: str, placeholder: str, argument: str) -> str:
    """``text`` with ``placeholder`` replaced by ``argument``, parenthesised where it is an operand."""
    loose = any(c in argument for c in " ·/^")
    pieces = text.split(placeholder)
    out = pieces[0]
    for before, after in zip(pieces, pieces[1:]):
        alone = (not before and not after) or (before.endswith("(") and after.startswith((")", ",")))
        out += (argument if alone or not loose else f"({argument})") + after
    return out


def _written_form(node: Node, arguments: list[str]) -> str:
    """An operation written with its SymPy form and the arguments' texts: ``log(1 - σ(w·x + b))``."""
    placeholders = [sp.Symbol(f"_arg{i}") for i in range(len(arguments))]
    try:
        written = printing.text(node.op.sympy(*placeholders))
    except (TypeError, ValueError):  # a matrix op's form needs matrices: write it as a call
        return f"{node.op.label}({', '.join(arguments)})"
    for placeholder, argument in zip(placeholders, arguments):
        written = written.replace(str(placeholder), argument)
    return written


def _texts(graph: Graph, limit: int = 30) -> list[str]:
    """How each node reads in a formula: its name, or its operation written out (``y - f3``)."""
    texts: list[str] = []
    for node in graph.nodes:
        if node.name:
            texts.append(printing.name_text(node.name))
        elif node.kind == CONSTANT:
            texts.append(_number(node.constant))
        else:
            name = node.op.name

            def arg(a: Node, binding: int = 3) -> str:
                # parentheses when the argument binds more loosely than its place needs: y - w·x, 2·(y - f3)
                loose = a.kind == OPERATION and not a.name and _BINDING.get(a.op.name, 3) < binding
                return f"({texts[a.index]})" if loose else texts[a.index]

            if name in _CALLS or node.op.elementwise:
                label = name if name in ("max", "min") else node.op.label
                text = f"{label}({', '.join(arg(a, 0) for a in node.args)})"
            elif name == "add":
                text = " + ".join(arg(a, 0) for a in node.args)
            elif name == "sub":
                text = f"{arg(node.args[0], 0)} - {arg(node.args[1], 2)}"
            elif name == "mul":
                text = "·".join(arg(a, 2) for a in node.args)
            elif name == "div":
                text = f"{arg(node.args[0], 2)}/{arg(node.args[1], 3)}"
            elif name == "neg":
                text = f"-{arg(node.args[0], 2)}"
            elif name == "square":
                text = f"{arg(node.args[0])}^2"
            elif name == "abs":
                text = f"|{arg(node.args[0], 0)}|"
            elif name == "matmul":
                text = "·".join(arg(a) for a in node.args)
            elif name == "transpose":
                text = f"{arg(node.args[0])}ᵀ"
            elif name == "squared_norm":
                text = f"‖{arg(node.args[0], 0)}‖²"
            elif name == "pow":
                text = "^".join(arg(a) for a in node.args)
            else:  # a fused op (log σ(a), log Σ e^a, ...): its SymPy form, as the slide writes it
                text = _written_form(node, [arg(a, 0) for a in node.args])
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


def _operand(text: str) -> str:
    """A node's text as the operand of ∂: parenthesised where a sum, product or quotient is written at top level.

    >>> _operand('a1'), _operand('w1·x'), _operand('y - f3'), _operand('(y - f3)^2'), _operand('σ(w·x + b)')
    ('a1', '(w1·x)', '(y - f3)', '(y - f3)^2', 'σ(w·x + b)')
    """
    depth = 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth == 0 and char in " ·/":
            return f"({text})"
    return text


def _simple(text: str) -> bool:
    """Whether a formula's text is one name (``W1``, ``W1ᵀ``), which needs no parentheses."""
    return not any(c in text for c in " ·/^()⊙")


def _transposed(text: str) -> str:
    # (Aᵀ)ᵀ = A, as a person writes it; an adjoint d(…) takes ᵀ as it is; a compound formula gets parentheses
    if _simple(text):
        return text[:-1] if text.endswith("ᵀ") else f"{text}ᵀ"
    if text.startswith("d(") and text.endswith(")") and text.count("(") == 1:
        return f"{text}ᵀ"
    return f"({text})ᵀ"


def _adjoint(text: str) -> str:
    # dW for a name; d(W1ᵀ), d(X·W1ᵀ) for anything else, so that dW1ᵀ is never ambiguous
    return f"d{text}" if _simple(text) and not text.endswith("ᵀ") else f"d({text})"


def _matrix_rule(node: Node, position: int, texts: list) -> str:
    """The backward rule of a matrix operation for one argument, written with the graph's names."""
    name = node.op.name
    args = [texts[a.index] for a in node.args]
    here, arg = texts[node.index], args[position]
    d, d_arg = _adjoint(here), _adjoint(arg)
    if name == "matmul":  # C = A B: dA = dC Bᵀ, dB = Aᵀ dC
        if position == 0:
            return f"{d_arg} = {d}·{_transposed(args[1])}"
        return f"{d_arg} = {_transposed(args[0])}·{d}"
    if name == "transpose":
        return f"{d_arg} = {_transposed(d)}"
    if name in ("add", "sub", "neg"):
        sign = "-" if (name == "sub" and position == 1) or name == "neg" else ""
        if node.args[position].shape and node.shape and node.args[position].shape[0] != node.shape[0]:
            return f"{d_arg} = {sign}Σ_rows {d}"  # a bias repeated over the rows of a batch
        return f"{d_arg} = {sign}{d}"
    if name == "mul":
        others = " ⊙ ".join(a for i, a in enumerate(args) if i != position)
        return f"{d_arg} = {d} ⊙ {others}"
    if node.op.elementwise:
        return f"{d_arg} = {d} ⊙ {node.op.label}'({arg})"
    if name == "softmax":
        return f"{d_arg} = {here} ⊙ ({d} - ⟨{d}, {here}⟩)"
    if name == "cross_entropy":
        return f"{d_arg} = -{args[0]}/{args[1]}" if position == 1 else f"{d_arg} = -log {args[1]}"
    if name == "half_squared_error":
        return f"{d_arg} = {args[1]} - {args[0]}" if position == 1 else f"{d_arg} = {args[0]} - {args[1]}"
    if name == "squared_norm":
        return f"{d_arg} = 2{arg}"
    return f"{d_arg} = {d}·∂{here}/∂{arg}"


# -- the drawing ----------------------------------------------------------------------------

#: key of the legend's colours (the graph's own label) in ``Drawing.colours``
LEGEND = ""


class Drawing:
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
        # a line is (text, colour), or (lead, None, text, colour): a black lead before a coloured text ("f1 = ")
        lines = [line if len(line) == 4 else ("", None, *line) for line in lines]
        if self.html_labels:
            parts = [html.escape(lead) + (f'<font color="{c}">{html.escape(t)}</font>' if c else html.escape(t))
                     for lead, _, t, c in lines]
            if bold_first:
                parts[0] = f"<b>{parts[0]}</b>"
            return {"label": "<" + "<br/>".join(parts) + ">"}
        if any(c for *_, c in lines):  # a plain label has one colour per line: the lead takes its text's
            self.colours[title] = [c for *_, c in lines]
        return {"label": "\\n".join((lead + t).replace("\\", "\\\\") for lead, _, t, _ in lines)}

    def node(self, ident: str, lines: list, **attributes) -> None:
        # the first line is the node's name, in bold where labels can be
        self.dot.node(ident, **self.label(ident, lines, bold_first=True), **attributes)

    def edge(self, tail: str, head: str, lines: list, **attributes) -> None:
        # Graphviz centres an edge's label lines on a point beside the edge, so the widest line starts on the
        # edge itself: a margin (no-break spaces, kept by both label kinds) keeps the line off the text
        lines = [(EDGE_MARGIN + line[0], *line[1:]) if len(line) == 4 else (EDGE_MARGIN, None, *line)
                 for line in lines]
        self.dot.edge(tail, head, **self.label(f"{tail}->{head}", lines), **attributes)


def _wanted(requested, available: bool, what: str) -> bool:
    if requested and not available:
        raise ValueError(f"no {what} to draw yet: run graph.forward(...)"
                         + (" and graph.backward()" if what == "gradients" else ""))
    return available if requested is None else bool(requested)


#: ``rankdir``: left to right, top to bottom, or ``"auto"`` (top to bottom once the graph is deep)
DIRECTIONS = frozenset({"LR", "TB", "auto"})
#: ``rankdir="auto"`` draws top to bottom when the longest path has more operations than this
DEEP = 3


def depth(graph: Graph) -> int:
    """The number of operations on the longest path from a leaf to an output.

    >>> from symgrad import Graph, networks
    >>> depth(Graph.from_model(networks.chain(3)))  # w1·x, + b, σ, then w2·f1, σ and w3·f2, σ
    7
    """
    longest = [0] * len(graph.nodes)
    for node in graph.nodes:  # arguments come first
        if node.kind == OPERATION:
            longest[node.index] = 1 + max(longest[a.index] for a in node.args)
    return max(longest[o.index] for o in graph.outputs)


def _direction(graph: Graph, rankdir: str) -> str:
    if rankdir not in DIRECTIONS:
        raise ValueError(f"unknown rankdir {rankdir!r} (must be one of {sorted(DIRECTIONS)})")
    if rankdir != "auto":
        return rankdir
    return "TB" if depth(graph) > DEEP else "LR"


def _page(size, dpi) -> dict:
    """Graphviz's ``size`` (inches, the drawing is shrunk to fit) and ``dpi`` (a bitmap's resolution)."""
    attributes = {}
    if size is not None:
        pair = (size, size) if isinstance(size, (int, float)) else tuple(size) if isinstance(size, (tuple, list)) else ()
        width, height = pair if len(pair) == 2 else (None, None)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                   for v in (width, height)):
            raise ValueError(f"size must be a positive number of inches or a (width, height) pair, not {size!r}")
        attributes["size"] = f"{width:g},{height:g}"
    if dpi is not None:
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not math.isfinite(dpi) \
                or not 10 <= dpi <= 2400:
            raise ValueError(f"dpi must be a number from 10 to 2400, not {dpi!r}")
        attributes["dpi"] = f"{dpi:g}"
    return attributes


def _beside(graph: Graph) -> dict:
    """Each input, parameter or constant used by one operation, mapped to the side of it where it sits.

    At most one leaf on each side of an operation: the first on its left,
    the second on its right (its edge drawn from the operation with the
    arrow reversed, as Graphviz puts a flat edge's tail left of its head).
    A third would share a side, its edge curving over the other one's and
    its label over an arrowhead; it goes on the rank above instead.
    """
    sides: dict = {}
    used: dict = {}
    for node in graph.nodes:
        consumers = {c for c, _ in node.consumers}
        if node.kind in (INPUT, PARAMETER, CONSTANT) and len(consumers) == 1:
            consumer = node.consumers[0][0]
            count = used.get(consumer, 0)
            if count < 2:
                sides[node] = (consumer, "left" if count == 0 else "right")
                used[consumer] = count + 1
    return sides


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
           max_nodes: int = MAX_NODES, html_labels: bool = True, rankdir: str = "auto",
           size=None, dpi=None) -> graphviz.Digraph:
    """The drawing of a graph as a ``graphviz.Digraph``, left to right, or top to bottom once deep.

    Inputs and parameters are boxes with their name, forward value (blue)
    and gradient (red); operations are small circles with the op's label,
    a stage's name, value and gradient on its outgoing edges (``f1 = 0.6457``),
    an operation used twice a box with the sum of its edges' gradient shares;
    the loss ends the drawing in a box of its own.
    ``values`` and ``gradients``: ``True`` to show, ``False`` to hide,
    ``None`` (default) to show whatever has been computed.
    ``edge_labels="symbolic"`` or ``"numeric"`` adds each edge's local
    derivative (``∂f3/∂a3 = f3·(1 - f3)``); ``highlight`` (a parameter, or a
    list) marks the paths from it to the loss. ``html_labels=False`` writes
    plain one-colour labels that every Graphviz build can draw.

    >>> from sympy import symbols
    >>> from symgrad import Graph
    >>> x, y, w = symbols('x y w')
    >>> g = Graph.from_expr(w * x - y, inputs=[x, y])
    >>> dot = to_dot(g, title="residual")
    >>> print(dot.source.splitlines()[0])
    digraph residual {
    """
    return draw(graph, values=values, gradients=gradients, edge_labels=edge_labels,
                 highlight=highlight, title=title, max_nodes=max_nodes, html_labels=html_labels,
                 rankdir=rankdir, size=size, dpi=dpi).dot


def draw(graph: Graph, *, values=None, gradients=None, edge_labels=None, highlight=None,
          title=None, max_nodes=MAX_NODES, html_labels=True, rankdir="auto", size=None, dpi=None) -> Drawing:
    if not (hasattr(graph, "nodes") and hasattr(graph, "backward")):
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
    direction = _direction(graph, rankdir)
    texts = _texts(graph) if edge_labels or graph.matrix else []
    tall = direction == "TB"
    small = "12" if tall else "10"  # a tall drawing is shrunk less on a slide: its small labels can grow

    drawing = Drawing(title or graph.model.name or "graph", html_labels)
    dot = drawing.dot
    dot.attr(rankdir=direction, bgcolor="white", fontname=FONT, nodesep="0.3",
             ranksep="0.15" if direction == "TB" else "0.45", forcelabels="true")
    dot.attr(**_page(size, dpi))
    dot.attr("node", fontname=FONT, fontsize="12")
    dot.attr("edge", fontname=FONT, fontsize=small, arrowsize="0.7", color="#444444")

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

    def share(arg: Node, node: Node, position: int) -> list:
        # the gradient flowing back along this edge: its consumer's share of the argument's gradient
        if not show_gradients:
            return []
        part = graph.edge_grad(arg, node, position)
        if graph.matrix:
            return [(line, GRADIENT_COLOUR) for line in _array_lines(part, "∂ ", "norm")]
        return [(f"∂ {_number(part)}", GRADIENT_COLOUR)]

    def stage_lines(node: Node) -> list:
        # a stage's name and value on the edge it sends on: "f1 = 0.6457" (a matrix: "z1 3×1" over its entries)
        name = " = ".join(map(printing.name_text, node.names)) if node.names and node not in graph.outputs else ""
        values = [line for line in numbers(node) if line[1] != GRADIENT_COLOUR]
        if node.shape:
            heading = f"{name} {_shape_text(node.shape)}".strip()
            return [(heading, None), *values]
        if name and values:
            return [(f"{name} = ", None, values[0][0], values[0][1]), *values[1:]]
        return ([(name, None)] if name else []) + values

    def forked(arg: Node) -> bool:
        return len(arg.consumers) > 1 and arg.kind != CONSTANT

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
            # a named argument by its name; an unnamed one by a placeholder, then its text, in parentheses
            # only where it is a factor: 2·(y - f3), but σ(w·x + b) and a bare w·x + b
            as_symbols = {a: sp.Symbol(texts[a.index] if a.name or a.kind == CONSTANT else f"_arg{i}")
                          for i, a in enumerate(node.args)}
            text = _formula(symbolic_local_derivative(node, position, as_symbols))
            for i, a in enumerate(node.args):
                if not (a.name or a.kind == CONSTANT):
                    text = _put_argument(text, f"_arg{i}", texts[a.index])
        return f"∂{_operand(texts[node.index])}/∂{_operand(texts[arg.index])} = {text}"

    for node in graph.nodes:
        ident = f"n{node.index}"
        if node.kind == OPERATION:
            # top to bottom every rank counts: smaller circles, so that a deep chain fits a slide's height
            attributes = dict(shape="circle", label=node.op.label, width="0.42" if not tall else "0.3",
                              margin="0.04" if not tall else "0.02", fontsize="14" if not tall else "13")
            # its name rides on its outgoing edges (see stage_lines), where no incoming arrowhead can cover it
            if forked(node) and show_gradients:
                # the edges carry the shares; the node, their sum, inside it: an outside label (xlabel) is
                # placed clear of nodes but not of edges, and lands on an arrowhead
                total = [text for text, colour in numbers(node) if colour == GRADIENT_COLOUR]
                lines = [(f"Σ{text}" if k == 0 else f" {text}", GRADIENT_COLOUR) for k, text in enumerate(total)]
                attributes.update(shape="box", style="rounded", width="0", height="0", margin="0.08,0.05")
                del attributes["label"]
                drawing.node(ident, [(node.op.label, None), *lines], **mark(node in marked, **attributes))
            elif not node.consumers and node.names and node not in graph.outputs:
                # a stage no edge leaves (the probabilities beside a fused loss) carries its name inside
                del attributes["label"]
                lines = [(node.op.label, None), (stage_lines(node)[0][0].rstrip(" ="), None)]
                drawing.node(ident, lines, **mark(node in marked, **attributes))
            else:
                drawing.node(ident, [], **mark(node in marked, **attributes))
        elif node.kind == CONSTANT:
            dot.node(ident, label=_number(node.constant), shape="plaintext", fontsize="12" if tall else "11")
        else:
            fill = PARAMETER_FILL if node.kind == "parameter" else INPUT_FILL
            symbol = printing.name_text(str(node.symbol))  # a component W1_1_2 as the math writes it: W₁,₁₂
            title = f"{symbol}  {_shape_text(node.shape)}" if node.shape else symbol
            drawing.node(ident, [(title, None), *numbers(node)],
                         **mark(node in marked, shape="box", style="rounded,filled", fillcolor=fill))

    beside = _beside(graph) if tall else {}
    for node in graph.nodes:
        for position, arg in enumerate(node.args):
            if arg.kind == OPERATION:  # its name and value, and the gradient flowing back along this edge
                lines = stage_lines(arg) + share(arg, node, position)
            else:  # a leaf's box shows its value and gradient; the edge, its share where it is used twice
                lines = share(arg, node, position) if forked(arg) else []
            if edge_labels and arg.kind != CONSTANT:
                lines.append((derivative(node, position), DERIVATIVE_COLOUR))
            if tall and beside.get(arg) == (node, "right"):  # drawn from the operation, its arrow reversed
                drawing.edge(f"n{node.index}", f"n{arg.index}", lines, dir="back",
                             **mark(node in marked and arg in marked))
            else:
                drawing.edge(f"n{arg.index}", f"n{node.index}", lines,
                             **mark(node in marked and arg in marked))

    if tall:  # compact: each data or parameter leaf on the rank of the operation that uses it
        for leaf, (consumer, _) in beside.items():
            with dot.subgraph() as pair:
                pair.attr(rank="same")
                pair.node(f"n{leaf.index}")
                pair.node(f"n{consumer.index}")

    for output in graph.outputs:  # the loss as a box of its own, as a slide ends
        ident = f"out{output.index}"
        drawing.node(ident, [(" = ".join(map(printing.name_text, output.names)), None), *numbers(output)],
                     **mark(output in marked, shape="box", style="rounded,bold"))
        drawing.edge(f"n{output.index}", ident, [], **mark(output in marked))

    legend = [(text, colour) for text, colour, shown in (
        ("value", VALUE_COLOUR, show_values),
        (f"∂ gradient of {graph.outputs[0].name if len(graph.outputs) == 1 else 'output'}",
         GRADIENT_COLOUR, show_gradients),
        ("Σ∂: sum of its edges' shares", GRADIENT_COLOUR, show_gradients and any(map(forked, graph.nodes))),
        ("local derivative", DERIVATIVE_COLOUR, bool(edge_labels)),
    ) if shown]
    if legend:
        dot.attr(labelloc="b", labeljust="r", fontsize=small)
        if html_labels:
            words = "   ".join(f'<font color="{c}">{html.escape(t)}</font>' for t, c in legend)
            dot.attr(label=f"<{words}>")
        else:
            dot.attr(**drawing.label(LEGEND, legend))
    return drawing


# -- rendering --------------------------------------------------------------------------------
