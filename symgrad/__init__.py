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
from .builders import losses, networks
from . import matrix
from .graph import render
from .symbolic.chainrule import ChainRule, ChainRules, Factor, chain_rule
from .check import GradientCheck, check_gradients
from .compiler.compiled import ArgumentError, CompiledGradient
from .symbolic.derive import DerivationError, grad
from .core.functions import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus
from .graph.engine import Graph, GraphError, Node
from .compiler.api import codegen, compile
from .matrix import (MatrixModel, ShapeError, backprop, compile_model, matrix_grad,
                     softmax_classifier, verify_matrix)
from .core.model import Model, ModelError
from .compiler import CompileError
from .core.ops import OPS, Op, op
from .parsing import Equation, ParseError, UpdateRule, parse, parse_latex
from .printing import text
from .graph.render import GraphTooLargeError, RenderError
from .symbolic.solve import StationaryPoint, least_squares, stationary_point
from .training import DivergenceError, History, train
from .symbolic.update import UpdateRules, update_rules
from .verification.verdict import Verdict, verify

from ._version import __version__

__all__ = [
    "ArgumentError", "ChainRule", "ChainRules", "CompileError", "CompiledGradient",
    "DerivationError", "DivergenceError", "Equation", "Factor", "GradientCheck", "Graph",
    "GraphError", "GraphTooLargeError", "History", "MatrixModel", "Model", "ModelError", "Node",
    "OPS", "Op", "ShapeError", "backprop", "compile_model", "matrix", "matrix_grad",
    "softmax_classifier", "verify_matrix",
    "ParseError", "RenderError", "StationaryPoint", "UpdateRule", "UpdateRules", "Verdict",
    "chain_rule", "check_gradients", "codegen", "compile", "elu", "gelu", "grad", "leaky_relu", "least_squares",
    "log_softmax", "losses", "networks", "op", "parse", "parse_latex", "relu", "render",
    "sigmoid", "softmax", "softplus", "stationary_point", "text", "train", "update_rules",
    "verify",
]
