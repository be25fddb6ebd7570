"""The computational graph: numeric forward and backward passes, decomposition into the lectures' operations, drawing."""
from .decompose import GraphError
from .engine import Graph, Node

__all__ = ["Graph", "GraphError", "Node"]
