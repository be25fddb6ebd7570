"""The computational graph: its nodes, numeric forward and backward passes, drawing as DOT, rendering to images.

The layers, each a module: ``nodes`` (what the graph is made of), ``decompose``
(reading SymPy as the lectures' operations), ``engine`` (forward and backward
with the op table's rules), ``drawing`` (DOT source) and ``backend`` (running
Graphviz's ``dot`` or the embedded renderer).
"""
from ..errors import GraphError, GraphTooLargeError, RenderError
from .backend import EMBEDDED_FORMATS, FORMATS, RENDERERS, dot_available, pipe, render, to_dot, to_svg
from .drawing import EDGE_LABELS, MAX_NODES
from .engine import REDUCTIONS, Graph
from .nodes import Node

__all__ = ["Graph", "Node", "GraphError", "RenderError", "GraphTooLargeError", "REDUCTIONS", "to_dot", "render",
           "pipe", "to_svg", "dot_available", "FORMATS", "EMBEDDED_FORMATS", "RENDERERS", "EDGE_LABELS",
           "MAX_NODES"]
