"""symgrad: derive, draw and check the gradients of loss functions and small neural networks.

>>> from sympy import symbols
>>> import symgrad
>>> w, x, b, y = symbols('w x b y')
>>> symgrad.grad((y - (w*x + b))**2, w)
2*x*(b + w*x - y)
"""
from . import losses, networks, render
from .chainrule import ChainRule, ChainRules, Factor, chain_rule
from .derive import DerivationError, grad
from .graph import Graph, GraphError, Node
from .functions import log_softmax, relu, sigmoid, softmax, softplus
from .model import Model, ModelError
from .ops import OPS, Op, op
from .parsing import Equation, ParseError, UpdateRule, parse, parse_latex
from .printing import text
from .render import GraphTooLargeError, RenderError
from .solve import StationaryPoint, least_squares, stationary_point
from .update import UpdateRules, update_rules
from .verify import Verdict, verify

__version__ = "0.1.0"

__all__ = [
    "ChainRule", "ChainRules", "DerivationError", "Equation", "Factor", "Graph", "GraphError",
    "GraphTooLargeError", "Model", "ModelError", "Node", "OPS", "Op", "ParseError", "RenderError",
    "UpdateRule", "parse", "parse_latex", "render",
    "StationaryPoint", "UpdateRules", "chain_rule", "grad", "least_squares", "log_softmax",
    "losses", "networks", "op", "relu", "sigmoid", "softmax", "softplus", "stationary_point",
    "text", "update_rules", "Verdict", "verify",
]
