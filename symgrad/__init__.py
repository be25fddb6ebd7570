"""symgrad: derive, draw and check the gradients of loss functions and small neural networks.

>>> from sympy import symbols
>>> import symgrad
>>> w, x, b, y = symbols('w x b y')
>>> symgrad.grad((y - (w*x + b))**2, w)
2*x*(b + w*x - y)
>>> f = symgrad.compile((y - (w*x + b))**2, inputs=[x, y])   # one NumPy function for a batch
>>> f(x=[1.0, 2.0], y=[3.0, 5.0], w=1.0, b=0.0)
(6.5, {'b': -5.0, 'w': -8.0})
"""
from . import matrix
from ._version import __version__
from . import losses, networks
from .check import GradientCheck, check_gradients
from .compiler.api import codegen, compile
from .compiler.compiled import CompiledGradient
from .core.functions import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus
from .core.matrix_model import MatrixModel
from .core.model import Model
from .core.ops import OPS, Op, op
from .documents import FileReport, Finding, check_document
from .errors import (ArgumentError, ClaimError, CompileError, DerivationError, DivergenceError, DocumentError,
                     GraphError, GraphTooLargeError, ModelError, ParseError, RenderError, ShapeError, SymgradError)
from .graph import Graph, Node
from .parsing import Equation, UpdateRule, parse, parse_latex
from .printing import text
from .symbolic.chainrule import ChainRule, ChainRules, Factor, chain_rule
from .symbolic.derive import grad
from .symbolic.solve import StationaryPoint, least_squares, stationary_point
from .symbolic.update import UpdateRules, update_rules
from .training import History, train
from .verification.verdict import Verdict, verify

__all__ = [
    # models and what derives from them: one name per concept, for scalar and matrix models alike
    "Model", "MatrixModel", "losses", "networks", "matrix", "check_document",
    "grad", "update_rules", "chain_rule", "least_squares", "stationary_point",
    "Graph", "compile", "codegen", "check_gradients", "verify", "train", "parse", "parse_latex", "text",
    # functions and the op table
    "sigmoid", "relu", "softplus", "leaky_relu", "elu", "gelu", "softmax", "log_softmax", "OPS", "Op", "op",
    # results
    "ChainRule", "ChainRules", "Factor", "UpdateRules", "StationaryPoint", "Node", "CompiledGradient",
    "GradientCheck", "Verdict", "History", "Equation", "UpdateRule", "FileReport", "Finding",
    # errors: every one a SymgradError
    "SymgradError", "ModelError", "ShapeError", "DerivationError", "CompileError", "ArgumentError", "ClaimError",
    "ParseError", "GraphError", "RenderError", "GraphTooLargeError", "DivergenceError",
    "DocumentError",
    "__version__",
]
